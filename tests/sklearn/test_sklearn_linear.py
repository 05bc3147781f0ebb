"""LogisticRegression, LinearSVC, SVC(kernel="linear"): exact gradients, losses, predictions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import hinge_loss, log_loss
from sklearn.svm import SVC, LinearSVC
from sklearn_helpers import (
    central_difference,
    fit_quietly,
    probe_points,
    rel_err,
    standardisation_for,
)

from trustml.adapters.sklearn import SklearnLinearClassifier, wrap
from trustml.protocols import WhiteBoxClassifier


def _svm_scores(model: Any, z: np.ndarray) -> np.ndarray:
    """Reference class scores from scikit-learn's own decision_function (the documented choice)."""
    d = model.decision_function(z)
    if d.ndim == 1:
        return np.stack([-d, d], axis=1)
    return d


def _proba(model: Any, z: np.ndarray) -> np.ndarray:
    return model.predict_proba(z)


CASES: dict[str, tuple[Callable[[], Any], str, Callable[[Any, np.ndarray], np.ndarray]]] = {
    "logreg-binary": (lambda: LogisticRegression(C=0.5, max_iter=2000), "iris_binary", _proba),
    "logreg-multinomial": (lambda: LogisticRegression(C=0.5, max_iter=2000), "iris", _proba),
    "linearsvc-squared-binary": (
        lambda: LinearSVC(C=0.5, max_iter=20000),
        "iris_binary",
        _svm_scores,
    ),
    "linearsvc-hinge-ovr": (
        lambda: LinearSVC(C=0.5, loss="hinge", max_iter=20000),
        "iris",
        _svm_scores,
    ),
    "linearsvc-crammer-singer": (
        lambda: LinearSVC(C=0.5, multi_class="crammer_singer", max_iter=20000),
        "iris",
        _svm_scores,
    ),
    "svc-linear-binary": (lambda: SVC(kernel="linear", C=0.5), "iris_binary", _svm_scores),
    "svc-linear-ovo": (lambda: SVC(kernel="linear", C=0.5), "iris", _svm_scores),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> dict[str, Any]:
    factory, data, scores = CASES[request.param]
    x, y = request.getfixturevalue(data)
    sub, div = standardisation_for(x)
    model = fit_quietly(factory(), (x - sub) / div, y)
    adapter = wrap(model, preprocessing=(sub, div))
    return {
        "name": request.param,
        "model": model,
        "adapter": adapter,
        "x": x,
        "y": y,
        "std": lambda v: (np.asarray(v, dtype=np.float64) - sub) / div,
        "scores": scores,
    }


def _hinge_terms(case: dict[str, Any], z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-sample hinge loss of each SVM from its decision_function (the documented formulas)."""
    model = case["model"]
    d = model.decision_function(z)
    squared = isinstance(model, LinearSVC) and model.loss == "squared_hinge"
    h = (
        (lambda m: np.maximum(0.0, 1.0 - m) ** 2)
        if squared
        else (lambda m: np.maximum(0.0, 1.0 - m))
    )
    if d.ndim == 1:
        return h(np.where(y == 1, 1.0, -1.0) * d)
    rows = np.arange(len(z))
    if isinstance(model, LinearSVC) and model.multi_class == "crammer_singer":
        other = d.copy()
        other[rows, y] = -np.inf
        return np.maximum(0.0, 1.0 + other.max(axis=1) - d[rows, y])
    if isinstance(model, LinearSVC):
        t = -np.ones_like(d)
        t[rows, y] = 1.0
        return h(t * d).sum(axis=1)
    pair = SVC(kernel="linear", decision_function_shape="ovo")
    pair.set_params(**model.get_params())
    pair.set_params(decision_function_shape="ovo")
    pair.fit(case["std"](case["x"]), case["y"])
    dov = pair.decision_function(z)
    k = 0
    total = np.zeros(len(z))
    n_classes = len(model.classes_)
    for i in range(n_classes):
        for j in range(i + 1, n_classes):
            total += np.where(y == i, h(dov[:, k]), 0.0) + np.where(y == j, h(-dov[:, k]), 0.0)
            k += 1
    return total


def _smooth_rows(case: dict[str, Any], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Rows away from every kink (hinge corners, vote flips, Crammer-Singer rival switches)."""
    model = case["model"]
    if isinstance(model, LogisticRegression):
        return np.ones(len(x), dtype=bool)
    z = case["std"](x)
    if isinstance(model, SVC) and len(model.classes_) > 2:
        d = z @ model.coef_.T + model.intercept_
    else:
        d = np.atleast_2d(model.decision_function(z).T).T
    ok = (np.abs(d) > 1e-3).all(axis=1) & (np.abs(np.abs(d) - 1.0) > 1e-3).all(axis=1)
    if d.shape[1] > 2:
        srt = np.sort(d, axis=1)
        gaps = np.diff(srt, axis=1)
        ok &= (gaps > 1e-3).all(axis=1)
        for a in range(d.shape[1]):
            for b in range(d.shape[1]):
                if a != b:
                    ok &= np.abs(d[:, a] - d[:, b] - 1.0) > 1e-3
    return ok


def test_is_white_box(case: dict[str, Any]) -> None:
    assert isinstance(case["adapter"], SklearnLinearClassifier)
    assert isinstance(case["adapter"], WhiteBoxClassifier)


def test_loss_gradient_matches_central_differences(case: dict[str, Any]) -> None:
    adapter = case["adapter"]
    x = probe_points(case["x"], 20)
    y = adapter.predict(x).argmax(axis=1)
    y = (y + np.arange(len(y))) % adapter.nb_classes  # a mix of right and wrong labels
    keep = _smooth_rows(case, x, y)
    x, y = x[keep], y[keep]
    assert len(x) >= 5
    grad = adapter.loss_gradient(x, y)
    assert grad.shape == x.shape and grad.dtype == np.float64
    fd = central_difference(lambda v: adapter.compute_loss(v, y), x)
    assert np.linalg.norm(fd) > 0
    assert rel_err(grad, fd) < 1e-5


def test_class_gradient_matches_central_differences(case: dict[str, Any]) -> None:
    adapter, model, std, scores = case["adapter"], case["model"], case["std"], case["scores"]
    x = probe_points(case["x"], 20, seed=5)
    keep = _smooth_rows(case, x, np.zeros(len(x), dtype=np.int64))
    x = x[keep]
    grad = adapter.class_gradient(x)
    assert grad.shape == (len(x), adapter.nb_classes, *x.shape[1:]) and grad.dtype == np.float64
    fd = central_difference(lambda v: scores(model, std(v)), x)
    assert rel_err(grad, fd) < 1e-5


def test_class_gradient_label_selects_columns(case: dict[str, Any]) -> None:
    adapter = case["adapter"]
    x = probe_points(case["x"], 6)
    full = adapter.class_gradient(x)
    labels = np.arange(len(x)) % adapter.nb_classes
    np.testing.assert_allclose(
        adapter.class_gradient(x, label=labels)[:, 0], full[np.arange(len(x)), labels]
    )
    np.testing.assert_allclose(adapter.class_gradient(x, label=1)[:, 0], full[:, 1])
    one_hot = np.eye(adapter.nb_classes)[labels]
    np.testing.assert_allclose(
        adapter.class_gradient(x, label=one_hot), adapter.class_gradient(x, label=labels)
    )


def test_compute_loss_matches_scikit_learn(case: dict[str, Any]) -> None:
    adapter, model, std = case["adapter"], case["model"], case["std"]
    x, y = case["x"][::3], case["y"][::3]
    loss = adapter.compute_loss(x, y)
    assert loss.shape == (len(x),) and loss.dtype == np.float64
    if isinstance(model, LogisticRegression):
        proba = model.predict_proba(std(x))
        per_sample = [
            log_loss(y[i : i + 1], proba[i : i + 1], labels=model.classes_) for i in range(len(x))
        ]
        np.testing.assert_allclose(loss, per_sample, rtol=1e-9, atol=1e-12)
    else:
        np.testing.assert_allclose(loss, _hinge_terms(case, std(x), y), rtol=1e-9, atol=1e-12)
    binary_hinge = isinstance(model, SVC) and len(model.classes_) == 2
    crammer = isinstance(model, LinearSVC) and model.multi_class == "crammer_singer"
    if binary_hinge or crammer:  # scikit-learn's own metric is exactly this loss
        assert adapter.compute_loss(x, y, reduction="mean") == pytest.approx(
            hinge_loss(y, model.decision_function(std(x)), labels=model.classes_), rel=1e-9
        )
    assert adapter.compute_loss(x, y, reduction="sum") == pytest.approx(loss.sum(), rel=1e-12)
    assert adapter.compute_loss(x, y, reduction="mean") == pytest.approx(loss.mean(), rel=1e-12)


def test_predict_is_the_models_output(case: dict[str, Any]) -> None:
    adapter, model, std = case["adapter"], case["model"], case["std"]
    x = case["x"]
    pred = adapter.predict(x)
    assert pred.dtype == np.float32 and pred.shape == (len(x), adapter.nb_classes)
    if hasattr(model, "predict_proba"):
        np.testing.assert_allclose(pred, model.predict_proba(std(x)), rtol=1e-6, atol=1e-7)
    else:
        np.testing.assert_array_equal(pred, np.eye(adapter.nb_classes)[model.predict(std(x))])
    # the differentiated scores agree with predict's argmax (binary: two consistent columns)
    if not isinstance(model, SVC) or len(model.classes_) == 2:
        scores = case["scores"](model, std(x))
        np.testing.assert_array_equal(scores.argmax(axis=1), pred.argmax(axis=1))


@pytest.mark.filterwarnings("ignore:The `probability` parameter:FutureWarning")
def test_svc_probability_predict_is_predict_proba(iris: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = iris
    model = SVC(kernel="linear", probability=True, random_state=0).fit(x, y)
    adapter = wrap(model)
    np.testing.assert_allclose(adapter.predict(x[:10]), model.predict_proba(x[:10]), rtol=1e-6)
