"""The check registry: every check has a public id, the capability it exercises and a function.

Check ids are public API (they appear in reports, in ``expected_failed_checks`` and in
``conformance/CONTRACTS.md``). The registry sits on top of the kit: it imports the check modules
(which declare their checks with :func:`~trustml.conformance._context.check` and import
nothing above the context) and collects what they declare, in module order, then in definition
order within a module.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from trustml.conformance import (
    _checks_activations,
    _checks_certify,
    _checks_fit,
    _checks_gradients,
    _checks_honesty,
    _checks_labels,
    _checks_metadata,
    _checks_predict,
    _checks_transforms,
    _checks_trees,
)
from trustml.conformance._capabilities import CAPABILITIES
from trustml.conformance._context import CHECK_ATTRIBUTE, CheckFunction
from trustml.conformance._failures import CheckFailure, NotApplicable

__all__ = ["CAPABILITIES", "Check", "CheckFailure", "NotApplicable", "all_checks"]


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


_CHECK_MODULES: tuple[ModuleType, ...] = (
    _checks_metadata,
    _checks_predict,
    _checks_gradients,
    _checks_activations,
    _checks_transforms,
    _checks_trees,
    _checks_certify,
    _checks_honesty,
    _checks_fit,
    _checks_labels,
)
"""The check modules, in run order within a capability."""


def _summary(function: CheckFunction) -> str:
    paragraph = (function.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(line.strip() for line in paragraph.splitlines())


def _collect() -> dict[str, Check]:
    registry: dict[str, Check] = {}
    for module in _CHECK_MODULES:
        for value in vars(module).values():
            declared = getattr(value, CHECK_ATTRIBUTE, None)
            if declared is None or getattr(value, "__module__", None) != module.__name__:
                continue  # not a check, or one imported from another module
            check_id, capability = declared
            if check_id in registry:
                raise KeyError(f"duplicate check id {check_id!r}")
            registry[check_id] = Check(check_id, capability, value, _summary(value))
    return registry


_REGISTRY = _collect()


def all_checks() -> list[Check]:
    """Every registered check, grouped by capability in :data:`CAPABILITIES` order, then in
    registration order."""
    order = list(CAPABILITIES)
    return sorted(_REGISTRY.values(), key=lambda c: order.index(c.capability))
