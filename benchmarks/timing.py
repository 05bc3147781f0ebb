"""Timing shared by the benchmark scripts: interleaved repetitions, medians of thread CPU time and
of wall time. On a shared machine wall time mostly measures the neighbours; the CPU time of the
calling thread is what the ratios use (frameworks are pinned to one thread by the scripts)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def median_times(
    fns: dict[str, Callable[[], Any]], repeats: int, warmup: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Median thread-CPU time and median wall time (seconds) of each function, after ``warmup``
    untimed rounds; the calls are interleaved in ABBA order so drifts hit every side alike."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    wall: dict[str, list[float]] = {k: [] for k in fns}
    order = list(fns.items())
    for rep in range(repeats):
        for name, fn in order if rep % 2 == 0 else order[::-1]:
            c0, w0 = time.thread_time(), time.perf_counter()
            fn()
            cpu[name].append(time.thread_time() - c0)
            wall[name].append(time.perf_counter() - w0)
    return (
        {k: statistics.median(v) for k, v in cpu.items()},
        {k: statistics.median(v) for k, v in wall.items()},
    )


def median_cpu(
    fns: dict[str, Callable[[], Any]], repeats: int, warmup: int = 2
) -> dict[str, float]:
    """The thread-CPU medians of :func:`median_times`."""
    return median_times(fns, repeats, warmup)[0]
