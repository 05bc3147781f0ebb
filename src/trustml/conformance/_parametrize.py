"""``parametrize_with_checks``: one pytest item per (estimator, check)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from trustml._deps import require
from trustml.conformance._report import ConformanceReport
from trustml.conformance._runner import ExpectedFailures, _expected, checks_for, run_check

__all__ = ["parametrize_with_checks"]


def _estimator_id(estimator: object, index: int, total: int) -> str:
    name = type(estimator).__name__
    return f"{name}{index}" if total > 1 else name


def _run(estimator: object, *, check_id: str, data: Any, seed: int) -> None:
    """Run one check; skip the pytest item when the kit finds it not applicable, raise
    :class:`ConformanceError` when it fails (expected failures are pytest ``xfail`` marks)."""
    result = run_check(estimator, check_id, data=data, seed=seed)
    if result.status == "skipped":
        import pytest

        pytest.skip(f"{check_id}: {result.message}")
    ConformanceReport(type(estimator).__name__, (), (result,)).raise_for_failures()


def parametrize_with_checks(
    estimators: Sequence[object],
    *,
    expected_failed_checks: ExpectedFailures = None,
    data: Any = None,
    seed: int = 0,
) -> Any:
    """A ``pytest.mark.parametrize`` decorator over every (estimator, check) pair.

    The decorated test takes ``estimator`` and ``check`` and calls ``check(estimator)``; items are
    named ``TypeName-check_id``; listed expected failures become ``xfail(strict=True)`` items
    (``expected_failed_checks`` is a mapping, or a function of the estimator returning one).
    Each item runs its check alone (``run_check``), so items are independent of their order; the
    Fittable checks train a clone or deep copy of the estimator (see ``check_estimator``).

    Raises
    ------
    MissingDependencyError
        pytest is not installed.
    ParameterError
        An expected-failure id is not a registered check.
    """
    pytest = require("pytest", "dev", purpose="parametrize_with_checks")
    params = []
    for i, est in enumerate(estimators):
        expected = _expected(est, expected_failed_checks)
        for check in checks_for(est):
            call: Callable[[object], None] = functools.partial(
                _run, check_id=check.id, data=data, seed=seed)
            marks: tuple[Any, ...] = ()
            if check.id in expected:
                marks = (pytest.mark.xfail(reason=expected[check.id], strict=True),)
            params.append(pytest.param(
                est, call, id=f"{_estimator_id(est, i, len(estimators))}-{check.id}", marks=marks))
    return pytest.mark.parametrize("estimator, check", params)
