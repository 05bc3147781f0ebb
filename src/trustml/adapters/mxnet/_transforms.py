"""Activation transforms (:class:`~trustml.protocols.ActivationTransforms`) for Gluon networks,
inside the forward pass, never left on the network.

Gluon's forward hooks cannot replace a block's output, so for the duration of one forward pass
each transformed block's ``forward`` is wrapped at instance level (removed in a ``finally``
block) to return ``clip(out, clip_min, clip_max) * scale`` (``nd.maximum`` / ``nd.minimum`` with
scalars, whose gradients pass where the bound is met or inside it, then ``nd.broadcast_mul``);
autograd records it like any other op. A hybridized network runs one cached graph that never
calls its children's ``forward``, so while a transform is installed the network runs
imperatively (:func:`~._layers.imperative`: the cached graphs and the user's hybridize flags are
kept and restored). A block called several times per forward pass is transformed at its first
call only, the call :meth:`get_activations` returns.

This module imports mxnet: import it only after :func:`~._environment.ensure_mxnet`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import numpy as np
from mxnet import gluon, nd

from trustml.activations import ActivationTransform
from trustml.adapters.mxnet import _layers

__all__ = ["Slot", "apply", "installed"]

Slot = tuple[gluon.Block, ActivationTransform]
"""A transformed block and its transform."""

_MISSING = object()


def apply(out: nd.NDArray, transform: ActivationTransform) -> nd.NDArray:
    """``clip(out, clip_min, clip_max) * scale`` in mxnet, differentiable by autograd."""
    if transform.clip_min is not None:
        out = nd.maximum(out, transform.clip_min)
    if transform.clip_max is not None:
        out = nd.minimum(out, transform.clip_max)
    if transform.scale is not None:
        scale = transform.scale
        scale = scale.reshape((1,) * (out.ndim - scale.ndim) + scale.shape)
        out = nd.broadcast_mul(out, nd.array(scale, ctx=out.context, dtype=np.dtype(out.dtype)))
    return out


@contextmanager
def installed(model: gluon.Block, slots: dict[str, Slot]) -> Iterator[None]:
    """Each transformed block's ``forward`` wrapped, and the network imperative, for one forward
    pass; everything restored on exit, also after an exception. Nothing happens without slots."""
    if not slots:
        yield
        return
    first: set[str] = set()
    saved: list[tuple[gluon.Block, Any]] = []
    with ExitStack() as stack:
        stack.enter_context(_layers.imperative(model))
        try:
            for name, (block, transform) in slots.items():
                previous = block.__dict__.get("forward", _MISSING)
                original = block.forward

                def wrapper(
                    *args: Any, _fwd: Any = original, _t: ActivationTransform = transform,
                    _name: str = name, **kwargs: Any,
                ) -> Any:
                    out = _fwd(*args, **kwargs)
                    if _name in first or not isinstance(out, nd.NDArray):
                        return out
                    first.add(_name)
                    return apply(out, _t)

                object.__setattr__(block, "forward", wrapper)
                saved.append((block, previous))
            yield
        finally:
            for block, previous in reversed(saved):
                if previous is _MISSING:
                    object.__delattr__(block, "forward")
                else:
                    object.__setattr__(block, "forward", previous)
