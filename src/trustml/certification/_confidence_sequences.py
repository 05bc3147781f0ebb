"""Anytime-valid confidence bounds for a binomial proportion, and the randomized Clopper-Pearson
bound.

Two pieces, both exact (no asymptotics):

- :func:`randomized_lower_confidence_bound`: the one-sided randomized Clopper-Pearson bound
  (Stevens, "Fiducial limits of the parameter of a discontinuous distribution", Biometrika 1950;
  recommended for randomized smoothing by Voráček, "Treatment of Statistical Estimation Problems
  in Randomized Smoothing for Adversarial Robustness", 2024, arXiv 2406.17830). With ``U``
  uniform on ``(0, 1)`` and independent of the counts, it is the ``p`` solving
  ``P_p[X > k] + U * P_p[X = k] = alpha``; its coverage is exactly ``1 - alpha`` (the
  randomized p-value is uniform), and it is never below the Clopper-Pearson bound, which is the
  same equation with ``U = 1``.
- :class:`CheckpointSchedule`: a time-uniform (anytime-valid) confidence sequence over a fixed,
  geometric schedule of checkpoints, by a union bound: at checkpoint ``k`` (after ``t_k`` draws)
  the one-sided bounds are taken at level ``alpha_k``, with ``sum_k alpha_k = alpha``, so that

      ``P[there is a k with p < lower_k] <= sum_k alpha_k = alpha``

  whatever the rule that decides, from the counts seen so far, when to stop: a decision taken at
  any (data-dependent) checkpoint is covered. This is the simplest confidence sequence with this
  guarantee (Bonferroni over a geometric grid, the "union bound" construction discussed by
  Voráček 2024, Sec. 4, and by Howard, Ramdas, McAuliffe, Sekhon, "Time-uniform, nonparametric,
  nonasymptotic confidence sequences", Annals of Statistics 2021). The split need not be
  uniform: the last checkpoint (``n_max`` draws) gets ``FINAL_SHARE = 0.9`` of ``alpha`` and the
  ``K - 1`` earlier ones share the rest, so an input that needs every draw is decided almost
  as tightly as by a fixed-n bound at level ``alpha`` (``z`` of ``0.9 alpha`` instead of
  ``alpha``: about 1 % wider at ``alpha = 0.001``), while the early checkpoints, which only have
  to settle clear cases, pay a smaller level (``alpha / 100`` each for ``K = 11``: clear cases
  need about 25 % more draws than with ``alpha / K`` each, a cost the doubling schedule mostly
  hides). The upper bounds are used only to stop, never to claim robustness.

scipy is imported inside the functions, so importing :mod:`trustml` stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.errors import ParameterError, ParameterTypeError

__all__ = [
    "BOUNDS",
    "Bound",
    "CheckpointSchedule",
    "check_bound",
    "lower_bound",
    "randomized_lower_confidence_bound",
    "upper_bound",
]

Bound = Literal["clopper-pearson", "randomized-clopper-pearson"]
BOUNDS: tuple[Bound, ...] = ("clopper-pearson", "randomized-clopper-pearson")

FIRST_CHECKPOINT = 100
"""Estimation draws at the first checkpoint."""

GROWTH = 2.0
"""Ratio between successive checkpoints (the last one is ``n_max``)."""

FINAL_SHARE = 0.9
"""Share of ``alpha`` spent at the last checkpoint (``n_max`` draws)."""


def check_bound(bound: Any, name: str = "bound") -> Bound:
    """Validate the name of a confidence bound: one of :data:`BOUNDS`.

    Raises
    ------
    ParameterTypeError
        Not a string.
    ParameterError
        Not one of ``"clopper-pearson"``, ``"randomized-clopper-pearson"``.
    """
    if not isinstance(bound, str):
        raise ParameterTypeError(f"{name}: expected one of {BOUNDS}, got {type(bound).__name__}")
    for known in BOUNDS:
        if bound == known:
            return known
    raise ParameterError(f"{name}: expected one of {BOUNDS}, got {bound!r}")


def _check_counts(k: ArrayLike, n: ArrayLike) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    k_arr = np.asarray(k, dtype=np.int64)
    n_arr = np.broadcast_to(np.asarray(n, dtype=np.int64), k_arr.shape)
    if k_arr.size and ((n_arr < 1).any() or (k_arr < 0).any() or (k_arr > n_arr).any()):
        raise ParameterError("n_a: expected counts in [0, n] with n >= 1, got values outside")
    return k_arr, n_arr


def randomized_lower_confidence_bound(
    n_a: ArrayLike, n: ArrayLike, alpha: float, u: ArrayLike
) -> NDArray[np.float64]:
    """One-sided randomized Clopper-Pearson lower bound on a binomial proportion.

    The ``p`` solving ``P_p[X > nA] + u * P_p[X = nA] = alpha`` for ``X ~ Binomial(n, p)``
    (Stevens 1950; Voráček 2024, arXiv 2406.17830). With ``u`` uniform on ``(0, 1)`` and
    independent of ``nA``, ``P[p < bound] = alpha`` exactly; for every ``u`` in ``[0, 1]`` the
    bound is at least the Clopper-Pearson bound ``beta.ppf(alpha, nA, n - nA + 1)`` (the case
    ``u = 1``). Solved by bisection to 2^-60 and rounded down, so the returned value never
    exceeds the exact root.

    Parameters
    ----------
    n_a : array_like of int
        Successes, any shape, each in ``[0, n]``.
    n : array_like of int
        Trials (>= 1), broadcastable to ``n_a``.
    alpha : float
        Failure probability in ``(0, 0.5]``.
    u : array_like of float
        Uniform variates in ``[0, 1]``, broadcastable to ``n_a``.

    Returns
    -------
    numpy.ndarray
        float64, the shape of ``n_a``, in ``[0, 1)``.

    Raises
    ------
    ParameterError
        A count outside ``[0, n]``, ``n < 1`` or ``u`` outside ``[0, 1]``.
    """
    from scipy.special import betainc

    k, trials = _check_counts(n_a, n)
    uu = np.broadcast_to(np.asarray(u, dtype=np.float64), k.shape)
    if uu.size and not ((uu >= 0.0) & (uu <= 1.0)).all():
        raise ParameterError("u: expected uniform variates in [0, 1], got values outside")

    def statistic(p: NDArray[np.float64]) -> NDArray[np.float64]:
        # P_p[X >= k] = I_p(k, n - k + 1) (1 where k = 0); P_p[X > k] = I_p(k + 1, n - k)
        # (0 where k = n). Both increase with p.
        at_least = np.where(k == 0, 1.0, betainc(np.maximum(k, 1), trials - k + 1, p))
        above = np.where(k == trials, 0.0, betainc(k + 1, np.maximum(trials - k, 1), p))
        return np.asarray((1.0 - uu) * above + uu * at_least, dtype=np.float64)

    lo = np.zeros(k.shape, dtype=np.float64)
    hi = np.ones(k.shape, dtype=np.float64)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        below = statistic(mid) <= alpha
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return lo


def lower_bound(
    n_a: ArrayLike, n: ArrayLike, alpha: float, bound: Bound, u: ArrayLike | None = None
) -> NDArray[np.float64]:
    """``(1 - alpha)`` one-sided lower bound: Clopper-Pearson, or its randomized version (then
    ``u`` is required). Vectorised over ``n_a`` and ``n``."""
    from scipy.stats import beta

    if bound == "randomized-clopper-pearson":
        if u is None:
            raise ParameterError("u: the randomized Clopper-Pearson bound needs uniform variates")
        return randomized_lower_confidence_bound(n_a, n, alpha, u)
    k, trials = _check_counts(n_a, n)
    safe = np.maximum(k, 1)
    value = np.asarray(beta.ppf(alpha, safe, trials - safe + 1), dtype=np.float64)
    return np.where(k == 0, 0.0, value)


def upper_bound(n_a: ArrayLike, n: ArrayLike, alpha: float) -> NDArray[np.float64]:
    """``(1 - alpha)`` one-sided Clopper-Pearson upper bound ``beta.ppf(1 - alpha, nA + 1,
    n - nA)`` (1 where ``nA = n``). Only used to stop drawing, never to claim robustness."""
    from scipy.stats import beta

    k, trials = _check_counts(n_a, n)
    safe = np.minimum(k, trials - 1)
    value = np.asarray(beta.ppf(1.0 - alpha, safe + 1, trials - safe), dtype=np.float64)
    return np.where(k == trials, 1.0, value)


@dataclass(frozen=True)
class CheckpointSchedule:
    """The checkpoints of a sequential test and the level spent at each.

    Checkpoint ``k`` (``k = 0 .. K-1``) falls after ``t_k`` estimation draws, a geometric
    sequence from ``FIRST_CHECKPOINT`` ending at ``n_max``; checkpoint ``k`` gets the level
    ``levels[k]``, and the levels sum to ``alpha``, so the bounds hold at all checkpoints at once
    with probability ``>= 1 - alpha`` (union bound), which makes any stopping rule that looks
    only at the checkpoints sound.

    Attributes
    ----------
    checkpoints : tuple of int
        Increasing cumulative numbers of estimation draws, ending at ``n_max``.
    levels : tuple of float
        The level of each checkpoint, positive, summing to ``alpha``.
    """

    checkpoints: tuple[int, ...]
    levels: tuple[float, ...]

    @classmethod
    def geometric(
        cls,
        n_max: int,
        alpha: float,
        *,
        growth: float = GROWTH,
        final_share: float = FINAL_SHARE,
    ) -> CheckpointSchedule:
        """``t_k = min(n_max, round(100 * growth**k))`` until ``n_max`` is reached; the last
        checkpoint gets ``final_share * alpha``, the others share the rest equally (a single
        checkpoint gets all of ``alpha``)."""
        points = [min(n_max, FIRST_CHECKPOINT)]
        k = 1
        while points[-1] < n_max:
            nxt = min(n_max, max(points[-1] + 1, round(FIRST_CHECKPOINT * growth**k)))
            points.append(nxt)
            k += 1
        if len(points) == 1:
            return cls(tuple(points), (alpha,))
        early = (1.0 - final_share) * alpha / (len(points) - 1)
        return cls(tuple(points), (early,) * (len(points) - 1) + (final_share * alpha,))

    @property
    def alpha(self) -> float:
        """The total level ``sum(levels)``."""
        return float(sum(self.levels))

    def block_sizes(self) -> list[int]:
        """Draws added at each checkpoint (``t_0, t_1 - t_0, ...``)."""
        return [b - a for a, b in zip((0, *self.checkpoints[:-1]), self.checkpoints)]
