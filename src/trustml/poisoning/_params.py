"""Setting checks and the progress bar of :class:`~trustml.poisoning.NeuralCleanse`."""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from trustml.errors import ParameterError

__all__ = ["positive_int", "progress", "real"]


def positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ParameterError(f"{name}: expected a positive int, got {value!r}")
    return int(value)


def real(value: Any, name: str, lo: float, hi: float, *, lo_open: bool = False,
          hi_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(f"{name}: expected a real number, got {value!r}")
    v = float(value)
    ok = math.isfinite(v) and (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    if not ok:
        interval = f"{'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
        raise ParameterError(f"{name}: expected a number in {interval}, got {value!r}")
    return v


@contextmanager
def progress(enabled: bool, total: int) -> Iterator[Callable[[], None] | None]:
    """A tqdm bar over labels when ``enabled`` and tqdm is installed (extra ``progress``)."""
    if not enabled:
        yield None
        return
    try:
        tqdm = importlib.import_module("tqdm").tqdm
    except ImportError:
        yield None
        return
    bar = tqdm(total=total, unit="label", desc="neural cleanse", leave=False)
    try:
        yield lambda: bar.update(1)
    finally:
        bar.close()
