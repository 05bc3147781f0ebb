"""The command-line dispatcher."""

from __future__ import annotations

import subprocess
import sys

import pytest

from trustml import __version__
from trustml.cli import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"trustml {__version__}"


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    out = capsys.readouterr().out
    for command in ("demo", "check", "certify"):
        assert command in out


def test_python_dash_m() -> None:
    out = subprocess.run([sys.executable, "-m", "trustml", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "certify" in out


def test_one_version_source() -> None:
    """The distribution metadata reads the version from ``trustml.__version__`` (pyproject's
    ``dynamic`` version), so an installed trustml cannot disagree with itself."""
    from importlib import metadata

    try:
        installed = metadata.version("trustml")
    except metadata.PackageNotFoundError:
        pytest.skip("trustml is not installed (running from the source tree)")
    assert installed == __version__
    parts = __version__.split(".")
    assert len(parts) == 3 and all(p.isdigit() for p in parts)
