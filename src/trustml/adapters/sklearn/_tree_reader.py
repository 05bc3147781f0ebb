"""Turning scikit-learn's tree arrays into :class:`trustml.trees.Tree` objects in raw input
units."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.tree import DecisionTreeClassifier

from trustml.errors import UnsupportedModelError
from trustml.trees import Leaf, SplitNode, Tree, TreeNode

__all__ = ["TREE_MODELS", "check_trees", "read_trees"]

TREE_MODELS = (
    DecisionTreeClassifier,
    RandomForestClassifier,
    ExtraTreesClassifier,
    GradientBoostingClassifier,
)

RawThreshold = Callable[[int, float], float]
"""``(feature, threshold in model-input units) -> threshold in raw input units``."""


def check_trees(final: Any) -> None:
    """Reject gradient boosting with a custom ``init`` estimator (its start is not a constant).

    Raises
    ------
    UnsupportedModelError
    """
    if isinstance(final, GradientBoostingClassifier) and not (
        final.init is None or (isinstance(final.init, str) and final.init == "zero")
    ):
        raise UnsupportedModelError(
            "model: GradientBoostingClassifier with a custom init estimator is not supported; "
            "expected init=None or init='zero'"
        )


def _node_tree(
    sk_tree: Any, raw: RawThreshold, leaf_value: Callable[[int], NDArray[np.float64]]
) -> TreeNode:
    """Build the nodes bottom-up (scikit-learn numbers children after their parent)."""
    left = np.asarray(sk_tree.children_left)
    right = np.asarray(sk_tree.children_right)
    feature = np.asarray(sk_tree.feature)
    threshold = np.asarray(sk_tree.threshold, dtype=np.float64)
    built: dict[int, TreeNode] = {}
    for node in range(int(sk_tree.node_count) - 1, -1, -1):
        if left[node] == -1:
            value = leaf_value(node)
            value.setflags(write=False)
            built[node] = Leaf(node_id=node, value=value)
        else:
            f = int(feature[node])
            built[node] = SplitNode(
                node_id=node,
                feature=f,
                threshold=raw(f, float(threshold[node])),
                left=built.pop(int(left[node])),
                right=built.pop(int(right[node])),
            )
    return built[0]


def _classification_tree(estimator: Any, raw: RawThreshold, weight: float) -> Tree:
    values = np.asarray(estimator.tree_.value, dtype=np.float64)[:, 0, :]

    def leaf_value(node: int) -> NDArray[np.float64]:
        row = values[node]
        out: NDArray[np.float64] = row / row.sum()
        return out

    return Tree(root=_node_tree(estimator.tree_, raw, leaf_value), class_id=None, weight=weight)


def _regression_tree(estimator: Any, raw: RawThreshold, class_id: int, weight: float) -> Tree:
    values = np.asarray(estimator.tree_.value, dtype=np.float64)[:, 0, 0]

    def leaf_value(node: int) -> NDArray[np.float64]:
        return np.array([values[node]])

    return Tree(root=_node_tree(estimator.tree_, raw, leaf_value), class_id=class_id, weight=weight)


def read_trees(final: Any, raw: RawThreshold, n_features: int) -> list[Tree]:
    """The trees of a fitted tree model, thresholds mapped by ``raw``.

    - DecisionTreeClassifier: one tree, leaves = class probabilities, weight 1;
    - RandomForest / ExtraTrees: one tree per estimator, weight ``1 / n_estimators``; the weighted
      sum of the leaves reached is ``predict_proba``;
    - GradientBoostingClassifier: first one constant tree (a single leaf) per score holding the
      initial raw prediction, weight 1; then one regression tree per stage and score, weight
      ``learning_rate``, leaves ``(1,)``. Scores are per class (``class_id``); a binary model has
      one score, the log-odds of class 1 (``class_id=1``; class 0's score is 0). The softmax of the
      per-class sums is ``predict_proba``.
    """
    check_trees(final)
    if isinstance(final, DecisionTreeClassifier):
        return [_classification_tree(final, raw, 1.0)]
    if isinstance(final, (RandomForestClassifier, ExtraTreesClassifier)):
        members = list(final.estimators_)
        return [_classification_tree(est, raw, 1.0 / len(members)) for est in members]
    stages = np.asarray(final.estimators_, dtype=object)
    n_scores = stages.shape[1]
    class_ids = [1] if n_scores == 1 else list(range(n_scores))
    lr = float(final.learning_rate)
    # The initial raw prediction is constant (init=None: class priors; init='zero': 0). Read it
    # through the public decision_function at one point, minus the stages' contributions there.
    origin = np.zeros((1, n_features))
    total = np.asarray(final.decision_function(origin), dtype=np.float64).reshape(n_scores)
    for stage in stages:
        for k in range(n_scores):
            total[k] -= lr * float(np.asarray(stage[k].predict(origin))[0])
    trees = [
        Tree(root=Leaf(node_id=0, value=_frozen(np.array([total[k]]))), class_id=class_ids[k])
        for k in range(n_scores)
    ]
    for stage in stages:
        for k in range(n_scores):
            trees.append(_regression_tree(stage[k], raw, class_ids[k], lr))
    return trees


def _frozen(arr: NDArray[np.float64]) -> NDArray[np.float64]:
    arr.setflags(write=False)
    return arr
