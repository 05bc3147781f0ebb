"""Every ```python block of docs/ and README.md runs (see docs_snippets.py for the rules).

A page runs where the frameworks it imports are installed (the `tests` session has all but MXNet
and ART; the `mxnet` and `art` sessions run the pages that need those).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from docs_snippets import ROOT, SKIP_REASONS, Block, blocks, pages

OPTIONAL = ("torch", "tensorflow", "keras", "mxnet", "sklearn", "art", "distributed",
            "matplotlib", "hypothesis")
"""Top-level modules a page may import that trustml's core does not install."""

PAGES = pages()


def _page_id(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _imports(code: str) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


def _compile(block: Block) -> object:
    # leading newlines make tracebacks point at the markdown line
    source = "\n" * (block.line - 1) + block.code
    return compile(source, str(block.path.relative_to(ROOT)), "exec")


def test_pages_are_found() -> None:
    names = {_page_id(p) for p in PAGES}
    assert {"README.md", "docs/getting-started.md", "docs/certification.md"} <= names


@pytest.mark.parametrize("path", PAGES, ids=_page_id)
def test_blocks_parse_and_skips_give_a_reason(path: Path) -> None:
    for block in blocks(path):
        _compile(block)
        if block.skip_reason is not None:
            assert any(word in block.skip_reason for word in SKIP_REASONS), (
                f"{_page_id(path)}:{block.line}: a block may be skipped only for "
                f"{', '.join(SKIP_REASONS)}, got the reason {block.skip_reason!r}"
            )


@pytest.mark.parametrize("path", PAGES, ids=_page_id)
def test_page_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = [b for b in blocks(path) if b.skip_reason is None]
    needed = set().union(*(_imports(b.code) for b in page)) & set(OPTIONAL)
    for module in sorted(needed):
        pytest.importorskip(module, reason=f"{_page_id(path)} needs {module}")
    monkeypatch.chdir(tmp_path)  # files a snippet writes land in a temporary folder
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setattr(sys, "argv", [_page_id(path)])
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for block in page:
        exec(_compile(block), namespace)  # the documentation's own code
