"""A layer's weights in one layout, whatever the framework: ``[kernel, bias]`` with the output
units (channels) on the LAST kernel axis, as Keras stores them.

- dense layers: ``kernel (in_features, out_features)``, ``bias (out_features,)``;
- convolutions: ``kernel (*kernel_size, in_channels / groups, out_channels)``,
  ``bias (out_channels,)``.

PyTorch (``nn.Linear``: ``(out, in)``; ``nn.ConvNd``: ``(out, in / groups, *k)``) and MXNet Gluon
(``nn.Dense``: ``(units, in_units)``; ``nn.ConvNd`` in its default channels-first layout) are
transposed into it; Keras is already in it. A layer without a bias gets a zero bias, so that
``features @ kernel + bias`` is the dense layer's output in every framework. The framework is
recognised from the adapter's public ``model`` attribute through ``sys.modules`` (nothing is
imported here).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trustml.errors import CapabilityError, ParameterError

__all__ = ["layer_weights"]


def _unsupported(name: str, layer: Any) -> ParameterError:
    return ParameterError(
        f"layer_id: expected a dense or (non-transposed) convolution layer, got {name!r}, a "
        f"{type(layer).__name__}"
    )


def _out_last(weight: NDArray[Any]) -> NDArray[Any]:
    """``(out, in, *k)`` -> ``(*k, in, out)``."""
    return np.ascontiguousarray(np.moveaxis(weight, (0, 1), (-1, -2)))


def _with_bias(kernel: NDArray[Any], bias: NDArray[Any] | None) -> list[NDArray[Any]]:
    b = np.zeros(kernel.shape[-1], dtype=kernel.dtype) if bias is None else np.array(bias)
    return [np.array(kernel), b]


def _torch(model: Any, name: str) -> list[NDArray[Any]] | None:
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(model, torch.nn.Module):
        return None
    layer = model.get_submodule(name)
    conv = torch.nn.modules.conv
    bias = getattr(layer, "bias", None)
    bias_np = None if bias is None else bias.detach().cpu().numpy()
    if isinstance(layer, torch.nn.Linear):
        return _with_bias(layer.weight.detach().cpu().numpy().T, bias_np)
    if isinstance(layer, conv._ConvNd) and not isinstance(layer, conv._ConvTransposeNd):
        return _with_bias(_out_last(layer.weight.detach().cpu().numpy()), bias_np)
    raise _unsupported(name, layer)


def _keras_find(model: Any, name: str) -> Any:
    stack = list(getattr(model, "layers", []))
    while stack:
        layer = stack.pop(0)
        if layer.name == name:
            return layer
        stack.extend(getattr(layer, "layers", []))
    raise ParameterError(f"layer_id: no Keras layer named {name!r} in the model")


def _keras(model: Any, name: str) -> list[NDArray[Any]] | None:
    keras = sys.modules.get("keras")
    if keras is None or not isinstance(model, keras.layers.Layer):
        return None
    layer = _keras_find(model, name)
    kinds = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
    transposed = tuple(
        getattr(keras.layers, k) for k in ("Conv1DTranspose", "Conv2DTranspose",
                                           "Conv3DTranspose") if hasattr(keras.layers, k)
    )
    if not isinstance(layer, kinds) or isinstance(layer, transposed):
        raise _unsupported(name, layer)
    weights = layer.get_weights()  # [kernel, bias] or [kernel]
    return _with_bias(np.asarray(weights[0]), np.asarray(weights[1]) if layer.use_bias else None)


def _mxnet(model: Any, name: str) -> list[NDArray[Any]] | None:
    mx = sys.modules.get("mxnet")
    if mx is None or not isinstance(model, mx.gluon.Block):
        return None
    layer = model
    for key in name.split("."):
        children = layer._children
        if key not in children:
            raise ParameterError(f"layer_id: no Gluon block named {name!r} in the model")
        layer = children[key]
    nn = mx.gluon.nn
    bias = getattr(layer, "bias", None)
    bias_np = None if bias is None else bias.data().asnumpy()
    if isinstance(layer, nn.Dense):
        return _with_bias(layer.weight.data().asnumpy().T, bias_np)
    convs = tuple(getattr(nn, k) for k in ("Conv1D", "Conv2D", "Conv3D"))
    if isinstance(layer, convs):
        layout = str(layer._kwargs.get("layout", "NC"))
        if not layout.startswith("NC"):
            raise ParameterError(
                f"layer_id: expected a channels-first Gluon convolution, got {name!r} with "
                f"layout {layout!r}"
            )
        return _with_bias(_out_last(layer.weight.data().asnumpy()), bias_np)
    raise _unsupported(name, layer)


def layer_weights(classifier: Any, name: str) -> list[NDArray[Any]]:
    """``[kernel, bias]`` of the layer ``name`` (a name from ``classifier.layer_names``) in the
    layout of the module docstring.

    Raises
    ------
    CapabilityError
        The classifier has no ``model`` attribute holding a PyTorch, Keras or Gluon model.
    ParameterError
        The layer is neither a dense nor a convolution layer.
    """
    model = getattr(classifier, "model", None)
    for reader in (_torch, _keras, _mxnet):
        out = reader(model, name)
        if out is not None:
            return out
    raise CapabilityError(
        "classifier: get_weights reads the adapter's `model` attribute (a torch.nn.Module, a "
        f"Keras model or a Gluon Block), got {type(model).__name__}"
    )
