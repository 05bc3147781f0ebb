"""Layer names and intermediate activations of Keras 3 models, without modifying them.

Three kinds of model, three read-only strategies:

- ``keras.Sequential``: its layers run one after the other (``model.layers``, the input layer
  excluded); the activation of layer ``k`` is layers ``0..k`` applied in turn.
- Functional models: a side model ``keras.Model(model.inputs, layer.output)`` over the same layer
  objects (no copy of weights, no new nodes on the user's graph), built once per layer and cached.
- Subclassed models: the direct sub-layers, in the order a forward pass calls them. The pass and
  every activation read wrap the sub-layers' ``call`` at instance level for that one pass and
  restore it in a ``finally`` block, so nothing is left on the model.

Non-Keras callables (plain functions, ``tf.Module``) expose no layers: :attr:`names` is empty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import keras
import tensorflow as tf

from trustml.errors import ParameterError
from trustml.validation import check_layer

__all__ = ["LayerAccess"]

_MISSING = object()


class LayerAccess:
    """Read-only access to a model's layers.

    Parameters
    ----------
    model : object
        The user's model (any callable; layers are found only for Keras models).
    input_shape : tuple of int
        Shape of one sample (used for the recording pass of subclassed models).
    dtype : tf.DType
        The model's computation dtype.
    """

    def __init__(self, model: Any, input_shape: tuple[int, ...], dtype: tf.DType) -> None:
        self._model = model
        self._input_shape = input_shape
        self._dtype = dtype
        self._layers: list[Any] | None = None
        self._submodels: dict[int, Any] = {}
        self._multimodels: dict[tuple[Any, ...], Any] = {}
        if isinstance(model, keras.Sequential):
            self._kind = "sequential"
        elif isinstance(model, keras.Model) and _is_functional(model):
            self._kind = "functional"
        elif isinstance(model, keras.Model):
            self._kind = "subclassed"
        else:
            self._kind = "opaque"

    @property
    def model(self) -> Any:
        """The user's model."""
        return self._model

    @property
    def names(self) -> list[str]:
        """Layer names in execution order (a new list)."""
        return [layer.name for layer in self._all_layers()]

    def resolve(self, layer: Any) -> int:
        """Index of ``layer`` (an index into :attr:`names`, negative allowed, or a name).

        Raises
        ------
        ParameterError
            Unknown name, index out of range, or a model without layers.
        ParameterTypeError
            Neither an int nor a str (a bool, a float).
        """
        names = self.names
        if not names:
            raise ParameterError(
                f"layer: the model ({type(self._model).__name__}) exposes no layers (only Keras "
                f"models do), got {layer!r}"
            )
        return check_layer(layer, names)

    def layer(self, index: int) -> Any:
        """The layer object at ``index`` (an index :meth:`resolve` returned)."""
        return self._all_layers()[index]

    def output(self, x: tf.Tensor, index: int) -> tf.Tensor:
        """Output of layer ``index`` for the model input ``x`` (already standardised)."""
        layers = self._all_layers()
        if self._kind == "sequential":
            out = x
            for layer in layers[: index + 1]:
                out = layer(out, training=False)
            return tf.convert_to_tensor(out)
        if self._kind == "functional":
            sub = self._submodels.get(index)
            if sub is None:
                sub = keras.Model(self._model.inputs, layers[index].output)
                self._submodels[index] = sub
            return tf.convert_to_tensor(sub(x, training=False))
        target = layers[index]
        captured: list[Any] = []

        def sink(layer: Any, value: Any) -> None:
            if layer is target and not captured:
                captured.append(value)

        with _recording(layers, sink):
            self._model(x, training=False)
        return tf.convert_to_tensor(captured[0])

    def outputs(self, x: tf.Tensor, indices: list[int]) -> list[tf.Tensor]:
        """Outputs of the layers ``indices`` for the model input ``x`` from ONE pass, which runs
        no further than the last of them where the model kind allows (Sequential)."""
        layers = self._all_layers()
        wanted = sorted(set(indices))
        got: dict[int, tf.Tensor] = {}
        if self._kind == "sequential":
            out = x
            for i, layer in enumerate(layers[: wanted[-1] + 1]):
                out = layer(out, training=False)
                if i in wanted:
                    got[i] = tf.convert_to_tensor(out)
        elif self._kind == "functional":
            key = ("multi", *wanted)
            sub = self._multimodels.get(key)
            if sub is None:
                sub = keras.Model(self._model.inputs, [layers[i].output for i in wanted])
                self._multimodels[key] = sub
            outs = sub(x, training=False)
            outs = outs if isinstance(outs, (list, tuple)) else [outs]
            got = {i: tf.convert_to_tensor(o) for i, o in zip(wanted, outs, strict=True)}
        else:
            targets = {id(layers[i]): i for i in wanted}

            def sink(layer: Any, value: Any) -> None:
                i = targets.get(id(layer))
                if i is not None and i not in got:
                    got[i] = tf.convert_to_tensor(value)

            with _recording(layers, sink):
                self._model(x, training=False)
        return [got[i] for i in indices]

    def _all_layers(self) -> list[Any]:
        if self._layers is None:
            if self._kind in ("sequential", "functional"):
                self._layers = [
                    layer
                    for layer in self._model.layers
                    if not isinstance(layer, keras.layers.InputLayer)
                ]
            elif self._kind == "subclassed":
                self._layers = self._execution_order()
            else:
                self._layers = []
        return self._layers

    def _execution_order(self) -> list[Any]:
        children = list(self._model.layers)
        order: list[Any] = []

        def sink(layer: Any, value: Any) -> None:
            if all(layer is not seen for seen in order):
                order.append(layer)

        probe = tf.zeros((1, *self._input_shape), dtype=self._dtype)
        with _recording(children, sink):
            self._model(probe, training=False)
        return order


def _is_functional(model: Any) -> bool:
    try:
        return bool(model.inputs) and bool(model.outputs)
    except (AttributeError, ValueError):
        return False


@contextmanager
def _recording(layers: list[Any], sink: Callable[[Any, Any], None]) -> Iterator[None]:
    """Wrap each layer's ``call`` (instance attribute) to report its output; restore on exit."""
    saved: list[tuple[Any, Any]] = []
    try:
        for layer in layers:
            previous = layer.__dict__.get("call", _MISSING)
            original = layer.call

            def wrapper(*args: Any, _layer: Any = layer, _call: Any = original, **kw: Any) -> Any:
                out = _call(*args, **kw)
                sink(_layer, out)
                return out

            object.__setattr__(layer, "call", wrapper)
            saved.append((layer, previous))
        yield
    finally:
        for layer, previous in saved:
            if previous is _MISSING:
                object.__delattr__(layer, "call")
            else:
                object.__setattr__(layer, "call", previous)
