"""Forward pass and analytic backpropagation of a fitted ``MLPClassifier``, in float64.

Layers: ``a_0 = z``; ``a_{i+1} = act(a_i @ coefs_[i] + intercepts_[i])`` with the hidden activation
(relu, tanh, logistic, identity) for hidden layers and the output activation last (logistic with one
output unit for binary models, softmax for multiclass).

Activation transforms (:mod:`trustml.activations`) of hidden layers: ``a_{i+1}`` is replaced by
``clip(a_{i+1}, clip_min, clip_max) * scale`` before the next layer; backpropagation multiplies the
upstream gradient by ``scale`` and by the clip's indicator (1 where ``clip_min <= a <= clip_max``,
bounds included, as ``torch.clamp`` and ``tf.clip_by_value``), then by the activation's derivative
at the untransformed value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trustml.activations import ActivationTransform
from trustml.errors import UnsupportedModelError

__all__ = [
    "activations",
    "check_mlp",
    "class_gradient",
    "forward",
    "forward_raw",
    "layer_count",
    "loss_and_gradient",
    "proba",
]

F64 = NDArray[np.float64]
Transforms = Mapping[int, ActivationTransform]
"""Hidden layer index -> its activation transform."""
_NONE: Transforms = {}
_HIDDEN = ("relu", "tanh", "logistic", "identity")


def check_mlp(final: Any) -> None:
    """Raise :class:`UnsupportedModelError` for an unknown activation or a multi-label model."""
    if final.activation not in _HIDDEN:
        raise UnsupportedModelError(
            f"model: expected an MLPClassifier activation in {_HIDDEN}, got {final.activation!r}"
        )
    out = getattr(final, "out_activation_", None)
    if out is not None and not (
        out == "softmax" or (out == "logistic" and int(final.n_outputs_) == 1)
    ):
        raise UnsupportedModelError(
            "model: multi-label MLPClassifier is not supported; expected a single-output "
            "(binary or multiclass) model"
        )


def layer_count(final: Any) -> int:
    """Number of layers with weights (hidden layers + output)."""
    return len(final.coefs_)


def _act(name: str, pre: F64) -> F64:
    if name == "relu":
        return np.maximum(pre, 0.0)
    if name == "tanh":
        return np.tanh(pre)
    if name == "logistic":
        out: F64 = np.exp(-np.logaddexp(0.0, -pre))
        return out
    return pre


def _act_backward(name: str, post: F64, grad: F64) -> F64:
    """Gradient w.r.t. the pre-activation, from the post-activation and the upstream gradient."""
    if name == "relu":
        return grad * (post > 0)
    if name == "tanh":
        return grad * (1.0 - post**2)
    if name == "logistic":
        return grad * post * (1.0 - post)
    return grad


def _transform_backward(t: ActivationTransform, raw: F64, grad: F64) -> F64:
    """Upstream gradient w.r.t. the transformed value -> gradient w.r.t. the raw value."""
    if t.scale is not None:
        grad = grad * t.scale.astype(np.float64)
    if t.clip_min is not None:
        grad = grad * (raw >= t.clip_min)
    if t.clip_max is not None:
        grad = grad * (raw <= t.clip_max)
    return grad


def forward_raw(
    final: Any, z: F64, transforms: Transforms = _NONE
) -> tuple[list[F64], list[F64], F64]:
    """Hidden activations ``[a_1, ..., a_{L-1}]`` (transformed where ``transforms`` says), the
    same before their transforms, and the output logits ``(N, n_outputs)``."""
    hidden: list[F64] = []
    raw: list[F64] = []
    a = z
    n_layers = layer_count(final)
    for i in range(n_layers):
        pre = a @ np.asarray(final.coefs_[i], dtype=np.float64) + np.asarray(
            final.intercepts_[i], dtype=np.float64
        )
        if i == n_layers - 1:
            return hidden, raw, pre
        a = _act(final.activation, pre)
        raw.append(a)
        t = transforms.get(i)
        if t is not None:
            a = t.apply(a)
        hidden.append(a)
    raise UnsupportedModelError("model: expected an MLPClassifier with at least one layer")


def forward(final: Any, z: F64, transforms: Transforms = _NONE) -> tuple[list[F64], F64]:
    """Hidden activations ``[a_1, ..., a_{L-1}]`` (transformed where ``transforms`` says) and the
    output logits ``(N, n_outputs)``."""
    hidden, _, logits = forward_raw(final, z, transforms)
    return hidden, logits


def _output(logits: F64) -> F64:
    """Output activation: logistic (one unit) or softmax."""
    if logits.shape[1] == 1:
        return _act("logistic", logits)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    out: F64 = e / e.sum(axis=1, keepdims=True)
    return out


def activations(final: Any, z: F64, transforms: Transforms = _NONE) -> list[F64]:
    """Post-activation output of every layer: hidden layers (transformed where ``transforms``
    says), then the output layer's activation (``(N, 1)`` logistic for binary models,
    ``(N, nb_classes)`` softmax otherwise)."""
    hidden, logits = forward(final, z, transforms)
    return [*hidden, _output(logits)]


def proba(final: Any, z: F64, transforms: Transforms = _NONE) -> F64:
    """``predict_proba``: ``(N, nb_classes)``."""
    _, logits = forward(final, z, transforms)
    out = _output(logits)
    if out.shape[1] == 1:
        return np.concatenate([1.0 - out, out], axis=1)
    return out


def _backward(final: Any, raw: list[F64], delta: F64, transforms: Transforms) -> F64:
    """Gradient w.r.t. ``z`` given ``delta``, the gradient w.r.t. the output logits, and the
    untransformed hidden activations ``raw``."""
    grad = delta
    for i in range(layer_count(final) - 1, -1, -1):
        grad = grad @ np.asarray(final.coefs_[i], dtype=np.float64).T
        if i > 0:
            t = transforms.get(i - 1)
            if t is not None:
                grad = _transform_backward(t, raw[i - 1], grad)
            grad = _act_backward(final.activation, raw[i - 1], grad)
    return grad


def loss_and_gradient(
    final: Any, z: F64, y: NDArray[np.int64], transforms: Transforms = _NONE
) -> tuple[F64, F64]:
    """Per-sample log-loss ``-log p_y`` ``(N,)`` and its gradient w.r.t. ``z`` ``(N, F)``."""
    _, raw, logits = forward_raw(final, z, transforms)
    rows = np.arange(len(z))
    if logits.shape[1] == 1:
        t = np.where(y == 1, 1.0, -1.0)
        loss: F64 = np.logaddexp(0.0, -t * logits[:, 0])
        delta = (_act("logistic", logits[:, 0]) - (y == 1))[:, None]
    else:
        loss = np.logaddexp.reduce(logits, axis=1) - logits[rows, y]
        delta = _output(logits)
        delta[rows, y] -= 1.0
    return loss, _backward(final, raw, delta, transforms)


def class_gradient(
    final: Any, z: F64, chosen: NDArray[np.int64] | None, transforms: Transforms = _NONE
) -> F64:
    """Gradient of ``predict_proba`` columns w.r.t. ``z``: ``(N, nb_classes, F)`` for every class
    (``chosen=None``) or ``(N, 1, F)`` for one class per sample."""
    _, raw, logits = forward_raw(final, z, transforms)
    n = len(z)
    rows = np.arange(n)
    out_act = _output(logits)
    nb_classes = 2 if logits.shape[1] == 1 else logits.shape[1]
    classes = [chosen] if chosen is not None else [np.full(n, k) for k in range(nb_classes)]
    columns: list[F64] = []
    for k in classes:
        if logits.shape[1] == 1:
            p1 = out_act[:, 0]
            delta = (p1 * (1.0 - p1) * np.where(k == 1, 1.0, -1.0))[:, None]
        else:
            p = out_act
            delta = -p * p[rows, k][:, None]
            delta[rows, k] += p[rows, k]
        columns.append(_backward(final, raw, delta, transforms))
    return np.stack(columns, axis=1)
