"""Tree models: get_trees reproduces the model's predictions from raw inputs; no gradients."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.tree import DecisionTreeClassifier
from sklearn_helpers import probe_points, standardisation_for

from trustml.adapters.sklearn import SklearnTreeClassifier, wrap
from trustml.errors import NotFittedError, UnsupportedModelError
from trustml.protocols import ClassGradients, DecisionTrees, FittableClassifier, LossGradients
from trustml.trees import Leaf, SplitNode, Tree

FACTORIES = {
    "tree": lambda: DecisionTreeClassifier(max_depth=5, random_state=0),
    "forest": lambda: RandomForestClassifier(n_estimators=6, max_depth=4, random_state=0),
    "extra": lambda: ExtraTreesClassifier(n_estimators=6, max_depth=4, random_state=0),
    "boosting": lambda: GradientBoostingClassifier(n_estimators=8, max_depth=2, random_state=0),
    "boosting-zero-init": lambda: GradientBoostingClassifier(
        n_estimators=8, max_depth=2, init="zero", random_state=0
    ),
}


def reconstruct(trees: list[Tree], x: np.ndarray, nb_classes: int) -> np.ndarray:
    """predict_proba from the trees alone (the documented semantics of weights and class_id)."""
    scores = np.zeros((len(x), nb_classes))
    for tree in trees:
        values = tree.decision(x.reshape(len(x), -1))
        if tree.class_id is None:
            scores += tree.weight * values
        else:
            scores[:, tree.class_id] += tree.weight * values[:, 0]
    if all(t.class_id is None for t in trees):
        return scores
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture(
    scope="module",
    params=[
        (m, d, p)
        for m in sorted(FACTORIES)
        for d in ("iris", "cancer")
        for p in ("standardised", "pipeline")
    ],
    ids=lambda p: "-".join(p),
)
def case(request: pytest.FixtureRequest) -> dict[str, Any]:
    name, data, layout = request.param
    x, y = request.getfixturevalue(data)
    sub, div = standardisation_for(x)
    z = (x - sub) / div
    if layout == "pipeline":
        model = Pipeline(
            [
                ("std", StandardScaler()),
                ("minmax", MinMaxScaler((-1, 2))),
                ("clf", FACTORIES[name]()),
            ]
        )
    else:
        model = FACTORIES[name]()
    model.fit(z, y)
    return {"model": model, "adapter": wrap(model, preprocessing=(sub, div)), "x": x, "z": z}


def test_capabilities(case: dict[str, Any]) -> None:
    adapter = case["adapter"]
    assert isinstance(adapter, SklearnTreeClassifier)
    assert isinstance(adapter, DecisionTrees) and isinstance(adapter, FittableClassifier)
    assert not isinstance(adapter, LossGradients)
    assert not isinstance(adapter, ClassGradients)


def test_trees_reproduce_predictions_from_raw_input(case: dict[str, Any]) -> None:
    adapter, model, x = case["adapter"], case["model"], case["x"]
    probe = np.concatenate([x, probe_points(x, 40)])
    expected = model.predict_proba(
        (probe - adapter.preprocessing.subtrahend) / adapter.preprocessing.divisor
    )
    np.testing.assert_allclose(adapter.predict(probe), expected, rtol=1e-6, atol=1e-7)
    trees = adapter.get_trees()
    assert trees and all(isinstance(t, Tree) for t in trees)
    np.testing.assert_allclose(
        reconstruct(trees, probe, adapter.nb_classes), expected, rtol=1e-9, atol=1e-10
    )


def test_thresholds_are_in_raw_units(iris: tuple[np.ndarray, np.ndarray]) -> None:
    """A stump on one feature: its raw threshold separates the raw values exactly as the model."""
    x, y = iris
    sub, div = standardisation_for(x)
    model = Pipeline(
        [("s", StandardScaler()), ("t", DecisionTreeClassifier(max_depth=1, random_state=0))]
    )
    model.fit((x - sub) / div, y)
    root = wrap(model, preprocessing=(sub, div)).get_trees()[0].root
    assert isinstance(root, SplitNode)
    column = x[:, root.feature]
    assert column.min() < root.threshold < column.max()
    goes_left = model.predict_proba((x - sub) / div)
    left_leaf = root.left
    assert isinstance(left_leaf, Leaf)
    np.testing.assert_allclose(
        goes_left[column <= root.threshold],
        np.broadcast_to(left_leaf.value, goes_left[column <= root.threshold].shape),
    )


def test_custom_boosting_init_is_rejected(iris: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = iris
    model = GradientBoostingClassifier(
        n_estimators=2, init=DecisionTreeClassifier(max_depth=1)
    ).fit(x, y)
    with pytest.raises(UnsupportedModelError, match="init"):
        wrap(model)


def test_unfitted_tree_model(iris: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = iris
    adapter = wrap(RandomForestClassifier(n_estimators=3, random_state=0), input_shape=(4,))
    with pytest.raises(NotFittedError):
        adapter.get_trees()
    adapter.fit(x, y)
    assert len(adapter.get_trees()) == 3
    np.testing.assert_allclose(
        reconstruct(adapter.get_trees(), x, 3), adapter.model.predict_proba(x), rtol=1e-9
    )
