"""Static checks (mypy --strict): the scikit-learn linear adapter has the LinearDecision
capability the exact solver reads, costs satisfy the Loss protocol, and generate_counterfactual
accepts any Classifier."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from trustml.adapters.sklearn import SklearnLinearClassifier
from trustml.counterfactual import (
    L1Cost,
    LinearDecision,
    Loss,
    NegLogLikelihoodCost,
    RegularizedCost,
    TargetLossCost,
    generate_counterfactual,
)
from trustml.protocols import Classifier


def linear_capability(clf: SklearnLinearClassifier) -> LinearDecision:
    return clf


def losses(x: NDArray[np.float64]) -> list[Loss]:
    return [
        RegularizedCost(L1Cost(x), NegLogLikelihoodCost(1), C=0.1),
        L1Cost(x),
        NegLogLikelihoodCost(0, from_logits=True),
        TargetLossCost(2),
    ]


def explain(clf: Classifier, x: NDArray[np.float32]) -> Any:
    return generate_counterfactual(clf, x, 1, regularization="l2", C=[1.0, 0.1])
