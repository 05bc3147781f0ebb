"""Running the checks: capability detection, expected failures, timing."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from trustml.conformance._capabilities import capabilities_of
from trustml.conformance._context import Context
from trustml.conformance._failures import CheckFailure, NotApplicable
from trustml.conformance._registry import Check, all_checks
from trustml.conformance._report import CheckResult, ConformanceReport, Status
from trustml.errors import ParameterError, ParameterTypeError

__all__ = ["ExpectedFailures", "capabilities_of", "check_estimator", "checks_for", "run_check"]

ExpectedFailures = Mapping[str, str] | Callable[[Any], Mapping[str, str]] | None
"""``{check_id: reason}``, or a function of the estimator returning one, or None."""

_SKIP_EXCEPTION_NAMES = {"Skipped", "SkipTest"}


def checks_for(estimator: object) -> list[Check]:
    """The registered checks of every capability ``estimator`` has, in run order."""
    caps = set(capabilities_of(estimator))
    return [c for c in all_checks() if c.capability in caps]


def _expected(estimator: object, expected_failed_checks: ExpectedFailures) -> dict[str, str]:
    if expected_failed_checks is None:
        return {}
    mapping = (
        expected_failed_checks(estimator) if callable(expected_failed_checks)
        else expected_failed_checks
    )
    if not isinstance(mapping, Mapping):
        raise ParameterTypeError(
            "expected_failed_checks: expected a mapping {check_id: reason} or a function "
            f"returning one, got {type(mapping).__name__}"
        )
    known = {c.id for c in all_checks()}
    unknown = sorted(set(mapping) - known)
    if unknown:
        raise ParameterError(
            f"expected_failed_checks: expected ids of registered checks, got unknown {unknown} "
            "(see conformance/CONTRACTS.md)"
        )
    return {str(k): str(v) for k, v in mapping.items()}


def _outcome(check: Check, context: Context) -> tuple[Status, str]:
    context.check_id = check.id
    try:
        check.function(context)
    except NotApplicable as exc:
        return "skipped", str(exc)
    except CheckFailure as exc:
        return "failed", str(exc)
    except NotImplementedError as exc:
        return "failed", (
            f"a member raised NotImplementedError ({exc}): an object that has a member claims "
            "the capability, so the member must work"
        )
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - any error is a failure of the check
        if type(exc).__name__ in _SKIP_EXCEPTION_NAMES:
            return "failed", f"unexpected skip raised from the object under test: {exc}"
        return "failed", f"unexpected {type(exc).__name__}: {exc}"
    return "passed", ""


def _result(check: Check, context: Context, expected: Mapping[str, str]) -> CheckResult:
    start = time.perf_counter()
    status, message = _outcome(check, context)
    duration = time.perf_counter() - start
    notes = "; ".join(context.notes(check.id))
    if notes:
        message = f"{message} ({notes})" if message else notes
    reason = expected.get(check.id)
    if reason is not None:
        if status == "failed":
            status, message = "expected failure", f"{reason} (got: {message})"
        elif status == "passed":
            status, message = "unexpected pass", f"listed as expected failure ({reason}) but passed"
    return CheckResult(check.id, check.capability, status, message, duration)


def check_estimator(
    estimator: object,
    *,
    expected_failed_checks: ExpectedFailures = None,
    data: Any = None,
    seed: int = 0,
    verbose: bool = True,
) -> ConformanceReport:
    """Run every check of every capability ``estimator`` has; see :mod:`trustml.conformance`."""
    context = Context.create(estimator, data, seed)
    expected = _expected(estimator, expected_failed_checks)
    results = tuple(_result(c, context, expected) for c in checks_for(estimator))
    report = ConformanceReport(type(estimator).__name__, capabilities_of(estimator), results)
    if verbose:
        print(report.summary())
    return report


def run_check(
    estimator: object,
    check_id: str,
    *,
    expected_failed_checks: ExpectedFailures = None,
    data: Any = None,
    seed: int = 0,
) -> CheckResult:
    """Run the single check ``check_id`` on ``estimator``.

    Raises
    ------
    ParameterError
        Unknown ``check_id``.
    """
    by_id = {c.id: c for c in all_checks()}
    if check_id not in by_id:
        raise ParameterError(f"check_id: expected a registered check id, got {check_id!r}")
    context = Context.create(estimator, data, seed)
    check = by_id[check_id]
    if check.capability not in capabilities_of(estimator):
        return CheckResult(check_id, check.capability, "skipped",
                           f"the object lacks the {check.capability} capability", 0.0)
    return _result(check, context, _expected(estimator, expected_failed_checks))
