"""The check registry: every check has a public id, the capability it exercises and a function.

Check ids are public API (they appear in reports, in ``expected_failed_checks`` and in
``conformance/CONTRACTS.md``); a check function takes a
:class:`~trustml.conformance._context.Context` and either returns (passed), raises
:class:`CheckFailure` (failed, with a message) or raises :class:`NotApplicable` (skipped by the kit
itself, with the reason).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from trustml.protocols import (
    ActivationTransforms,
    Certifier,
    ClassGradients,
    Classifier,
    DecisionTrees,
    Estimator,
    Fittable,
    LossGradients,
    NeuralNetwork,
)

if TYPE_CHECKING:
    from trustml.conformance._context import Context

__all__ = [
    "CAPABILITIES",
    "Check",
    "CheckFailure",
    "NotApplicable",
    "all_checks",
    "register",
]

CAPABILITIES: dict[str, type] = {
    "Estimator": Estimator,
    "Classifier": Classifier,
    "LossGradients": LossGradients,
    "ClassGradients": ClassGradients,
    "NeuralNetwork": NeuralNetwork,
    "DecisionTrees": DecisionTrees,
    "Certifier": Certifier,
    "ActivationTransforms": ActivationTransforms,
    "Any": object,
    "Fittable": Fittable,
}
"""Capability name -> runtime protocol, in the order their checks run. ``Any`` holds the
honesty and no-hidden-state checks, which apply to every object; ``Fittable`` comes last because
its checks train the estimator in place."""


class CheckFailure(AssertionError):
    """Raised by a check whose contract is violated; the message says what was expected and what
    came."""


class NotApplicable(Exception):
    """Raised by a check that cannot run on this object for a reason the kit documents (for
    instance, a certifier that does not wrap the kit's reference classifier)."""


CheckFunction = Callable[["Context"], None]


@dataclass(frozen=True)
class Check:
    """One registered check.

    Attributes
    ----------
    id : str
        Public, stable identifier (e.g. ``"predict_batch_invariance"``).
    capability : str
        Key of :data:`CAPABILITIES` whose protocol the object must satisfy for the check to run.
    function : callable
        ``function(context) -> None``.
    summary : str
        One line: the rule checked.
    """

    id: str
    capability: str
    function: CheckFunction
    summary: str


_REGISTRY: dict[str, Check] = {}


def register(check_id: str, capability: str) -> Callable[[CheckFunction], CheckFunction]:
    """Decorator registering ``function`` under ``check_id`` (the first paragraph of its docstring
    is the summary)."""
    if capability not in CAPABILITIES:
        raise KeyError(capability)

    def decorate(function: CheckFunction) -> CheckFunction:
        if check_id in _REGISTRY:
            raise KeyError(f"duplicate check id {check_id!r}")
        paragraph = (function.__doc__ or "").strip().split("\n\n")[0]
        summary = " ".join(line.strip() for line in paragraph.splitlines())
        _REGISTRY[check_id] = Check(check_id, capability, function, summary)
        return function

    return decorate


def all_checks() -> list[Check]:
    """Every registered check, grouped by capability in :data:`CAPABILITIES` order, then in
    registration order."""
    _load_checks()
    order = list(CAPABILITIES)
    return sorted(_REGISTRY.values(), key=lambda c: order.index(c.capability))


_CHECK_MODULES = (
    "_checks_metadata",
    "_checks_predict",
    "_checks_gradients",
    "_checks_activations",
    "_checks_transforms",
    "_checks_trees",
    "_checks_certify",
    "_checks_honesty",
    "_checks_fit",
)
"""Importing these modules, in this order, registers the checks (the order is the run order
within a capability)."""


def _load_checks() -> None:
    for name in _CHECK_MODULES:
        importlib.import_module(f"trustml.conformance.{name}")
