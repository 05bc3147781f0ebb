"""Static checks (mypy --strict) of the conformance kit's public API."""

from __future__ import annotations

from typing_extensions import assert_type

from trustml.conformance import (
    CheckResult,
    ConformanceReport,
    ReferenceLinearClassifier,
    check_estimator,
    run_check,
)
from trustml.protocols import Classifier


def use(obj: object) -> None:
    report = check_estimator(obj, expected_failed_checks={"predict_deterministic": "MC dropout"},
                             seed=1, verbose=False)
    assert_type(report, ConformanceReport)
    assert_type(report["predict_deterministic"], CheckResult)
    assert_type(report.ok, bool)
    assert_type(report.failed, list[str])
    assert_type(report.to_markdown(), str)
    assert_type(run_check(obj, "predict_shape_dtype"), CheckResult)
    check_estimator(obj, expected_failed_checks=lambda est: {})
    report.raise_for_failures(strict=True)


def reference_is_a_classifier() -> Classifier:
    return ReferenceLinearClassifier()
