"""Numerical helpers for the scikit-learn adapter tests (imported by name: tests/sklearn is on
sys.path under pytest's default import mode)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning


def fit_quietly(model: Any, x: np.ndarray, y: np.ndarray) -> Any:
    """Fit without ConvergenceWarnings (the tests use few iterations on purpose)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(x, y)


def central_difference(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, h: float = 1e-6
) -> np.ndarray:
    """d f_i / d x_i for a per-sample function f: (N, *shape) -> (N,) or (N, C), in float64.

    Perturbing one coordinate of every sample at once is exact for per-sample functions.
    Returns (N, *shape) or (N, C, *shape).
    """
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    flat = x.reshape(n, -1)
    out0 = np.asarray(f(x))
    extra = out0.shape[1:]
    grad = np.zeros((n, *extra, flat.shape[1]))
    for j in range(flat.shape[1]):
        step = np.zeros_like(flat)
        step[:, j] = h
        plus = np.asarray(f((flat + step).reshape(x.shape)), dtype=np.float64)
        minus = np.asarray(f((flat - step).reshape(x.shape)), dtype=np.float64)
        grad[..., j] = (plus - minus) / (2 * h)
    return grad.reshape((n, *extra, *x.shape[1:]))


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / ||b|| (Frobenius over the whole array)."""
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(b))


def standardisation_for(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-trivial per-feature (subtrahend, divisor): the model is trained on (x - sub) / div."""
    rng = np.random.default_rng(7)
    sub = x.mean(axis=0) + rng.uniform(-0.3, 0.3, x.shape[1])
    div = x.std(axis=0) * rng.uniform(0.5, 2.0, x.shape[1])
    return sub, div


def probe_points(x: np.ndarray, n: int = 12, seed: int = 3) -> np.ndarray:
    """A few training points, jittered so that no point sits on a tree threshold or a kink."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(x), size=n, replace=False)
    return x[idx] + rng.normal(0.0, 0.05, (n, x.shape[1])) * x.std(axis=0)
