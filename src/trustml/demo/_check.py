"""Step ``check``: the conformance kit on the wrapped model; the table goes to the report."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any

from trustml.demo._context import Context
from trustml.demo._models import shaped
from trustml.demo._report import Paragraph, Section, Table

__all__ = ["run"]

TITLE = "check: the conformance kit"


def run(ctx: Context) -> tuple[Section, str]:
    """Run the kit on the main model with the test digits as data."""
    from trustml.conformance import check_estimator

    clf = ctx.model()
    x = shaped(clf, ctx.data.x_test[:32])
    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as tmp:
        warnings.filterwarnings("ignore", message=".*(converge|Maximum iterations).*")
        # The kit trains a copy (clone_for_refitting) where the adapter can make one and the
        # object itself otherwise: keep the parameters aside and restore them afterwards.
        snapshot = Path(tmp) / "params"
        saved = _save(clf, snapshot)
        report = check_estimator(clf, data=(x, ctx.data.y_test[:32]), seed=ctx.args.seed,
                                 verbose=False)
        if saved:
            clf.load(snapshot)
    failed = report.with_status("failed")
    counts = {s: len(report.with_status(s)) for s in ("passed", "failed", "skipped")}
    summary = (f"{len(report.results)} checks: {counts['passed']} passed, "
               f"{counts['failed']} failed, {counts['skipped']} skipped")
    rows = [[f"`{r.check_id}`", r.capability, r.status, f"{r.duration_s:.3f}",
             r.message.replace("\n", " ")] for r in report.results]
    section = Section("check", TITLE, [
        Paragraph(f"The conformance kit ran every check of every capability "
                  f"`{type(clf).__name__}` has ({', '.join(report.capabilities)}): {summary}. "
                  "Each check id is described in `conformance/CONTRACTS.md`."),
        Table(["check", "capability", "status", "seconds", "message"], rows),
    ], {"estimator": type(clf).__name__, "checks": len(report.results), **counts,
        "failed_checks": [r.check_id for r in failed], "ok": report.ok})
    return section, summary


def _save(clf: Any, path: Path) -> bool:
    """Save the parameters of an adapter the kit cannot copy (MXNet Gluon) before it runs."""
    if type(clf).__name__ != "MXNetClassifier":
        return False
    clf.save(path)
    return True
