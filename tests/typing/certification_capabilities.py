"""Static checks (mypy --strict, warn_unused_ignores): RandomizedSmoothing's return type has
exactly the capabilities of the wrapped classifier, and the result satisfies the protocols."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from typing_extensions import assert_type

from trustml.certification import (
    DifferentiableSmoothedClassifier,
    RandomizedSmoothing,
    SmoothedClassifier,
    TrainableDifferentiableSmoothedClassifier,
    TrainableSmoothedClassifier,
)
from trustml.preprocessing import Standardisation
from trustml.protocols import Certifier, Classifier, Fittable, LossGradients


class Plain:
    def __init__(self) -> None:
        self.input_shape: tuple[int, ...] = (4,)
        self.clip_values: tuple[NDArray[np.float32], NDArray[np.float32]] | None = None
        self.preprocessing = Standardisation.create(
            0.0, 1.0, input_shape=(4,), channels_first=False
        )
        self.nb_classes = 3

    def predict(self, x: ArrayLike, batch_size: int = 128) -> NDArray[np.float32]:
        return np.zeros((len(np.asarray(x)), 3), dtype=np.float32)


class Trainable(Plain):
    def fit(self, x: ArrayLike, y: ArrayLike, batch_size: int = 128, nb_epochs: int = 20) -> None:
        pass

    def fit_generator(self, generator: Iterable[tuple[Any, Any]], nb_epochs: int = 20) -> None:
        pass


class Differentiable(Plain):
    def compute_loss(self, x: ArrayLike, y: ArrayLike, reduction: str = "none") -> NDArray[Any]:
        return np.zeros(len(np.asarray(x)))

    def loss_gradient(self, x: ArrayLike, y: ArrayLike) -> NDArray[Any]:
        return np.zeros_like(np.asarray(x, dtype=np.float64))


class Both(Trainable):
    def compute_loss(self, x: ArrayLike, y: ArrayLike, reduction: str = "none") -> NDArray[Any]:
        return np.zeros(len(np.asarray(x)))

    def loss_gradient(self, x: ArrayLike, y: ArrayLike) -> NDArray[Any]:
        return np.zeros_like(np.asarray(x, dtype=np.float64))


def certify_any(model: Certifier) -> None:
    model.certify(np.zeros((1, 4)), 100, seed=0)


def classify_any(model: Classifier) -> None:
    model.predict(np.zeros((1, 4)))


def train(model: Fittable) -> None:
    model.fit(np.zeros((1, 4)), [0])


def attack(model: LossGradients) -> None:
    model.loss_gradient(np.zeros((1, 4)), [0])


plain = RandomizedSmoothing(Plain(), 0.25)
trainable = RandomizedSmoothing(Trainable(), 0.25)
differentiable = RandomizedSmoothing(Differentiable(), 0.25, nb_gradient_samples=8)
both = RandomizedSmoothing(Both(), 0.25, seed=0)

assert_type(plain, SmoothedClassifier)
assert_type(trainable, TrainableSmoothedClassifier)
assert_type(differentiable, DifferentiableSmoothedClassifier)
assert_type(both, TrainableDifferentiableSmoothedClassifier)

for smoothed in (plain, trainable, differentiable, both):
    certify_any(smoothed)
    classify_any(smoothed)
    labels, radii = smoothed.certify(np.zeros((2, 4)), 1000, n0=10, alpha=0.01, batch_size=64)
    assert_type(labels, NDArray[np.int64])
    assert_type(radii, NDArray[np.float64])

train(trainable)
train(both)
attack(differentiable)
attack(both)
train(plain)  # type: ignore[arg-type]
train(differentiable)  # type: ignore[arg-type]
attack(plain)  # type: ignore[arg-type]
attack(trainable)  # type: ignore[arg-type]
certify_any(Plain())  # type: ignore[arg-type]
RandomizedSmoothing(object(), 0.25)  # type: ignore[call-overload]
