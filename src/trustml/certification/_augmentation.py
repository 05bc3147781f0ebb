"""Gaussian noise for training and for gradients, in raw input space (before preprocessing).

- Training: every batch of every epoch gets fresh noise of the certification ``sigma`` before the
  wrapped model's preprocessing, so the model is trained on the very distribution it is certified
  on (Cohen et al., 2019, Section 4). ART adds the noise *after* preprocessing in ``fit`` but
  *before* it in ``certify``, so with a standardisation the two sigmas differ.
- Gradients: the loss of the smoothed model is ``E_e[L(x + e, y)]``; :class:`NoisyGradients`
  estimates it and its input gradient ``E_e[grad L(x + e, y)]`` with the same
  ``nb_gradient_samples`` draws, so the gradient is the exact gradient of the estimated loss. The
  draws (each of shape ``input_shape``) are shared by every row of the batch, so a row's loss and
  gradient depend only on that row and the seed (the batch-independence contract of
  :class:`~trustml.protocols.LossGradients`), and each row's estimate is unbiased.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml._losses import reduce_losses
from trustml.certification._smoothing import Smoothing
from trustml.errors import ParameterError, ParameterTypeError
from trustml.labels import to_index
from trustml.protocols import Fittable, LossGradients, Reduction
from trustml.rng import SeedLike
from trustml.validation import (
    check_batch_size,
    check_nonempty,
    check_positive_int,
    check_reduction,
)

__all__ = ["NoisyBatches", "NoisyGenerator", "NoisyGradients", "NoisyTraining"]


class NoisyBatches:
    """Shuffled mini-batches of ``(x + noise, y)``, with fresh noise and order at every pass.

    Iterable any number of times (one pass per epoch); never more than one batch of noisy copies
    in memory.
    """

    def __init__(
        self,
        x: NDArray[np.float32],
        y: NDArray[np.int64],
        batch_size: int,
        sigma: float,
        rng: np.random.Generator,
    ) -> None:
        self._x, self._y, self._batch_size = x, y, batch_size
        self._sigma, self._rng = np.float32(sigma), rng

    def __iter__(self) -> Iterator[tuple[NDArray[np.float32], NDArray[np.int64]]]:
        order = self._rng.permutation(self._x.shape[0])
        for start in range(0, order.shape[0], self._batch_size):
            idx = order[start : start + self._batch_size]
            noisy = self._rng.standard_normal(
                (idx.shape[0], *self._x.shape[1:]), dtype=np.float32
            )
            noisy *= self._sigma
            noisy += self._x[idx]
            yield noisy, self._y[idx]


class NoisyGenerator:
    """Wraps a user's iterable of ``(x, y)`` batches: each pass yields ``(x + noise, y)`` with
    fresh noise, each ``x`` validated against ``input_shape`` and ``y`` against ``nb_classes``."""

    def __init__(self, batches: Iterable[tuple[Any, Any]], smoothing: Smoothing,
                 rng: np.random.Generator) -> None:
        self._batches, self._smoothing, self._rng = batches, smoothing, rng

    def __iter__(self) -> Iterator[tuple[NDArray[np.float32], NDArray[np.int64]]]:
        nb_classes = self._smoothing.classifier.nb_classes
        sigma = np.float32(self._smoothing.sigma)
        for i, batch in enumerate(self._batches):
            if not isinstance(batch, (tuple, list)) or len(batch) != 2:
                raise ParameterError(
                    f"generator: expected (x, y) pairs, got {type(batch).__name__} at batch {i}"
                )
            xb, yb = batch
            x = self._smoothing.check_x(xb, name=f"x of batch {i}")
            check_nonempty(x.shape[0], f"x of batch {i}")
            y = to_index(yb, nb_classes, n=x.shape[0], name=f"y of batch {i}")
            noise = self._rng.standard_normal(x.shape, dtype=np.float32)
            noise *= sigma
            yield x + noise, y


class NoisyTraining:
    """``fit`` / ``fit_generator`` of a smoothed classifier: Gaussian augmentation, then the wrapped
    model's own ``fit_generator`` (one pass over the noisy batches per epoch)."""

    def __init__(self, smoothing: Smoothing, model: Fittable) -> None:
        self._smoothing, self._model = smoothing, model

    def fit(
        self, x: ArrayLike, y: ArrayLike, batch_size: int, nb_epochs: int, seed: SeedLike
    ) -> None:
        """Validate everything, then train; see ``TrainableSmoothedClassifier.fit``."""
        xs = self._smoothing.check_x(x)
        check_nonempty(xs.shape[0])
        ys = to_index(y, self._smoothing.classifier.nb_classes, n=xs.shape[0])
        batch_size = check_batch_size(batch_size)
        nb_epochs = _check_epochs(nb_epochs)
        rng = self._smoothing.generator(seed)
        batches = NoisyBatches(xs, ys, batch_size, self._smoothing.sigma, rng)
        self._model.fit_generator(batches, nb_epochs=nb_epochs)

    def fit_generator(
        self, generator: Iterable[tuple[Any, Any]], nb_epochs: int, seed: SeedLike
    ) -> None:
        """Train on noisy versions of a user's batches; see
        ``TrainableSmoothedClassifier.fit_generator``."""
        nb_epochs = _check_epochs(nb_epochs)
        if not isinstance(generator, Iterable):
            raise ParameterTypeError(
                f"generator: expected an iterable of (x, y) batches, got {type(generator).__name__}"
            )
        if nb_epochs > 1 and isinstance(generator, Iterator):
            raise ParameterTypeError(
                "generator: expected a re-iterable source of batches (a list, a DataLoader) for "
                f"nb_epochs={nb_epochs}, got a one-shot iterator ({type(generator).__name__})"
            )
        rng = self._smoothing.generator(seed)
        self._model.fit_generator(NoisyGenerator(generator, self._smoothing, rng),
                                  nb_epochs=nb_epochs)


class NoisyGradients:
    """Loss and input gradient of the smoothed model, averaged over ``nb_gradient_samples``
    Gaussian draws (the same draws for both, for a given seed)."""

    def __init__(self, smoothing: Smoothing, model: LossGradients) -> None:
        self._smoothing, self._model = smoothing, model

    def _draws(
        self, x: ArrayLike, y: ArrayLike, seed: SeedLike
    ) -> tuple[NDArray[np.float64], NDArray[np.int64], Iterator[NDArray[np.float64]]]:
        xs = self._smoothing.check_x(x, dtype=np.float64)
        ys = to_index(y, self._smoothing.classifier.nb_classes, n=xs.shape[0])
        rng = self._smoothing.generator(seed)
        sigma = self._smoothing.sigma
        count = self._smoothing.nb_gradient_samples

        # one draw per sample s, shared by every row: a row's estimate depends on that row and
        # the seed only, never on the batch it arrives in nor on its position in it
        noise = rng.standard_normal((count, *xs.shape[1:]))

        def noisy() -> Iterator[NDArray[np.float64]]:
            for s in range(count):
                yield xs + sigma * noise[s]

        return xs, ys, noisy()

    def compute_loss(
        self, x: ArrayLike, y: ArrayLike, reduction: Reduction, seed: SeedLike
    ) -> NDArray[Any]:
        """Monte Carlo ``E_e[L(x + e, y)]`` per sample, then ``reduction``."""
        check_reduction(reduction)
        _, ys, draws = self._draws(x, y, seed)
        total: NDArray[Any] | None = None
        for noisy in draws:
            loss = np.asarray(self._model.compute_loss(noisy, ys, reduction="none"))
            total = loss if total is None else total + loss
        # nb_gradient_samples >= 1, so total is set
        per_sample: NDArray[Any] = cast(NDArray[Any], total) / self._smoothing.nb_gradient_samples
        return reduce_losses(per_sample, reduction, per_sample.dtype)

    def loss_gradient(self, x: ArrayLike, y: ArrayLike, seed: SeedLike) -> NDArray[Any]:
        """Monte Carlo ``E_e[grad_x L(x + e, y)]``, shape of ``x``."""
        _, ys, draws = self._draws(x, y, seed)
        total: NDArray[Any] | None = None
        for noisy in draws:
            grad = np.asarray(self._model.loss_gradient(noisy, ys))
            total = grad if total is None else total + grad
        out: NDArray[Any] = cast(NDArray[Any], total) / self._smoothing.nb_gradient_samples
        return out


def _check_epochs(nb_epochs: Any) -> int:
    return check_positive_int(nb_epochs, "nb_epochs")
