"""Argument types and helpers shared by every ``trustml`` subcommand, so that each option is
checked by ``argparse`` before any work starts (a bad value exits with status 2 and the
subcommand's usage line), with one message format: ``expected ..., got ...``."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from typing import Any

__all__ = [
    "add_deprecated_alias",
    "comma_floats",
    "nonnegative_float",
    "nonnegative_int",
    "positive_float",
    "positive_int",
    "probability",
    "unit_fraction",
]


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int, got {text!r}") from None


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An int >= 1."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {text}")
    return value


def nonnegative_int(text: str) -> int:
    """An int >= 0."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an int >= 0, got {text}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    value = _float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def probability(text: str) -> float:
    """A number in (0, 1) (a failure probability such as ``alpha``)."""
    value = _float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text}")
    return value


def unit_fraction(text: str) -> float:
    """A number in (0, 1) (a share of a data set)."""
    return probability(text)


def comma_floats(text: str) -> list[float]:
    """Comma-separated finite numbers (at least one)."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}") from None
    if not values or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated finite numbers, got {text!r}")
    return values


class _Deprecated(argparse.Action):
    """Stores into the new option's ``dest`` and says once on stderr that the spelling changed."""

    def __init__(self, option_strings: Sequence[str], dest: str, new: str = "",
                 **kwargs: Any) -> None:
        self.new = new
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        print(f"{parser.prog}: {option_string} is deprecated, use {self.new}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_deprecated_alias(parser: argparse.ArgumentParser, old: str, new: str, dest: str,
                         type: Any) -> None:
    """Accept the former spelling ``old`` of ``new`` (hidden from ``--help``, a warning when
    used)."""
    parser.add_argument(old, dest=dest, type=type, action=_Deprecated, new=new,
                        help=argparse.SUPPRESS, default=argparse.SUPPRESS)


def nonnegative_float(text: str) -> float:
    """A finite number >= 0."""
    value = _float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value
