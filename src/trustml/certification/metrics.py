"""Certified accuracy (Cohen, Rosenfeld, Kolter, ICML 2019, Section 4)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.errors import InputShapeError, InputValueError, LabelError

__all__ = ["certified_accuracy"]


def certified_accuracy(
    labels: ArrayLike, radii: ArrayLike, y: ArrayLike, radii_grid: ArrayLike
) -> NDArray[np.float64]:
    """Fraction of inputs certified correct at each radius of a grid.

    Input ``i`` counts at radius ``r`` when ``labels[i] == y[i]`` and ``radii[i] >= r``, so an
    abstention (``-1``, ``0.0``) never counts, and the value at ``r = 0`` is the smoothed
    classifier's (non-abstaining) accuracy.

    Parameters
    ----------
    labels : array_like of int
        ``(N,)`` certified labels, ``-1`` for abstain (``certify``'s first output).
    radii : array_like of float
        ``(N,)`` certified L2 radii >= 0 (``certify``'s second output).
    y : array_like of int
        ``(N,)`` true class indices.
    radii_grid : array_like of float
        ``(R,)`` radii at which to evaluate (raw input units, the units of ``radii``).

    Returns
    -------
    numpy.ndarray
        ``(R,)`` float64 in ``[0, 1]``; non-increasing along a sorted grid. All NaN when
        ``N = 0``.

    Raises
    ------
    InputShapeError
        ``labels``, ``radii`` and ``y`` are not 1-D of the same length, or ``radii_grid`` is not
        1-D (a scalar is taken as a grid of one).
    InputValueError
        ``radii`` or ``radii_grid`` hold negative or non-finite values.
    LabelError
        ``labels`` or ``y`` are not integral.
    """
    lab = _integers(labels, "labels")
    true = _integers(y, "y")
    rad = np.asarray(radii, dtype=np.float64)
    grid = np.atleast_1d(np.asarray(radii_grid, dtype=np.float64))
    if lab.ndim != 1 or rad.shape != lab.shape or true.shape != lab.shape:
        raise InputShapeError(
            f"labels, radii, y: expected three 1-D arrays of one length, got shapes "
            f"{lab.shape}, {rad.shape}, {true.shape}"
        )
    if grid.ndim != 1:
        raise InputShapeError(f"radii_grid: expected a 1-D array, got shape {grid.shape}")
    for name, arr in (("radii", rad), ("radii_grid", grid)):
        if not np.isfinite(arr).all() or (arr < 0).any():
            raise InputValueError(f"{name}: expected finite values >= 0, got {arr!r}")
    if lab.shape[0] == 0:
        return np.full(grid.shape, np.nan)
    correct = lab == true
    hits = correct[None, :] & (rad[None, :] >= grid[:, None])
    return np.asarray(hits.mean(axis=1), dtype=np.float64)


def _integers(values: ArrayLike, name: str) -> NDArray[np.int64]:
    arr = np.asarray(values)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise LabelError(f"{name}: expected integer labels, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating) and (
        not np.isfinite(arr).all() or (arr != np.round(arr)).any()
    ):
        raise LabelError(f"{name}: expected integer labels, got non-integral values")
    return arr.astype(np.int64)
