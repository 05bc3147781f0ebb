"""Unit tests of the kit: registry, runner, report, data, tolerances, reference problem."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import unittest
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conformance_mutants import FlippedGradient, NotImplementedStub, build
from softmax_regression import make as make_softmax

from trustml.conformance import (
    ConformanceError,
    ReferenceLinearClassifier,
    all_checks,
    capabilities_of,
    check_estimator,
    checks_for,
    run_check,
)
from trustml.conformance._tolerance import FLOAT16, FLOAT32, FLOAT64, tolerance_for
from trustml.errors import ParameterError, ParameterTypeError
from trustml.preprocessing import Standardisation

CONTRACTS = Path(__file__).resolve().parents[2] / "conformance" / "CONTRACTS.md"


class PredictOnly:
    """A minimal Classifier: input (3,), two classes, scores from a fixed linear map."""

    def __init__(self) -> None:
        self._std = Standardisation.create(0.0, 1.0, input_shape=(3,), channels_first=False)

    input_shape = (3,)
    nb_classes = 2
    clip_values = None

    @property
    def preprocessing(self) -> Standardisation:
        return self._std

    def predict(self, x: Any, batch_size: int = 128) -> Any:
        from trustml.validation import check_batch, check_batch_size

        check_batch_size(batch_size)
        xs = check_batch(x, (3,), dtype=np.float64)
        s = xs @ np.array([1.0, -2.0, 0.5])
        return np.stack([-s, s], axis=1).astype(np.float32)


class SkipsInPredict(PredictOnly):
    def predict(self, x: Any, batch_size: int = 128) -> Any:
        raise unittest.SkipTest("not today")


def test_check_ids_are_unique_snake_case_and_grouped() -> None:
    checks = all_checks()
    ids = [c.id for c in checks]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", i) for i in ids)
    assert all(c.summary for c in checks)


def test_every_check_is_documented_in_contracts_and_nothing_else() -> None:
    text = CONTRACTS.read_text(encoding="utf-8")
    documented = set(re.findall(r"^### `([a-z0-9_]+)`", text, flags=re.MULTILINE))
    assert documented == {c.id for c in all_checks()}


def test_example_passes_and_summary_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    model = make_softmax()
    n = len(checks_for(model))
    assert n == sum(1 for c in all_checks() if c.capability != "DecisionTrees"
                    and c.capability != "Certifier")
    report = check_estimator(model)
    out = capsys.readouterr().out
    assert f"{n} checks ran, 0 skipped, {n} passed, 0 failed" in out
    assert report.ok and len(report) == n
    report.raise_for_failures(strict=True)
    payload = json.loads(report.to_json())
    assert [r["check_id"] for r in payload["results"]] == [r.check_id for r in report]
    md = report.to_markdown()
    assert all(f"`{r.check_id}`" in md for r in report)
    assert all(r.duration_s >= 0 for r in report)


def test_capabilities_are_detected_structurally() -> None:
    assert capabilities_of(PredictOnly()) == ("Estimator", "Classifier", "Any")
    assert capabilities_of(object()) == ("Any",)
    report = check_estimator(PredictOnly(), verbose=False)
    assert {r.capability for r in report} == {"Estimator", "Classifier", "Any"}
    assert report.ok, report.to_markdown()
    nothing = check_estimator(object(), verbose=False)
    assert {r.check_id for r in nothing} == {c.id for c in all_checks() if c.capability == "Any"}
    assert nothing.ok


def test_expected_failures_and_unexpected_passes() -> None:
    reason = "known: sign convention"
    report = check_estimator(build(FlippedGradient), verbose=False, expected_failed_checks={
        "loss_gradient_finite_differences": reason, "loss_gradient_preprocessing": reason})
    result = report["loss_gradient_finite_differences"]
    assert result.status == "expected failure" and reason in result.message
    assert report.ok
    good = check_estimator(make_softmax(), verbose=False,
                           expected_failed_checks=lambda est: {"predict_deterministic": "flaky"})
    assert good["predict_deterministic"].status == "unexpected pass"
    good.raise_for_failures()
    with pytest.raises(ConformanceError, match="predict_deterministic"):
        good.raise_for_failures(strict=True)


def test_failures_raise_naming_the_check() -> None:
    report = check_estimator(build(FlippedGradient), verbose=False)
    assert not report.ok
    with pytest.raises(ConformanceError, match="loss_gradient_finite_differences"):
        report.raise_for_failures()
    with pytest.raises(AssertionError):
        report.raise_for_failures()


def test_bad_arguments_raise_typed_errors() -> None:
    with pytest.raises(ParameterError, match="no_such_check"):
        check_estimator(make_softmax(), expected_failed_checks={"no_such_check": "x"})
    with pytest.raises(ParameterTypeError, match="expected_failed_checks"):
        check_estimator(make_softmax(), expected_failed_checks=lambda e: ["x"])  # type: ignore
    with pytest.raises(ParameterError, match="seed"):
        check_estimator(make_softmax(), seed=1.5)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="data"):
        check_estimator(make_softmax(), data=np.zeros((4, 1, 4, 4)))
    with pytest.raises(ParameterError, match="check_id"):
        run_check(make_softmax(), "nope")


def test_user_data_is_used() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, (12, 1, 4, 4)).astype(np.float32)
    y = np.eye(3)[rng.integers(0, 3, 12)]
    report = check_estimator(make_softmax(), data=(x, y), verbose=False)
    assert report.ok, report.to_markdown()


def test_not_implemented_and_unexpected_skip_fail() -> None:
    report = check_estimator(build(NotImplementedStub), verbose=False)
    assert "NotImplementedError" in report["class_gradient_labels"].message
    assert report["class_gradient_labels"].status == "failed"
    skipping = check_estimator(SkipsInPredict(), verbose=False)
    assert skipping["predict_shape_dtype"].status == "failed"
    assert "unexpected skip" in skipping["predict_shape_dtype"].message


def test_runs_are_reproducible() -> None:
    a = check_estimator(build(FlippedGradient), verbose=False, seed=5)
    b = check_estimator(build(FlippedGradient), verbose=False, seed=5)
    assert [(r.check_id, r.status, r.message) for r in a] == [
        (r.check_id, r.status, r.message) for r in b]


def test_run_check_single_and_missing_capability() -> None:
    assert run_check(make_softmax(), "predict_batch_invariance").status == "passed"
    assert run_check(PredictOnly(), "loss_gradient_finite_differences").status == "skipped"


def test_importing_the_kit_is_light() -> None:
    code = ("import sys, trustml.conformance as c; c.all_checks(); "
            "heavy = {'pytest', 'hypothesis', 'torch', 'tensorflow', 'keras', 'mxnet', 'sklearn',"
            " 'scipy'} & {m.split('.')[0] for m in sys.modules}; print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_tolerances_follow_the_dtype() -> None:
    assert tolerance_for(np.float64) is FLOAT64
    assert tolerance_for(np.float64, np.float32) is FLOAT32
    assert tolerance_for(np.float16) is FLOAT16
    assert tolerance_for(np.int64) is FLOAT32
    x = np.linspace(-1, 1, 7)
    for tol in (FLOAT64, FLOAT32):
        h = tol.fd_step
        fd = (np.sin(x + h) - np.sin(x - h)) / (2 * h)
        assert tol.fd_close(fd, np.cos(x), np.sin(x), h).all()
        assert not tol.fd_close(fd, -np.cos(x), np.sin(x), h).any()


def test_reference_problem_radius_is_the_distance_to_the_hyperplane() -> None:
    ref = ReferenceLinearClassifier([1.0, 2.0, -2.0], bias=0.7)
    dist = np.array([-1.0, -0.2, 0.3, 2.0])
    x = ref.at_distance(dist, seed=1)
    np.testing.assert_allclose(ref.true_radius(x), np.abs(dist), rtol=1e-12)
    np.testing.assert_array_equal(ref.true_label(x), (dist > 0).astype(np.int64))
    np.testing.assert_array_equal(np.argmax(ref.predict(x), axis=1), ref.true_label(x))
    report = check_estimator(ref, verbose=False)
    assert report.ok, report.to_markdown()


def test_fit_checks_train_a_copy_and_keep_the_callers_weights() -> None:
    model = make_softmax()
    weights = model.weights.copy()
    assert check_estimator(model, verbose=False).ok
    np.testing.assert_array_equal(model.weights, weights)
