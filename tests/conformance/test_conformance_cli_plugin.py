"""``trustml check`` and the opt-in pytest plugin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from softmax_regression import make

import trustml
from trustml.cli import main
from trustml.conformance import checks_for

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "conformance" / "examples" / "softmax_regression.py") + ":make"
BROKEN = str(Path(__file__).resolve().parent / "conformance_broken_factories.py") + ":flipped"


def test_cli_passes_and_writes_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    md, js = tmp_path / "r.md", tmp_path / "r.json"
    assert main(["check", EXAMPLE, "--report", str(md), "--json", str(js)]) == 0
    assert "`predict_batch_invariance`" in capsys.readouterr().out
    assert "| check |" in md.read_text()
    assert json.loads(js.read_text())["estimator"] == "SoftmaxRegression"


def test_cli_fails_on_a_broken_adapter_unless_expected(tmp_path: Path) -> None:
    assert main(["check", BROKEN]) == 1
    text = tmp_path / "xfail.txt"
    text.write_text("# known\nloss_gradient_finite_differences: sign flipped on purpose\n"
                    "loss_gradient_preprocessing: sign flipped on purpose  # raw-space check\n")
    assert main(["check", BROKEN, "--expected-failures", str(text)]) == 0
    js = tmp_path / "xfail.json"
    js.write_text(json.dumps({"loss_gradient_finite_differences": "on purpose",
                              "loss_gradient_preprocessing": "on purpose",
                              "predict_deterministic": "not really"}))
    assert main(["check", BROKEN, "--expected-failures", str(js)]) == 0
    assert main(["check", BROKEN, "--expected-failures", str(js), "--strict"]) == 1


def test_cli_bad_target_is_a_clean_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "no_such_module_xyz:make"]) == 1
    assert "cannot import module" in capsys.readouterr().err
    assert main(["check", "nocolon"]) == 1


def _pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(
        'pytest_plugins = ["trustml.conformance.pytest_plugin"]\n')
    paths = [Path(__file__).resolve().parent, ROOT / "conformance" / "examples",
             Path(trustml.__file__).resolve().parents[1]]  # trustml installed or from src/
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in paths)}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=tmp_path, capture_output=True, text=True, env=env, check=False)


def test_pytest_plugin_runs_one_item_per_check(tmp_path: Path) -> None:
    n = len(checks_for(make()))
    ok = _pytest(tmp_path, "--trustml-adapter", EXAMPLE)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"{n} passed" in ok.stdout
    bad = _pytest(tmp_path, "--trustml-adapter", BROKEN)
    assert bad.returncode == 1
    assert f"2 failed, {n - 2} passed" in bad.stdout
    assert "loss_gradient_finite_differences" in bad.stdout
    (tmp_path / "x.txt").write_text("loss_gradient_finite_differences: on purpose\n"
                                    "loss_gradient_preprocessing: on purpose\n")
    xf = _pytest(tmp_path, "--trustml-adapter", BROKEN, "--trustml-expected-failures",
                 str(tmp_path / "x.txt"))
    assert xf.returncode == 0 and "2 xfailed" in xf.stdout, xf.stdout


def test_pytest_plugin_bad_target_is_a_usage_error(tmp_path: Path) -> None:
    out = _pytest(tmp_path, "--trustml-adapter", "no_such_module_xyz:make")
    assert out.returncode == 4  # pytest's usage-error exit code
    assert "cannot import module 'no_such_module_xyz'" in out.stderr + out.stdout


def test_expected_failures_files_are_validated(tmp_path: Path) -> None:
    from trustml.conformance._loading import load_expected_failures, load_factory
    from trustml.errors import ParameterError

    bad_json = tmp_path / "x.json"
    bad_json.write_text("[1, 2]")
    with pytest.raises(ParameterError, match="JSON object"):
        load_expected_failures(str(bad_json))
    bad_text = tmp_path / "x.txt"
    bad_text.write_text("predict_deterministic reason without colon\n")
    with pytest.raises(ParameterError, match="line 1"):
        load_expected_failures(str(bad_text))
    with pytest.raises(ParameterError, match="existing file"):
        load_expected_failures(str(tmp_path / "missing.txt"))
    with pytest.raises(ParameterError, match="callable 'nope'"):
        load_factory(EXAMPLE.replace(":make", ":nope"))
