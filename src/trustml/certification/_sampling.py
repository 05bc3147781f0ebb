"""Monte Carlo counts of a classifier's predictions under Gaussian noise, in bounded memory.

The noise is added in raw input space, before the wrapped classifier's preprocessing (its
``predict`` standardises the noisy input itself). Never more than ``batch_size`` noisy copies
exist at once: the draws of all inputs form one flat sequence of ``N * n`` rows, cut into chunks of
at most ``batch_size`` rows that fill one reused buffer, and the argmax labels of each chunk are
counted with a single ``numpy.bincount``. Because numpy's Generator produces the same stream
whatever the sizes of the successive requests, the counts for a given seed do not depend on
``batch_size``.

Adapters that satisfy :class:`trustml.protocols.NoisyCounter` draw and count on their own device
instead (:func:`count_predictions` detects it).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from trustml.errors import UnsupportedModelError
from trustml.protocols import Classifier, NoisyCounter

__all__ = ["count_predictions", "count_through_predict", "count_with_noisy_counter"]

Advance = Callable[[int], None]
"""Progress callback: receives the number of noisy draws just evaluated."""


def count_through_predict(
    classifier: Classifier,
    x: NDArray[np.float32],
    sigma: float,
    n: int,
    *,
    batch_size: int,
    rng: np.random.Generator,
    advance: Advance | None = None,
) -> NDArray[np.int64]:
    """Count argmax labels of ``classifier.predict`` on ``n`` noisy copies of each input.

    Parameters
    ----------
    classifier : Classifier
        Called with at most ``batch_size`` rows at a time.
    x : numpy.ndarray
        ``(N, *input_shape)`` float32, validated raw inputs.
    sigma : float
        Noise standard deviation, raw input units.
    n : int
        Draws per input.
    batch_size : int
        Most noisy copies in memory (and per ``predict`` call).
    rng : numpy.random.Generator
        Source of the noise; advances by ``N * n * prod(input_shape)`` float32 normals.

    Returns
    -------
    numpy.ndarray
        ``(N, nb_classes)`` int64; each row sums to ``n``.

    Raises
    ------
    UnsupportedModelError
        ``predict`` returned something other than ``(rows, nb_classes)`` scores.
    """
    nb_classes = classifier.nb_classes
    n_inputs = x.shape[0]
    counts = np.zeros(n_inputs * nb_classes, dtype=np.int64)
    total = n_inputs * n
    buffer = np.empty((min(batch_size, total), *x.shape[1:]), dtype=np.float32)
    for start in range(0, total, batch_size):
        stop = min(start + batch_size, total)
        noisy = buffer[: stop - start]
        rng.standard_normal(dtype=np.float32, out=noisy)
        noisy *= np.float32(sigma)
        first, last = start // n, (stop - 1) // n
        for i in range(first, last + 1):  # one slice per input in the chunk, not per draw
            lo, hi = max(start, i * n) - start, min(stop, (i + 1) * n) - start
            noisy[lo:hi] += x[i]
        scores = np.asarray(classifier.predict(noisy, batch_size=stop - start))
        if scores.shape != (stop - start, nb_classes):
            raise UnsupportedModelError(
                f"classifier.predict: expected scores of shape ({stop - start}, {nb_classes}), "
                f"got {scores.shape}"
            )
        rows = np.arange(start, stop) // n - first
        flat = rows * nb_classes + np.argmax(scores, axis=1)
        block = np.bincount(flat, minlength=(last - first + 1) * nb_classes)
        counts[first * nb_classes : (last + 1) * nb_classes] += block
        if advance is not None:
            advance(stop - start)
    return counts.reshape(n_inputs, nb_classes)


def count_with_noisy_counter(
    classifier: NoisyCounter,
    x: NDArray[np.float32],
    sigma: float,
    n: int,
    nb_classes: int,
    *,
    batch_size: int,
    rng: np.random.Generator,
    advance: Advance | None = None,
) -> NDArray[np.int64]:
    """Counts through the adapter's own device fast path (``count_noisy_predictions``).

    Inputs go in blocks of ``max(1, batch_size // n)``, each with an integer seed drawn from
    ``rng``, so the result is reproducible for a seed and progress can be reported per block.

    Raises
    ------
    UnsupportedModelError
        The adapter returned counts of the wrong shape, or rows that do not sum to ``n``.
    """
    n_inputs = x.shape[0]
    per_block = max(1, batch_size // n)
    blocks: list[NDArray[np.int64]] = []
    for start in range(0, n_inputs, per_block):
        chunk = x[start : start + per_block]
        seed = int(rng.integers(0, 2**63 - 1))
        got = np.asarray(
            classifier.count_noisy_predictions(chunk, sigma, n, batch_size=batch_size, seed=seed)
        )
        if got.shape != (chunk.shape[0], nb_classes) or not (got.sum(axis=1) == n).all():
            raise UnsupportedModelError(
                f"classifier.count_noisy_predictions: expected int counts of shape "
                f"({chunk.shape[0]}, {nb_classes}) with rows summing to {n}, got shape {got.shape}"
            )
        blocks.append(got.astype(np.int64, copy=False))
        if advance is not None:
            advance(chunk.shape[0] * n)
    if not blocks:
        return np.zeros((0, nb_classes), dtype=np.int64)
    return np.concatenate(blocks, axis=0)


def count_predictions(
    classifier: Classifier,
    x: NDArray[np.float32],
    sigma: float,
    n: int,
    *,
    batch_size: int,
    rng: np.random.Generator,
    advance: Advance | None = None,
) -> NDArray[np.int64]:
    """Counts of ``n`` noisy predictions per input: the adapter's fast path when it has one
    (:class:`~trustml.protocols.NoisyCounter`), else :func:`count_through_predict`."""
    if isinstance(classifier, NoisyCounter):
        return count_with_noisy_counter(
            classifier, x, sigma, n, classifier.nb_classes,
            batch_size=batch_size, rng=rng, advance=advance,
        )
    return count_through_predict(
        classifier, x, sigma, n, batch_size=batch_size, rng=rng, advance=advance
    )
