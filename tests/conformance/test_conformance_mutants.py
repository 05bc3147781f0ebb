"""Mutation tests: each deliberately broken adapter is caught by the named check."""

from __future__ import annotations

import pytest
from conformance_mutants import (
    CERTIFIER_MUTANTS,
    SOFTMAX_MUTANTS,
    TRANSFORM_MUTANTS,
    _Certifier,
    build,
    build_certifier,
)
from gaussian_certifier import make as make_certifier
from softmax_regression import make as make_softmax

from trustml.conformance import check_estimator


def test_the_unbroken_examples_pass_every_check() -> None:
    for obj in (make_softmax(), make_certifier(), build_certifier(_Certifier)):
        report = check_estimator(obj, verbose=False)
        assert report.failed == [], report.to_markdown()
        assert not report.with_status("skipped")


@pytest.mark.parametrize("mutant", list(SOFTMAX_MUTANTS), ids=lambda m: m.__name__)
def test_softmax_mutant_is_caught(mutant: type) -> None:
    report = check_estimator(build(mutant), verbose=False)
    catcher = SOFTMAX_MUTANTS[mutant]
    assert catcher in report.failed, report.to_markdown()
    assert report[catcher].message


@pytest.mark.parametrize("mutant", list(CERTIFIER_MUTANTS), ids=lambda m: m.__name__)
def test_certifier_mutant_is_caught(mutant: type) -> None:
    report = check_estimator(build_certifier(mutant), verbose=False)
    catcher = CERTIFIER_MUTANTS[mutant]
    assert catcher in report.failed, report.to_markdown()


@pytest.mark.parametrize("mutant", list(TRANSFORM_MUTANTS), ids=lambda m: m.__name__)
def test_transform_mutant_is_caught_by_its_check_only(mutant: type) -> None:
    report = check_estimator(build(mutant), verbose=False)
    caught = {c for c in report.failed if c.startswith("transforms_")}
    assert caught == {TRANSFORM_MUTANTS[mutant]}, report.to_markdown()
