"""Monte Carlo counts of a classifier's predictions under Gaussian noise, in bounded memory.

The noise is added in raw input space, before the wrapped classifier's preprocessing (its
``predict`` standardises the noisy input itself). Never more than ``batch_size`` noisy copies
exist at once: the draws are cut into chunks of
at most ``batch_size`` rows, and the argmax labels of each chunk are counted with a single
``numpy.bincount``. Each input's noise is seeded from the call's seed and the input's own values
(:func:`trustml.rng.input_seeds`), so an input's counts depend only on the input and the seed:
not on the batch it came in, its position, or ``batch_size``.

Adapters that satisfy :class:`trustml.protocols.NoisyCounter` draw and count on their own device
instead (:func:`count_seeded` detects it).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from trustml.errors import UnsupportedModelError
from trustml.protocols import Classifier, NoisyCounter
from trustml.rng import input_seeds

__all__ = [
    "count_seeded",
    "count_through_predict",
    "count_with_noisy_counter",
    "draw_call_seed",
]

Advance = Callable[[int], None]
"""Progress callback: receives the number of noisy draws just evaluated."""


def count_through_predict(
    classifier: Classifier,
    x: NDArray[np.float32],
    sigma: float,
    n: int,
    *,
    batch_size: int,
    seed: int,
    advance: Advance | None = None,
) -> NDArray[np.int64]:
    """Count argmax labels of ``classifier.predict`` on ``n`` noisy copies of each input.

    Each input's noise comes from its own ``numpy.random.Generator``, seeded from the integer
    ``seed`` and the input's values (:func:`trustml.rng.input_seeds`): distinct inputs
    get independent noise, and an input's counts depend only on the input and the seed, not on
    the other inputs, their order, or ``batch_size`` (a Generator gives the same stream whatever
    the sizes of the successive requests).

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
    seed : int
        The call's (or the draw block's) seed, in ``[0, 2**63)``.

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
    n_inputs, shape = x.shape[0], x.shape[1:]
    counts = np.zeros((n_inputs, nb_classes), dtype=np.int64)
    seeds = input_seeds(x, seed)

    def count(noisy: NDArray[np.float32], rows: NDArray[np.intp], first: int) -> None:
        scores = np.asarray(classifier.predict(noisy, batch_size=noisy.shape[0]))
        if scores.shape != (noisy.shape[0], nb_classes):
            raise UnsupportedModelError(
                f"classifier.predict: expected scores of shape ({noisy.shape[0]}, {nb_classes}), "
                f"got {scores.shape}"
            )
        groups = int(rows[-1]) + 1
        flat = rows * nb_classes + np.argmax(scores, axis=1)
        counts[first : first + groups] += np.bincount(
            flat, minlength=groups * nb_classes
        ).reshape(groups, nb_classes)
        if advance is not None:
            advance(noisy.shape[0])

    if n <= batch_size:
        # Groups of inputs, each with its n draws: at most batch_size noisy copies at once.
        per_group = max(1, batch_size // n)
        buffer = np.empty((min(per_group, n_inputs) * n, *shape), dtype=np.float32)
        for first in range(0, n_inputs, per_group):
            groups = min(per_group, n_inputs - first)
            noisy = buffer[: groups * n]
            for k in range(groups):  # per input, never per draw
                block = noisy[k * n : (k + 1) * n]
                np.random.default_rng(seeds[first + k]).standard_normal(dtype=np.float32, out=block)
                block *= np.float32(sigma)
                block += x[first + k]
            count(noisy, np.repeat(np.arange(groups), n), first)
        return counts
    buffer = np.empty((batch_size, *shape), dtype=np.float32)
    zeros = np.zeros(batch_size, dtype=np.intp)
    for i in range(n_inputs):  # one input at a time, its n draws in chunks of batch_size
        gen = np.random.default_rng(seeds[i])
        for start in range(0, n, batch_size):
            noisy = buffer[: min(batch_size, n - start)]
            gen.standard_normal(dtype=np.float32, out=noisy)
            noisy *= np.float32(sigma)
            noisy += x[i]
            count(noisy, zeros[: noisy.shape[0]], i)
    return counts


def count_with_noisy_counter(
    classifier: NoisyCounter,
    x: NDArray[np.float32],
    sigma: float,
    n: int,
    nb_classes: int,
    *,
    batch_size: int,
    seed: int,
    advance: Advance | None = None,
) -> NDArray[np.int64]:
    """Counts through the adapter's own device fast path (``count_noisy_predictions``).

    Inputs go in blocks of ``max(1, batch_size // n)`` (so progress can be reported per block),
    every block with the same integer ``seed``: the adapter's contract makes
    an input's counts depend only on the input and that seed, so blocks do not change the result.

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


def draw_call_seed(rng: np.random.Generator) -> int:
    """The integer seed of one counting pass, drawn from the call's Generator (one draw)."""
    return int(rng.integers(0, 2**63 - 1))


def count_seeded(
    classifier: Classifier,
    x: NDArray[np.float32],
    sigma: float,
    n: int,
    *,
    batch_size: int,
    seed: int,
    advance: Advance | None = None,
) -> NDArray[np.int64]:
    """Counts of ``n`` noisy predictions per input with the integer ``seed``: the adapter's fast
    path when it has one (:class:`~trustml.protocols.NoisyCounter`), else
    :func:`count_through_predict`."""
    if isinstance(classifier, NoisyCounter):
        return count_with_noisy_counter(
            classifier, x, sigma, n, classifier.nb_classes,
            batch_size=batch_size, seed=seed, advance=advance,
        )
    return count_through_predict(
        classifier, x, sigma, n, batch_size=batch_size, seed=seed, advance=advance
    )
