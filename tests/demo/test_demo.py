"""`trustml demo` end to end on scikit-learn's digits (small settings to stay quick)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trustml.cli import main

pytest.importorskip("sklearn")


def test_demo_writes_report_and_curve(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "demo"
    status = main(["demo", "--out", str(out), "--max-test", "60", "--n", "1000", "--seed", "1"])
    printed = capsys.readouterr().out
    assert status == 0
    assert "conformance kit" in printed
    report = (out / "report.md").read_text()
    assert "## Certified accuracy" in report and "## Conformance" in report
    png = (out / "curve.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # certified accuracy at radius 0 is the smoothed classifier's accuracy: far above chance
    row = re.search(r"^\| 0\.00 \| ([0-9.]+) \|$", report, flags=re.M)
    assert row is not None and float(row.group(1)) > 0.8
    # and it cannot grow with the radius
    values = [float(v) for v in re.findall(r"^\| [0-9.]+ \| ([0-9.]+) \|$", report, flags=re.M)]
    assert values == sorted(values, reverse=True)


def test_demo_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--sigma", "-1"]) == 1
    assert "--sigma: expected a positive number" in capsys.readouterr().err
