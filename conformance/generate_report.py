"""Run the conformance kit over every shipped adapter importable here; write conformance/REPORT.md.

    python conformance/generate_report.py            # regenerate (merging columns of adapters
                                                     # not importable here from the old report)
    python conformance/generate_report.py --check    # exit 1 if the report is out of date

The report is deterministic except for the durations table (every input, direction and certify
call is seeded; only check statuses and deterministic reasons are written into the matrix), so
regenerating it on another machine gives the same matrix. Run it once in the main environment and
once in the MXNet one: each run replaces the columns it can compute and keeps the others.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
REPORT = HERE / "REPORT.md"
for _p in (HERE, HERE / "examples"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from factories import ENTRIES, Entry

from trustml.conformance import all_checks, check_estimator

CELL = {"passed": "pass", "failed": "**FAIL**", "expected failure": "xfail",
        "unexpected pass": "XPASS", "skipped": "skip"}
ABSENT = "·"
SEED = 0

Column = dict[str, str]  # check id -> cell


def run_entry(entry: Entry) -> tuple[Column, list[str], float]:
    """Run the kit on one entry: (cells, notes, seconds of the kit's run, construction
    excluded)."""
    estimator = entry.factory()
    expected = entry.expected_failures(estimator)
    start = time.perf_counter()
    report = check_estimator(estimator, expected_failed_checks=expected, seed=SEED, verbose=False)
    seconds = time.perf_counter() - start
    cells = {c.id: ABSENT for c in all_checks()}
    notes: list[str] = []
    for r in report.results:
        r = dataclasses.replace(r, message=" ".join(r.message.split()))  # one line per note
        cells[r.check_id] = CELL[r.status]
        if r.status == "expected failure":
            notes.append(f"`{r.check_id}` xfail: {expected[r.check_id]}")
        elif r.status == "skipped":
            notes.append(f"`{r.check_id}` skip: {r.message}")
        elif r.status in ("failed", "unexpected pass"):
            notes.append(f"`{r.check_id}` {r.status}: {r.message}")
        elif r.message:  # a note on how a passed check ran (e.g. it trained the object in place)
            notes.append(f"`{r.check_id}` pass, note: {r.message}")
    return cells, notes, seconds


def render(columns: dict[str, Column], notes: dict[str, list[str]],
           seconds: dict[str, str]) -> str:
    names = [e.name for e in ENTRIES if e.name in columns]
    checks = all_checks()
    out = [
        "# Conformance report",
        "",
        "The conformance kit (`trustml.conformance.check_estimator`, seed 0) run over every "
        "shipped",
        "adapter and the example third-party adapters of `conformance/examples/`, built by",
        "`conformance/factories.py`. Regenerate with `python conformance/generate_report.py` (in",
        "the main environment, then in the MXNet one); it is checked to be up to date by",
        "`tests/conformance/test_conformance_report.py`. Rules and tolerances:",
        "`conformance/CONTRACTS.md`.",
        "",
        ("Cells: `pass`; `xfail` expected failure (reason below); `skip` not applicable (reason "
         f"below); `**FAIL**` unexpected failure; `{ABSENT}` the object lacks the capability."),
        "",
        "## Adapters",
        "",
        "| # | adapter | environment |",
        "|---:|---|---|",
    ]
    out += [f"| {i} | {name} | {next(e.environment for e in ENTRIES if e.name == name)} |"
            for i, name in enumerate(names, 1)]
    out += ["", "## Matrix (check x adapter #)", "",
            "| check | capability | " + " | ".join(str(i) for i in range(1, len(names) + 1)) + " |",
            "|---|---|" + "---|" * len(names)]
    for c in checks:
        out.append(f"| `{c.id}` | {c.capability} | "
                   + " | ".join(columns[n].get(c.id, ABSENT) for n in names) + " |")
    failures = sum(v == CELL["failed"] for n in names for v in columns[n].values())
    out += ["", f"Unexpected failures: {failures}.", "", "## Expected failures, skips and notes",
            ""]
    for n in names:
        for note in notes.get(n, []):
            out.append(f"- {n}: {note}")
    out += ["", "## Durations (informative, machine-dependent; not compared)", "",
            "Seconds of the kit's whole run on each object (construction excluded).", "",
            "| adapter | seconds |", "|---|---:|"]
    out += [f"| {n} | {seconds.get(n, '?')} |" for n in names]
    return "\n".join(out) + "\n"


def parse(text: str) -> tuple[dict[str, Column], dict[str, list[str]], dict[str, str]]:
    """Read columns, notes and durations back from a rendered report."""
    lines = text.splitlines()
    names: list[str] = []
    columns: dict[str, Column] = {}
    notes: dict[str, list[str]] = {}
    seconds: dict[str, str] = {}
    section = ""
    for line in lines:
        if line.startswith("## "):
            section = line[3:]
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if section == "Adapters" and line.startswith("|") and cells[0].isdigit():
            names.append(cells[1])
            columns[cells[1]] = {}
        elif section.startswith("Matrix") and line.startswith("| `"):
            check_id = cells[0].strip("`")
            for name, cell in zip(names, cells[2:]):
                columns[name][check_id] = cell
        elif section.startswith("Expected") and line.startswith("- "):
            name, _, note = line[2:].partition(": ")
            notes.setdefault(name, []).append(note)
        elif section.startswith("Durations") and line.startswith("|") and cells[0] in columns:
            seconds[cells[0]] = cells[1]
    return columns, notes, seconds


def generate(entries: list[Entry] | None = None, old: str | None = None) -> str:
    """The report text: the available entries recomputed, the others kept from ``old``."""
    columns, notes, seconds = parse(old) if old else ({}, {}, {})
    for entry in entries if entries is not None else ENTRIES:
        if not entry.available():
            continue
        cells, entry_notes, secs = run_entry(entry)
        columns[entry.name], notes[entry.name] = cells, entry_notes
        seconds[entry.name] = f"{secs:.2f}"
    return render(columns, notes, seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 when the matrix or notes differ")
    args = parser.parse_args(argv)
    old = REPORT.read_text(encoding="utf-8") if REPORT.exists() else None
    new = generate(old=old)
    if args.check:
        same = old is not None and parse(old)[:2] == parse(new)[:2]
        print("REPORT.md is up to date" if same else "REPORT.md is out of date")
        return 0 if same else 1
    REPORT.write_text(new, encoding="utf-8")
    print(f"wrote {REPORT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
