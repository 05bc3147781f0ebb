"""The static check that docs/getting-started.md promises, as a user gets it: mypy --strict on the
page's example, in a folder outside the repository (so neither src/ nor the repository's stubs/
and mypy settings apply), against the installed trustml and the stub packages of the `typing`
extra. Run by the `typing` nox session; skipped where mypy or the stub packages are missing."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs"))
from docs_snippets import ROOT, block_with

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mypy") is None or importlib.util.find_spec("sklearn-stubs") is None,
    reason="needs mypy and the stub packages of the `typing` extra",
)


def test_mypy_rejects_a_tree_where_a_white_box_classifier_is_needed(tmp_path: Path) -> None:
    block = block_with(ROOT / "docs" / "getting-started.md", "gradient_norms(tree")
    (tmp_path / "example.py").write_text(block.code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "MYPYPATH"}
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "example.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    errors = [line for line in run.stdout.splitlines() if ": error:" in line]
    expected_line = block.code.splitlines().index(
        next(line for line in block.code.splitlines() if "gradient_norms(tree" in line)) + 1
    assert len(errors) == 1, run.stdout + run.stderr
    (error,) = errors
    assert re.match(rf"example\.py:{expected_line}: error: .*\"SklearnTreeClassifier\".*"
                    r"\"WhiteBoxClassifier\".*\[arg-type\]", error), error
