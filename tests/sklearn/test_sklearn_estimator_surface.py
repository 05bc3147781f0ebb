"""The seed's estimator surface on the scikit-learn adapters: ``model``, ``get_params``,
``set_params`` (atomic), ``clone_for_refitting`` (unfitted, independent) and, on the MLP,
``compute_loss_from_predictions``; and the shared members living in one private base class."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier
from sklearn_helpers import fit_quietly

from trustml.activations import ActivationTransform
from trustml.adapters.sklearn import (
    SklearnClassifier,
    SklearnLinearClassifier,
    SklearnMLPClassifier,
    SklearnTreeClassifier,
    wrap,
)
from trustml.adapters.sklearn._shared import SklearnMembers
from trustml.errors import InputShapeError, NotFittedError, ParameterError, UnsupportedModelError
from trustml.protocols import Clonable

MODELS = {
    "logistic": lambda: LogisticRegression(max_iter=300),
    "mlp": lambda: MLPClassifier((6,), max_iter=200, random_state=0),
    "tree": lambda: DecisionTreeClassifier(max_depth=3, random_state=0),
    "forest": lambda: RandomForestClassifier(n_estimators=4, max_depth=3, random_state=0),
    "knn": lambda: KNeighborsClassifier(3),
    "pipeline": lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)),
}
CLASSES = {
    "logistic": SklearnLinearClassifier, "mlp": SklearnMLPClassifier,
    "tree": SklearnTreeClassifier, "forest": SklearnTreeClassifier, "knn": SklearnClassifier,
    "pipeline": SklearnLinearClassifier,
}


def _fitted(name: str, iris: tuple[np.ndarray, np.ndarray]) -> Any:
    x, y = iris
    return wrap(fit_quietly(MODELS[name](), x, y), clip_values=(0.0, 8.0))


def _snapshot(model: Any) -> bytes:
    return pickle.dumps(model)


@pytest.mark.parametrize("name", list(MODELS))
def test_every_adapter_shares_the_base_and_the_surface(name: str, iris: Any) -> None:
    clf = _fitted(name, iris)
    assert type(clf) is CLASSES[name] and isinstance(clf, SklearnMembers)
    assert isinstance(clf, Clonable)
    assert "predict" not in vars(type(clf)) or name == "mlp"  # inherited, not copied
    with pytest.raises(AttributeError):
        clf.model = None


@pytest.mark.parametrize("name", list(MODELS))
def test_get_params_set_params_round_trip_and_atomic(name: str, iris: Any) -> None:
    x, _ = iris
    clf = _fitted(name, iris)
    before, params = clf.predict(x), clf.get_params()
    assert params["model"] is clf.model
    assert clf.set_params(**params) is clf
    assert_array_equal(clf.predict(x), before)
    assert clf.get_params().keys() == params.keys()
    params = clf.get_params()
    for bad in ({"input_shape": (5,)}, {"clip_values": (1.0, 0.0)}, {"nb_classes": 7},
                {"unknown": 1}, {"preprocessing": (0.0, 0.0)}):
        with pytest.raises(ParameterError):
            clf.set_params(**bad)
        assert all(clf.get_params()[k] is params[k] for k in params)
        assert_array_equal(clf.predict(x), before)
    clf.set_params(input_shape=(2, 2))
    assert clf.input_shape == (2, 2)
    assert_array_equal(clf.predict(x.reshape(-1, 2, 2)), before)


def test_set_params_refuses_a_model_of_another_kind_and_changes_nothing(iris: Any) -> None:
    clf = _fitted("logistic", iris)
    model = clf.model
    with pytest.raises(UnsupportedModelError):
        clf.set_params(model=fit_quietly(DecisionTreeClassifier(), *iris))
    assert clf.model is model


@pytest.mark.parametrize("name", list(MODELS))
def test_clone_is_unfitted_independent_and_same_shape(name: str, iris: Any) -> None:
    x, y = iris
    clf = _fitted(name, iris)
    before = clf.predict(x)
    original = _snapshot(clf.model)  # after predict: a KNN's tree counts its queries
    clone = clf.clone_for_refitting()
    assert type(clone) is type(clf) and clone.model is not clf.model
    assert clone.input_shape == clf.input_shape and clone.nb_classes == clf.nb_classes
    assert all(np.array_equal(a, b) for a, b in zip(clone.clip_values, clf.clip_values))
    with pytest.raises(NotFittedError):
        clone.predict(x)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))[:90]
    clone.fit(x[order], y[order])
    assert clone.predict(x).shape == before.shape
    assert _snapshot(clf.model) == original  # bit-exact: the original was never touched
    assert_array_equal(clf.predict(x), before)


def test_mlp_set_params_keeps_activation_transforms(iris: Any) -> None:
    clf = _fitted("mlp", iris)
    clf.set_activation_transform("hidden_0", ActivationTransform(clip_max=0.5))
    clf.set_params(clip_values=None)
    assert clf.activation_transforms.keys() == {"hidden_0"} and clf.clip_values is None
    assert clf.clone_for_refitting().activation_transforms == {}


def test_mlp_compute_loss_from_predictions_equals_compute_loss(iris: Any) -> None:
    x, y = iris
    clf = _fitted("mlp", iris)
    pred = clf.predict(x)
    for reduction in ("none", "mean", "sum"):
        expected = clf.compute_loss(x, y, reduction=reduction)
        got = clf.compute_loss_from_predictions(pred, y, reduction=reduction)
        assert got.shape == expected.shape and got.dtype == np.float64
        assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert_allclose(clf.compute_loss_from_predictions(pred, np.eye(3)[y]),
                    clf.compute_loss(x, y), rtol=1e-5, atol=1e-6)
    with pytest.raises(InputShapeError, match="pred"):
        clf.compute_loss_from_predictions(pred[:, :2], y)
    with pytest.raises(ParameterError, match="reduction"):
        clf.compute_loss_from_predictions(pred, y, reduction="max")  # type: ignore[arg-type]
