"""One command line: the same option names in every subcommand, every default in ``--help``,
every value checked before any work, one factory loader."""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from trustml.cli import _SUBCOMMANDS, main

SUBCOMMANDS_WITH_ARGS = {
    "check": [], "certify": ["--sigma", "0.5", "--out", "o.tsv"], "audit": ["--out", "o"],
    "monitor": ["ood.npz", "--out", "o"], "explain": ["--target", "0", "--out", "o"],
}


def _help(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", sorted(_SUBCOMMANDS))
def test_help_shows_every_default(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Each option with a value default says it in its help, and the help prints."""
    import argparse

    from trustml.cli import _build_parser

    _, parser = _build_parser(command)
    assert parser is not None
    formatter = parser._get_formatter()
    for action in parser._actions:
        if (not action.option_strings or action.required or action.help == argparse.SUPPRESS
                or action.default in (None, False, argparse.SUPPRESS)):
            continue
        text = formatter._get_help_string(action) or ""
        assert "default" in text, (command, action.option_strings)
        if "%(default)s" in text:
            assert str(action.default) in text % {"default": action.default}
    assert f"usage: trustml {command}" in _help(command, capsys)


@pytest.mark.parametrize("command", sorted(_SUBCOMMANDS))
def test_one_vocabulary(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """No subcommand spells the batch size or the input cap another way."""
    text = _help(command, capsys)
    options = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", text))
    assert not options & {"--batch", "--max", "--max-test"}, options


@pytest.mark.parametrize(("command", "option", "value", "message"), [
    ("certify", "--n", "-5", "argument --n: expected an int >= 1, got -5"),
    ("certify", "--alpha", "0", "argument --alpha: expected a number in (0, 1), got 0"),
    ("certify", "--batch-size", "0", "argument --batch-size: expected an int >= 1, got 0"),
    ("certify", "--seed", "-1", "argument --seed: expected an int >= 0, got -1"),
    ("audit", "--steps", "0", "argument --steps: expected an int >= 1, got 0"),
    ("audit", "--norm", "3", "argument --norm: invalid choice"),
    ("monitor", "--fit-fraction", "1.5", "argument --fit-fraction: expected a number in (0, 1)"),
    ("monitor", "--batch-size", "x", "argument --batch-size: expected an int, got 'x'"),
    ("explain", "--C", "1,-2", "argument --C: expected comma-separated numbers > 0"),
    ("explain", "--target", "seven", "argument --target: expected a class index >= 0"),
    ("check", "--seed", "-3", "argument --seed: expected an int >= 0, got -3"),
    ("certify", "--bogus", None, "unrecognized arguments: --bogus"),
])
def test_values_checked_before_any_work(
    command: str, option: str, value: str | None, message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The factory named does not exist: a value error must be reported before it is loaded."""
    argv = [command, "no_such_module_xyz:make", "data.npz", *SUBCOMMANDS_WITH_ARGS[command],
            option, *([value] if value is not None else [])]
    if command == "check":
        argv.remove("data.npz")
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err
    assert f"usage: trustml {command}" in err
    assert "no_such_module_xyz" not in err.split("error:")[-1]


@pytest.mark.parametrize(("command", "old", "new_dest", "value"), [
    ("certify", "--batch", "batch", 64), ("certify", "--max", "max", 3),
    ("monitor", "--batch", "batch_size", 32), ("explain", "--batch", "batch_size", 8),
    ("explain", "--max", "max_inputs", 4),
])
def test_old_spellings_are_deprecated_aliases(
    command: str, old: str, new_dest: str, value: int, capsys: pytest.CaptureFixture[str],
) -> None:
    import argparse
    import importlib

    parser = argparse.ArgumentParser(prog=f"trustml {command}")
    importlib.import_module(_SUBCOMMANDS[command][0]).add_arguments(parser)
    positional = ["m:f", "d.npz", *SUBCOMMANDS_WITH_ARGS[command]]
    args = parser.parse_args([*positional, old, str(value)])
    assert getattr(args, new_dest) == value
    assert f"{old} is deprecated" in capsys.readouterr().err


FACTORY = textwrap.dedent("""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from trustml.adapters.sklearn import wrap

    def make():
        x = np.random.default_rng(0).random((40, 4)).astype(np.float32)
        y = (x[:, 0] > 0.5).astype(np.int64)
        return wrap(LogisticRegression().fit(x, y), clip_values=(0.0, 1.0))
""")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pytest.importorskip("sklearn")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "my_factory.py").write_text(FACTORY)
    rng = np.random.default_rng(1)
    x = rng.random((6, 4)).astype(np.float32)
    np.savez(tmp_path / "data.npz", x=x, y=(x[:, 0] > 0.5).astype(np.int64))
    np.savez(tmp_path / "wrong.npz", x=rng.random((6, 5)).astype(np.float32),
             y=np.zeros(6, np.int64))
    yield tmp_path
    sys.modules.pop("_trustml_factory_my_factory", None)


def test_certify_takes_a_file_factory_like_check(workdir: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """One loader: ``path/to/file.py:factory`` works for certify (and check)."""
    assert main(["certify", "models/my_factory.py:make", "data.npz", "--sigma", "0.25",
                 "--n", "50", "--n0", "10", "--alpha", "0.01", "--seed", "0",
                 "--out", "r.tsv"]) == 0
    assert len((workdir / "r.tsv").read_text().splitlines()) == 7  # header + 6 rows
    from trustml._factory import load_factory
    from trustml.certification.cli import load_factory as certify_loader
    from trustml.conformance._loading import load_factory as kit_loader

    assert certify_loader is load_factory and kit_loader is load_factory


def test_certify_reports_the_real_shape_of_x(workdir: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["certify", "models/my_factory.py:make", "wrong.npz", "--sigma", "0.25",
                 "--out", "r.tsv"]) == 1
    err = capsys.readouterr().err
    assert "(6, 5)" in err and "(0, 5)" not in err
    assert not (workdir / "r.tsv").exists()
