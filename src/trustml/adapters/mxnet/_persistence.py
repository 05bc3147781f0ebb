"""Saving and loading a Gluon network's parameters (``save_parameters`` / ``load_parameters``), and
untrained copies of a network (``clone_for_refitting``).

Parameters are stored in mxnet's own NDArray format, which holds arrays only (no pickled
objects). Loading checks names, shapes and dtypes against the model first, so a foreign file
leaves the model untouched instead of half-loaded.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import mxnet as mx
import numpy as np
from mxnet import gluon, nd

from trustml.errors import ParameterError

__all__ = ["clone_block", "load", "save"]


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


def _blocks(block: gluon.Block) -> list[gluon.Block]:
    out = [block]
    for child in block._children.values():
        out.extend(_blocks(child))
    return out


def clone_block(model: gluon.Block, ctx: mx.Context, init: mx.init.Initializer) -> gluon.Block:
    """A copy of ``model`` with the same structure, hyperparameters, parameter names, shapes and
    dtypes, and freshly initialised, unattached parameters: its own data and gradient buffers on
    ``ctx``, drawn by each parameter's own initialiser (``zeros`` for biases, batch
    normalisation's running statistics reset) or else by ``init``.

    A plain ``copy.deepcopy`` cannot do this: the copied NDArrays lose their autograd gradient
    buffers, and a hybridized block's cached graph holds C handles that cannot be copied. Here
    the parameters' arrays, symbols and trainer links and every block's cached graph are left
    out of the copy (the copy re-hybridizes on its first call), so nothing is shared with
    ``model`` and ``model`` is not touched.
    """
    memo: dict[int, Any] = {}
    for param in model.collect_params().values():
        for attr in ("_data", "_grad", "_trainer", "_var"):
            value = getattr(param, attr, None)
            if value is not None:
                memo[id(value)] = None
    for block in _blocks(model):
        for attr in ("_cached_op", "_cached_graph", "_cached_op_args"):
            value = getattr(block, attr, None)
            if value is not None:
                memo[id(value)] = None if attr == "_cached_op" else type(value)()
    clone: gluon.Block = copy.deepcopy(model, memo)
    for block in _blocks(clone):
        clear = getattr(block, "_clear_cached_op", None)
        if callable(clear):
            clear()
    clone.collect_params().initialize(init, ctx=ctx)
    return clone
