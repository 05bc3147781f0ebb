"""Static checks (mypy --strict, warn_unused_ignores) for the scikit-learn adapters.

``wrap`` is overloaded on the model's type, so each adapter is statically assignable to exactly the
protocols it provides, and a tree adapter is rejected where gradients are required.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC, LinearSVC
from sklearn.tree import DecisionTreeClassifier

from trustml.adapters.sklearn import (
    SklearnAdapter,
    SklearnClassifier,
    SklearnLinearClassifier,
    SklearnMLPClassifier,
    SklearnTreeClassifier,
    wrap,
)
from trustml.protocols import (
    Classifier,
    DecisionTrees,
    FittableClassifier,
    NeuralNetwork,
    NeuralNetworkClassifier,
    WhiteBoxClassifier,
)


def needs_white_box(model: WhiteBoxClassifier) -> NDArray[Any]:
    return model.loss_gradient(np.zeros((1, 4)), [0])


def needs_network(model: NeuralNetworkClassifier) -> list[str]:
    return model.layer_names


def needs_trees(model: DecisionTrees) -> int:
    return len(model.get_trees())


def needs_fittable(model: FittableClassifier) -> int:
    return model.nb_classes


def needs_classifier(model: Classifier) -> int:
    return model.nb_classes


def check(x: NDArray[np.float64], y: NDArray[np.int64]) -> None:
    linear: SklearnLinearClassifier = wrap(LogisticRegression().fit(x, y))
    svm: SklearnLinearClassifier = wrap(LinearSVC().fit(x, y))
    mlp: SklearnMLPClassifier = wrap(MLPClassifier().fit(x, y))
    tree: SklearnTreeClassifier = wrap(DecisionTreeClassifier().fit(x, y))
    forest: SklearnTreeClassifier = wrap(RandomForestClassifier().fit(x, y))
    boosting: SklearnTreeClassifier = wrap(GradientBoostingClassifier().fit(x, y))
    other: SklearnClassifier = wrap(KNeighborsClassifier().fit(x, y))

    needs_white_box(linear)
    needs_white_box(svm)
    needs_white_box(mlp)
    needs_network(mlp)
    needs_trees(tree)
    needs_trees(forest)
    needs_trees(boosting)
    for fittable in (linear, mlp, tree, other):
        needs_fittable(fittable)

    # what each adapter lacks is rejected
    needs_white_box(tree)  # type: ignore[arg-type]
    needs_white_box(forest)  # type: ignore[arg-type]
    needs_white_box(other)  # type: ignore[arg-type]
    needs_network(linear)  # type: ignore[arg-type]
    needs_trees(mlp)  # type: ignore[arg-type]
    needs_trees(other)  # type: ignore[arg-type]

    # kernel and pipeline contents are run-time facts: narrow before using gradients
    svc = wrap(SVC(kernel="linear").fit(x, y))
    needs_classifier(svc)
    needs_white_box(svc)  # type: ignore[arg-type]
    if isinstance(svc, SklearnLinearClassifier):
        needs_white_box(svc)
    piped: SklearnAdapter = wrap(Pipeline([("clf", MLPClassifier())]).fit(x, y))
    needs_fittable(piped)
    if isinstance(piped, (SklearnLinearClassifier, SklearnMLPClassifier)):
        needs_white_box(piped)
    activations: NDArray[np.float64] = mlp.get_activations(x, "hidden_0", framework=True)
    assert isinstance(mlp, NeuralNetwork) and activations.ndim == 2
