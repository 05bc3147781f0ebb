"""Saving and loading wrapped Keras models in the native ``.keras`` format, and untrained copies
of them (``clone_for_refitting``)."""

from __future__ import annotations

import os
from typing import Any

import keras

from trustml.errors import ParameterError, ParameterTypeError, UnsupportedModelError

__all__ = ["clone_keras", "load_keras", "save_keras"]


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


def clone_keras(model: Any) -> Any:
    """An untrained copy of a Keras model: ``keras.models.clone_model`` (new layers from each
    layer's config, so new weights drawn by the layers' initialisers; a subclassed model goes
    through its ``get_config`` / ``from_config``), compiled like ``model`` from its compile
    config (a fresh optimizer of the same configuration, the same loss and metrics) when
    ``model`` is compiled. Shares no variable with ``model``.

    Raises
    ------
    UnsupportedModelError
        ``model`` is not a Keras model, or Keras cannot clone it (a subclassed model without a
        working ``get_config``); the message gives Keras' reason.
    """
    if not isinstance(model, keras.Model):
        raise UnsupportedModelError(
            f"model: only Keras models can be cloned for refitting (a tf.Module or function has "
            f"no architecture to rebuild), got {type(model).__name__}"
        )
    try:
        clone = keras.models.clone_model(model)
        if getattr(model, "compiled", False):
            clone.compile_from_config(model.get_compile_config())
    except Exception as exc:  # Keras raises many types here; one typed error says why
        raise UnsupportedModelError(
            f"model: expected a Keras model that keras.models.clone_model can rebuild (a "
            f"subclassed model needs get_config), got {type(model).__name__} "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    return clone
