"""Quality of counterfactual explanations: validity, proximity, sparsity.

Every function takes the original inputs ``x`` and the counterfactuals ``x_cf``, both
``(N, *input_shape)``, and returns per-row values (float64 or bool, ``(N,)``) or, for
:func:`summary`, their means. Distances are in raw input units.

References
----------
Verma, Dickerson, Hines, "Counterfactual explanations for machine learning: a review", 2020
(validity, proximity, sparsity); Wachter, Mittelstadt, Russell, Harvard JOLT 2018.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.errors import InputShapeError, ParameterError
from trustml.labels import to_index
from trustml.protocols import Classifier, require

__all__ = ["SPARSITY_THRESHOLD", "proximity", "sparsity", "summary", "validity"]

SPARSITY_THRESHOLD = 1e-6
"""Default threshold of :func:`sparsity`: a feature counts as changed when
``|x_cf - x| > 1e-6 * max(1, |x|)`` (so float rounding of an unchanged feature does not count)."""


def _pair(x: ArrayLike, x_cf: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(x_cf, dtype=np.float64)
    if a.shape != b.shape or a.ndim < 2:
        raise InputShapeError(
            f"x_cf: expected the shape of x {a.shape} (N, *input_shape), got {b.shape}"
        )
    return a.reshape(len(a), -1), b.reshape(len(b), -1)


def validity(model: Classifier, x_cf: ArrayLike, y_target: int | ArrayLike) -> NDArray[np.bool_]:
    """Whether each counterfactual is classified as its target: ``argmax predict(x_cf) ==
    y_target``, ``(N,)`` bool (its mean is the validity rate).

    Raises
    ------
    CapabilityError, InputShapeError, LabelError
    """
    clf = require(model, Classifier, "model")
    preds = np.argmax(clf.predict(x_cf), axis=1)
    t = np.asarray(y_target)
    if t.ndim == 0:
        t = np.full(len(preds), int(t))
    targets = to_index(t, clf.nb_classes, n=len(preds), name="y_target")
    out: NDArray[np.bool_] = preds == targets
    return out


def proximity(x: ArrayLike, x_cf: ArrayLike, norm: str = "l1") -> NDArray[np.float64]:
    """Distance of each counterfactual to its input: ``"l1"`` (sum of absolute changes), ``"l2"``
    (Euclidean) or ``"linf"``; ``(N,)`` float64, raw input units.

    Raises
    ------
    InputShapeError
        ``x`` and ``x_cf`` differ in shape.
    ParameterError
        Unknown ``norm``.
    """
    a, b = _pair(x, x_cf)
    d = np.abs(b - a)
    if norm == "l1":
        l1: NDArray[np.float64] = d.sum(axis=1)
        return l1
    if norm == "l2":
        out: NDArray[np.float64] = np.sqrt((d * d).sum(axis=1))
        return out
    if norm == "linf":
        linf: NDArray[np.float64] = d.max(axis=1, initial=0.0)
        return linf
    raise ParameterError(f"norm: expected 'l1', 'l2' or 'linf', got {norm!r}")


def sparsity(
    x: ArrayLike, x_cf: ArrayLike, threshold: float = SPARSITY_THRESHOLD
) -> NDArray[np.int64]:
    """Number of changed features of each counterfactual (the L0 distance): features with
    ``|x_cf - x| > threshold * max(1, |x|)``; ``(N,)`` int64.

    Raises
    ------
    InputShapeError, ParameterError
        ``threshold`` < 0.
    """
    if not threshold >= 0:
        raise ParameterError(f"threshold: expected a float >= 0, got {threshold!r}")
    a, b = _pair(x, x_cf)
    changed = np.abs(b - a) > threshold * np.maximum(1.0, np.abs(a))
    out: NDArray[np.int64] = changed.sum(axis=1).astype(np.int64)
    return out


def summary(
    model: Classifier, x: ArrayLike, x_cf: ArrayLike, y_target: int | ArrayLike
) -> dict[str, Any]:
    """The means over rows: ``validity`` (fraction), ``l1``, ``l2`` (proximity; over valid rows
    only, NaN when none is valid) and ``sparsity`` (changed features, valid rows), with ``n``."""
    ok = validity(model, x_cf, y_target)
    a, b = np.asarray(x), np.asarray(x_cf)

    def mean(v: NDArray[Any]) -> float:
        return float(v[ok].mean()) if ok.any() else float("nan")

    return {
        "n": len(ok),
        "validity": float(ok.mean()) if len(ok) else float("nan"),
        "l1": mean(proximity(a, b, "l1")),
        "l2": mean(proximity(a, b, "l2")),
        "sparsity": mean(sparsity(a, b)),
    }
