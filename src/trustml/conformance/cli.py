"""``trustml check module:factory [--expected-failures FILE] [--report OUT.md] [--json OUT.json]``.

Builds the object with the factory, runs the conformance kit, prints the table and exits non-zero
when a check failed unexpectedly.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from trustml._cli_options import nonnegative_int

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``trustml check`` arguments to ``parser``."""
    parser.add_argument("factory", metavar="MODULE:FACTORY",
                        help="zero-argument callable returning the object to check: "
                             "'package.module:make' (importable from the current directory) or "
                             "'path/to/file.py:make'")
    parser.add_argument("--expected-failures", metavar="FILE", default=None,
                        help="JSON object {check_id: reason} or text lines 'check_id: reason'")
    parser.add_argument("--report", metavar="OUT.md", default=None,
                        help="also write the table as Markdown")
    parser.add_argument("--json", metavar="OUT.json", default=None,
                        help="also write the report as JSON")
    parser.add_argument("--seed", type=nonnegative_int, default=0,
                        help="base seed of the generated data")
    parser.add_argument("--strict", action="store_true",
                        help="also fail when an expected failure passes")


def run(args: argparse.Namespace) -> int:
    """Run the kit; return 0 when no check failed unexpectedly, else 1."""
    from trustml.conformance._loading import load_expected_failures, load_factory
    from trustml.conformance._runner import check_estimator

    factory = load_factory(args.factory)
    expected = (load_expected_failures(args.expected_failures)
                if args.expected_failures else None)
    report = check_estimator(factory(), expected_failed_checks=expected, seed=args.seed,
                             verbose=False)
    table = report.to_markdown()
    print(table)
    if args.report:
        Path(args.report).write_text(table, encoding="utf-8")
    if args.json:
        Path(args.json).write_text(report.to_json() + "\n", encoding="utf-8")
    bad = report.with_status("failed", "unexpected pass") if args.strict else report.with_status(
        "failed")
    return 1 if bad else 0
