"""Cost functions: values by definition, gradients against central finite differences."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from cf_models import NumpyMLP

from trustml.counterfactual import (
    DummyCost,
    L1Cost,
    L2Cost,
    LMadCost,
    NegLogLikelihoodCost,
    RegularizedCost,
    SquaredError,
    TargetLossCost,
)
from trustml.errors import CapabilityError, ParameterError


def _fd(f: Any, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of the per-row values ``f(x) -> (N,)`` (rows independent)."""
    g = np.zeros_like(x)
    flat = g.reshape(len(x), -1)
    for j in range(flat.shape[1]):
        e = np.zeros(flat.shape[1])
        e[j] = h
        e = e.reshape(x.shape[1:])
        flat[:, j] = (f(x + e) - f(x - e)) / (2 * h)
    return g


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def test_input_costs_values_and_gradients(rng: np.random.Generator) -> None:
    x0 = rng.normal(size=(5, 2, 3))
    x = x0 + rng.choice([-1.0, 1.0], size=x0.shape) * rng.uniform(0.1, 1.0, size=x0.shape)
    mad = rng.uniform(0.5, 2.0, size=(2, 3))
    costs = {
        "l1": (L1Cost(x0), np.abs(x - x0).sum(axis=(1, 2))),
        "l2": (L2Cost(x0), ((x - x0) ** 2).sum(axis=(1, 2))),
        "mad": (LMadCost(x0, mad), (np.abs(x - x0) / mad).sum(axis=(1, 2))),
        "dummy": (DummyCost(), np.zeros(5)),
    }
    for name, (cost, expected) in costs.items():
        np.testing.assert_allclose(cost(x), expected, rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(cost.gradient(x), _fd(cost, x), atol=1e-6, err_msg=name)
    assert (L1Cost(x0).gradient(x0) == 0).all()  # the subgradient at the original is 0
    # one shared reference broadcasts over the batch
    np.testing.assert_allclose(L1Cost(x0[0])(x), np.abs(x - x0[0]).sum(axis=(1, 2)))


@pytest.mark.parametrize("logits", [False, True])
def test_output_costs_chained_exactly_through_class_gradient(
    rng: np.random.Generator, logits: bool
) -> None:
    model = NumpyMLP(6, 8, 4, seed=1, logits=logits)
    x = rng.normal(size=(7, 6))
    targets = np.array([0, 1, 2, 3, 0, 1, 2])
    costs = [
        NegLogLikelihoodCost(targets, from_logits=logits),
        NegLogLikelihoodCost(2, from_logits=logits),
        SquaredError(targets),
        SquaredError(rng.dirichlet(np.ones(4), size=7)),
    ]
    if logits:
        costs.append(NegLogLikelihoodCost(rng.dirichlet(np.ones(4)), from_logits=True))
    for cost in costs:
        value, grad = cost.value_and_gradient(model, x)
        np.testing.assert_allclose(value, cost.value(model, x), rtol=1e-12)
        fd = _fd(lambda v, cost=cost: cost.value(model, v), x)
        np.testing.assert_allclose(grad, fd, atol=1e-7, rtol=1e-6)
    y = model.predict(x)
    if not logits:
        np.testing.assert_allclose(
            NegLogLikelihoodCost(targets)(y), -np.log(y[np.arange(7), targets]), rtol=1e-12
        )
        # a cost of one output asks for that class's gradient only
        model.calls["class_gradient"] = 0
        NegLogLikelihoodCost(targets).value_and_gradient(model, x)
        assert model.calls["class_gradient"] == 1


def test_regularized_cost_is_c_times_distance_plus_output_cost(rng: np.random.Generator) -> None:
    model = NumpyMLP(5, 6, 3, seed=2)
    x0 = rng.normal(size=(4, 5))
    x = x0 + rng.uniform(0.2, 0.5, size=x0.shape)
    c = np.array([0.5, 1.0, 2.0, 4.0])
    loss = RegularizedCost(L2Cost(x0), NegLogLikelihoodCost(1), C=c)
    value, grad = loss.value_and_gradient(model, x)
    expected = c * L2Cost(x0)(x) + NegLogLikelihoodCost(1).value(model, x)
    np.testing.assert_allclose(value, expected, rtol=1e-12)
    np.testing.assert_allclose(grad, _fd(lambda v: loss.value(model, v), x), atol=1e-6)
    np.testing.assert_array_equal(loss.input_gradient(model, x), grad)
    at_origin = x.copy()
    at_origin[:, 0] = x0[:, 0]
    l1 = RegularizedCost(L1Cost(x0), NegLogLikelihoodCost(1), C=c)
    np.testing.assert_array_equal(l1.input_gradient(model, at_origin),
                                  l1.value_and_gradient(model, at_origin)[1])
    # at the original, the L1 subgradient of smallest norm: zero while the output cost's pull is
    # below C, the output gradient shrunk by C beyond it
    go = NegLogLikelihoodCost(1).value_and_gradient(model, x0)[1]
    strong = RegularizedCost(L1Cost(x0), NegLogLikelihoodCost(1), C=1e6)
    assert (strong.input_gradient(model, x0) == 0).all()
    weak = RegularizedCost(L1Cost(x0), NegLogLikelihoodCost(1), C=1e-3)
    expected_shrunk = np.sign(go) * np.maximum(np.abs(go) - 1e-3, 0.0)
    np.testing.assert_allclose(weak.input_gradient(model, x0), expected_shrunk, rtol=1e-12)
    # select() keeps per-row references, targets and strengths
    sub = loss.select(np.array([2]), x.ndim)
    np.testing.assert_allclose(sub.value(model, x[2:3]), value[2:3], rtol=1e-12)


def test_target_loss_cost_uses_the_adapters_loss_gradient(rng: np.random.Generator) -> None:
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from trustml.adapters.sklearn import wrap

    x, y = load_iris(return_X_y=True)
    clf = wrap(LogisticRegression(max_iter=2000).fit(x, y))
    cost = TargetLossCost(np.array([2, 0, 1]))
    xs = x[[0, 60, 120]]
    value, grad = cost.value_and_gradient(clf, xs)
    np.testing.assert_allclose(value, cost.value(clf, xs))
    np.testing.assert_allclose(grad, _fd(lambda v: cost.value(clf, v), xs, h=1e-5), atol=1e-6)
    np.testing.assert_array_equal(cost.input_gradient(clf, xs), grad)
    # it equals the negative log-likelihood of the model's probabilities
    np.testing.assert_allclose(value, NegLogLikelihoodCost(np.array([2, 0, 1])).value(clf, xs),
                               rtol=1e-5)


def test_cost_errors() -> None:
    with pytest.raises(ParameterError, match="mad"):
        LMadCost(np.zeros(3), np.array([1.0, 0.0, 2.0]))
    with pytest.raises(ParameterError, match="C"):
        RegularizedCost(L1Cost(np.zeros(3)), NegLogLikelihoodCost(0), C=0.0)
    with pytest.raises(ParameterError, match="C"):
        RegularizedCost(L1Cost(np.zeros(3)), NegLogLikelihoodCost(0), C=[1.0, -1.0])

    class NoGradients:
        input_shape = (3,)
        clip_values = None
        nb_classes = 2

        def predict(self, x: Any, batch_size: int = 128) -> Any:
            return np.full((len(x), 2), 0.5)

    with pytest.raises(CapabilityError, match="class_gradient"):
        NegLogLikelihoodCost(0).value_and_gradient(NoGradients(), np.zeros((1, 3)))  # type: ignore[arg-type]
