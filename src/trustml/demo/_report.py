"""The demo's report: sections of blocks (paragraphs, lists, tables, figures) rendered once as
Markdown (``report.md``) and once as one self-contained HTML file (``report.html``, figures
embedded as base64 PNGs), plus the numbers as JSON (``report.json``)."""

from __future__ import annotations

import base64
import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Block", "BulletList", "Figure", "Paragraph", "Section", "Table", "write_report"]


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of Markdown-light text (``code`` and **bold** are rendered in HTML)."""

    text: str


@dataclass(frozen=True)
class BulletList:
    """A bulleted list."""

    items: list[str]


@dataclass(frozen=True)
class Table:
    """A table: a header row and rows of cells (strings)."""

    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Figure:
    """A PNG in the output folder, with its caption."""

    path: Path
    caption: str


Block = Paragraph | BulletList | Table | Figure


@dataclass
class Section:
    """One ``##`` section of the report; ``numbers`` go to ``report.json`` under ``key``."""

    key: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)


def _md_block(block: Block) -> str:
    if isinstance(block, Paragraph):
        return block.text
    if isinstance(block, BulletList):
        return "\n".join(f"- {item}" for item in block.items)
    if isinstance(block, Table):
        cells = [block.header, ["---"] * len(block.header), *block.rows]
        return "\n".join("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |"
                         for row in cells)
    return f"![{block.path.stem}]({block.path.name})\n\n*{block.caption}*"


def _inline(text: str) -> str:
    out = html.escape(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)


def _html_block(block: Block) -> str:
    if isinstance(block, Paragraph):
        return f"<p>{_inline(block.text)}</p>"
    if isinstance(block, BulletList):
        return "<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in block.items) + "</ul>"
    if isinstance(block, Table):
        head = "".join(f"<th>{_inline(c)}</th>" for c in block.header)
        body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>"
                       for row in block.rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    data = base64.b64encode(block.path.read_bytes()).decode("ascii")
    return (f'<figure><img alt="{html.escape(block.path.stem)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{_inline(block.caption)}</figcaption></figure>")


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.45;color:#222}table{border-collapse:collapse;margin:1rem 0}"
    "td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:right}"
    "th{background:#f3f3f3}img{max-width:100%}figcaption{font-size:.9rem;color:#555}"
    "code{background:#f3f3f3;padding:0 .2rem}"
)


def write_report(out: Path, title: str, intro: list[Block], sections: list[Section],
                 numbers: dict[str, Any]) -> list[Path]:
    """Write ``report.md``, ``report.html`` and ``report.json`` into ``out``; returns their
    paths."""
    md = [f"# {title}", ""]
    for block in intro:
        md += [_md_block(block), ""]
    for section in sections:
        md += [f"## {section.title}", ""]
        for block in section.blocks:
            md += [_md_block(block), ""]
    body = [f"<h1>{html.escape(title)}</h1>", *(_html_block(b) for b in intro)]
    for section in sections:
        body.append(f'<h2 id="{section.key}">{html.escape(section.title)}</h2>')
        body += [_html_block(b) for b in section.blocks]
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>'
            f"{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")
    paths = [out / "report.md", out / "report.html", out / "report.json"]
    paths[0].write_text("\n".join(md).rstrip() + "\n", encoding="utf-8")
    paths[1].write_text(page, encoding="utf-8")
    payload = {**numbers, **{s.key: s.numbers for s in sections}}
    paths[2].write_text(json.dumps(payload, indent=1, default=_jsonable) + "\n", encoding="utf-8")
    return paths


def close_figure(fig: Any) -> None:
    """Close a matplotlib figure a step returned after saving it (the demo draws many)."""
    import matplotlib.pyplot as plt

    plt.close(fig)


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
