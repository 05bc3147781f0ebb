"""The statistics of CERTIFY and PREDICT (Cohen, Rosenfeld, Kolter, ICML 2019), vectorised.

scipy is imported inside the functions, so importing :mod:`trustml` stays light.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.errors import ParameterError, ParameterTypeError
from trustml.validation import (
    check_integral_array,
    check_positive_float,
    check_positive_int,
    check_real,
)

__all__ = [
    "certified_radius",
    "check_alpha",
    "check_count",
    "check_sigma",
    "lower_confidence_bound",
    "two_sided_binomial_pvalue",
]


def check_sigma(sigma: Any, name: str = "sigma") -> float:
    """Validate a noise level: a finite float > 0 (raw input units).

    Raises
    ------
    ParameterTypeError
        Not a real number.
    ParameterError
        Not finite, or not > 0.
    """
    return check_positive_float(sigma, name)


def check_alpha(alpha: Any, name: str = "alpha") -> float:
    """Validate a failure probability: a float in ``(0, 0.5]``.

    Above 0.5 a one-sided lower confidence bound would sit above the point estimate, and at 0 it
    is vacuous.

    Raises
    ------
    ParameterTypeError
        Not a real number.
    ParameterError
        Outside ``(0, 0.5]``.
    """
    return check_real(alpha, name, low=0.0, high=0.5, closed="right")


def check_count(count: Any, name: str) -> int:
    """Validate a number of noise draws: an int >= 1.

    Raises
    ------
    ParameterTypeError
        Not an integer.
    ParameterError
        An integer < 1.
    """
    return check_positive_int(count, name)


def lower_confidence_bound(n_a: ArrayLike, n: int, alpha: float) -> NDArray[np.float64]:
    """One-sided (1 - alpha) Clopper-Pearson lower bound on a binomial proportion.

    ``beta.ppf(alpha, n_a, n - n_a + 1)``, and 0 where ``n_a == 0``; Cohen et al.'s
    ``LowerConfBound`` (``proportion_confint(n_a, n, alpha=2 * alpha, method="beta")[0]``).

    Parameters
    ----------
    n_a : array_like of int
        Successes, any shape, each in ``[0, n]``.
    n : int
        Trials (>= 1).
    alpha : float
        Failure probability in ``(0, 0.5]``.

    Returns
    -------
    numpy.ndarray
        float64, the shape of ``n_a``, in ``[0, 1)``.

    Raises
    ------
    ParameterError
        ``n < 1``, ``alpha`` outside ``(0, 0.5]``, a count outside ``[0, n]`` or not a whole
        number (``2.7``).
    ParameterTypeError
        ``n_a`` is not a real numeric array.
    """
    from scipy.stats import beta

    n = check_count(n, "n")
    alpha = check_alpha(alpha)
    counts = check_integral_array(n_a, "n_a")
    if counts.size and (counts.min() < 0 or counts.max() > n):
        raise ParameterError(f"n_a: expected counts in [0, {n}], got values outside")
    safe = np.maximum(counts, 1)
    bound = np.asarray(beta.ppf(alpha, safe, n - safe + 1), dtype=np.float64)
    return np.where(counts == 0, 0.0, bound)


def certified_radius(p_lower: ArrayLike, sigma: float) -> NDArray[np.float64]:
    """L2 radius ``sigma * Phi^-1(p_lower)`` (Cohen et al., Theorem 1 with ``pB = 1 - pA``).

    Parameters
    ----------
    p_lower : array_like of float
        Lower bounds on the top class's probability, each in ``[0, 1)`` (``1`` would certify an
        infinite radius, which no finite sample supports).
    sigma : float
        Noise standard deviation, > 0 (raw input units).

    Returns
    -------
    numpy.ndarray
        float64, the shape of ``p_lower``; ``0.0`` where ``p_lower < 0.5`` (abstain). Raw input
        units.

    Raises
    ------
    ParameterError
        ``sigma`` not a finite float > 0; a probability outside ``[0, 1)`` or NaN.
    ParameterTypeError
        ``sigma`` or ``p_lower`` not real numbers.
    """
    from scipy.stats import norm

    sigma = check_sigma(sigma)
    p = np.asarray(p_lower)
    if p.dtype.kind not in "biuf":
        raise ParameterTypeError(f"p_lower: expected probabilities, got dtype {p.dtype}")
    p = p.astype(np.float64)
    if not ((p >= 0.0) & (p < 1.0)).all():  # NaN fails both comparisons
        bad = p[~((p >= 0.0) & (p < 1.0))].flat[0]
        raise ParameterError(f"p_lower: expected probabilities in [0, 1), got {bad!r}")
    radius = sigma * np.asarray(norm.ppf(p), dtype=np.float64)
    return np.where(p < 0.5, 0.0, radius)


def two_sided_binomial_pvalue(k: ArrayLike, n: ArrayLike) -> NDArray[np.float64]:
    """p-value of the exact two-sided binomial test of ``p = 0.5``, vectorised.

    For ``p = 0.5`` the distribution is symmetric, so the p-value of
    ``scipy.stats.binomtest(k, n, 0.5, alternative="two-sided")`` is
    ``min(1, 2 * P[X <= min(k, n - k)])``; the tests compare the two.

    Parameters
    ----------
    k, n : array_like of int
        Successes and trials, broadcastable; ``0 <= k <= n``. ``n = 0`` gives 1.

    Returns
    -------
    numpy.ndarray
        float64 p-values in ``(0, 1]``.

    Raises
    ------
    ParameterError
        ``k`` or ``n`` not whole numbers, ``n < 0``, ``k`` outside ``[0, n]``, or shapes that do
        not broadcast.
    ParameterTypeError
        ``k`` or ``n`` not real numeric arrays.
    """
    from scipy.stats import binom

    k_arr = check_integral_array(k, "k")
    n_arr = check_integral_array(n, "n")
    try:
        k_arr, n_arr = np.broadcast_arrays(k_arr, n_arr)
    except ValueError:
        raise ParameterError(
            f"k: expected a shape broadcastable with n's {n_arr.shape}, got {k_arr.shape}"
        ) from None
    if (n_arr < 0).any():
        raise ParameterError(f"n: expected trials >= 0, got {int(n_arr.min())}")
    if ((k_arr < 0) | (k_arr > n_arr)).any():
        i = np.flatnonzero(((k_arr < 0) | (k_arr > n_arr)).ravel())[0]
        raise ParameterError(
            f"k: expected successes in [0, n], got k={int(k_arr.flat[i])} with "
            f"n={int(n_arr.flat[i])}"
        )
    tail = np.asarray(binom.cdf(np.minimum(k_arr, n_arr - k_arr), n_arr, 0.5), dtype=np.float64)
    return np.minimum(1.0, 2.0 * tail)
