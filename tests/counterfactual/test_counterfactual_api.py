"""generate_counterfactual and Optimizer: paths, optimisers, success criterion, typed errors."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from cf_models import NumpyMLP, PredictOnly

from trustml.counterfactual import (
    CounterfactualNotFoundError,
    L1Cost,
    LMadCost,
    NegLogLikelihoodCost,
    Optimizer,
    RegularizedCost,
    generate_counterfactual,
)
from trustml.errors import (
    CapabilityError,
    InputShapeError,
    LabelError,
    ParameterError,
    ParameterTypeError,
    TrustMLError,
)


@pytest.fixture
def mlp() -> NumpyMLP:
    return NumpyMLP(4, 8, 3, seed=9, clip_values=(-3.0, 3.0), scale=4.0)


@pytest.fixture
def x() -> np.ndarray:
    return np.random.default_rng(0).uniform(-1, 1, size=(8, 4))


def _targets(model: Any, x: np.ndarray) -> np.ndarray:
    """The runner-up class of each row (reachable for this model within the box)."""
    return np.argsort(model.predict(x), axis=1)[:, -2]


def test_import_loads_neither_torch_nor_tensorflow() -> None:
    code = ("import sys, trustml.counterfactual; "
            "print(sorted(m for m in ('torch', 'tensorflow', 'keras', 'sklearn') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_predict_only_classifier_gets_a_counterfactual_derivative_free(
    mlp: NumpyMLP, x: np.ndarray
) -> None:
    black_box = PredictOnly(mlp)
    target = _targets(mlp, x)
    out = generate_counterfactual(black_box, x, target, C=[0.1, 0.01])
    assert isinstance(out, dict)
    np.testing.assert_array_equal(np.argmax(mlp.predict(out["x_cf"]), axis=1), target)
    assert (np.abs(out["x_cf"]) <= 3.0).all()
    with pytest.raises(CapabilityError, match="ClassGradients or LossGradients"):
        generate_counterfactual(black_box, x, target, optimizer="l-bfgs-b")


@pytest.mark.parametrize("optimizer", ["adam", "bfgs", "cg", "l-bfgs-b", "nelder-mead", "powell"])
def test_every_scipy_method_and_adam_find_counterfactuals(
    mlp: NumpyMLP, x: np.ndarray, optimizer: str
) -> None:
    target = _targets(mlp, x[:4])
    out = generate_counterfactual(mlp, x[:4], target, C=[0.1, 0.01], optimizer=optimizer,
                                  features_whitelist=[0, 2, 3])
    assert isinstance(out, dict)
    np.testing.assert_array_equal(out["y_cf"], target)
    np.testing.assert_array_equal(out["x_cf"][:, 1], x[:4, 1])  # outside the whitelist
    assert (np.abs(out["x_cf"]) <= 3.0).all()


def test_gradient_path_minimises_distance_among_valid_iterates(mlp: NumpyMLP) -> None:
    """Compared with the exact answer on a 1-feature whitelist (a line search by brute force)."""
    x = np.array([[0.3, -0.2, 0.5, 0.1]])
    grid = x + np.linspace(-3 - x[0, 2], 3 - x[0, 2], 60001)[:, None] * np.eye(4)[2]
    labels = np.argmax(mlp.predict(grid), axis=1)
    other = labels != np.argmax(mlp.predict(x), axis=1)[0]
    assert other.any()
    nearest = int(np.argmin(np.where(other, np.abs(grid[:, 2] - x[0, 2]), np.inf)))
    target = labels[nearest : nearest + 1]
    out = generate_counterfactual(mlp, x, target, C=0.01, features_whitelist=[2],
                                  optimizer_args={"lr": 0.01}, max_iter=600)
    assert isinstance(out, dict)
    valid = labels == target[0]
    best = np.abs(grid[valid, 2] - x[0, 2]).min()
    assert abs(abs(out["delta"][0, 2]) - best) <= 0.02


def test_single_sample_tuple_and_done(mlp: NumpyMLP, x: np.ndarray) -> None:
    target = int(_targets(mlp, x[:1])[0])
    x_cf, y_cf, delta = generate_counterfactual(mlp, x[0], target, return_as_dict=False)
    assert x_cf.shape == (4,) and int(y_cf) == target
    np.testing.assert_array_equal(delta, x[0] - x_cf)
    # done: a stricter success criterion (probability of the target above 0.6)
    out = generate_counterfactual(mlp, x[:3], target, C=[0.1, 0.01, 0.001],
                                  done=lambda y: bool(y[target] > 0.6))
    assert isinstance(out, dict)
    assert (mlp.predict(out["x_cf"])[:, target] > 0.6).all()


def test_not_found_error_carries_the_best_candidates(mlp: NumpyMLP, x: np.ndarray) -> None:
    target = _targets(mlp, x[:3])
    with pytest.raises(CounterfactualNotFoundError) as info:
        generate_counterfactual(mlp, x[:3], target, done=lambda y: False, max_iter=5)
    err = info.value
    assert isinstance(err, TrustMLError) and isinstance(err, RuntimeError)
    assert err.x_cf.shape == (3, 4) and err.found.shape == (3,) and not err.found.any()
    np.testing.assert_array_equal(err.delta, x[:3] - err.x_cf)


def test_typed_errors_name_the_parameter_and_nothing_is_mutated(
    mlp: NumpyMLP, x: np.ndarray
) -> None:
    x_ro = x.copy()
    x_ro.setflags(write=False)
    before = x.copy()
    cases: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"y_target": 3}, LabelError, "y_target"),
        ({"y_target": -1}, LabelError, "y_target"),
        ({"y_target": np.zeros(5, dtype=int)}, LabelError, "y_target"),
        ({"x": np.zeros((8, 5))}, InputShapeError, "x"),
        ({"features_whitelist": []}, ParameterError, "features_whitelist"),
        ({"features_whitelist": [7]}, ParameterError, "features_whitelist"),
        ({"features_whitelist": ["a"]}, ParameterTypeError, "features_whitelist"),
        ({"C": 0.0}, ParameterError, "C"),
        ({"C": [1.0, -2.0]}, ParameterError, "C"),
        ({"C": []}, ParameterError, "C"),
        ({"regularization": "l3"}, ParameterError, "regularization"),
        ({"regularization": "linf"}, ParameterError, "regularization"),
        ({"optimizer": "sgd-ish"}, ParameterError, "optimizer"),
        ({"optimizer": 3}, ParameterTypeError, "optim"),
        ({"optimizer": "exact"}, CapabilityError, "optimizer"),
        ({"max_iter": 0}, ParameterError, "max_iter"),
        ({"outputs": "scores"}, ParameterError, "outputs"),
        ({"tol": -1.0}, ParameterError, "tol"),
        ({"optimizer_args": [0.1]}, ParameterTypeError, "optimizer_args"),
    ]
    for kwargs, error, name in cases:
        call: dict[str, Any] = {"x": x_ro, "y_target": 0, **kwargs}
        with pytest.raises(error, match=name):
            generate_counterfactual(mlp, **call)
    with pytest.raises(ParameterError, match="mad"):
        LMadCost(x, np.array([1.0, 0.0, 1.0, 1.0]))
    with pytest.raises(CapabilityError, match="model"):
        generate_counterfactual(object(), x, 0)  # type: ignore[arg-type]
    np.testing.assert_array_equal(x, before)
    out = generate_counterfactual(mlp, x_ro, _targets(mlp, x), C=[0.1, 0.01])
    assert isinstance(out, dict)
    np.testing.assert_array_equal(x_ro, before)


def test_optimizer_grad_mask_and_clip_are_exact(mlp: NumpyMLP) -> None:
    x = np.random.default_rng(1).uniform(-1, 1, size=(5, 4)).astype(np.float32)
    x[0, 1] = np.float32(0.1)  # not representable in float64 rounding: bits must survive
    mask = np.array([1.0, 0.0, 1.0, 0.0])
    loss = RegularizedCost(L1Cost(x), NegLogLikelihoodCost(2), C=0.001)
    for optim in ("adam", "l-bfgs-b", "powell"):
        opt = Optimizer()
        opt.init(mlp, loss, x, optim, max_iter=50, grad_mask=mask, clip_values=(-0.5, 0.5))
        out = opt()
        assert out.dtype == np.float64
        assert (out[:, [1, 3]].astype(np.float32) == x[:, [1, 3]]).all()
        np.testing.assert_array_equal(out[:, [1, 3]], x[:, [1, 3]].astype(np.float64))
        assert (out[:, [0, 2]] >= -0.5).all() and (out[:, [0, 2]] <= 0.5).all()
    with pytest.raises(ParameterError, match="grad_mask"):
        Optimizer().init(mlp, loss, x, "adam", grad_mask=np.ones(3))
    with pytest.raises(ParameterError, match="optimizer_args"):
        opt = Optimizer()
        opt.init(mlp, loss, x, "adam", optimizer_args={"momentum": 0.9})
        opt()
