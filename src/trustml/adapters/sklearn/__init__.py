"""The scikit-learn adapters (extra ``sklearn``): ``wrap(model)`` picks the one with exactly the
model's capabilities.

- :class:`SklearnClassifier`: any classifier; Classifier, Fittable.
- :class:`SklearnLinearClassifier`: LogisticRegression, LinearSVC, SVC(kernel="linear"); + analytic
  LossGradients, ClassGradients.
- :class:`SklearnMLPClassifier`: MLPClassifier; + LossGradients, ClassGradients, NeuralNetwork.
- :class:`SklearnTreeClassifier`: decision trees, random forests, extra trees, gradient boosting;
  + DecisionTrees.

Each accepts a Pipeline of per-feature scalers ending in its model. Computation is in float64;
``predict`` returns float32, losses and gradients float64. See ``docs/adapters/sklearn.md``.

Importing this module without scikit-learn raises
:class:`~trustml.errors.MissingDependencyError` with the install line.
"""

from __future__ import annotations

from trustml._deps import require as _require

_require("sklearn", "sklearn", purpose="trustml.adapters.sklearn")

from trustml.adapters.sklearn._generic import SklearnClassifier
from trustml.adapters.sklearn._linear import SklearnLinearClassifier
from trustml.adapters.sklearn._mlp import SklearnMLPClassifier
from trustml.adapters.sklearn._trees import SklearnTreeClassifier
from trustml.adapters.sklearn._wrap import SklearnAdapter, wrap

__all__ = [
    "SklearnAdapter",
    "SklearnClassifier",
    "SklearnLinearClassifier",
    "SklearnMLPClassifier",
    "SklearnTreeClassifier",
    "wrap",
]
