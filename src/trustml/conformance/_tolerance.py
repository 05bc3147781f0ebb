"""Tolerances, chosen from the floating dtype an adapter returns (documented in CONTRACTS.md).

``equal``: two results that must be the same number computed twice (determinism, batch invariance,
label formats) agree when ``|a - b| <= atol + rtol * |b|``.

``finite differences``: a gradient ``g`` agrees with the central difference
``(f(x + h d) - f(x - h d)) / 2h`` along a direction ``d`` when
``|fd - g.d| <= fd_atol(f) + fd_rtol * max(|fd|, |g.d|)``, with ``h = fd_step * scale`` (``scale``:
the mean width of ``clip_values``, else 1) and ``fd_atol(f) = 8 * eps * (1 + |f(x)|) / h``, the
rounding error of the difference quotient in the adapter's dtype.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

__all__ = ["Tolerance", "tolerance_for"]


@dataclass(frozen=True)
class Tolerance:
    """Tolerances of one floating precision (see the module docstring)."""

    name: str
    eps: float
    rtol: float
    atol: float
    fd_step: float
    fd_rtol: float

    def close(self, a: NDArray[Any], b: NDArray[Any]) -> NDArray[np.bool_]:
        """Elementwise ``|a - b| <= atol + rtol * |b|`` in float64."""
        a64 = np.asarray(a, dtype=np.float64)
        b64 = np.asarray(b, dtype=np.float64)
        out: NDArray[np.bool_] = np.abs(a64 - b64) <= self.atol + self.rtol * np.abs(b64)
        return out

    def fd_close(
        self, fd: NDArray[Any], analytic: NDArray[Any], values: NDArray[Any], step: float
    ) -> NDArray[np.bool_]:
        """Elementwise agreement of finite differences ``fd`` and directional derivatives
        ``analytic``; ``values`` are the differentiated function's values at ``x``."""
        fd64 = np.asarray(fd, dtype=np.float64)
        an64 = np.asarray(analytic, dtype=np.float64)
        atol = 8.0 * self.eps * (1.0 + np.abs(np.asarray(values, dtype=np.float64))) / step
        scale = np.maximum(np.abs(fd64), np.abs(an64))
        out: NDArray[np.bool_] = np.abs(fd64 - an64) <= atol + 1e-12 + self.fd_rtol * scale
        return out


FLOAT64 = Tolerance("float64", float(np.finfo(np.float64).eps), 1e-9, 1e-12, 1e-6, 1e-5)
FLOAT32 = Tolerance("float32", float(np.finfo(np.float32).eps), 1e-4, 1e-5, 1e-3, 5e-2)
FLOAT16 = Tolerance("float16", float(np.finfo(np.float16).eps), 1e-2, 1e-2, 1e-2, 2e-1)


def tolerance_for(*dtypes: DTypeLike) -> Tolerance:
    """The tolerance of the least precise of ``dtypes`` (float64, float32, else float16; a
    non-floating dtype counts as float32)."""
    bits = 64
    for dt in dtypes:
        d = np.dtype(dt)
        size = d.itemsize * 8 if np.issubdtype(d, np.floating) else 32
        bits = min(bits, size)
    if bits >= 64:
        return FLOAT64
    if bits >= 32:
        return FLOAT32
    return FLOAT16
