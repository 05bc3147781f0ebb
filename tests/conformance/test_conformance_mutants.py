"""Mutation tests: each deliberately broken adapter is caught by its check, and by no check outside
its documented group; every check id has a mutant, listed in conformance/CONTRACTS.md."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conformance_mutants import _Certifier, build, build_certifier
from conformance_mutants_extra import MUTANTS, Mutant, NoClone, NoCloneNoCopy
from gaussian_certifier import make as make_certifier
from softmax_regression import make as make_softmax
from tiny_forest import make as make_forest

from trustml.conformance import all_checks, check_estimator, run_check
from trustml.errors import NotFittedError

CONTRACTS = Path(__file__).resolve().parents[2] / "conformance" / "CONTRACTS.md"


def test_the_unbroken_examples_pass_every_check() -> None:
    for obj in (make_softmax(), make_certifier(), build_certifier(_Certifier), make_forest()):
        report = check_estimator(obj, verbose=False)
        assert report.failed == [], report.to_markdown()
        assert not report.with_status("skipped")
        assert all(r.message == "" for r in report), report.to_markdown()


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.cls.__name__)
def test_mutant_is_caught_by_its_check_and_exactly_its_group(mutant: Mutant) -> None:
    report = check_estimator(mutant.build(mutant.cls), verbose=False)
    assert mutant.catcher in report.failed, report.to_markdown()
    assert report[mutant.catcher].message
    assert set(report.failed) == {mutant.catcher} | mutant.group, report.to_markdown()


def _contracts_mutants() -> dict[str, dict[str, set[str]]]:
    """check id -> {mutant name -> checks named after 'also caught by'} from CONTRACTS.md."""
    out: dict[str, dict[str, set[str]]] = {}
    check_id = ""
    text = CONTRACTS.read_text(encoding="utf-8").replace("\n  ", " ")  # wrapped list items
    for line in text.splitlines():
        heading = re.match(r"^### `([a-z0-9_]+)`", line)
        if heading:
            check_id = heading.group(1)
            out[check_id] = {}
        mutant = re.match(r"^- Mutant `(\w+)`: (.*)$", line)
        if mutant and check_id:
            _, _, also = mutant.group(2).partition("also caught by ")
            out[check_id][mutant.group(1)] = set(re.findall(r"`([a-z0-9_]+)`", also))
    return out


def test_every_check_has_a_mutant_listed_in_contracts() -> None:
    listed = _contracts_mutants()
    registered = {m.cls.__name__: m for m in MUTANTS}
    for check in all_checks():
        assert listed.get(check.id), f"CONTRACTS.md lists no mutant under {check.id}"
        for name, group in listed[check.id].items():
            assert name in registered, f"{check.id}: mutant {name} is not in MUTANTS"
            assert registered[name].catcher == check.id, name
            assert group == set(registered[name].group), f"{name}: group differs from MUTANTS"
    assert {n for names in listed.values() for n in names} == set(registered)


def test_fit_checks_train_a_clone_else_a_deep_copy_and_leave_the_original() -> None:
    for cls in (type(make_softmax()), NoClone):
        model = build(cls)
        weights = model.weights.copy()
        report = check_estimator(model, verbose=False)
        assert report.ok, report.to_markdown()
        np.testing.assert_array_equal(model.weights, weights)
        assert all(r.message == "" for r in report if r.capability == "Fittable")


def test_fit_checks_say_when_they_trained_the_object_in_place() -> None:
    model = build(NoCloneNoCopy)
    weights = model.weights.copy()
    report = check_estimator(model, verbose=False)
    assert report.ok, report.to_markdown()
    assert not np.array_equal(model.weights, weights)  # trained in place, as reported
    for r in report:
        if r.capability == "Fittable":
            assert "trained the object itself, in place" in r.message, r
            assert "no clone_for_refitting" in r.message and "deep-copy" in r.message, r
        else:
            assert r.message == "", r


class UnfittedUntilFit(type(make_softmax())):  # type: ignore[misc]
    """Its clone refuses to predict until fitted (as a scikit-learn clone does)."""

    fitted = True

    def clone_for_refitting(self) -> Any:
        clone = super().clone_for_refitting()
        clone.fitted = False
        return clone

    def predict(self, x: Any, batch_size: int = 128) -> Any:
        if not self.fitted:
            raise NotFittedError("predict: fit the model first")
        return super().predict(x, batch_size)

    def fit(self, *args: Any, **kwargs: Any) -> None:
        super().fit(*args, **kwargs)
        self.fitted = True

    def fit_generator(self, *args: Any, **kwargs: Any) -> None:
        super().fit_generator(*args, **kwargs)
        self.fitted = True


@pytest.mark.parametrize("check_id", ["fit_no_side_effects", "fit_learns", "fit_generator_learns",
                                      "fit_label_formats", "clone_independent"])
def test_each_fit_check_alone_trains_an_untrained_clone(check_id: str) -> None:
    """parametrize_with_checks runs each check alone, on a fresh clone that is not fitted yet."""
    result = run_check(build(UnfittedUntilFit), check_id)
    assert result.status == "passed", result
