"""Activation transforms (:class:`~trustml.protocols.ActivationTransforms`) for the TensorFlow
adapters, inside the forward pass, never left on the model.

For the duration of one adapter call, each transformed layer's ``call`` is wrapped at instance
level (the mechanism :mod:`._layers` uses to read activations of subclassed models) so that it
returns ``clip_by_value(output, clip_min, clip_max) * scale``; the wrapper is removed in a
``finally`` block. Keras runs a layer through ``self.call`` whichever way the model calls it
(``Sequential``, a Functional graph, a subclassed model's ``call``), so one mechanism serves the
three kinds, and :mod:`._layers`' activation reads see the transformed value.

The bounds and the scale live in ``tf.Variable`` objects owned by this helper (never by the model),
captured by the traced ``tf.function`` kernels: replacing a layer's transform assigns new values
and retraces nothing; adding or removing a transformed layer makes the runtime rebuild its kernels
(one retrace, at the next call). A ``None`` bound is stored as an infinite one and a ``None``
scale as ones, which change no finite value.

Supported layers: the entries of ``layer_names`` whose output is one floating tensor and which the
forward pass calls exactly once (a layer shared between several places of a Functional graph or
called twice by a subclassed model's ``call`` is refused with a ParameterError: which call to
transform would be ambiguous). Non-Keras callables expose no layers, so every layer is refused.
Keras models only: a compiled model's cached ``train_function`` is set aside during a ``fit``
with transforms (so that Keras traces one that sees them) and put back afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import keras
import numpy as np
import tensorflow as tf

from trustml.activations import ActivationTransform, check_transform
from trustml.errors import ParameterError

from ._layers import _MISSING, LayerAccess, _recording

__all__ = ["LayerTransforms"]


@dataclass(eq=False)
class _Slot:
    """One transformed layer: the transform and the variables the traced graphs read."""

    transform: ActivationTransform
    layer: Any
    lo: tf.Variable
    hi: tf.Variable
    scale: tf.Variable

    def assign(self, transform: ActivationTransform) -> None:
        dtype = self.scale.dtype.as_numpy_dtype
        lo = -np.inf if transform.clip_min is None else transform.clip_min
        hi = np.inf if transform.clip_max is None else transform.clip_max
        shape = tuple(self.scale.shape)
        scale = np.ones(shape) if transform.scale is None else transform.scale
        self.lo.assign(np.asarray(lo, dtype))
        self.hi.assign(np.asarray(hi, dtype))
        self.scale.assign(np.broadcast_to(np.asarray(scale, dtype), shape))
        self.transform = transform

    def apply(self, out: Any) -> tf.Tensor:
        return tf.clip_by_value(tf.convert_to_tensor(out), self.lo, self.hi) * self.scale


class LayerTransforms:
    """The transforms of one adapter.

    Parameters
    ----------
    layers : LayerAccess
        The model's layers.
    probe : callable
        Runs the model once on a zero sample (eagerly), used to read a layer's output shape and
        how often the forward pass calls it.
    """

    def __init__(self, layers: LayerAccess, probe: Callable[[], Any]) -> None:
        self._layers = layers
        self._probe = probe
        self._slots: dict[str, _Slot] = {}

    @property
    def transforms(self) -> dict[str, ActivationTransform]:
        """Layer name -> installed transform (a new dict)."""
        return {name: slot.transform for name, slot in self._slots.items()}

    def set(self, layer: Any, transform: Any) -> bool:
        """Install, replace (``transform`` given) or remove (None) the transform at ``layer``.

        Returns
        -------
        bool
            Whether the set of transformed layers changed (the runtime then rebuilds its traced
            kernels).

        Raises
        ------
        ParameterError
            Unknown layer; a layer the forward pass does not call exactly once or whose output is
            not one floating tensor; a ``scale`` that does not fit; nothing changes.
        ParameterTypeError
            ``transform`` is not an ActivationTransform or None.
        """
        index = self._layers.resolve(layer)
        name = self._layers.names[index]
        if transform is None:
            return self._slots.pop(name, None) is not None
        checked = cast(ActivationTransform, check_transform(transform, name, None))  # not None
        target = self._layers.layer(index)
        shape, dtype = self._output_spec(target, name)
        check_transform(checked, name, shape)
        slot = self._slots.get(name)
        if slot is not None:
            slot.assign(checked)
            return False
        var = tf.Variable  # owned here, never attached to the model
        slot = _Slot(
            checked, target,
            var(tf.zeros((), dtype), trainable=False), var(tf.zeros((), dtype), trainable=False),
            var(tf.zeros(shape, dtype), trainable=False),
        )
        slot.assign(checked)
        self._slots[name] = slot
        return True

    def _output_spec(self, target: Any, name: str) -> tuple[tuple[int, ...], tf.DType]:
        outputs: list[Any] = []
        with _recording([target], lambda layer, value: outputs.append(value)):
            self._probe()
        if len(outputs) != 1:
            raise ParameterError(
                f"layer: expected a layer that the forward pass calls exactly once, got {name!r}, "
                f"called {len(outputs)} times"
            )
        out = outputs[0]
        if not isinstance(out, tf.Tensor) or not out.dtype.is_floating:
            got = f"a {out.dtype.name} tensor" if isinstance(out, tf.Tensor) else type(out).__name__
            raise ParameterError(
                f"layer: expected a layer whose output is one floating tensor, got {name!r}, "
                f"whose output is {got}"
            )
        return tuple(int(d) for d in tuple(out.shape)[1:]), out.dtype

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Each transformed layer's ``call`` wrapped for the block (restored after, also after an
        exception); nothing is done when no transform is installed."""
        if not self._slots:
            yield
            return
        saved: list[tuple[Any, Any]] = []
        try:
            for slot in self._slots.values():
                layer = slot.layer
                previous = layer.__dict__.get("call", _MISSING)
                original = layer.call

                def wrapper(*args: Any, _call: Any = original, _slot: _Slot = slot,
                            **kw: Any) -> Any:
                    return _slot.apply(_call(*args, **kw))

                object.__setattr__(layer, "call", wrapper)
                saved.append((layer, previous))
            yield
        finally:
            for layer, previous in reversed(saved):
                if previous is _MISSING:
                    object.__delattr__(layer, "call")
                else:
                    object.__setattr__(layer, "call", previous)

    @contextmanager
    def fitting(self) -> Iterator[None]:
        """:meth:`installed`, with a compiled Keras model's cached ``train_function`` set aside
        (Keras traces a fresh one that sees the transforms) and put back afterwards."""
        model = self._layers.model
        stash = bool(self._slots) and isinstance(model, keras.Model)
        previous = getattr(model, "train_function", None) if stash else None
        try:
            if stash:
                model.train_function = None
            with self.installed():
                yield
        finally:
            if stash:
                model.train_function = previous
