"""Tiny numpy classifiers for the certification tests (written against the protocols only)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.labels import to_index
from trustml.preprocessing import Standardisation
from trustml.rng import SeedLike, as_generator
from trustml.validation import check_batch, check_batch_size


class LinearClassifier:
    """Scores ``W @ standardise(x).ravel() + b``; records the rows of each predict call."""

    def __init__(
        self,
        weights: ArrayLike,
        bias: ArrayLike,
        input_shape: tuple[int, ...] | None = None,
        standardisation: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        self.weights = np.asarray(weights, dtype=np.float64)
        self.bias = np.asarray(bias, dtype=np.float64)
        self._input_shape = input_shape or (self.weights.shape[1],)
        self._standardisation = Standardisation.create(
            *standardisation, input_shape=self._input_shape, channels_first=True
        )
        self.calls: list[int] = []
        self.inputs: list[NDArray[np.float32]] = []
        self.record_inputs = False

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self._input_shape

    @property
    def clip_values(self) -> None:
        return None

    @property
    def preprocessing(self) -> Standardisation:
        return self._standardisation

    @property
    def nb_classes(self) -> int:
        return int(self.weights.shape[0])

    def scores(self, x: NDArray[Any]) -> NDArray[np.float64]:
        z = self._standardisation.apply(np.asarray(x, dtype=np.float64))
        out: NDArray[np.float64] = z.reshape(z.shape[0], -1) @ self.weights.T + self.bias
        return out

    def predict(self, x: ArrayLike, batch_size: int = 128) -> NDArray[np.float32]:
        xs = check_batch(x, self._input_shape)
        check_batch_size(batch_size)
        self.calls.append(xs.shape[0])
        if self.record_inputs:
            self.inputs.append(xs)
        return self.scores(xs).astype(np.float32)


def binary_linear(w: ArrayLike, b: float) -> LinearClassifier:
    """Class 1 where ``w . x + b > 0``, else class 0: its smoothed classifier is itself and the
    smoothed radius is the distance to the boundary, ``|w . x + b| / ||w||``."""
    w_arr = np.asarray(w, dtype=np.float64)
    return LinearClassifier(np.stack([np.zeros_like(w_arr), w_arr]), np.array([0.0, b]))


class FittableLinear(LinearClassifier):
    """Records every batch that its ``fit_generator`` receives (test double, not an adapter)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.epochs: list[list[tuple[NDArray[Any], NDArray[Any]]]] = []

    def fit(self, x: ArrayLike, y: ArrayLike, batch_size: int = 128, nb_epochs: int = 20) -> None:
        self.fit_generator([(x, y)], nb_epochs=nb_epochs)

    def fit_generator(self, generator: Iterable[tuple[Any, Any]], nb_epochs: int = 20) -> None:
        for _ in range(nb_epochs):
            self.epochs.append([(np.array(a), np.array(b)) for a, b in generator])


class SoftmaxLinear(LinearClassifier):
    """Softmax regression with the cross-entropy loss and its analytic input gradient (float64)."""

    def compute_loss(self, x: ArrayLike, y: ArrayLike, reduction: str = "none") -> NDArray[Any]:
        xs = check_batch(x, self.input_shape, dtype=np.float64)
        idx = to_index(y, self.nb_classes, n=xs.shape[0])
        s = self.scores(xs)
        s = s - s.max(axis=1, keepdims=True)
        logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
        loss = -logp[np.arange(xs.shape[0]), idx]
        if reduction == "mean":
            return np.asarray(loss.mean())
        if reduction == "sum":
            return np.asarray(loss.sum())
        return loss

    def loss_gradient(self, x: ArrayLike, y: ArrayLike) -> NDArray[Any]:
        xs = check_batch(x, self.input_shape, dtype=np.float64)
        idx = to_index(y, self.nb_classes, n=xs.shape[0])
        s = self.scores(xs)
        p = np.exp(s - s.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(xs.shape[0]), idx] -= 1.0
        grad_z = p @ self.weights
        return self.preprocessing.gradient(grad_z.reshape(xs.shape))


class FittableSoftmax(SoftmaxLinear, FittableLinear):
    """Both capabilities."""


class CountingClassifier(LinearClassifier):
    """A NoisyCounter whose counts are given: ``counts[k]`` answers the k-th call."""

    def __init__(self, counts: list[NDArray[np.int64]], nb_classes: int) -> None:
        super().__init__(np.zeros((nb_classes, 2)), np.zeros(nb_classes))
        self._answers = list(counts)
        self.requests: list[tuple[int, float, int, int, SeedLike]] = []

    def count_noisy_predictions(
        self, x: ArrayLike, sigma: float, n: int, *, batch_size: int, seed: SeedLike = None
    ) -> NDArray[np.int64]:
        xs = check_batch(x, self.input_shape)
        as_generator(seed)
        self.requests.append((xs.shape[0], sigma, n, batch_size, seed))
        answer = np.asarray(self._answers.pop(0), dtype=np.int64)
        return np.broadcast_to(answer, (xs.shape[0], self.nb_classes)).copy()
