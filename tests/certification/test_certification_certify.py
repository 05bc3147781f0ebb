"""CERTIFY on classifiers whose smoothed radius is known, bounded memory, seeds, errors."""

from __future__ import annotations

import numpy as np
import pytest
from certification_models import CountingClassifier, LinearClassifier, binary_linear
from scipy.stats import binom

from trustml.certification import RandomizedSmoothing
from trustml.errors import (
    CapabilityError,
    InputShapeError,
    InputValueError,
    ParameterError,
    ParameterTypeError,
)

W = np.array([3.0, -4.0, 0.0, 0.0, 0.0, 0.0])  # ||w|| = 5
B = 0.5


def true_radius(x: np.ndarray) -> np.ndarray:
    """Distance to the boundary of the binary linear classifier: its smoothed radius."""
    return np.abs(x @ W + B) / np.linalg.norm(W)


def points_at(distances: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Points of class 1 or 0 at the given distances from the hyperplane."""
    base = rng.normal(size=(distances.shape[0], W.shape[0]))
    base -= ((base @ W + B) / (W @ W))[:, None] * W  # project onto the hyperplane
    side = np.where(rng.random(distances.shape[0]) < 0.5, 1.0, -1.0)
    return base + (side * distances)[:, None] * W / np.linalg.norm(W)


def test_soundness_over_many_seeds() -> None:
    """P[certified radius > true radius, or a wrong certified label] <= alpha, per input."""
    sigma, alpha, trials = 0.5, 0.05, 3000
    rng = np.random.default_rng(1)
    x = points_at(rng.uniform(0.05, 1.2, size=trials), rng)
    truth = (x @ W + B > 0).astype(np.int64)
    smoothed = RandomizedSmoothing(binary_linear(W, B), sigma, alpha=alpha, batch_size=4096)
    labels, radii = smoothed.certify(x, 200, n0=20, seed=7)
    certified = labels >= 0
    violations = int((certified & ((labels != truth) | (radii > true_radius(x)))).sum())
    # the bound is exact-level alpha per input; allow the binomial tail at 1e-6
    assert violations <= binom.ppf(1 - 1e-6, trials, alpha)
    # and the certificate is not vacuous: most points far from the boundary are certified
    assert certified[true_radius(x) > 0.6].mean() > 0.9


def test_point_estimate_would_violate() -> None:
    """The same experiment with the point estimate instead of the lower bound fails often, so the
    soundness test above can fail."""
    from scipy.stats import norm

    sigma, trials, n = 0.5, 400, 200
    rng = np.random.default_rng(2)
    x = points_at(rng.uniform(0.1, 0.8, size=trials), rng)
    counts = []
    for i in range(trials):
        noisy = x[i] + sigma * rng.standard_normal((n, W.shape[0]))
        counts.append(int(((noisy @ W + B > 0) == (x[i] @ W + B > 0)).sum()))
    p_hat = np.minimum(np.array(counts) / n, 1 - 1e-9)
    naive = sigma * norm.ppf(p_hat)
    assert (naive > true_radius(x)).mean() > 0.2


def test_tight_at_large_n() -> None:
    """At n = 100000 the certified radius is within 5% of the true radius (pA not saturated)."""
    sigma = 0.25
    rng = np.random.default_rng(3)
    distances = np.array([0.15, 0.2, 0.35, 0.5])  # pA from 0.73 to 0.977
    x = points_at(distances, rng)
    smoothed = RandomizedSmoothing(binary_linear(W, B), sigma, batch_size=50_000)
    labels, radii = smoothed.certify(x, 100_000, seed=11)
    np.testing.assert_array_equal(labels, (x @ W + B > 0).astype(np.int64))
    ratio = radii / true_radius(x)
    assert ((ratio > 0.95) & (ratio <= 1.0)).all(), ratio


def test_never_more_than_batch_size_rows() -> None:
    model = binary_linear(W, B)
    smoothed = RandomizedSmoothing(model, 0.5)
    x = np.random.default_rng(0).normal(size=(5, 6))
    smoothed.certify(x, 100, n0=10, batch_size=37, seed=0)
    assert max(model.calls) <= 37
    assert sum(model.calls) == 5 * (10 + 100)


def test_batch_size_does_not_change_the_result() -> None:
    model = LinearClassifier(np.random.default_rng(4).normal(size=(3, 6)), np.zeros(3))
    x = np.random.default_rng(5).normal(size=(4, 6)) * 0.3
    smoothed = RandomizedSmoothing(model, 0.5)
    a = smoothed.certify(x, 300, n0=30, batch_size=7, seed=3)
    b = smoothed.certify(x, 300, n0=30, batch_size=1000, seed=3)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_seeds_reproduce_and_differ() -> None:
    model = LinearClassifier(np.random.default_rng(4).normal(size=(3, 6)), np.zeros(3))
    x = np.random.default_rng(5).normal(size=(8, 6)) * 0.3
    smoothed = RandomizedSmoothing(model, 0.5)
    first = smoothed.certify(x, 200, seed=123)
    again = smoothed.certify(x, 200, seed=123)
    other = smoothed.certify(x, 200, seed=124)
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[1], other[1])
    # a Generator advances; the constructor's int seed makes calls without a seed reproducible
    gen = np.random.default_rng(9)
    assert not np.array_equal(smoothed.certify(x, 200, seed=gen)[1],
                              smoothed.certify(x, 200, seed=gen)[1])
    seeded = RandomizedSmoothing(model, 0.5, seed=42)
    np.testing.assert_array_equal(seeded.certify(x, 200)[1], seeded.certify(x, 200)[1])


def test_noise_is_added_before_preprocessing() -> None:
    """With a standardisation dividing by 10, predict receives raw inputs whose noise has the
    raw-space sigma (noise added after the standardisation would have 10 sigma in raw units)."""
    model = LinearClassifier(np.eye(2), np.zeros(2), standardisation=(1.0, 10.0))
    model.record_inputs = True
    x = np.array([[2.0, -3.0]])
    RandomizedSmoothing(model, 0.25).certify(x, 20_000, n0=10, seed=0, batch_size=5000)
    received = np.concatenate(model.inputs)
    assert received.shape == (20_010, 2)
    noise = received - x
    np.testing.assert_allclose(noise.mean(axis=0), 0.0, atol=0.01)
    np.testing.assert_allclose(noise.std(axis=0), 0.25, rtol=0.02)


def test_shapes_dtypes_and_empty_input() -> None:
    smoothed = RandomizedSmoothing(binary_linear(W, B), 0.5)
    x = np.random.default_rng(0).normal(size=(3, 6)).astype(np.float32)
    x.setflags(write=False)
    labels, radii = smoothed.certify(x, 50, seed=0)
    assert labels.shape == (3,) and labels.dtype == np.int64
    assert radii.shape == (3,) and radii.dtype == np.float64
    assert (radii >= 0).all() and (radii[labels == -1] == 0).all()
    empty = smoothed.certify(np.zeros((0, 6)), 50, seed=0)
    assert empty[0].shape == (0,) and empty[0].dtype == np.int64
    assert empty[1].shape == (0,) and empty[1].dtype == np.float64


def test_abstains_on_the_boundary() -> None:
    smoothed = RandomizedSmoothing(binary_linear(W, B), 0.5)
    on_boundary = points_at(np.zeros(4), np.random.default_rng(0))
    labels, radii = smoothed.certify(on_boundary, 2000, seed=0)
    np.testing.assert_array_equal(labels, -1)
    np.testing.assert_array_equal(radii, 0.0)


@pytest.mark.parametrize(
    ("n_a", "expected_radius_in_sigma"),
    [(100_000, 3.811457), (99_000, 2.290000), (60_000, None), (50_000, -1.0)],
)
def test_exact_values_through_the_device_fast_path(
    n_a: int, expected_radius_in_sigma: float | None
) -> None:
    """Counts from a NoisyCounter: selection picks class 2, estimation counts nA for it."""
    selection = np.array([10, 0, 90])
    estimation = np.array([100_000 - n_a, 0, n_a])
    model = CountingClassifier([selection, estimation], nb_classes=3)
    sigma = 0.5
    labels, radii = RandomizedSmoothing(model, sigma, batch_size=500).certify(
        np.zeros((1, 2)), 100_000, seed=0
    )
    assert model.calls == []  # predict never called: the fast path was used
    assert [r[1:4] for r in model.requests] == [(sigma, 100, 500), (sigma, 100_000, 500)]
    if expected_radius_in_sigma == -1.0:
        assert (labels[0], radii[0]) == (-1, 0.0)
    else:
        assert labels[0] == 2
        if expected_radius_in_sigma is not None:
            assert abs(radii[0] / sigma - expected_radius_in_sigma) < 1e-6
        else:
            from scipy.stats import norm

            assert radii[0] == pytest.approx(sigma * norm.ppf(0.595201047294585), rel=1e-9)


def test_selection_is_not_reused() -> None:
    """A class that wins the selection but not the estimation gives a small nA: abstain."""
    model = CountingClassifier([np.array([80, 20]), np.array([100, 900])], nb_classes=2)
    labels, radii = RandomizedSmoothing(model, 0.5).certify(np.zeros((1, 2)), 1000, seed=0)
    assert (labels[0], radii[0]) == (-1, 0.0)


def test_fast_path_result_is_checked() -> None:
    from trustml.errors import UnsupportedModelError

    model = CountingClassifier([np.array([50, 49])], nb_classes=2)  # rows sum to 99, not 100
    with pytest.raises(UnsupportedModelError, match="count_noisy_predictions"):
        RandomizedSmoothing(model, 0.5).certify(np.zeros((1, 2)), 1000, seed=0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sigma": 0.0}, ParameterError, "sigma"),
        ({"sigma": -1.0}, ParameterError, "sigma"),
        ({"sigma": float("nan")}, ParameterError, "sigma"),
        ({"sigma": "0.5"}, ParameterTypeError, "sigma"),
        ({"alpha": 0.0}, ParameterError, "alpha"),
        ({"alpha": 0.6}, ParameterError, "alpha"),
        ({"n0": 0}, ParameterError, "n0"),
        ({"n": 0}, ParameterError, "n: "),
        ({"batch_size": 0}, ParameterError, "batch_size"),
        ({"batch_size": 2.5}, ParameterTypeError, "batch_size"),
        ({"nb_gradient_samples": 0}, ParameterError, "nb_gradient_samples"),
        ({"seed": "1"}, ParameterTypeError, "seed"),
    ],
)
def test_bad_constructor_arguments(kwargs: dict, error: type, match: str) -> None:
    args = {"sigma": 0.5, **kwargs}
    sigma = args.pop("sigma")
    with pytest.raises(error, match=match):
        RandomizedSmoothing(binary_linear(W, B), sigma, **args)


@pytest.mark.parametrize(
    ("x", "kwargs", "error", "match"),
    [
        (np.zeros((2, 5)), {}, InputShapeError, "x: expected shape"),
        (np.full((2, 6), np.nan), {}, InputValueError, "finite"),
        (np.zeros((2, 6)), {"n0": 0}, ParameterError, "n0"),
        (np.zeros((2, 6)), {"alpha": 1.0}, ParameterError, "alpha"),
        (np.zeros((2, 6)), {"batch_size": -3}, ParameterError, "batch_size"),
        (np.zeros((2, 6)), {"seed": 1.5}, ParameterTypeError, "seed"),
    ],
)
def test_bad_certify_arguments(x: np.ndarray, kwargs: dict, error: type, match: str) -> None:
    model = binary_linear(W, B)
    with pytest.raises(error, match=match):
        RandomizedSmoothing(model, 0.5).certify(x, 10, **kwargs)
    assert model.calls == []  # nothing was evaluated before the error
    with pytest.raises(ParameterError, match="n: "):
        RandomizedSmoothing(model, 0.5).certify(np.zeros((2, 6)), 0)


def test_not_a_classifier() -> None:
    with pytest.raises(CapabilityError, match="classifier.*predict"):
        RandomizedSmoothing(object(), 0.5)  # type: ignore[call-overload]


@pytest.mark.parametrize("batch_size", [7, 64, 1000])
def test_an_inputs_result_does_not_depend_on_its_batch(batch_size: int) -> None:
    """Per-input noise is seeded from the call's seed and the input's values: certifying or
    predicting an input alone, among others, in another order or with another batch_size gives
    the same result (and distinct inputs still get independent noise, see the soundness test)."""
    rng = np.random.default_rng(5)
    x = points_at(rng.uniform(0.05, 0.4, size=12), rng)
    smoothed = RandomizedSmoothing(binary_linear(W, B), 0.5, alpha=0.01)
    labels, radii = smoothed.certify(x, 50, n0=10, batch_size=batch_size, seed=3)
    ref_labels, ref_radii = smoothed.certify(x, 50, n0=10, batch_size=1000, seed=3)
    np.testing.assert_array_equal(labels, ref_labels)
    np.testing.assert_array_equal(radii, ref_radii)
    for i in (0, 5, 11):
        alone = smoothed.certify(x[i : i + 1], 50, n0=10, batch_size=batch_size, seed=3)
        assert (alone[0][0], alone[1][0]) == (labels[i], radii[i])
    order = rng.permutation(len(x))
    shuffled = smoothed.certify(x[order], 50, n0=10, batch_size=batch_size, seed=3)
    np.testing.assert_array_equal(shuffled[1], radii[order])
    preds = smoothed.predict(x, n=50, batch_size=batch_size, seed=4)
    np.testing.assert_array_equal(smoothed.predict(x[3:4], n=50, batch_size=batch_size, seed=4),
                                  preds[3:4])
