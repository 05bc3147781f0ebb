"""Detection metrics with out-of-distribution as the positive class, from :mod:`sklearn.metrics`.

Scores follow the detectors' convention: higher = more out-of-distribution.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml._deps import require
from trustml.errors import InputShapeError, InputValueError

__all__ = ["bench_metrics", "fpr_at_tpr", "ood_labels_and_scores"]


def _sk() -> Any:
    return require("sklearn.metrics", "ood", purpose="trustml.ood.metrics")


def ood_labels_and_scores(
    scores_in: ArrayLike, scores_out: ArrayLike
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Concatenate ID then OOD scores with labels 0 (ID) and 1 (OOD).

    Raises
    ------
    InputShapeError
        A score array that is not 1-D and non-empty.
    InputValueError
        NaN or inf scores.
    """
    parts = []
    for name, s in (("scores_in", scores_in), ("scores_out", scores_out)):
        arr = np.asarray(s, dtype=np.float64)
        if arr.ndim != 1 or arr.size == 0:
            raise InputShapeError(f"{name}: expected a non-empty 1-D array, got shape {arr.shape}")
        if not np.isfinite(arr).all():
            raise InputValueError(f"{name}: expected finite scores, got NaN/inf")
        parts.append(arr)
    labels = np.concatenate([np.zeros(len(parts[0]), np.int64), np.ones(len(parts[1]), np.int64)])
    return labels, np.concatenate(parts)


def fpr_at_tpr(scores_in: ArrayLike, scores_out: ArrayLike, tpr: float = 0.95) -> float:
    """False-positive rate (ID flagged as OOD) at the first ROC threshold whose true-positive rate
    (OOD detected) reaches ``tpr`` (FPR95 for the default)."""
    labels, scores = ood_labels_and_scores(scores_in, scores_out)
    fpr, tprs, _ = _sk().roc_curve(labels, scores, drop_intermediate=False)
    return float(fpr[np.searchsorted(tprs, tpr, side="left")])


def bench_metrics(scores_in: ArrayLike, scores_out: ArrayLike) -> dict[str, float]:
    """AUROC, FPR95, AUPR-in and AUPR-out (oodeel's ``bench_metrics`` names).

    Returns
    -------
    dict
        ``auroc``: area under the ROC curve, OOD positive; ``fpr95tpr``: FPR at 95 % TPR;
        ``aupr_out``: average precision with OOD positive; ``aupr_in``: average precision with ID
        positive (scores negated). All in [0, 1].

    Raises
    ------
    InputShapeError, InputValueError
        See :func:`ood_labels_and_scores`.
    """
    labels, scores = ood_labels_and_scores(scores_in, scores_out)
    return {
        "auroc": float(_sk().roc_auc_score(labels, scores)),
        "fpr95tpr": fpr_at_tpr(scores_in, scores_out),
        "aupr_in": float(_sk().average_precision_score(1 - labels, -scores)),
        "aupr_out": float(_sk().average_precision_score(labels, scores)),
    }
