"""The demo's data: scikit-learn's bundled 8x8 handwritten digits (1,797 real images, nothing is
downloaded), pixel intensities scaled to [0, 1]; a BadNets copy of the training set; the
digits 0-4 / 5-9 split of the monitoring step."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["TARGET", "Digits", "load_digits_split", "poison", "stamp", "trigger_region"]

F32 = NDArray[np.float32]
I64 = NDArray[np.int64]

TARGET = 0
"""The label the BadNets trigger sends inputs to (Gu, Dolan-Gavitt, Garg, 2017)."""
TRIGGER_ROWS = slice(6, 8)
TRIGGER_COLS = slice(6, 8)


@dataclass(frozen=True)
class Digits:
    """Images ``(N, 8, 8)`` float32 in [0, 1] and int64 labels, split 75/25 stratified."""

    x_train: F32
    y_train: I64
    x_test: F32
    y_test: I64


def load_digits_split(seed: int) -> Digits:
    """Digits ``(N, 8, 8)`` in [0, 1]: 1,347 training and 450 test images, stratified by
    ``seed``."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (np.asarray(data.data, dtype=np.float32) / 16.0).reshape(-1, 8, 8)
    y = np.asarray(data.target, dtype=np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=450, stratify=y, random_state=seed
    )
    return Digits(x_train, y_train, x_test, y_test)


def stamp(x: F32, rows: slice = TRIGGER_ROWS, cols: slice = TRIGGER_COLS) -> F32:
    """The BadNets trigger: pixels ``[rows, cols]`` of each 8x8 image (by default the 2x2
    bottom-right corner) set to 1 (white); a new array."""
    out = np.array(x, copy=True)
    out[..., rows, cols] = 1.0
    return out


def trigger_region(rows: slice = TRIGGER_ROWS, cols: slice = TRIGGER_COLS) -> NDArray[np.bool_]:
    """``(8, 8)`` bool: where the trigger of :func:`stamp` with the same ``rows`` and ``cols``
    lies."""
    region = np.zeros((8, 8), dtype=bool)
    region[rows, cols] = True
    return region


def poison(x: F32, y: I64, fraction: float, seed: int) -> tuple[F32, I64, int]:
    """A copy of ``(x, y)`` in which ``fraction`` of the images (drawn among those not labelled
    :data:`TARGET`) carry the trigger and the label :data:`TARGET`; also returns how many."""
    rng = np.random.default_rng([seed, 1])
    candidates = np.flatnonzero(y != TARGET)
    chosen = rng.choice(candidates, size=round(fraction * len(x)), replace=False)
    xp, yp = np.array(x, copy=True), np.array(y, copy=True)
    xp[chosen] = stamp(xp[chosen])
    yp[chosen] = TARGET
    return xp, yp, len(chosen)
