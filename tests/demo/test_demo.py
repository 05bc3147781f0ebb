"""`trustml demo` end to end on scikit-learn's digits, with reduced certification settings: the
numbers it reports, not only the files it writes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from trustml.cli import main

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    """One full run (all five steps) shared by the tests below."""
    out = tmp_path_factory.mktemp("demo") / "report"
    capture = tmp_path_factory.mktemp("console") / "console.txt"
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        status = main(["demo", "--out", str(out), "--max-inputs", "60", "--n", "1000",
                       "--seed", "1"])
    capture.write_text(buffer.getvalue())
    return status, buffer.getvalue(), out


def _numbers(out: Path) -> dict[str, Any]:
    numbers: dict[str, Any] = json.loads((out / "report.json").read_text())
    return numbers


def test_demo_reports_what_each_step_promises(demo_run: tuple[int, str, Path]) -> None:
    status, _, out = demo_run
    assert status == 0
    numbers = _numbers(out)
    assert numbers["check"]["failed"] == 0 and numbers["check"]["passed"] > 30
    # certify: certified accuracy at radius 0 is the smoothed classifier's accuracy
    certified = numbers["certify"]["certified_accuracy"]
    assert numbers["certify"]["radii"][0] == 0.0 and certified[0] > 0.9
    assert certified == sorted(certified, reverse=True)  # cannot grow with the radius
    # audit: Neural Cleanse flags the poisoned target on the backdoored model, nothing on the
    # clean one; the backdoor worked and the mitigation weakened it
    audit = numbers["audit"]
    assert audit["flagged"] == [audit["target"]]
    assert audit["clean_model_flagged"] == []
    assert audit["poisoned_attack_success"] > 0.9 > audit["clean_model_attack_success"]
    assert audit["mitigation"]["attack_success"] < audit["poisoned_attack_success"] / 2
    assert audit["target_mask_mass_in_trigger"] > 0.5
    # explain: the counterfactuals reach their targets
    assert numbers["explain"]["validity"] > 0.9
    assert numbers["explain"]["l1"] > 0
    # monitor: the best detector separates digits 5-9 from 0-4
    aurocs = [m["auroc"] for m in numbers["monitor"]["metrics"].values()]
    assert max(aurocs) > 0.85
    assert numbers["monitor"]["metrics"][numbers["monitor"]["best"]]["auroc"] == max(aurocs)


def test_demo_report_matches_its_numbers(demo_run: tuple[int, str, Path]) -> None:
    _, _, out = demo_run
    numbers = _numbers(out)
    report = (out / "report.md").read_text()
    for title in ("## check", "## certify", "## audit", "## explain", "## monitor"):
        assert title in report
    row = re.search(r"^\| 0\.00 \| ([0-9.]+) \|$", report, flags=re.MULTILINE)
    assert row is not None
    assert float(row.group(1)) == pytest.approx(numbers["certify"]["certified_accuracy"][0],
                                                abs=5e-4)
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert len(figures) == 5
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == len(figures)  # self-contained
    for name in figures:
        assert (out / name).read_bytes()[:8] == PNG


def test_demo_console_has_one_summary_line_per_step(demo_run: tuple[int, str, Path]) -> None:
    _, printed, _ = demo_run
    lines = printed.splitlines()
    assert sum(1 for line in lines if line.lstrip().startswith("-> ")) == 5
    assert not [line for line in lines if line.startswith("| `")]  # the table is in the report
    assert printed.count("checks:") == 1


def test_demo_steps_subset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "monitor"
    assert main(["demo", "--steps", "monitor", "--out", str(out), "--seed", "2"]) == 0
    numbers = _numbers(out)
    assert set(numbers) >= {"monitor", "settings"}
    assert not {"check", "certify", "audit", "explain"} & set(numbers)
    assert numbers["test_accuracy"] is None  # the main model was not needed, not trained
    assert capsys.readouterr().out.count("[1/1] monitor") == 1


@pytest.mark.parametrize(("argv", "message"), [
    (["--sigma", "-1"], "argument --sigma: expected a number > 0, got -1"),
    (["--n", "-5"], "argument --n: expected an int >= 1, got -5"),
    (["--alpha", "1.5"], "argument --alpha: expected a number in (0, 1), got 1.5"),
    (["--steps", "check,nope"], "argument --steps: expected comma-separated steps"),
    (["--framework", "jax"], "argument --framework: invalid choice"),
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_demo_rejects_bad_arguments_before_any_work(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "never"
    assert main(["demo", "--out", str(out), *argv]) == 1
    err = capsys.readouterr()
    assert message in err.err
    assert "usage: trustml demo" in err.err  # the subcommand's usage, not the top level's
    assert not out.exists() and err.out == ""


def test_demo_old_option_spelling_still_works(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from trustml.demo import add_arguments

    parser = argparse.ArgumentParser(prog="trustml demo")
    add_arguments(parser)
    args = parser.parse_args(["--max-test", "7"])
    assert args.max_inputs == 7
    assert "--max-test is deprecated, use --max-inputs" in capsys.readouterr().err
    assert parser.parse_args([]).max_inputs == 200


def test_demo_says_in_one_line_when_a_step_cannot_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A capability the adapter lacks skips that step with one line, the run goes on."""
    from trustml.demo import _explain
    from trustml.errors import CapabilityError

    def lacking(ctx: object) -> None:
        raise CapabilityError("classifier: expected ClassGradients or LossGradients, got none")

    monkeypatch.setattr(_explain, "run", lacking)
    out = tmp_path / "skip"
    assert main(["demo", "--steps", "explain", "--out", str(out)]) == 0
    line = ("not available with --framework sklearn: classifier: expected ClassGradients or "
            "LossGradients, got none")
    assert line in capsys.readouterr().out
    assert line in (out / "report.md").read_text()
    assert _numbers(out)["explain"] == {"skipped": line}
