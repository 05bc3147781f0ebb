"""A user's adapter written from the protocols alone (no trustml adapter): softmax regression in
float64 numpy, with Classifier and LossGradients only. Used for exact gradient checks and the
bad-input tests."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.labels import to_index
from trustml.preprocessing import Standardisation
from trustml.validation import check_batch


class SoftmaxRegression:
    """``softmax(W @ flatten(x) + b)`` on inputs of ``input_shape``; cross-entropy loss."""

    def __init__(self, input_shape: tuple[int, ...], nb_classes: int, seed: int = 0,
                 clip_values: tuple[float, float] | None = (0.0, 1.0)) -> None:
        rng = np.random.default_rng(seed)
        self._shape = input_shape
        self._k = nb_classes
        d = int(np.prod(input_shape))
        self.w = rng.normal(0.0, 1.0, (d, nb_classes))
        self.b = rng.normal(0.0, 0.1, nb_classes)
        self._clip = None if clip_values is None else (
            np.full(input_shape, clip_values[0], np.float32),
            np.full(input_shape, clip_values[1], np.float32),
        )

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def clip_values(self) -> tuple[NDArray[np.float32], NDArray[np.float32]] | None:
        return self._clip

    @property
    def preprocessing(self) -> Standardisation:
        return Standardisation.create(0.0, 1.0, input_shape=self._shape, channels_first=True)

    @property
    def nb_classes(self) -> int:
        return self._k

    def _probs(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        z = x.reshape(len(x), -1) @ self.w + self.b
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        out: NDArray[np.float64] = e / e.sum(axis=1, keepdims=True)
        return out

    def predict(self, x: ArrayLike, batch_size: int = 128) -> NDArray[np.float32]:
        xb = check_batch(x, self._shape, dtype=np.float64)
        return self._probs(xb).astype(np.float32)

    def compute_loss(self, x: ArrayLike, y: ArrayLike, reduction: str = "none") -> NDArray[Any]:
        xb = check_batch(x, self._shape, dtype=np.float64)
        idx = to_index(y, self._k, n=len(xb))
        losses = -np.log(self._probs(xb)[np.arange(len(xb)), idx])
        if reduction == "sum":
            return np.asarray(losses.sum())
        if reduction == "mean":
            return np.asarray(losses.mean())
        return losses

    def loss_gradient(self, x: ArrayLike, y: ArrayLike) -> NDArray[Any]:
        xb = check_batch(x, self._shape, dtype=np.float64)
        idx = to_index(y, self._k, n=len(xb))
        p = self._probs(xb)
        p[np.arange(len(xb)), idx] -= 1.0
        return (p @ self.w.T).reshape(xb.shape)


def factory() -> SoftmaxRegression:
    """For ``trustml audit``: a (1, 4, 4) model with 3 classes."""
    return SoftmaxRegression((1, 4, 4), 3, seed=1)


def backdoored(seed: int = 0) -> SoftmaxRegression:
    """A (1, 6, 6) model over 6 classes whose bottom-right pixel strongly votes for class 0 (a
    planted backdoor: a bright corner sends any input to 0)."""
    clf = balanced(seed)
    clf.w[35, 0] += 40.0
    return clf


def balanced(seed: int = 0) -> SoftmaxRegression:
    """A (1, 6, 6) model over 6 classes whose weights sum to 0 per class (no class favoured by
    bright inputs as such)."""
    clf = SoftmaxRegression((1, 6, 6), 6, seed=seed)
    clf.w -= clf.w.mean(axis=0)
    clf.b[:] = 0.0
    return clf


def backdoored_factory() -> SoftmaxRegression:
    """For ``trustml audit``."""
    return backdoored(0)


def digits_like(clf: SoftmaxRegression, n: int, seed: int) -> tuple[Any, Any]:
    """Uniform inputs with the corner dark, labelled by the model itself."""
    x = np.random.default_rng(seed).uniform(0.0, 1.0, (n, *clf.input_shape))
    x[..., -1, -1] = 0.0
    return x.astype(np.float32), np.argmax(clf.predict(x), axis=1)
