"""What the adapters need to know about the wrapped model: how to call it, its dtype, its output."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf

from trustml.errors import ParameterError, UnsupportedModelError

__all__ = [
    "ModelCall",
    "check_keras_backend",
    "model_call",
    "model_dtype",
    "probe_outputs",
    "traceable",
]

ModelCall = Callable[[tf.Tensor, bool], tf.Tensor]
"""``(standardised batch, training) -> outputs (N, K)``."""


def check_keras_backend() -> None:
    """Raise :class:`UnsupportedModelError` unless Keras runs on its TensorFlow backend.

    The adapters differentiate with ``tf.GradientTape``; a Keras model on the torch or JAX backend
    returns that framework's tensors, which the tape cannot see.
    """
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise UnsupportedModelError(
            f"model: the TensorFlow adapters need Keras on its TensorFlow backend, got "
            f"KERAS_BACKEND={backend!r}; set KERAS_BACKEND=tensorflow before importing keras "
            f"(on the torch backend a Keras model is a torch.nn.Module: wrap it with "
            f"trustml.adapters.torch.PyTorchClassifier instead)"
        )


def model_call(model: Any) -> ModelCall:
    """How to call ``model``: with ``training=`` when it accepts it (Keras models, ART-style
    callables), without otherwise.

    Raises
    ------
    UnsupportedModelError
        If ``model`` is not callable.
    """
    if not callable(model):
        raise UnsupportedModelError(
            f"model: expected a Keras model, a tf.Module or a callable on tf.Tensor, got "
            f"{type(model).__name__}"
        )
    if isinstance(model, keras.layers.Layer) or _accepts_training(model):
        return lambda x, training: model(x, training=training)
    return lambda x, training: model(x)


def _accepts_training(fn: Any) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "training" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def model_dtype(model: Any) -> tf.DType:
    """The dtype the model computes in: a Keras model's ``compute_dtype``, else the dtype of the
    first floating variable of a ``tf.Module``, else float32."""
    if isinstance(model, keras.layers.Layer):
        return tf.as_dtype(model.compute_dtype)
    for var in getattr(model, "trainable_variables", ()) or ():
        if var.dtype.is_floating:
            return tf.as_dtype(var.dtype)
    return tf.float32


def probe_outputs(
    call: ModelCall, input_shape: tuple[int, ...], dtype: tf.DType, nb_classes: int | None
) -> tf.Tensor:
    """Run the model on one zero sample and check its output is ``(1, nb_classes)``.

    Raises
    ------
    ParameterError
        The model fails on a ``(1, *input_shape)`` batch, or its output is not ``(1, K)`` with
        ``K == nb_classes`` (``K >= 2`` when ``nb_classes`` is None).
    """
    try:
        out = tf.convert_to_tensor(call(tf.zeros((1, *input_shape), dtype=dtype), False))
    except Exception as exc:  # the user's model may raise anything on a wrong shape
        raise ParameterError(
            f"input_shape: the model failed on a zero batch of shape {(1, *input_shape)} "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    shape = tuple(out.shape)
    if len(shape) != 2 or (nb_classes is not None and shape[1] != nb_classes):
        expected = f"(N, {nb_classes})" if nb_classes is not None else "(N, K)"
        raise ParameterError(
            f"nb_classes: expected model outputs of shape {expected}, got {shape} for one sample"
        )
    if shape[1] < 2:
        raise ParameterError(f"nb_classes: expected at least 2 output classes, got {shape}")
    return out


def traceable(model: Any) -> bool:
    """Whether the adapters may run ``model`` inside ``tf.function``.

    True for Keras models, which Keras itself traces in ``predict`` and ``fit``, unless the user
    set ``model.run_eagerly = True``; False for any other callable, which may hold Python side
    effects that tracing would run once instead of at every call. Tracing makes ``predict`` about
    2x and ``loss_gradient`` about 3x faster than eager calls on a small CNN (see
    ``benchmarks/bench_tensorflow.py``).
    """
    return isinstance(model, keras.Model) and not bool(getattr(model, "run_eagerly", False))
