"""The shared part of every smoothed classifier: CERTIFY and PREDICT of Cohen et al. (2019).

Composed (not inherited) by the public classes of
:mod:`trustml.certification.randomized_smoothing`. Algorithms as in Cohen, Rosenfeld, Kolter,
"Certified Adversarial Robustness via Randomized Smoothing", ICML 2019, Section 3.2 (Pseudocode).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml._progress import progress_bar
from trustml.certification._confidence_sequences import check_bound
from trustml.certification._sampling import draw_call_seed
from trustml.certification._sharding import (
    Pass,
    ShardResult,
    check_executor,
    check_shard_size,
    count_blocks,
    iter_shards,
)
from trustml.certification._statistics import (
    certified_radius,
    check_alpha,
    check_count,
    check_sigma,
    lower_confidence_bound,
    two_sided_binomial_pvalue,
)
from trustml.errors import ParameterError, ParameterTypeError
from trustml.protocols import Classifier, require
from trustml.rng import SeedLike, as_generator
from trustml.validation import check_batch, check_batch_size

__all__ = ["Smoothing", "certify_from_counts", "predict_from_counts", "predicted_labels"]


def predicted_labels(predictions: ArrayLike) -> NDArray[np.int64]:
    """Labels from smoothed predictions, ``-1`` where the smoothed classifier abstains.

    Parameters
    ----------
    predictions : array_like
        ``(N, nb_classes)`` as returned by a smoothed classifier's ``predict``: one-hot rows, or
        all-zero rows where PREDICT abstained.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` int64: the argmax of each row, or ``-1`` for an all-zero row.

    Raises
    ------
    InputShapeError
        ``predictions`` is not two-dimensional.
    """
    from trustml.errors import InputShapeError

    arr = np.asarray(predictions)
    if arr.ndim != 2:
        raise InputShapeError(f"predictions: expected shape (N, nb_classes), got {arr.shape}")
    if arr.shape[1] == 0:
        return np.full(arr.shape[0], -1, dtype=np.int64)
    labels = np.argmax(arr, axis=1).astype(np.int64)
    return np.where((arr != 0).any(axis=1), labels, np.int64(-1))


class Smoothing:
    """The smoothed classifier ``g(x) = argmax_c P[f(x + e) = c]``, ``e ~ N(0, sigma^2 I)``.

    Holds the wrapped classifier and the defaults; see :func:`~trustml.certification.
    RandomizedSmoothing` for the parameters. Every validation happens in the constructor or at
    the start of a call, before any noise is drawn.
    """

    def __init__(
        self,
        classifier: Classifier,
        sigma: float,
        *,
        alpha: float,
        n: int,
        n0: int,
        batch_size: int,
        nb_gradient_samples: int,
        seed: SeedLike,
    ) -> None:
        capability: type = Classifier  # (a Protocol class is not a concrete type[P] for mypy)
        require(classifier, capability, "classifier")
        self.classifier: Classifier = classifier
        self.sigma: float = check_sigma(sigma)
        self.alpha: float = check_alpha(alpha)
        self.n: int = check_count(n, "n")
        self.n0: int = check_count(n0, "n0")
        self.batch_size: int = check_batch_size(batch_size)
        self.nb_gradient_samples: int = check_count(nb_gradient_samples, "nb_gradient_samples")
        as_generator(seed)  # validates the type
        self.seed: SeedLike = seed

    def generator(self, seed: SeedLike) -> np.random.Generator:
        """The call's seed if given, else the constructor's (an int gives the same stream at
        every call; a Generator advances; None is fresh OS entropy)."""
        return as_generator(self.seed if seed is None else seed)

    def check_x(self, x: ArrayLike, dtype: Any = np.float32, name: str = "x") -> NDArray[Any]:
        """Validated copy of ``x`` ``(N, *input_shape)`` in ``dtype``."""
        return check_batch(x, self.classifier.input_shape, dtype=dtype, name=name)

    def counts(
        self,
        x: NDArray[np.float32],
        n: int,
        *,
        batch_size: int,
        rng: np.random.Generator,
        advance: Callable[[int], None] | None = None,
    ) -> NDArray[np.int64]:
        """``(N, nb_classes)`` int64 counts of ``n`` noisy predictions per input (one seed drawn
        from ``rng``, the draws in blocks of ``_sharding.DRAW_BLOCK``)."""
        return count_blocks(
            self.classifier, x, self.sigma, n, batch_size=batch_size, seed=draw_call_seed(rng),
            advance=advance,
        )

    def shards(
        self,
        x: NDArray[np.float32],
        draws: list[int],
        *,
        batch_size: int,
        rng: np.random.Generator,
        executor: Executor | None,
        shard_size: int | None,
        advance: Callable[[int], None] | None = None,
    ) -> Iterator[ShardResult]:
        """The counts of one pass per entry of ``draws`` (each seeded by one draw from ``rng``),
        shard by shard (``_sharding.ShardResult``), in process or over ``executor``."""
        passes = [Pass(d, draw_call_seed(rng)) for d in draws]
        return iter_shards(
            self.classifier, x, self.sigma, passes, batch_size=batch_size, executor=executor,
            shard_size=shard_size, advance=advance,
        )

    def certify(
        self,
        x: ArrayLike,
        n: int,
        *,
        n0: int | None,
        alpha: float | None,
        batch_size: int | None,
        seed: SeedLike,
        progress: bool,
        executor: Executor | None = None,
        shard_size: int | None = None,
        early_stop: bool = False,
        bound: str = "clopper-pearson",
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """CERTIFY for every row of ``x``; see ``SmoothedClassifier.certify``."""
        from trustml.certification import _sequential

        kind = check_bound(bound)
        if not isinstance(early_stop, bool):
            raise ParameterTypeError(
                f"early_stop: expected a bool, got {type(early_stop).__name__}"
            )
        n = check_count(n, "n")
        n0 = self.n0 if n0 is None else check_count(n0, "n0")
        alpha = self.alpha if alpha is None else check_alpha(alpha)
        batch_size = self.batch_size if batch_size is None else check_batch_size(batch_size)
        shard_size = check_shard_size(shard_size)
        executor = None if executor is None else check_executor(executor)
        xs = self.check_x(x)
        rng = self.generator(seed)
        if early_stop or kind != "clopper-pearson":  # blocks, curtailment, randomized bound
            if executor is not None:
                raise ParameterError(
                    "executor: expected None with early_stop=True or a randomized bound (they "
                    f"run in process), got {type(executor).__name__}"
                )
            return _sequential.certify_in_blocks(
                self, xs, n, n0=n0, alpha=alpha, batch_size=batch_size, rng=rng, bound=kind,
                early_stop=early_stop, progress=progress,
            )
        selection = np.zeros((xs.shape[0], self.classifier.nb_classes), dtype=np.int64)
        estimation = np.zeros_like(selection)
        with _progress(progress, xs.shape[0] * (n0 + n), "certify") as advance:
            # selection draws, then fresh estimation draws: the selection is never reused
            for shard in self.shards(
                xs, [n0, n], batch_size=batch_size, rng=rng, executor=executor,
                shard_size=xs.shape[0] if shard_size is None and executor is None else shard_size,
                advance=advance,
            ):
                selection[shard.start : shard.stop] = shard.counts[0]
                estimation[shard.start : shard.stop] = shard.counts[1]
        return certify_from_counts(selection, estimation, n, alpha, self.sigma)

    def predict(
        self,
        x: ArrayLike,
        *,
        n: int | None,
        alpha: float | None,
        batch_size: int | None,
        seed: SeedLike,
        progress: bool = False,
        executor: Executor | None = None,
        shard_size: int | None = None,
    ) -> NDArray[np.float32]:
        """PREDICT for every row of ``x``; see ``SmoothedClassifier.predict``."""
        n = self.n if n is None else check_count(n, "n")
        alpha = self.alpha if alpha is None else check_alpha(alpha)
        batch_size = self.batch_size if batch_size is None else check_batch_size(batch_size)
        shard_size = check_shard_size(shard_size)
        executor = None if executor is None else check_executor(executor)
        xs = self.check_x(x)
        rng = self.generator(seed)
        counts = np.zeros((xs.shape[0], self.classifier.nb_classes), dtype=np.int64)
        with _progress(progress, xs.shape[0] * n, "predict") as advance:
            for shard in self.shards(
                xs, [n], batch_size=batch_size, rng=rng, executor=executor,
                shard_size=xs.shape[0] if shard_size is None and executor is None else shard_size,
                advance=advance,
            ):
                counts[shard.start : shard.stop] = shard.counts[0]
        return predict_from_counts(counts, alpha)


def certify_from_counts(
    selection: NDArray[np.int64],
    estimation: NDArray[np.int64],
    n: int,
    alpha: float,
    sigma: float,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """CERTIFY's decision from the selection and estimation counts ``(N, nb_classes)``: labels
    ``(N,)`` int64 (``-1`` abstains) and L2 radii ``(N,)`` float64."""
    top = np.argmax(selection, axis=1).astype(np.int64)
    n_a = estimation[np.arange(selection.shape[0]), top]
    p_lower = lower_confidence_bound(n_a, n, alpha)
    abstain = p_lower < 0.5
    labels = np.where(abstain, np.int64(-1), top)
    radii = np.where(abstain, 0.0, certified_radius(p_lower, sigma))
    return labels.astype(np.int64), radii.astype(np.float64)


def predict_from_counts(counts: NDArray[np.int64], alpha: float) -> NDArray[np.float32]:
    """PREDICT's decision from the counts ``(N, nb_classes)``: one-hot rows, zero rows abstain."""
    order = np.argsort(-counts, axis=1, kind="stable")
    rows = np.arange(counts.shape[0])
    first = counts[rows, order[:, 0]]
    second = counts[rows, order[:, 1]]
    decided = two_sided_binomial_pvalue(first, first + second) <= alpha
    out = np.zeros(counts.shape, dtype=np.float32)
    out[rows[decided], order[decided, 0]] = 1.0
    return out


@contextmanager
def _progress(enabled: bool, total: int, what: str) -> Iterator[Callable[[int], None] | None]:
    """A tqdm bar over ``total`` noisy draws when ``enabled`` and tqdm is installed (extra
    ``progress``); yields its ``update`` (or None)."""
    with progress_bar(enabled, total, desc=what, unit="draw", unit_scale=True) as bar:
        yield None if bar is None else bar.update
