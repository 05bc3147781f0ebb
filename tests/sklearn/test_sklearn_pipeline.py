"""Pipelines of scalers: part of the input path, gradients included; other steps are rejected."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler
from sklearn.svm import SVC, LinearSVC
from sklearn_helpers import (
    central_difference,
    fit_quietly,
    probe_points,
    rel_err,
    standardisation_for,
)

from trustml.adapters.sklearn import (
    SklearnClassifier,
    SklearnLinearClassifier,
    SklearnMLPClassifier,
    wrap,
)
from trustml.errors import UnsupportedModelError

PIPELINES = {
    "standard+logreg": lambda: Pipeline(
        [("s", StandardScaler()), ("clf", LogisticRegression(max_iter=2000))]
    ),
    "minmax+passthrough+logreg": lambda: Pipeline(
        [
            ("m", MinMaxScaler((-2, 3))),
            ("p", "passthrough"),
            ("clf", LogisticRegression(max_iter=2000)),
        ]
    ),
    "robust+maxabs+mlp": lambda: Pipeline(
        [
            ("r", RobustScaler()),
            ("a", MaxAbsScaler()),
            ("clf", MLPClassifier((6,), activation="tanh", max_iter=300, random_state=0)),
        ]
    ),
    "standard-nomean+mlp": lambda: Pipeline(
        [
            ("s", StandardScaler(with_mean=False)),
            ("clf", MLPClassifier((5,), activation="logistic", max_iter=300, random_state=0)),
        ]
    ),
    "nested+linearsvc": lambda: Pipeline(
        [
            ("s", StandardScaler()),
            ("inner", Pipeline([("m", MinMaxScaler()), ("clf", LinearSVC(max_iter=20000))])),
        ]
    ),
}


@pytest.fixture(scope="module", params=sorted(PIPELINES))
def case(request: pytest.FixtureRequest, iris: tuple[np.ndarray, np.ndarray]) -> dict[str, Any]:
    x, y = iris
    sub, div = standardisation_for(x)
    model = fit_quietly(PIPELINES[request.param](), (x - sub) / div, y)
    return {
        "model": model,
        "adapter": wrap(model, preprocessing=(sub, div)),
        "x": x,
        "std": lambda v: (np.asarray(v, dtype=np.float64) - sub) / div,
    }


def _scores(model: Any, z: np.ndarray) -> np.ndarray:
    if hasattr(model, "predict_proba"):
        return model.predict_proba(z)
    return model.decision_function(z)


def test_adapter_class_follows_the_last_step(case: dict[str, Any]) -> None:
    adapter = case["adapter"]
    assert isinstance(adapter, (SklearnLinearClassifier, SklearnMLPClassifier))


def test_predict_matches_the_pipeline(case: dict[str, Any]) -> None:
    adapter, model, std, x = case["adapter"], case["model"], case["std"], case["x"]
    expected = (
        model.predict_proba(std(x))
        if hasattr(model, "predict_proba")
        else np.eye(3)[model.predict(std(x))]
    )
    np.testing.assert_allclose(adapter.predict(x), expected, rtol=1e-6, atol=1e-7)


def test_class_gradient_through_scalers(case: dict[str, Any]) -> None:
    adapter, model, std = case["adapter"], case["model"], case["std"]
    x = probe_points(case["x"], 12)
    fd = central_difference(lambda v: _scores(model, std(v)), x)
    assert rel_err(adapter.class_gradient(x), fd) < 1e-5


def test_loss_gradient_through_scalers(case: dict[str, Any]) -> None:
    adapter = case["adapter"]
    x = probe_points(case["x"], 12, seed=9)
    y = np.arange(len(x)) % 3
    if isinstance(adapter.model[-1], Pipeline):  # hinge: keep rows away from the kinks
        z = case["std"](x)
        d = adapter.model.decision_function(z)
        t = np.where(np.eye(3)[y] > 0, 1.0, -1.0)
        keep = (np.abs(1 - t * d) > 1e-3).all(axis=1)
        x, y = x[keep], y[keep]
    grad = adapter.loss_gradient(x, y)
    fd = central_difference(lambda v: adapter.compute_loss(v, y), x)
    assert rel_err(grad, fd) < 1e-5


def test_non_scaler_step_is_rejected_by_name(iris: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = iris
    model = Pipeline(
        [("s", StandardScaler()), ("reduce", PCA(2)), ("clf", LogisticRegression())]
    ).fit(x, y)
    with pytest.raises(UnsupportedModelError, match="'reduce'.*PCA"):
        wrap(model)
    clipping = Pipeline([("mm", MinMaxScaler(clip=True)), ("clf", LogisticRegression())]).fit(x, y)
    with pytest.raises(UnsupportedModelError, match="clip"):
        wrap(clipping)


def test_pipeline_ending_in_a_regressor_or_transformer_is_rejected(
    iris: tuple[np.ndarray, np.ndarray],
) -> None:
    x, _ = iris
    with pytest.raises(UnsupportedModelError, match="classifier"):
        wrap(Pipeline([("s", StandardScaler()), ("pca", PCA(2))]).fit(x))


def test_black_box_pipeline(iris: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = iris
    for clf, scores in ((KNeighborsClassifier(3), "predict_proba"), (SVC(kernel="rbf"), "predict")):
        model = Pipeline([("s", StandardScaler()), ("clf", clf)]).fit(x, y)
        adapter = wrap(model)
        assert type(adapter) is SklearnClassifier
        expected = (
            model.predict_proba(x) if scores == "predict_proba" else np.eye(3)[model.predict(x)]
        )
        np.testing.assert_allclose(adapter.predict(x), expected, rtol=1e-6)


def test_refit_through_the_adapter_refits_the_scalers(iris: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = iris
    model = Pipeline([("s", StandardScaler()), ("clf", LogisticRegression(max_iter=2000))]).fit(
        x, y
    )
    adapter = wrap(model, preprocessing=(1.0, 2.0))
    adapter.fit(x, y)
    np.testing.assert_allclose(model[0].mean_, ((x - 1.0) / 2.0).mean(axis=0))
    probe = probe_points(x, 8)
    fd = central_difference(lambda v: model.predict_proba((v - 1.0) / 2.0), probe)
    assert rel_err(adapter.class_gradient(probe), fd) < 1e-5
