"""The committed conformance/REPORT.md is what the kit produces here (durations ignored)."""

from __future__ import annotations

import pytest

generate_report = pytest.importorskip("generate_report")
from factories import ENTRIES


def test_report_lists_every_entry_and_check() -> None:
    columns, _, _ = generate_report.parse(generate_report.REPORT.read_text(encoding="utf-8"))
    assert list(columns) == [e.name for e in ENTRIES]
    ids = {c.id for c in generate_report.all_checks()}
    for name, cells in columns.items():
        assert set(cells) == ids, name
        assert generate_report.CELL["failed"] not in cells.values(), f"{name} fails a check"


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.available()], ids=lambda e: e.name)
def test_report_column_is_up_to_date(entry: object) -> None:
    columns, notes, _ = generate_report.parse(generate_report.REPORT.read_text(encoding="utf-8"))
    cells, entry_notes, _ = generate_report.run_entry(entry)
    assert cells == columns[entry.name]  # type: ignore[attr-defined]
    assert entry_notes == notes.get(entry.name, [])  # type: ignore[attr-defined]


def test_render_parse_round_trip() -> None:
    text = generate_report.REPORT.read_text(encoding="utf-8")
    columns, notes, seconds = generate_report.parse(text)
    assert generate_report.render(columns, notes, seconds) == text
