"""The trigger objective's gradient with respect to the tanh-space mask and pattern, chained from
the adapter's loss_gradient, against central finite differences of the objective computed from
compute_loss."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from poisoning_user_adapter import SoftmaxRegression

from trustml.poisoning import TriggerSpace, objective_gradient
from trustml.poisoning._trigger import penalty


def objective(clf: Any, space: TriggerSpace, x: Any, target: int, wm: Any, wp: Any,
              cost: float, norm: float) -> float:
    mask, pattern = space.mask(wm), space.pattern(wp)
    xt = space.apply(x, mask, pattern)
    ce = float(clf.compute_loss(xt, np.full(len(x), target), reduction="sum")) / len(x)
    return ce + cost * penalty(mask, norm)[0]


def finite_differences(f: Any, w: Any, h: float = 1e-6) -> Any:
    grad = np.zeros_like(w)
    for i in np.ndindex(w.shape):
        up, down = w.copy(), w.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (f(up) - f(down)) / (2 * h)
    return grad


def _space(shape: tuple[int, ...], axis: int | None, lo: float = 0.0, hi: float = 1.0) -> Any:
    return TriggerSpace(shape, axis, np.full(shape, lo), np.full(shape, hi))


@pytest.mark.parametrize("norm", [1.0, 2.0, np.inf])
@pytest.mark.parametrize(
    ("shape", "axis"), [((2, 3, 3), 0), ((3, 3, 2), 2), ((4, 4), None), ((6,), None)]
)
def test_poisoning_gradient_matches_finite_differences_user_adapter(
    shape: tuple[int, ...], axis: int | None, norm: float
) -> None:
    clf = SoftmaxRegression(shape, 4, seed=3)
    space = _space(shape, axis, -1.0, 2.0)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 2, (5, *shape))
    wm = rng.normal(0, 0.8, space.mask_shape)
    wp = rng.normal(0, 0.8, shape)
    gm, gp, _ = objective_gradient(clf, space, x, np.full(5, 2), wm, wp, 0.3, norm)
    fm = finite_differences(lambda w: objective(clf, space, x, 2, w, wp, 0.3, norm), wm)
    fp = finite_differences(lambda w: objective(clf, space, x, 2, wm, w, 0.3, norm), wp)
    np.testing.assert_allclose(gm, fm, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(gp, fp, rtol=1e-5, atol=1e-7)


def test_poisoning_gradient_matches_finite_differences_sklearn_mlp() -> None:
    sklearn = pytest.importorskip("sklearn")
    from sklearn.neural_network import MLPClassifier

    from trustml.adapters.sklearn import wrap

    del sklearn
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (60, 4, 4))
    y = np.arange(60) % 3
    model = MLPClassifier((8,), activation="tanh", max_iter=50, random_state=0)
    model.fit(x.reshape(60, -1), y)
    clf = wrap(model, clip_values=(0.0, 1.0), input_shape=(4, 4))
    space = _space((4, 4), None)
    wm = rng.normal(0, 0.5, (4, 4))
    wp = rng.normal(0, 0.5, (4, 4))
    xb = x[:7]
    gm, gp, _ = objective_gradient(clf, space, xb, np.full(7, 1), wm, wp, 0.05, 1.0)
    fm = finite_differences(lambda w: objective(clf, space, xb, 1, w, wp, 0.05, 1.0), wm)
    fp = finite_differences(lambda w: objective(clf, space, xb, 1, wm, w, 0.05, 1.0), wp)
    np.testing.assert_allclose(gm, fm, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(gp, fp, rtol=1e-5, atol=1e-8)


def test_poisoning_gradient_matches_finite_differences_torch_float64() -> None:
    torch = pytest.importorskip("torch")
    from trustml.adapters.torch import PyTorchClassifier

    gen = torch.Generator().manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.Tanh(), torch.nn.Flatten(),
        torch.nn.Linear(3 * 16, 4),
    ).double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) * 0.5)
    clf = PyTorchClassifier(net, torch.nn.CrossEntropyLoss(), (2, 4, 4), 4,
                            clip_values=(0.0, 1.0))
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 1, (6, 2, 4, 4))
    space = _space((2, 4, 4), 0)
    wm = rng.normal(0, 0.5, (4, 4))
    wp = rng.normal(0, 0.5, (2, 4, 4))
    gm, gp, _ = objective_gradient(clf, space, x, np.full(6, 3), wm, wp, 0.1, 1.0)
    fm = finite_differences(lambda w: objective(clf, space, x, 3, w, wp, 0.1, 1.0), wm)
    fp = finite_differences(lambda w: objective(clf, space, x, 3, wm, w, 0.1, 1.0), wp)
    np.testing.assert_allclose(gm, fm, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(gp, fp, rtol=1e-5, atol=1e-7)


def test_poisoning_tanh_space_round_trip_and_ranges() -> None:
    space = _space((2, 3), None, -1.0, 3.0)
    rng = np.random.default_rng(0)
    mask = rng.uniform(0.01, 0.99, (2, 3))
    pattern = rng.uniform(-0.9, 2.9, (2, 3))
    wm, wp = space.to_tanh(mask, pattern)
    np.testing.assert_allclose(space.mask(wm), mask, atol=1e-6)
    np.testing.assert_allclose(space.pattern(wp), pattern, atol=1e-5)
    # the paper's (2 - eps) keeps arctanh finite; the range is [0, 1] widened by eps / 4
    big = np.full((2, 3), 50.0)
    np.testing.assert_allclose(space.mask(-big), 0.0, atol=1e-7)
    np.testing.assert_allclose(space.mask(big), 1.0, atol=1e-7)
    np.testing.assert_allclose(space.pattern(big), 3.0, atol=4e-7)
    np.testing.assert_allclose(space.pattern(-big), -1.0, atol=4e-7)


def test_poisoning_apply_is_the_blend_on_the_shared_mask() -> None:
    space = _space((2, 2, 2), 0)
    x = np.arange(16, dtype=np.float32).reshape(2, 2, 2, 2) / 16
    mask = np.array([[1.0, 0.0], [0.5, 0.0]])
    pattern = np.full((2, 2, 2), 0.9)
    out = space.apply(x, mask, pattern)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[:, :, 0, 0], 0.9, rtol=1e-6)
    np.testing.assert_array_equal(out[:, :, 0, 1], x[:, :, 0, 1])
    np.testing.assert_allclose(out[:, :, 1, 0], 0.5 * x[:, :, 1, 0] + 0.45, rtol=1e-6)
