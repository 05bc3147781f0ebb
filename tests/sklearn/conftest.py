"""Shared data for the scikit-learn adapter tests (small and fast)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import load_breast_cancer, load_iris


@pytest.fixture(scope="session")
def iris() -> tuple[np.ndarray, np.ndarray]:
    x, y = load_iris(return_X_y=True)
    return x.astype(np.float64), y.astype(np.int64)


@pytest.fixture(scope="session")
def iris_binary(iris: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Versicolor vs virginica: not linearly separable, so the models stay well conditioned."""
    x, y = iris
    keep = y > 0
    return x[keep], (y[keep] - 1).astype(np.int64)


@pytest.fixture(scope="session")
def cancer() -> tuple[np.ndarray, np.ndarray]:
    x, y = load_breast_cancer(return_X_y=True)
    return x[:, :8].astype(np.float64), y.astype(np.int64)
