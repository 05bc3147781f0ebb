"""Capability names and their runtime protocols, in run order.

At the bottom of the kit: it imports only :mod:`trustml.protocols`.
"""

from __future__ import annotations

from trustml.protocols import (
    ActivationTransforms,
    Certifier,
    ClassGradients,
    Classifier,
    Clonable,
    DecisionTrees,
    Estimator,
    Fittable,
    LossGradients,
    MultiLayerActivations,
    NeuralNetwork,
)

__all__ = ["CAPABILITIES", "capabilities_of"]

CAPABILITIES: dict[str, type] = {
    "Estimator": Estimator,
    "Classifier": Classifier,
    "LossGradients": LossGradients,
    "ClassGradients": ClassGradients,
    "NeuralNetwork": NeuralNetwork,
    "MultiLayerActivations": MultiLayerActivations,
    "DecisionTrees": DecisionTrees,
    "Certifier": Certifier,
    "ActivationTransforms": ActivationTransforms,
    "Any": object,
    "Fittable": Fittable,
    "Clonable": Clonable,
}
"""Capability name -> runtime protocol, in the order their checks run. ``Any`` holds the
honesty and no-hidden-state checks, which apply to every object; ``Fittable`` and ``Clonable``
come last because their checks train (a copy of) the estimator."""

def capabilities_of(estimator: object) -> tuple[str, ...]:
    """Capabilities ``estimator`` has structurally, in run order (``Any`` always included)."""
    return tuple(name for name, proto in CAPABILITIES.items() if isinstance(estimator, proto))
