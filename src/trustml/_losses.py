"""The reduction of per-sample losses that every numpy-side ``compute_loss`` and
``compute_loss_from_predictions`` shares (ART's ``reduction`` argument)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from trustml.protocols import Reduction

__all__ = ["reduce_losses"]


def reduce_losses(losses: ArrayLike, reduction: Reduction, dtype: DTypeLike) -> NDArray[Any]:
    """Per-sample losses ``(N,)`` reduced as asked, in ``dtype``.

    ``"none"`` gives the ``(N,)`` array back, ``"sum"`` the 0-d sum, ``"mean"`` the 0-d mean
    (NaN for an empty batch, with no warning). ``reduction`` is checked by the caller
    (:func:`trustml.validation.check_reduction`).
    """
    arr = np.asarray(losses, dtype=dtype)
    if reduction == "none":
        return arr
    if reduction == "sum":
        return np.asarray(arr.sum(), dtype=dtype)
    return np.asarray(arr.mean() if arr.size else np.nan, dtype=dtype)
