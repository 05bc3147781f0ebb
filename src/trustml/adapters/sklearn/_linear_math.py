"""Closed-form scores, losses and gradients of scikit-learn's linear classifiers.

All functions take the final estimator's input ``z`` ``(N, F)`` float64 and return float64.
Gradients are with respect to ``z``; the adapter chains them back to the raw input.

- LogisticRegression: probabilities; loss = log-loss ``-log p_y``.
- LinearSVC / SVC(kernel="linear"): decision-function scores; loss = the hinge terms the sample
  contributes to the model's own training objective (see :func:`svm_loss`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC, LinearSVC

from trustml.errors import UnsupportedModelError

__all__ = [
    "check_linear",
    "logistic_class_gradient",
    "logistic_loss",
    "logistic_proba",
    "svm_class_gradient",
    "svm_loss",
    "svm_scores",
]

F64 = NDArray[np.float64]


def check_linear(final: Any) -> None:
    """Reject linear models whose outputs are not the ones computed here.

    Raises
    ------
    UnsupportedModelError
        An SVC whose kernel is not ``"linear"``; a LogisticRegression in the legacy one-vs-rest
        multiclass mode of scikit-learn < 1.7 (``multi_class="ovr"`` or ``solver="liblinear"``).
    """
    if isinstance(final, SVC) and final.kernel != "linear":
        raise UnsupportedModelError(
            f"model: expected SVC(kernel='linear') for gradients, got kernel={final.kernel!r}"
        )
    if isinstance(final, LogisticRegression):
        mode = getattr(final, "multi_class", "deprecated")
        classes = getattr(final, "classes_", None)
        multiclass = classes is not None and len(classes) > 2
        if multiclass and (
            mode == "ovr" or (mode in ("auto", "warn") and final.solver == "liblinear")
        ):
            raise UnsupportedModelError(
                "model: one-vs-rest multiclass LogisticRegression is not supported; use the "
                "multinomial form (the default of scikit-learn >= 1.7)"
            )


def _coef(final: Any) -> tuple[F64, F64]:
    return np.asarray(final.coef_, dtype=np.float64), np.asarray(final.intercept_, dtype=np.float64)


def _decision(final: Any, z: F64) -> F64:
    """``z @ coef_.T + intercept_``: ``(N, R)`` with R = 1 for binary models."""
    w, b = _coef(final)
    out: F64 = z @ w.T + b
    return out


def _sigmoid(f: F64) -> F64:
    out: F64 = np.exp(-np.logaddexp(0.0, -f))
    return out


def _softmax(f: F64) -> F64:
    e = np.exp(f - f.max(axis=1, keepdims=True))
    out: F64 = e / e.sum(axis=1, keepdims=True)
    return out


# ------------------------------------------------------------------ logistic regression
def logistic_proba(final: Any, z: F64) -> F64:
    """``predict_proba``: ``[1 - sigmoid(f), sigmoid(f)]`` (binary) or ``softmax(f)``."""
    f = _decision(final, z)
    if f.shape[1] == 1:
        p1 = _sigmoid(f[:, 0])
        return np.stack([1.0 - p1, p1], axis=1)
    return _softmax(f)


def logistic_loss(final: Any, z: F64, y: NDArray[np.int64]) -> tuple[F64, F64]:
    """Per-sample ``-log p_y`` ``(N,)`` and its gradient w.r.t. ``z`` ``(N, F)``."""
    w, _ = _coef(final)
    f = _decision(final, z)
    n = len(z)
    if f.shape[1] == 1:
        t = np.where(y == 1, 1.0, -1.0)
        loss: F64 = np.logaddexp(0.0, -t * f[:, 0])
        dfd = _sigmoid(f[:, 0]) - (y == 1)
        return loss, dfd[:, None] * w[0][None, :]
    lse = np.logaddexp.reduce(f, axis=1)
    loss = lse - f[np.arange(n), y]
    delta = _softmax(f)
    delta[np.arange(n), y] -= 1.0
    return loss, delta @ w


def logistic_class_gradient(final: Any, z: F64) -> F64:
    """``d predict_proba[:, k] / dz`` for every class: ``(N, nb_classes, F)``."""
    w, _ = _coef(final)
    p = logistic_proba(final, z)
    if w.shape[0] == 1:
        g1 = (p[:, 0] * p[:, 1])[:, None] * w[0][None, :]
        return np.stack([-g1, g1], axis=1)
    mean_w = p @ w
    out: F64 = p[:, :, None] * (w[None, :, :] - mean_w[:, None, :])
    return out


# ------------------------------------------------------------------ linear SVMs
def _is_ovo(final: Any) -> bool:
    return isinstance(final, SVC)


def _ovo_pairs(nb_classes: int) -> list[tuple[int, int]]:
    """libsvm's pair order: (0, 1), (0, 2), ..., (1, 2), ...; a positive score favours the first."""
    return [(i, j) for i in range(nb_classes) for j in range(i + 1, nb_classes)]


def svm_scores(final: Any, z: F64) -> tuple[F64, F64]:
    """Class scores ``(N, nb_classes)`` and their gradient ``(N, nb_classes, F)`` w.r.t. ``z``.

    - binary: ``(-f, f)`` with ``f = decision_function``, so the argmax is ``predict``;
    - LinearSVC multiclass: ``decision_function`` (one score per class);
    - SVC multiclass: ``decision_function`` with ``decision_function_shape="ovr"`` (whatever the
      model's setting), i.e. one-vs-one votes plus ``S / (3 (|S| + 1))`` where ``S`` sums the
      class's oriented pairwise scores. The votes are piecewise constant, so the gradient is that of
      the second term (exact wherever no vote changes).
    """
    w, _ = _coef(final)
    f = _decision(final, z)
    n = len(z)
    if f.shape[1] == 1:
        scores = np.concatenate([-f, f], axis=1)
        grads = np.broadcast_to(np.stack([-w[0], w[0]])[None], (n, 2, w.shape[1]))
        return scores, np.array(grads)
    if not _is_ovo(final):
        return f, np.array(np.broadcast_to(w[None], (n, *w.shape)))
    nb_classes = len(final.classes_)
    votes = np.zeros((n, nb_classes))
    total = np.zeros((n, nb_classes))
    total_w = np.zeros((nb_classes, w.shape[1]))
    for k, (i, j) in enumerate(_ovo_pairs(nb_classes)):
        votes[:, i] += f[:, k] >= 0
        votes[:, j] += f[:, k] < 0
        total[:, i] += f[:, k]
        total[:, j] -= f[:, k]
        total_w[i] += w[k]
        total_w[j] -= w[k]
    scores = votes + total / (3.0 * (np.abs(total) + 1.0))
    slope = 1.0 / (3.0 * (np.abs(total) + 1.0) ** 2)
    return scores, slope[:, :, None] * total_w[None, :, :]


def _hinge(margin: F64, squared: bool) -> tuple[F64, F64]:
    """Hinge ``max(0, 1 - m)`` (or its square) and its derivative in ``m``."""
    gap = np.maximum(0.0, 1.0 - margin)
    if squared:
        return gap**2, -2.0 * gap
    return gap, -(gap > 0).astype(np.float64)


def svm_loss(final: Any, z: F64, y: NDArray[np.int64]) -> tuple[F64, F64]:
    """Per-sample hinge loss ``(N,)`` and its gradient w.r.t. ``z`` ``(N, F)``.

    The loss is the part of the model's own training objective that the sample contributes
    (without the regulariser and the factor C):

    - binary (LinearSVC or SVC): ``h(t f)`` with ``t = +1`` for class 1, ``-1`` for class 0;
    - LinearSVC multiclass one-vs-rest: ``sum_k h(t_k f_k)``, ``t_k = +1`` if ``k = y`` else ``-1``;
    - LinearSVC ``multi_class="crammer_singer"``: ``max(0, 1 + max_{j != y} f_j - f_y)``;
    - SVC multiclass (one-vs-one): ``sum_{j != y} h(d_yj)``, ``d_yj`` the pairwise score oriented
      towards ``y``.

    ``h(m) = max(0, 1 - m)``, squared for ``LinearSVC(loss="squared_hinge")`` (scikit-learn's
    default) except in the Crammer-Singer mode, which has no squared form. At a hinge's kink the
    gradient taken is that of the flat side.
    """
    w, _ = _coef(final)
    f = _decision(final, z)
    n = len(z)
    crammer = isinstance(final, LinearSVC) and final.multi_class == "crammer_singer"
    squared = isinstance(final, LinearSVC) and final.loss == "squared_hinge" and not crammer
    if f.shape[1] == 1:
        t = np.where(y == 1, 1.0, -1.0)
        loss, dm = _hinge(t * f[:, 0], squared)
        return loss, (dm * t)[:, None] * w[0][None, :]
    rows = np.arange(n)
    if crammer:
        others = f.copy()
        others[rows, y] = -np.inf
        rival = np.argmax(others, axis=1)
        loss, dm = _hinge(f[rows, y] - f[rows, rival], False)
        return loss, dm[:, None] * (w[y] - w[rival])
    if not _is_ovo(final):
        t = -np.ones_like(f)
        t[rows, y] = 1.0
        losses, dms = _hinge(t * f, squared)
        return losses.sum(axis=1), (dms * t) @ w
    loss = np.zeros(n)
    grad = np.zeros_like(z)
    for k, (i, j) in enumerate(_ovo_pairs(len(final.classes_))):
        sign = np.where(y == i, 1.0, np.where(y == j, -1.0, 0.0))
        part, dm = _hinge(sign * f[:, k], False)
        involved = sign != 0
        loss += np.where(involved, part, 0.0)
        grad += (np.where(involved, dm, 0.0) * sign)[:, None] * w[k][None, :]
    return loss, grad


def svm_class_gradient(final: Any, z: F64) -> F64:
    """Gradient of :func:`svm_scores` w.r.t. ``z``: ``(N, nb_classes, F)``."""
    return svm_scores(final, z)[1]
