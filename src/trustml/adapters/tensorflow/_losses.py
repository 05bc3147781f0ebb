"""Per-sample losses on the TensorFlow side, and the label format each loss expects.

Every loss here maps ``(outputs (N, K), index labels (N,) int64)`` to a ``(N,)`` tensor of
per-sample losses; :func:`sum` of it is what ``loss_gradient`` differentiates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from trustml.errors import ParameterError, ParameterTypeError

__all__ = ["PerSampleLoss", "cross_entropy", "from_loss_object", "wants_index_labels"]

PerSampleLoss = Callable[[tf.Tensor, Any], tf.Tensor]
"""``(outputs (N, K), labels (N,) int64 array or tensor) -> (N,)`` per-sample losses, in the
outputs' dtype (traceable: usable inside ``tf.function``)."""


def cross_entropy(*, from_logits: bool) -> PerSampleLoss:
    """Categorical cross-entropy of each sample.

    ``from_logits=True``: ``logsumexp(z) - z_y`` (the fused, stable TF kernel).
    ``from_logits=False``: the outputs are probabilities ``p``; the loss is
    ``log(sum_j p_j) - log(max(p_y, tiny))`` with ``tiny`` the dtype's smallest normal number. It is
    exactly ``-log p_y`` for normalised ``p``; it never gives ``inf`` or NaN gradients where
    ``p_y`` underflows to 0 (unlike ``-log p_y``), and unlike Keras' ``epsilon`` clipping its
    gradient is exact wherever ``p_y > tiny`` (clipping at ``epsilon = 1e-7``, as Keras' loss
    does, zeroes the gradient of confidently wrong samples). For ``p = softmax(z)`` it equals the
    logits loss, and its gradient equals the logits loss' gradient chained through the softmax.
    """

    def logits_loss(outputs: tf.Tensor, labels: Any) -> tf.Tensor:
        return tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.convert_to_tensor(labels), logits=outputs
        )

    def probability_loss(outputs: tf.Tensor, labels: Any) -> tf.Tensor:
        tiny = float(np.finfo(outputs.dtype.as_numpy_dtype).tiny)
        picked = tf.gather(outputs, tf.convert_to_tensor(labels), axis=1, batch_dims=1)
        total = tf.reduce_sum(outputs, axis=1)
        return tf.math.log(tf.maximum(total, tiny)) - tf.math.log(tf.maximum(picked, tiny))

    return logits_loss if from_logits else probability_loss


def wants_index_labels(loss: Any) -> bool:
    """Whether ``loss`` (a Keras loss object, function or name) takes index labels.

    The sparse losses (``SparseCategoricalCrossentropy``, ``sparse_categorical_crossentropy``,
    ``"sparse_categorical_crossentropy"``) take index labels ``(N,)``; every other loss takes
    one-hot labels ``(N, K)``, as in ART.
    """
    if isinstance(loss, str):
        return "sparse" in loss.lower()
    if "sparse" in type(loss).__name__.lower():
        return True
    fn = getattr(loss, "fn", loss)
    return "sparse" in str(getattr(fn, "__name__", "")).lower()


def from_loss_object(loss_object: Any, nb_classes: int) -> PerSampleLoss:
    """Per-sample losses from a user's loss.

    Parameters
    ----------
    loss_object : keras.losses.Loss or callable
        A Keras loss object (its unreduced ``call(y_true, y_pred)`` is used, so the object's own
        ``reduction`` is never read or changed) or a callable ``(y_true, y_pred) -> (N,)`` tensor.
        Labels are passed as index labels for sparse losses, else one-hot in the outputs' dtype.
    nb_classes : int

    Raises
    ------
    ParameterTypeError
        If ``loss_object`` is not callable.
    """
    if not callable(loss_object):
        raise ParameterTypeError(
            f"loss_object: expected a keras.losses.Loss or a callable (y_true, y_pred) -> (N,) "
            f"losses, got {type(loss_object).__name__}"
        )
    call = getattr(loss_object, "call", None)
    fn: Callable[[Any, Any], Any] = call if _is_keras_loss(loss_object) and call else loss_object
    index = wants_index_labels(loss_object)

    def loss(outputs: tf.Tensor, labels: Any) -> tf.Tensor:
        y: tf.Tensor = (
            tf.convert_to_tensor(labels)
            if index
            else tf.one_hot(tf.convert_to_tensor(labels), nb_classes, dtype=outputs.dtype)
        )
        out = tf.convert_to_tensor(fn(y, outputs))
        n, shape = outputs.shape[0], tuple(out.shape)
        if len(shape) != 1 or (None not in (n, shape[0]) and shape[0] != n):
            raise ParameterError(
                f"loss_object: expected per-sample losses of shape ({n},), got shape "
                f"{tuple(out.shape)} (pass an unreduced loss, e.g. a keras.losses.Loss)"
            )
        return tf.cast(out, outputs.dtype)

    return loss


def _is_keras_loss(obj: Any) -> bool:
    import keras

    return isinstance(obj, keras.losses.Loss)
