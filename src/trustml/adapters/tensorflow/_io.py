"""Saving and loading wrapped Keras models in the native ``.keras`` format."""

from __future__ import annotations

import os
from typing import Any

import keras

from trustml.errors import ParameterError, ParameterTypeError, UnsupportedModelError

__all__ = ["load_keras", "save_keras"]


def save_keras(model: Any, filename: str, path: str | os.PathLike[str] | None) -> str:
    """Save ``model`` to ``path/filename`` (``filename`` alone when ``path`` is None).

    Returns
    -------
    str
        The file written.

    Raises
    ------
    ParameterError
        ``filename`` does not end in ``.keras``.
    UnsupportedModelError
        ``model`` is not a Keras model (plain callables and ``tf.Module`` have no ``.keras`` form;
        use ``tf.saved_model.save`` on them yourself).
    """
    if not isinstance(filename, (str, os.PathLike)):
        raise ParameterTypeError(f"filename: expected a str, got {type(filename).__name__}")
    if not str(filename).endswith(".keras"):
        raise ParameterError(f"filename: expected a name ending in '.keras', got {filename!r}")
    if not isinstance(model, keras.Model):
        raise UnsupportedModelError(
            f"model: only Keras models can be saved in the .keras format, got "
            f"{type(model).__name__}"
        )
    full = os.fspath(filename) if path is None else os.path.join(os.fspath(path), filename)
    parent = os.path.dirname(full)
    if parent:
        os.makedirs(parent, exist_ok=True)
    model.save(full)
    return full


def load_keras(filepath: str | os.PathLike[str], custom_objects: dict[str, Any] | None) -> Any:
    """Load a ``.keras`` file (``custom_objects`` for subclassed models and custom layers).

    Raises
    ------
    ParameterError
        The file does not exist or is not a ``.keras`` file.
    """
    full = os.fspath(filepath)
    if not full.endswith(".keras") or not os.path.isfile(full):
        raise ParameterError(f"filepath: expected an existing '.keras' file, got {full!r}")
    return keras.saving.load_model(full, custom_objects=custom_objects)
