"""Fixtures of the PyTorch adapter tests."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from torch_models import (
    CNN_SHAPE,
    MLP_SHAPE,
    PER_CHANNEL,
    PER_FEATURE,
    PyTorchClassifier,
    make_cnn,
    make_mlp,
    wrap,
)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def cnn() -> PyTorchClassifier:
    return wrap(make_cnn(), CNN_SHAPE, 4, preprocessing=PER_CHANNEL)


@pytest.fixture
def mlp() -> PyTorchClassifier:
    return wrap(make_mlp(), MLP_SHAPE, 3, preprocessing=PER_FEATURE)


@pytest.fixture
def images(rng: np.random.Generator) -> np.ndarray:
    return rng.random((10, *CNN_SHAPE)).astype(np.float32)


@pytest.fixture
def labels(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 4, size=10)
