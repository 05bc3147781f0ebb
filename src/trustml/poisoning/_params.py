"""Setting checks and the progress bar of :class:`~trustml.poisoning.NeuralCleanse` (through
:mod:`trustml.validation` and :mod:`trustml._progress`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from trustml._progress import progress_bar
from trustml.validation import check_positive_int, check_real

__all__ = ["positive_int", "progress", "real"]


def positive_int(value: Any, name: str) -> int:
    """An int >= 1 (ParameterTypeError for another type, ParameterError for a value < 1)."""
    return check_positive_int(value, name)


def real(value: Any, name: str, lo: float, hi: float, *, lo_open: bool = False,
         hi_open: bool = False) -> float:
    """A finite real number in the interval from ``lo`` to ``hi`` (open at a side when asked)."""
    closed: Literal["left", "right", "both", "neither"] = (
        "neither" if lo_open and hi_open else "right" if lo_open else "left" if hi_open
        else "both"
    )
    return check_real(value, name, low=lo, high=hi, closed=closed)


@contextmanager
def progress(enabled: bool, total: int) -> Iterator[Callable[[], None] | None]:
    """A tqdm bar over labels when ``enabled`` and tqdm is installed (extra ``progress``)."""
    with progress_bar(enabled, total, desc="neural cleanse", unit="label") as bar:
        yield None if bar is None else (lambda: bar.update(1))
