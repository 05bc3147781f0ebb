"""Counterfactual explanations for every trustml classifier.

CEML's cost functions and optimiser (one implementation for every framework, written against the
protocols), exact solvers where the model's structure allows (linear classifiers, decision trees
and small forests), :func:`generate_counterfactual` with CEML's signature, and metrics.

Importing this package loads numpy only (scipy on first use; torch / tensorflow only when the caller
passes one of their optimizers).

References
----------
Wachter, Mittelstadt, Russell, "Counterfactual Explanations without Opening the Black Box", Harvard
JOLT 2018; Artelt, Hammer, "On the computation of counterfactual explanations -- A survey", 2019,
and the CEML toolbox (whose names are kept).
"""

from __future__ import annotations

from trustml.counterfactual.costs import (
    DummyCost,
    InputCost,
    L1Cost,
    L2Cost,
    LMadCost,
    Loss,
    NegLogLikelihoodCost,
    OutputCost,
    RegularizedCost,
    SquaredError,
    TargetLossCost,
)
from trustml.counterfactual.exact_linear import LinearDecision
from trustml.counterfactual.generate import generate_counterfactual
from trustml.counterfactual.optimizers import Optimizer
from trustml.errors import CounterfactualNotFoundError

__all__ = [
    "CounterfactualNotFoundError",
    "DummyCost",
    "InputCost",
    "L1Cost",
    "L2Cost",
    "LMadCost",
    "LinearDecision",
    "Loss",
    "NegLogLikelihoodCost",
    "Optimizer",
    "OutputCost",
    "RegularizedCost",
    "SquaredError",
    "TargetLossCost",
    "generate_counterfactual",
]
