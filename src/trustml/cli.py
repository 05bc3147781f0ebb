"""The ``trustml`` command line: ``trustml demo``, ``trustml check``, ``trustml certify``.

Each subcommand lives beside the code it drives and is imported only when it runs, so
``trustml --help`` stays fast. A subcommand module provides ``add_arguments(parser)`` and
``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from trustml import __version__
from trustml.errors import TrustMLError

__all__ = ["main"]

_SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("trustml.demo", "train, wrap, check and certify a model on scikit-learn's digits"),
    "check": ("trustml.conformance.cli", "run the conformance kit on an adapter factory"),
    "certify": ("trustml.certification.cli", "certify a model with randomized smoothing"),
    "monitor": ("trustml.ood.cli", "fit OOD detectors on in-distribution data, score an OOD set"),
    "explain": ("trustml.counterfactual.cli", "counterfactual explanations for a dataset's rows"),
    "audit": ("trustml.poisoning.cli", "scan a model for backdoors with Neural Cleanse"),
}


def _build_parser(chosen: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trustml", description="trustml command line")
    parser.add_argument("--version", action="version", version=f"trustml {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in _SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:  # only the chosen subcommand's module is imported
            importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``trustml`` console script; returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in args_list if not a.startswith("-")), None)
    parser = _build_parser(chosen if chosen in _SUBCOMMANDS else None)
    args = parser.parse_args(args_list)
    if args.command is None:
        parser.print_help()
        return 2
    module = importlib.import_module(_SUBCOMMANDS[args.command][0])
    try:
        status: int = module.run(args)
    except TrustMLError as exc:
        print(f"trustml {args.command}: error: {exc}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
