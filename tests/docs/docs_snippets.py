"""Reading the ```python blocks of the documentation (docs/**/*.md and README.md).

A page's blocks run in order in one namespace, as a reader would type them into one session. Two
HTML comments (invisible on the rendered site) steer them:

- ``<!-- invisible-code-block: python ... -->`` (Sybil's syntax): code run before the next block
  but not shown, for the things the prose says the reader brings (``net``, ``x_train``, ...);
- ``<!-- snippet: skip REASON -->`` right before a block: not run. Allowed only for blocks that need
  what CI does not have (a GPU, a cluster, the network), and the reason must say which.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SKIP_REASONS = ("GPU", "CUDA", "cluster", "network")
"""A skipped block's reason names one of these."""

_FENCE = re.compile(r"^```python[^\n]*\n(?P<code>.*?)^```[ \t]*$", re.M | re.S)
_INVISIBLE = re.compile(
    r"^<!--[ \t]*invisible-code-block:[ \t]*python[ \t]*\n(?P<code>.*?)^-->[ \t]*$", re.M | re.S
)
_SKIP = re.compile(r"<!--[ \t]*snippet:[ \t]*skip[ \t]+(?P<reason>.*?)[ \t]*-->[ \t]*\n*\Z", re.S)


@dataclass(frozen=True)
class Block:
    """One piece of code of a page, in page order."""

    path: Path
    line: int  # 1-based line of the code's first line
    code: str
    visible: bool
    skip_reason: str | None


def pages() -> list[Path]:
    """Every markdown page with python blocks: README.md, then docs/ in path order."""
    found = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return [p for p in found if "```python" in p.read_text(encoding="utf-8")]


def blocks(path: Path) -> list[Block]:
    """The visible and invisible python blocks of ``path``, in page order."""
    text = path.read_text(encoding="utf-8")
    found: list[tuple[int, Block]] = []
    for m in _FENCE.finditer(text):
        before = text[: m.start()]
        skip = _SKIP.search(before[-400:])
        line = before.count("\n") + 2
        found.append((m.start(), Block(path, line, m.group("code"), True,
                                       skip.group("reason") if skip else None)))
    for m in _INVISIBLE.finditer(text):
        line = text[: m.start()].count("\n") + 2
        found.append((m.start(), Block(path, line, m.group("code"), False, None)))
    return [b for _, b in sorted(found, key=lambda t: t[0])]


def block_with(path: Path, marker: str) -> Block:
    """The one visible block of ``path`` whose code contains ``marker``."""
    hits = [b for b in blocks(path) if b.visible and marker in b.code]
    if len(hits) != 1:
        raise LookupError(f"{path}: expected one block containing {marker!r}, got {len(hits)}")
    return hits[0]
