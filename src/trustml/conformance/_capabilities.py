"""Capability names, their runtime protocols, and the decorator that declares a check.

Near the bottom of the kit (it imports only :mod:`trustml.protocols`): a check module marks its
functions with :func:`check`; the registry (on top) imports the check modules and collects the
marked functions, so no check module imports the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from trustml.conformance._context import Context

__all__ = ["CAPABILITIES", "CHECK_ATTRIBUTE", "CheckFunction", "capabilities_of", "check"]

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

CheckFunction = Callable[["Context"], None]

CHECK_ATTRIBUTE = "__trustml_check__"
"""Attribute :func:`check` sets on a check function: ``(check id, capability)``."""


def capabilities_of(estimator: object) -> tuple[str, ...]:
    """Capabilities ``estimator`` has structurally, in run order (``Any`` always included)."""
    return tuple(name for name, proto in CAPABILITIES.items() if isinstance(estimator, proto))


def check(check_id: str, capability: str) -> Callable[[CheckFunction], CheckFunction]:
    """Declare ``function`` as the check ``check_id`` of ``capability`` (the first paragraph of
    its docstring is the summary); the registry collects it.

    Raises
    ------
    KeyError
        ``capability`` is not a key of :data:`CAPABILITIES`.
    """
    if capability not in CAPABILITIES:
        raise KeyError(capability)

    def decorate(function: CheckFunction) -> CheckFunction:
        marked: Any = function
        setattr(marked, CHECK_ATTRIBUTE, (check_id, capability))
        return function

    return decorate
