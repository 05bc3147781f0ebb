"""Training steps: a user's ``train_step``, an optimizer with the adapter's loss, or a compiled
Keras model's own ``train_on_batch``. Each takes a standardised batch and index labels."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from numpy.typing import NDArray

from ._losses import PerSampleLoss, wants_index_labels
from ._model import ModelCall
from ._runtime import Step, traced

__all__ = ["compiled_step", "fresh_optimizer", "is_compiled", "optimizer_step", "user_step"]


def _labels_as(index: bool, labels: NDArray[np.int64], nb_classes: int, dtype: Any) -> tf.Tensor:
    if index:
        return tf.constant(labels)
    return tf.one_hot(tf.constant(labels), nb_classes, dtype=dtype)


def optimizer_step(
    model: Any, call: ModelCall, loss: PerSampleLoss, optimizer: Any, *, compiled: bool
) -> Step:
    """Minimise the **mean** per-sample loss with ``optimizer.apply_gradients`` over the model's
    trainable variables (forward pass in training mode). With ``compiled`` the step is traced once
    with ``tf.function`` (eager Keras optimizer steps cost ~20 ms each even on a tiny MLP)."""

    variables = list(model.trainable_variables)
    if not getattr(optimizer, "built", True):
        optimizer.build(variables)  # Keras 3: slot variables exist before tracing

    def run(x: tf.Tensor, labels: tf.Tensor) -> None:
        with tf.GradientTape() as tape:
            value = tf.reduce_mean(loss(tf.convert_to_tensor(call(x, True)), labels))
        grads = tape.gradient(value, variables)
        optimizer.apply_gradients(zip(grads, variables))

    step_fn = traced(run) if compiled else run

    def step(x: tf.Tensor, labels: NDArray[np.int64]) -> None:
        step_fn(x, tf.convert_to_tensor(labels))

    return step


def user_step(
    model: Any,
    train_step: Callable[[Any, tf.Tensor, tf.Tensor], Any],
    *,
    index_labels: bool,
    nb_classes: int,
    dtype: tf.DType,
) -> Step:
    """ART's ``train_step(model, images, labels)``: labels as index labels for a sparse loss, else
    one-hot in the model dtype."""

    def step(x: tf.Tensor, labels: NDArray[np.int64]) -> None:
        train_step(model, x, _labels_as(index_labels, labels, nb_classes, dtype))

    return step


def is_compiled(model: Any) -> bool:
    """Whether ``model`` is a Keras model compiled with an optimizer and a loss."""
    return (
        isinstance(model, keras.Model)
        and bool(getattr(model, "compiled", False))
        and getattr(model, "optimizer", None) is not None
        and getattr(model, "loss", None) is not None
    )


def compiled_step(model: Any, nb_classes: int, dtype: tf.DType) -> Step:
    """``model.train_on_batch`` with labels in the format of the compiled loss."""
    index = wants_index_labels(model.loss)

    def step(x: tf.Tensor, labels: NDArray[np.int64]) -> None:
        model.train_on_batch(x, _labels_as(index, labels, nb_classes, dtype))

    return step


def fresh_optimizer(optimizer: Any) -> Any:
    """An optimizer of the same class and configuration with fresh state (for a copied model,
    whose variables the original's slots do not track); ``None`` stays ``None``."""
    if optimizer is None:
        return None
    if hasattr(optimizer, "get_config") and hasattr(type(optimizer), "from_config"):
        return type(optimizer).from_config(optimizer.get_config())
    return copy.deepcopy(optimizer)
