"""Shared fixtures of the TensorFlow / Keras adapter tests: small models, float64 scoping."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)

SHAPE = (6, 6, 3)
SUB = np.array([0.1, 0.2, 0.3])
DIV = np.array([0.5, 1.5, 2.0])


@pytest.fixture
def float64() -> Iterator[None]:
    """Build Keras layers in float64 for this test only; floatx is restored afterwards."""
    previous, policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx("float64")
    # the global dtype policy, once read, no longer follows floatx: set it too
    keras.config.set_dtype_policy("float64")
    try:
        yield
    finally:
        keras.config.set_floatx(previous)
        keras.config.set_dtype_policy(policy)


@pytest.fixture(autouse=True)
def _seeded() -> None:
    keras.utils.set_random_seed(1234)


def sequential_cnn(classes: int = 4, activation: str | None = None) -> Any:
    return keras.Sequential(
        [
            keras.Input(SHAPE),
            keras.layers.Conv2D(4, 3, activation="tanh", name="conv"),
            keras.layers.AveragePooling2D(2, name="pool"),
            keras.layers.Flatten(name="flat"),
            keras.layers.Dense(classes, activation=activation, name="logits"),
        ]
    )


def functional_skip(classes: int = 4) -> Any:
    inputs = keras.Input(SHAPE)
    h = keras.layers.Conv2D(3, 3, padding="same", activation="tanh", name="conv")(inputs)
    s = keras.layers.Add(name="skip")([inputs, h])
    f = keras.layers.Flatten(name="flat")(s)
    out = keras.layers.Dense(classes, name="logits")(f)
    return keras.Model(inputs, out)


class Subclassed(keras.Model):  # type: ignore[misc]
    """Declares ``head`` before ``pool``; executes conv -> pool -> head."""

    def __init__(self, classes: int = 4) -> None:
        super().__init__()
        self.conv = keras.layers.Conv2D(4, 3, activation="softplus", name="conv")
        self.head = keras.layers.Dense(classes, name="head")
        self.pool = keras.layers.GlobalAveragePooling2D(name="pool")

    def call(self, x: Any, training: bool = False) -> Any:
        return self.head(self.pool(self.conv(x)))


def subclassed(classes: int = 4) -> Any:
    model = Subclassed(classes)
    model(np.zeros((1, *SHAPE), dtype=keras.config.floatx()))
    return model


MODELS = {"sequential": sequential_cnn, "functional": functional_skip, "subclassed": subclassed}


def batch(n: int = 5, seed: int = 0, dtype: Any = np.float32) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.0, 1.0, size=(n, *SHAPE)).astype(dtype)
