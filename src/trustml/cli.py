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
from typing import NoReturn

from trustml import __version__
from trustml.errors import TrustMLError

__all__ = ["main"]

_SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("trustml.demo", "check, certify, audit, explain, monitor a model on digits"),
    "check": ("trustml.conformance.cli", "run the conformance kit on an adapter factory"),
    "certify": ("trustml.certification.cli", "certify a model with randomized smoothing"),
    "monitor": ("trustml.ood.cli", "fit OOD detectors on in-distribution data, score an OOD set"),
    "explain": ("trustml.counterfactual.cli", "counterfactual explanations for a dataset's rows"),
    "audit": ("trustml.poisoning.cli", "scan a model for backdoors with Neural Cleanse"),
}


class _UsageError(Exception):
    """A malformed command line, found by argparse (reported by :func:`main`)."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors return to :func:`main` instead of exiting (status 1, as
    every other bad input, with the usage of the (sub)command at fault)."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(self, message)


class _DefaultsFormatter(argparse.HelpFormatter):
    """Appends ``(default: X)`` to each option's help, unless the help already says its
    default or there is none to say (a required option, a flag, a None default)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if (not action.option_strings or action.required or "default" in text
                or action.default in (None, False, argparse.SUPPRESS)):
            return text
        return text + " (default: %(default)s)"


def _build_parser(
    chosen: str | None,
) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser | None]:
    """The top-level parser and the chosen subcommand's (None when none is chosen). Every
    subcommand's ``--help`` shows the defaults."""
    parser = _Parser(prog="trustml", description="trustml command line")
    parser.add_argument("--version", action="version", version=f"trustml {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen_parser = None
    for name, (module, help_text) in _SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text,
                           formatter_class=_DefaultsFormatter)
        if name == chosen:  # only the chosen subcommand's module is imported
            importlib.import_module(module).add_arguments(p)
            chosen_parser = p
    return parser, chosen_parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``trustml`` console script; returns the exit status.

    Every bad input exits with status 1 and a message naming the argument: a malformed command
    line (checked before any work, printed after the usage of the subcommand it names) as well
    as a bad input found while running.
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in args_list if not a.startswith("-")), None)
    parser, sub_parser = _build_parser(chosen if chosen in _SUBCOMMANDS else None)
    try:
        args, unknown = parser.parse_known_args(args_list)
        if unknown:  # reported by the subcommand's parser, with its usage line
            (sub_parser or parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    except _UsageError as exc:
        exc.parser.print_usage(sys.stderr)
        print(f"{exc.parser.prog}: error: {exc}", file=sys.stderr)
        return 1
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
