"""MLPClassifier: analytic backpropagation against central differences, activations, layers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.metrics import log_loss
from sklearn.neural_network import MLPClassifier
from sklearn_helpers import (
    central_difference,
    fit_quietly,
    probe_points,
    rel_err,
    standardisation_for,
)

from trustml.adapters.sklearn import SklearnMLPClassifier, wrap
from trustml.errors import ParameterError, ParameterTypeError
from trustml.protocols import NeuralNetworkClassifier

ACTIVATIONS = ["relu", "tanh", "logistic", "identity"]


@pytest.fixture(
    scope="module",
    params=[(a, d) for a in ACTIVATIONS for d in ("iris", "iris_binary")],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def case(request: pytest.FixtureRequest) -> dict[str, Any]:
    activation, data = request.param
    x, y = request.getfixturevalue(data)
    sub, div = standardisation_for(x)
    model = fit_quietly(
        MLPClassifier(
            hidden_layer_sizes=(7, 5), activation=activation, max_iter=300, random_state=0
        ),
        (x - sub) / div,
        y,
    )
    return {
        "model": model,
        "adapter": wrap(model, preprocessing=(sub, div)),
        "x": x,
        "y": y,
        "std": lambda v: (np.asarray(v, dtype=np.float64) - sub) / div,
    }


def test_capabilities(case: dict[str, Any]) -> None:
    adapter = case["adapter"]
    assert isinstance(adapter, SklearnMLPClassifier)
    assert isinstance(adapter, NeuralNetworkClassifier)
    assert adapter.channels_first is False


def test_predict_is_predict_proba(case: dict[str, Any]) -> None:
    adapter, model, std, x = case["adapter"], case["model"], case["std"], case["x"]
    pred = adapter.predict(x)
    assert pred.dtype == np.float32
    np.testing.assert_allclose(pred, model.predict_proba(std(x)), rtol=1e-6, atol=1e-7)


def test_loss_gradient_matches_central_differences(case: dict[str, Any]) -> None:
    adapter = case["adapter"]
    x = probe_points(case["x"], 15)
    y = (np.arange(len(x)) * 7) % adapter.nb_classes
    grad = adapter.loss_gradient(x, y)
    assert grad.shape == x.shape and grad.dtype == np.float64
    fd = central_difference(lambda v: adapter.compute_loss(v, y), x)
    assert rel_err(grad, fd) < 1e-5


def test_class_gradient_matches_central_differences_of_predict_proba(case: dict[str, Any]) -> None:
    adapter, model, std = case["adapter"], case["model"], case["std"]
    x = probe_points(case["x"], 15, seed=11)
    grad = adapter.class_gradient(x)
    assert grad.shape == (len(x), adapter.nb_classes, x.shape[1])
    fd = central_difference(lambda v: model.predict_proba(std(v)), x)
    assert rel_err(grad, fd) < 1e-5
    labels = np.arange(len(x)) % adapter.nb_classes
    np.testing.assert_allclose(
        adapter.class_gradient(x, label=labels)[:, 0], grad[np.arange(len(x)), labels], rtol=1e-12
    )


def test_compute_loss_is_log_loss(case: dict[str, Any]) -> None:
    adapter, model, std = case["adapter"], case["model"], case["std"]
    x, y = case["x"][::4], case["y"][::4]
    proba = model.predict_proba(std(x))
    per_sample = [
        log_loss(y[i : i + 1], proba[i : i + 1], labels=model.classes_) for i in range(len(x))
    ]
    np.testing.assert_allclose(adapter.compute_loss(x, y), per_sample, rtol=1e-8, atol=1e-12)
    assert adapter.compute_loss(x, y, reduction="mean") == pytest.approx(
        log_loss(y, proba, labels=model.classes_), rel=1e-8
    )


def test_activations_are_the_forward_pass(case: dict[str, Any]) -> None:
    adapter, model, std = case["adapter"], case["model"], case["std"]
    x = case["x"][:9]
    assert adapter.layer_names == ["hidden_0", "hidden_1", "output"]
    h0 = adapter.get_activations(x, 0)
    pre0 = std(x) @ model.coefs_[0] + model.intercepts_[0]
    act = {
        "relu": lambda a: np.maximum(a, 0),
        "tanh": np.tanh,
        "logistic": lambda a: 1 / (1 + np.exp(-a)),
        "identity": lambda a: a,
    }[model.activation]
    np.testing.assert_allclose(h0, act(pre0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(adapter.get_activations(x, "hidden_0"), h0)
    h1 = adapter.get_activations(x, "hidden_1", batch_size=2)
    np.testing.assert_allclose(
        h1, act(h0 @ model.coefs_[1] + model.intercepts_[1]), rtol=1e-12, atol=1e-12
    )
    out = adapter.get_activations(x, "output", framework=True)
    assert isinstance(out, np.ndarray)
    proba = model.predict_proba(std(x))
    np.testing.assert_allclose(out, proba if out.shape[1] > 1 else proba[:, 1:], rtol=1e-10)


def test_get_activations_batch_size_invariant(iris: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = iris
    adapter = wrap(fit_quietly(MLPClassifier((6,), max_iter=50, random_state=1), x, y))
    full = adapter.get_activations(x, 0, batch_size=1000)
    for bs in (1, 7, 150):
        np.testing.assert_allclose(adapter.get_activations(x, 0, batch_size=bs), full, rtol=1e-13)
    assert adapter.get_activations(x[:0], 1).shape == (0, 3)


def test_get_activations_rejects_unknown_layers(iris: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = iris
    adapter = wrap(fit_quietly(MLPClassifier((6,), max_iter=50, random_state=1), x, y))
    with pytest.raises(ParameterError, match="layer"):
        adapter.get_activations(x, "hidden_5")
    with pytest.raises(ParameterError, match="layer"):
        adapter.get_activations(x, 2)
    with pytest.raises(ParameterTypeError, match="layer"):
        adapter.get_activations(x, 1.0)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="batch_size"):
        adapter.get_activations(x, 0, batch_size=0)


def test_image_shaped_input(iris: tuple[np.ndarray, np.ndarray]) -> None:
    """input_shape (2, 2): samples are flattened in C order; gradients come back in that shape."""
    x, y = iris
    model = fit_quietly(MLPClassifier((5,), activation="tanh", max_iter=200, random_state=0), x, y)
    adapter = wrap(model, input_shape=(2, 2))
    x4 = x[:6].reshape(6, 2, 2)
    np.testing.assert_allclose(adapter.predict(x4), model.predict_proba(x[:6]), rtol=1e-6)
    grad = adapter.loss_gradient(x4, y[:6])
    assert grad.shape == (6, 2, 2)
    fd = central_difference(lambda v: adapter.compute_loss(v, y[:6]), x4)
    assert rel_err(grad, fd) < 1e-5
    assert adapter.class_gradient(x4).shape == (6, 3, 2, 2)
