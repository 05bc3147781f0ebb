"""Optional tqdm progress bars (extra ``progress``): one helper for every long-running call.

Without tqdm installed, or with the bar disabled, every helper degrades silently to plain
iteration / no bar, so the library never requires tqdm.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

__all__ = ["iterate", "progress_bar"]

T = TypeVar("T")


def _tqdm() -> Any:
    """``tqdm.tqdm``, or None when tqdm is not installed."""
    try:
        return importlib.import_module("tqdm").tqdm
    except ImportError:
        return None


@contextlib.contextmanager
def progress_bar(
    enabled: bool, total: int, *, desc: str, unit: str, initial: int = 0, leave: bool = False,
    unit_scale: bool = False,
) -> Iterator[Any]:
    """A tqdm bar of ``total`` ``unit`` s (call its ``update(k)``), or None when ``enabled`` is
    False, ``total`` is 0 or tqdm is not installed; the bar is closed on exit."""
    tqdm = _tqdm() if enabled and total > 0 else None
    if tqdm is None:
        yield None
        return
    bar = tqdm(total=total, initial=initial, unit=unit, desc=desc, leave=leave,
               unit_scale=unit_scale)
    try:
        yield bar
    finally:
        bar.close()


def iterate(items: Iterable[T], enabled: bool, *, total: int | None = None, desc: str,
            unit: str = "it", leave: bool = False) -> Iterator[T]:
    """``items`` with a tqdm bar when ``enabled`` and tqdm is installed, else plain iteration."""
    tqdm = _tqdm() if enabled else None
    if tqdm is None:
        yield from items
        return
    yield from tqdm(items, total=total, desc=desc, unit=unit, leave=leave)
