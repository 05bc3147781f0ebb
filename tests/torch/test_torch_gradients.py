"""Finite differences in float64: loss_gradient and class_gradient, with per-channel (per-feature)
standardisation, for a CNN, a residual network with a functional forward, and an MLP; and through
a mix of torch-native and numpy defences."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from torch_models import (
    CNN_SHAPE,
    MLP_SHAPE,
    PER_CHANNEL,
    PER_FEATURE,
    make_cnn,
    make_mlp,
    make_resnet,
    wrap,
)

from trustml.adapters.torch import TorchFunctionPreprocessor
from trustml.preprocessing import FunctionPreprocessor

EPS = 1e-6


def _perturbed(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every sample shifted by +EPS and -EPS along every coordinate: (N * D, *shape) each."""
    n, d = x.shape[0], int(np.prod(x.shape[1:]))
    flat = x.reshape(n, 1, d)
    steps = EPS * np.eye(d)[None]
    plus = (flat + steps).reshape(n * d, *x.shape[1:])
    minus = (flat - steps).reshape(n * d, *x.shape[1:])
    return plus, minus


def fd_loss_gradient(clf, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Central differences of each sample's own loss."""
    d = int(np.prod(x.shape[1:]))
    plus, minus = _perturbed(x)
    yy = np.repeat(y, d)
    diff = (clf.compute_loss(plus, yy, batch_size=4096)
            - clf.compute_loss(minus, yy, batch_size=4096))
    return (diff / (2 * EPS)).reshape(x.shape)


def fd_class_gradient(clf, x: np.ndarray) -> np.ndarray:
    """Central differences of every class output: (N, nb_classes, *shape)."""
    n, d = x.shape[0], int(np.prod(x.shape[1:]))
    plus, minus = _perturbed(x)
    # predict returns float32; use the float64 tensor path for full precision
    p = clf.predict(torch.from_numpy(plus), batch_size=4096, framework=True).numpy()
    m = clf.predict(torch.from_numpy(minus), batch_size=4096, framework=True).numpy()
    jac = ((p - m) / (2 * EPS)).reshape(n, d, -1).transpose(0, 2, 1)
    return jac.reshape(n, -1, *x.shape[1:])


CASES = [
    pytest.param(make_cnn, CNN_SHAPE, 4, PER_CHANNEL, id="cnn"),
    pytest.param(make_resnet, CNN_SHAPE, 4, PER_CHANNEL, id="resnet-functional"),
    pytest.param(make_mlp, MLP_SHAPE, 3, PER_FEATURE, id="mlp"),
]


@pytest.mark.parametrize(("factory", "shape", "classes", "prep"), CASES)
def test_loss_gradient_matches_finite_differences(factory, shape, classes, prep) -> None:
    clf = wrap(factory().double(), shape, classes, preprocessing=prep)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, *shape))
    y = rng.integers(0, classes, size=3)
    grad = clf.loss_gradient(x, y, batch_size=2)
    assert grad.dtype == np.float64 and grad.shape == x.shape
    expected = fd_loss_gradient(clf, x, y)
    assert_allclose(grad, expected, rtol=1e-6, atol=1e-9)
    assert np.abs(grad).max() > 1e-4  # a non-trivial gradient


@pytest.mark.parametrize(("factory", "shape", "classes", "prep"), CASES)
def test_class_gradient_matches_finite_differences(factory, shape, classes, prep) -> None:
    clf = wrap(factory().double(), shape, classes, preprocessing=prep)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, *shape))
    expected = fd_class_gradient(clf, x)
    every = clf.class_gradient(x, batch_size=1)
    assert every.shape == (2, classes, *shape) and every.dtype == np.float64
    assert_allclose(every, expected, rtol=1e-6, atol=1e-9)
    one = clf.class_gradient(x, label=classes - 1)
    assert_allclose(one[:, 0], expected[:, classes - 1], rtol=1e-6, atol=1e-9)
    per_sample = np.array([1, 0])
    chosen = clf.class_gradient(x, label=per_sample)
    assert chosen.shape == (2, 1, *shape)
    assert_allclose(chosen[:, 0], expected[np.arange(2), per_sample], rtol=1e-6, atol=1e-9)


def test_gradient_through_mixed_torch_and_numpy_defences() -> None:
    """numpy defence (exact gradient given), then a torch defence, then another numpy defence: the
    chain rule must hold end to end."""
    scale = FunctionPreprocessor(lambda a: 1.5 * a, gradient=lambda a, g: 1.5 * g)
    cube = FunctionPreprocessor(lambda a: a + 0.1 * a**3,
                                gradient=lambda a, g: g * (1 + 0.3 * a**2))
    warp = TorchFunctionPreprocessor(lambda t: t + 0.2 * torch.sin(t))
    clf = wrap(make_mlp().double(), MLP_SHAPE, 3, preprocessing=PER_FEATURE,
               preprocessing_defences=[scale, warp, cube])
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, *MLP_SHAPE))
    y = np.array([0, 2, 1])
    assert_allclose(clf.loss_gradient(x, y), fd_loss_gradient(clf, x, y), rtol=1e-6, atol=1e-9)
    assert_allclose(clf.class_gradient(x), fd_class_gradient(clf, x), rtol=1e-6, atol=1e-9)
    # the defences are really applied: scores differ from the undefended model's
    plain = wrap(clf.model, MLP_SHAPE, 3, preprocessing=PER_FEATURE)
    assert not np.allclose(plain.predict(x), clf.predict(x))


def test_bpda_numpy_defence_passes_gradient_through() -> None:
    """A numpy defence without a gradient is BPDA (identity backward): the gradient equals the
    undefended model's gradient evaluated at the defended input."""
    quantise = FunctionPreprocessor(lambda a: np.round(a * 4) / 4)
    model = make_mlp().double()
    defended = wrap(model, MLP_SHAPE, 3, preprocessing=PER_FEATURE, preprocessing_defences=quantise)
    plain = wrap(model, MLP_SHAPE, 3, preprocessing=PER_FEATURE)
    x = np.random.default_rng(3).normal(size=(4, *MLP_SHAPE))
    y = np.array([0, 1, 2, 0])
    assert_allclose(defended.loss_gradient(x, y), plain.loss_gradient(np.round(x * 4) / 4, y),
                    rtol=1e-12, atol=1e-14)


def test_standardisation_gradient_is_divided_by_divisor() -> None:
    """Closed form: for a linear model on standardised input, d score_k / d x = W_k / divisor."""
    lin = torch.nn.Linear(6, 3).double()
    clf = wrap(lin, MLP_SHAPE, 3, preprocessing=PER_FEATURE)
    x = np.random.default_rng(4).normal(size=(2, 6))
    expected = lin.weight.detach().numpy() / np.array(PER_FEATURE[1])
    grad = clf.class_gradient(x)
    assert_allclose(grad, np.broadcast_to(expected, grad.shape), rtol=1e-12)
