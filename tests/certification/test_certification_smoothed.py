"""PREDICT, capabilities by wrapped model, Gaussian-augmented fit, gradients over noise."""

from __future__ import annotations

import numpy as np
import pytest
from certification_models import (
    CountingClassifier,
    FittableLinear,
    FittableSoftmax,
    LinearClassifier,
    SoftmaxLinear,
    binary_linear,
)

from trustml.certification import (
    DifferentiableSmoothedClassifier,
    RandomizedSmoothing,
    SmoothedClassifier,
    TrainableDifferentiableSmoothedClassifier,
    TrainableSmoothedClassifier,
    predicted_labels,
)
from trustml.errors import InputShapeError, LabelError, ParameterError
from trustml.protocols import Certifier, Classifier, Fittable, LossGradients


def _weights() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(3, 4))


# -- PREDICT ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "expected"),
    [([67, 33, 0], [1, 0, 0]), ([34, 0, 66], [0, 0, 0]), ([0, 10, 0], [0, 0, 0]),
     ([3, 66, 31], [0, 1, 0])],
)
def test_predict_decisions(counts: list[int], expected: list[int]) -> None:
    model = CountingClassifier([np.array(counts)], nb_classes=3)
    out = RandomizedSmoothing(model, 0.5, alpha=0.001).predict(
        np.zeros((2, 2)), n=int(sum(counts)), seed=0
    )
    assert out.dtype == np.float32 and out.shape == (2, 3)
    np.testing.assert_array_equal(out, np.array([expected, expected], dtype=np.float32))


def test_predicted_labels_helper() -> None:
    preds = np.array([[0, 1, 0], [0, 0, 0], [1, 0, 0]], dtype=np.float32)
    labels = predicted_labels(preds)
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, [1, -1, 0])
    with pytest.raises(InputShapeError):
        predicted_labels(np.zeros(3))


def test_predict_agrees_with_the_base_classifier_far_from_boundaries() -> None:
    model = binary_linear(np.array([1.0, 0.0, 0.0, 0.0]), 0.0)
    x = np.array([[2.0, 0, 0, 0], [-2.0, 0, 0, 0], [0.0, 1, 0, 0]])
    smoothed = RandomizedSmoothing(model, 0.25, n=500, seed=3)
    labels = predicted_labels(smoothed.predict(x))
    np.testing.assert_array_equal(labels, [1, 0, -1])  # the last point is on the boundary
    assert max(model.calls) <= smoothed.batch_size


def test_predict_deterministic_with_seed_and_batch_invariant() -> None:
    model = LinearClassifier(_weights(), np.zeros(3))
    x = np.random.default_rng(1).normal(size=(6, 4)) * 0.2
    smoothed = RandomizedSmoothing(model, 0.5, n=400, seed=5)
    a = smoothed.predict(x, 16)
    b = smoothed.predict(x, batch_size=1000)
    np.testing.assert_array_equal(a, b)
    assert max(model.calls) <= 1000
    assert 16 in model.calls


def test_predict_bad_arguments() -> None:
    smoothed = RandomizedSmoothing(LinearClassifier(_weights(), np.zeros(3)), 0.5)
    with pytest.raises(ParameterError, match="n: "):
        smoothed.predict(np.zeros((1, 4)), n=0)
    with pytest.raises(ParameterError, match="alpha"):
        smoothed.predict(np.zeros((1, 4)), alpha=0.9)
    with pytest.raises(InputShapeError):
        smoothed.predict(np.zeros((1, 5)))


# -- capabilities ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "cls", "fittable", "differentiable"),
    [
        (LinearClassifier(_weights(), np.zeros(3)), SmoothedClassifier, False, False),
        (FittableLinear(_weights(), np.zeros(3)), TrainableSmoothedClassifier, True, False),
        (SoftmaxLinear(_weights(), np.zeros(3)), DifferentiableSmoothedClassifier, False, True),
        (FittableSoftmax(_weights(), np.zeros(3)), TrainableDifferentiableSmoothedClassifier,
         True, True),
    ],
)
def test_capabilities_follow_the_wrapped_classifier(
    model: object, cls: type, fittable: bool, differentiable: bool
) -> None:
    smoothed = RandomizedSmoothing(model, 0.5)  # type: ignore[call-overload]
    assert type(smoothed) is cls
    assert isinstance(smoothed, Classifier) and isinstance(smoothed, Certifier)
    assert isinstance(smoothed, Fittable) is fittable
    assert isinstance(smoothed, LossGradients) is differentiable
    assert not hasattr(smoothed, "class_gradient")
    assert smoothed.input_shape == (4,) and smoothed.nb_classes == 3
    assert smoothed.classifier is model
    assert smoothed.preprocessing is model.preprocessing  # type: ignore[attr-defined]
    assert cls.__name__ in repr(smoothed)


# -- fit with Gaussian augmentation ----------------------------------------------------------------


def test_fit_adds_fresh_raw_space_noise_per_batch_and_epoch() -> None:
    model = FittableLinear(_weights(), np.zeros(3), standardisation=(0.0, 10.0))
    smoothed = RandomizedSmoothing(model, 0.3)
    # samples 10 apart, so each noisy row is recognised by its nearest clean sample
    x = (10.0 * np.arange(200)[:, None] + np.random.default_rng(2).normal(size=(200, 4))).astype(
        np.float32
    )
    y = np.arange(200) % 3
    x_before = x.copy()
    smoothed.fit(x, np.eye(3)[y], batch_size=64, nb_epochs=2, seed=0)
    np.testing.assert_array_equal(x, x_before)  # input not mutated
    assert len(model.epochs) == 2
    seen = []
    for batches in model.epochs:
        assert [len(b[1]) for b in batches] == [64, 64, 64, 8]
        noisy = np.concatenate([b[0] for b in batches])
        labels = np.concatenate([b[1] for b in batches])
        # recover each row's clean sample: its nearest neighbour
        idx = np.argmin(((noisy[:, None, :] - x[None]) ** 2).sum(-1), axis=1)
        np.testing.assert_array_equal(labels, y[idx])  # labels travel with their samples
        assert sorted(idx.tolist()) == list(range(200))  # each sample once per epoch
        noise = noisy - x[idx]
        assert abs(noise.std() - 0.3) < 0.03  # raw-space sigma, not 10 * sigma
        seen.append(noise[np.argsort(idx)])
    assert not np.allclose(seen[0], seen[1])  # fresh noise at every epoch


def test_fit_reproducible_and_validates_first() -> None:
    def batches(seed: int) -> list:
        model = FittableLinear(_weights(), np.zeros(3))
        RandomizedSmoothing(model, 0.3).fit(np.ones((10, 4)), np.zeros(10, int), 4, 1, seed=seed)
        return model.epochs

    a, b = batches(1), batches(1)
    np.testing.assert_array_equal(a[0][0][0], b[0][0][0])
    model = FittableLinear(_weights(), np.zeros(3))
    smoothed = RandomizedSmoothing(model, 0.3)
    with pytest.raises(LabelError):
        smoothed.fit(np.ones((10, 4)), np.full(10, 3))
    with pytest.raises(InputShapeError):
        smoothed.fit(np.ones((10, 5)), np.zeros(10, int))
    with pytest.raises(ParameterError, match="nb_epochs"):
        smoothed.fit(np.ones((10, 4)), np.zeros(10, int), nb_epochs=0)
    with pytest.raises(ParameterError, match="batch_size"):
        smoothed.fit(np.ones((10, 4)), np.zeros(10, int), batch_size=0)
    assert model.epochs == []  # nothing trained


def test_fit_generator_noises_user_batches() -> None:
    model = FittableLinear(_weights(), np.zeros(3))
    smoothed = RandomizedSmoothing(model, 0.5)
    data = [(np.zeros((5, 4)), np.array([0, 1, 2, 0, 1])), (np.zeros((3, 4)), np.eye(3))]
    smoothed.fit_generator(data, nb_epochs=3, seed=1)
    assert len(model.epochs) == 3
    first = np.concatenate([b[0] for b in model.epochs[0]])
    third = np.concatenate([b[0] for b in model.epochs[2]])
    assert first.shape == (8, 4) and not np.allclose(first, third)
    np.testing.assert_array_equal(model.epochs[0][1][1], [0, 1, 2])  # one-hot -> index
    with pytest.raises(ParameterError, match="generator"):
        smoothed.fit_generator([np.zeros((2, 4))], nb_epochs=1)


# -- loss and gradient as expectations over noise --------------------------------------------------


def test_loss_gradient_is_the_gradient_of_the_smoothed_loss() -> None:
    """With common random numbers (a fixed seed) the Monte Carlo gradient is the exact gradient
    of the Monte Carlo loss: central finite differences in float64."""
    model = SoftmaxLinear(_weights(), np.array([0.1, -0.2, 0.3]), standardisation=(0.5, 2.0))
    smoothed = RandomizedSmoothing(model, 0.4, nb_gradient_samples=8, seed=3)
    x = np.random.default_rng(4).normal(size=(5, 4))
    y = np.array([0, 1, 2, 1, 0])
    grad = smoothed.loss_gradient(x, y)
    assert grad.shape == x.shape and grad.dtype == np.float64
    eps, numeric = 1e-6, np.zeros_like(x)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            xp, xm = x.copy(), x.copy()
            xp[i, j] += eps
            xm[i, j] -= eps
            up, down = smoothed.compute_loss(xp, y, "sum"), smoothed.compute_loss(xm, y, "sum")
            numeric[i, j] = (up - down) / (2 * eps)
    assert np.abs(grad - numeric).max() / np.abs(numeric).max() < 1e-6


def test_smoothed_loss_is_an_average_over_noise() -> None:
    model = SoftmaxLinear(_weights(), np.zeros(3))
    x = np.random.default_rng(5).normal(size=(3, 4))
    y = np.array([2, 0, 1])
    tiny = RandomizedSmoothing(model, 1e-9, nb_gradient_samples=2, seed=0)
    np.testing.assert_allclose(tiny.compute_loss(x, y), model.compute_loss(x, y), rtol=1e-7)
    np.testing.assert_allclose(tiny.loss_gradient(x, y), model.loss_gradient(x, y), rtol=1e-6)
    smoothed = RandomizedSmoothing(model, 0.5, nb_gradient_samples=4000, seed=0)
    loss = smoothed.compute_loss(x, y)
    # Monte Carlo reference with independent draws
    rng = np.random.default_rng(99)
    draws = np.array([model.compute_loss(x + 0.5 * rng.standard_normal(x.shape), y)
                      for _ in range(4000)])
    standard_error = draws.std(axis=0) / np.sqrt(4000)
    assert (np.abs(loss - draws.mean(axis=0)) < 6 * np.sqrt(2) * standard_error).all()
    assert smoothed.compute_loss(x, y, "sum") == pytest.approx(loss.sum())
    assert smoothed.compute_loss(x, y, "mean") == pytest.approx(loss.mean())
    with pytest.raises(ParameterError, match="reduction"):
        smoothed.compute_loss(x, y, "max")  # type: ignore[arg-type]
    with pytest.raises(LabelError):
        smoothed.loss_gradient(x, np.array([0, 1]))


def test_smoothed_gradient_of_a_row_does_not_depend_on_its_batch() -> None:
    model = SoftmaxLinear(_weights(), np.zeros(3))
    smoothed = RandomizedSmoothing(model, 0.5, nb_gradient_samples=16, seed=7)
    x = np.random.default_rng(6).normal(size=(5, 4))
    y = np.array([0, 1, 2, 0, 1])
    batch = smoothed.loss_gradient(x, y)
    losses = smoothed.compute_loss(x, y)
    for i in (0, 3):
        alone = smoothed.loss_gradient(x[i : i + 1], y[i : i + 1])[0]
        np.testing.assert_allclose(alone, batch[i], rtol=1e-12, atol=1e-15)
        alone_loss = smoothed.compute_loss(x[i : i + 1], y[i : i + 1])[0]
        np.testing.assert_allclose(alone_loss, losses[i], rtol=1e-12)
