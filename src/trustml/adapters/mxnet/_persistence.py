"""Saving and loading a Gluon network's parameters (``save_parameters`` / ``load_parameters``).

Parameters are stored in mxnet's own NDArray format, which holds arrays only (no pickled
objects). Loading checks names, shapes and dtypes against the model first, so a foreign file
leaves the model untouched instead of half-loaded.
"""

from __future__ import annotations

import os

import mxnet as mx
import numpy as np
from mxnet import gluon, nd

from trustml.errors import ParameterError

__all__ = ["load", "save"]


def save(model: gluon.Block, path: str | os.PathLike[str]) -> None:
    """``model.save_parameters(path)``."""
    model.save_parameters(os.fspath(path))


def load(model: gluon.Block, path: str | os.PathLike[str], ctx: mx.Context) -> None:
    """``model.load_parameters(path, ctx=ctx)`` after checking the file matches the model.

    Raises
    ------
    ParameterError
        The file is missing or unreadable, or its parameter names, shapes or dtypes differ from
        the model's; the model is unchanged.
    """
    filename = os.fspath(path)
    try:
        stored = nd.load(filename)
    except mx.base.MXNetError as exc:
        lines = str(exc).strip().splitlines()
        raise ParameterError(
            f"path: expected a parameter file written by save, got {filename!r} "
            f"({lines[0] if lines else type(exc).__name__})"
        ) from None
    if not isinstance(stored, dict):
        raise ParameterError(f"path: expected named parameters in {filename!r}, got a list")
    wanted = {
        k: (tuple(p.shape), np.dtype(p.dtype))
        for k, p in model._collect_params_with_prefix().items()
    }
    found = {k: (tuple(v.shape), np.dtype(v.dtype)) for k, v in stored.items()}
    if wanted != found:
        differing = sorted(set(wanted.items()) ^ set(found.items()), key=str)[:4]
        raise ParameterError(
            f"path: expected the parameters of this model (names, shapes, dtypes), got a file "
            f"that differs in {differing}"
        )
    model.load_parameters(filename, ctx=ctx)
