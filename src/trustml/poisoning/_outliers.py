"""Outlier detection over the labels' trigger sizes: median absolute deviation (MAD).

Wang et al. (IEEE S&P 2019, Sec. IV-C) flag a label whose reversed trigger is abnormally small:
with the L1 norms ``n_k`` of the masks, ``MAD = 1.4826 * median_k |n_k - median(n)|`` (the constant
makes MAD a consistent estimator of the standard deviation of normal data) and the anomaly index of
label ``k`` is ``|n_k - median(n)| / MAD``. A label is flagged when its norm is below the median and
its anomaly index exceeds 2 (about 95% probability of being an outlier under normality).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.errors import InputShapeError, InputValueError, ParameterError

__all__ = ["CONSISTENCY_CONSTANT", "anomaly_indices", "flag_outliers"]

CONSISTENCY_CONSTANT = 1.4826
"""MAD consistency constant for normally distributed data (``1 / Phi^-1(3/4)``)."""


def anomaly_indices(norms: ArrayLike) -> tuple[NDArray[np.float64], float, float]:
    """Anomaly index of each label's mask norm.

    Parameters
    ----------
    norms : array_like
        ``(K,)`` non-negative mask norms, ``K >= 2``.

    Returns
    -------
    indices : numpy.ndarray
        ``(K,)`` float64 ``|n_k - median| / MAD``; where ``MAD == 0``, ``inf`` for a norm off the
        median and 0 on it.
    median : float
        ``numpy.median(norms)``.
    mad : float
        ``1.4826 * numpy.median(|norms - median|)``.

    Raises
    ------
    InputShapeError
        ``norms`` is not 1-D with at least two entries.
    InputValueError
        A norm is NaN, infinite or negative.
    """
    n = np.asarray(norms, dtype=np.float64)
    if n.ndim != 1 or n.shape[0] < 2:
        raise InputShapeError(f"norms: expected shape (K,) with K >= 2, got {n.shape}")
    if not np.isfinite(n).all() or (n < 0).any():
        raise InputValueError(f"norms: expected finite non-negative values, got {n.tolist()}")
    median = float(np.median(n))
    deviation = np.abs(n - median)
    mad = CONSISTENCY_CONSTANT * float(np.median(deviation))
    if mad > 0:
        return deviation / mad, median, mad
    return np.where(deviation > 0, np.inf, 0.0), median, mad


def flag_outliers(norms: ArrayLike, threshold: float = 2.0) -> list[int]:
    """Labels whose norm is below the median with an anomaly index above ``threshold``.

    Returns
    -------
    list of int
        Flagged labels, ascending.

    Raises
    ------
    ParameterError
        ``threshold`` is not a positive finite number.
    InputShapeError, InputValueError
        As :func:`anomaly_indices`.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating)) or not (
        np.isfinite(threshold) and threshold > 0
    ):
        raise ParameterError(f"threshold: expected a positive finite number, got {threshold!r}")
    indices, median, _ = anomaly_indices(norms)
    n = np.asarray(norms, dtype=np.float64)
    return [int(k) for k in np.flatnonzero((n < median) & (indices > threshold))]
