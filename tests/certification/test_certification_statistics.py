"""CERTIFY / PREDICT statistics against the exact values of issue 7 and against scipy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.stats import binomtest, norm

from trustml.certification import (
    certified_radius,
    lower_confidence_bound,
    two_sided_binomial_pvalue,
)
from trustml.errors import ParameterError, ParameterTypeError

ALPHA = 0.001


@pytest.mark.parametrize(
    ("n_a", "n", "expected"),
    [
        (100_000, 100_000, 0.999930924833009),
        (99_000, 100_000, 0.988989340377475),
        (60_000, 100_000, 0.595201047294585),
        (100, 100, 0.933254300796991),
    ],
)
def test_lower_bound_exact_values(n_a: int, n: int, expected: float) -> None:
    assert abs(float(lower_confidence_bound(n_a, n, ALPHA)) - expected) < 1e-9


def test_all_successes_closed_form() -> None:
    # nA = n: the Clopper-Pearson bound is alpha ** (1 / n)
    for n in (1, 7, 100, 12345):
        bound = float(lower_confidence_bound(n, n, ALPHA))
        assert bound == pytest.approx(ALPHA ** (1 / n), rel=1e-12)


@pytest.mark.parametrize(
    ("n_a", "radius_in_sigma"), [(100_000, 3.811457), (99_000, 2.290000)]
)
def test_radius_in_units_of_sigma(n_a: int, radius_in_sigma: float) -> None:
    for sigma in (0.25, 1.0):
        radius = certified_radius(lower_confidence_bound(n_a, 100_000, ALPHA), sigma)
        assert abs(float(radius) / sigma - radius_in_sigma) < 1e-6


def test_half_abstains_and_zero_successes() -> None:
    p = lower_confidence_bound(np.array([50_000, 0]), 100_000, ALPHA)
    assert p[0] < 0.5
    assert p[1] == 0.0
    assert (certified_radius(p, 0.5) == 0.0).all()


def test_bound_is_vectorised_and_monotone() -> None:
    counts = np.arange(0, 201)
    p = lower_confidence_bound(counts, 200, 0.01)
    assert p.shape == counts.shape and p.dtype == np.float64
    assert (np.diff(p) > 0).all()
    assert (p < counts / 200 + 1e-15).all()  # a lower bound sits below the point estimate


def test_radius_is_sigma_times_inverse_normal() -> None:
    p = np.array([0.5, 0.6, 0.9, 0.999])
    np.testing.assert_allclose(certified_radius(p, 0.3), 0.3 * norm.ppf(p), rtol=1e-14)


def test_pvalue_matches_scipy_binomtest() -> None:
    for total in (0, 1, 2, 9, 10, 33, 100, 101):
        for k in range(total + 1):
            expected = binomtest(k, total, 0.5).pvalue if total else 1.0
            got = float(two_sided_binomial_pvalue(k, total))
            assert got == pytest.approx(expected, rel=1e-10, abs=1e-300), (k, total)


@pytest.mark.parametrize(
    ("first", "second", "predicts"), [(67, 33, True), (66, 34, False), (10, 0, False)]
)
def test_predict_decisions(first: int, second: int, predicts: bool) -> None:
    assert (float(two_sided_binomial_pvalue(first, first + second)) <= ALPHA) is predicts


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_a": 5, "n": 0, "alpha": 0.01}, "n: expected an int >= 1"),
        ({"n_a": 5, "n": 4, "alpha": 0.01}, "n_a"),
        ({"n_a": -1, "n": 4, "alpha": 0.01}, "n_a"),
        ({"n_a": 1, "n": 4, "alpha": 0.0}, "alpha"),
        ({"n_a": 1, "n": 4, "alpha": 0.7}, "alpha"),
    ],
)
def test_bad_statistics_inputs(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        lower_confidence_bound(kwargs["n_a"], int(kwargs["n"]), kwargs["alpha"])


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        (lambda: certified_radius(0.7, sigma=-1.0), ParameterError, "sigma"),
        (lambda: certified_radius(0.7, sigma="0.5"), ParameterTypeError, "sigma"),
        (lambda: certified_radius(1.5, sigma=0.5), ParameterError, "p_lower"),
        (lambda: certified_radius([0.6, float("nan")], sigma=0.5), ParameterError, "p_lower"),
        (lambda: certified_radius(1.0, sigma=0.5), ParameterError, "p_lower"),
        (lambda: certified_radius(["a"], sigma=0.5), ParameterTypeError, "p_lower"),
        (lambda: two_sided_binomial_pvalue(5, 3), ParameterError, "k"),
        (lambda: two_sided_binomial_pvalue(-1, 3), ParameterError, "k"),
        (lambda: two_sided_binomial_pvalue(1, -3), ParameterError, "n"),
        (lambda: two_sided_binomial_pvalue(1.5, 3), ParameterError, "k"),
        (lambda: two_sided_binomial_pvalue([1, 2], [3, 4, 5]), ParameterError, "k"),
        (lambda: lower_confidence_bound(2.7, 10, 0.01), ParameterError, "n_a"),
        (lambda: lower_confidence_bound("3", 10, 0.01), ParameterTypeError, "n_a"),
        (lambda: lower_confidence_bound(11, 10, 0.01), ParameterError, "n_a"),
    ],
)
def test_public_statistics_reject_nonsense(call: Any, error: type[Exception], name: str) -> None:
    with pytest.raises(error, match=name):
        call()


def test_whole_floats_are_accepted_as_counts() -> None:
    whole = lower_confidence_bound(7.0, 10, 0.01)
    assert float(whole) == float(lower_confidence_bound(7, 10, 0.01))
    assert float(two_sided_binomial_pvalue(3.0, 10.0)) == float(two_sided_binomial_pvalue(3, 10))
    assert float(two_sided_binomial_pvalue(0, 0)) == 1.0
