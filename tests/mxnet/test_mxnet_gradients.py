"""Finite differences in float64: loss_gradient and class_gradient, preprocessing included."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mxnet")

from _mxnets import CNN_SHAPE, cnn_classifier, data, mixed_classifier, mlp_classifier

from trustml.preprocessing import FunctionPreprocessor

EPS = 1e-6


def finite_difference(f, sample: np.ndarray) -> np.ndarray:
    """Central differences of ``f`` (a batch of inputs -> one value per input) at ``sample``."""
    size = sample.size
    steps = np.eye(size).reshape((size, *sample.shape)) * EPS
    return ((f(sample + steps) - f(sample - steps)) / (2 * EPS)).reshape(sample.shape)


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


# A smooth numpy defence with its exact gradient: x -> x + 0.1 * x**2 (elementwise).
SQUARE = FunctionPreprocessor(lambda x: x + 0.1 * x**2, gradient=lambda x, g: g * (1 + 0.2 * x))

CASES = {
    "mlp": (mlp_classifier, (4,), {}),
    "mlp-hybridized": (mlp_classifier, (4,), {"hybridize": True}),
    "mlp-defence": (mlp_classifier, (4,), {"preprocessing_defences": SQUARE}),
    "block-holding-hybridized": (mixed_classifier, (4,), {}),
    "cnn": (cnn_classifier, CNN_SHAPE, {}),
    "cnn-hybridized-defence": (
        cnn_classifier, CNN_SHAPE, {"hybridize": True, "preprocessing_defences": [SQUARE]},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_loss_gradient_matches_finite_differences(case: str) -> None:
    build, shape, kwargs = CASES[case]
    clf = build(**kwargs)
    x, y = data(shape, n=3)
    grad = clf.loss_gradient(x, y)
    assert grad.shape == x.shape and grad.dtype == np.float64
    for i in range(len(x)):
        label = np.full(x[i].size, y[i])
        fd = finite_difference(
            lambda b, label=label: clf.compute_loss(b, label, batch_size=64), x[i]
        )
        assert relative_error(grad[i], fd) < 1e-7, case
    assert np.abs(grad).max() > 1e-3  # the check is not vacuous


@pytest.mark.parametrize("case", sorted(CASES))
def test_class_gradient_matches_finite_differences(case: str) -> None:
    build, shape, kwargs = CASES[case]
    clf = build(**kwargs)
    x, _ = data(shape, n=2)
    grads = clf.class_gradient(x)
    assert grads.shape == (2, 3, *shape) and grads.dtype == np.float64
    # The scores are the output of the network's last block; read them in float64 there
    # (predict returns float32, too coarse for finite differences).
    last = clf.layer_names[-1]
    for i in range(len(x)):
        for k in range(3):
            fd = finite_difference(
                lambda b, k=k: clf.get_activations(b, last, batch_size=64)[:, k], x[i]
            )
            assert relative_error(grads[i, k], fd) < 1e-7, (case, i, k)


def test_class_gradient_label_forms_select_rows_of_the_full_jacobian() -> None:
    clf = cnn_classifier(hybridize=True)
    x, y = data(CNN_SHAPE, n=5)
    full = clf.class_gradient(x)
    per_sample = clf.class_gradient(x, label=y)
    one_hot = clf.class_gradient(x, label=np.eye(3)[y])
    single = clf.class_gradient(x, label=2)
    assert per_sample.shape == single.shape == (5, 1, *CNN_SHAPE)
    np.testing.assert_allclose(per_sample[:, 0], full[np.arange(5), y], rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(one_hot, per_sample)
    np.testing.assert_allclose(single[:, 0], full[:, 2], rtol=1e-12, atol=1e-14)


def test_standardisation_gradient_is_divided_by_the_divisor() -> None:
    # Same network, inputs rescaled by hand: grad_raw(x) == grad_std((x - m) / s) / s.
    with_std = mlp_classifier()
    without = mlp_classifier(preprocessing=None)
    mean = np.array([0.1, -0.2, 0.3, 0.0])
    std = np.array([0.5, 1.0, 2.0, 1.5])
    x, y = data((4,), n=4)
    np.testing.assert_allclose(
        with_std.loss_gradient(x, y), without.loss_gradient((x - mean) / std, y) / std, rtol=1e-10
    )
