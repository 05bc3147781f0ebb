"""The bottom of the kit: how a check says it failed or does not apply.

A check function takes a :class:`~trustml.conformance._context.Context` and either returns
(passed), raises :class:`CheckFailure` (failed, with a message) or raises :class:`NotApplicable`
(skipped by the kit itself, with the reason). This module imports nothing of the kit.
"""

from __future__ import annotations

__all__ = ["CheckFailure", "NotApplicable", "fail", "require_true"]


class CheckFailure(AssertionError):
    """Raised by a check whose contract is violated; the message says what was expected and what
    came."""


class NotApplicable(Exception):
    """Raised by a check that cannot run on this object for a reason the kit documents (for
    instance, a certifier that does not wrap the kit's reference classifier)."""


def fail(message: str) -> CheckFailure:
    """A :class:`CheckFailure` to raise."""
    return CheckFailure(message)


def require_true(condition: bool, message: str) -> None:
    """Raise :class:`CheckFailure` with ``message`` unless ``condition``."""
    if not condition:
        raise CheckFailure(message)
