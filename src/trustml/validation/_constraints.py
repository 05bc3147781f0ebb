"""Parameter constraints, declared once, in one message format (after scikit-learn's
``_param_validation``); see :mod:`trustml.validation`."""

from __future__ import annotations

import math
import reprlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from trustml.errors import ParameterError, ParameterTypeError

_REPR = reprlib.Repr()
_REPR.maxstring = 40
_REPR.maxother = 60


def _short_repr(value: Any) -> str:
    return _REPR.repr(value)


def _got(value: Any, *, with_type: bool) -> str:
    shown = _short_repr(value.item() if isinstance(value, np.generic) else value)
    return f"{type(value).__name__} {shown}" if with_type else shown


class Constraint(ABC):
    """One allowed kind of value for a parameter.

    A constraint says whether a value has an acceptable type (:meth:`accepts_type`) and whether it
    is acceptable (:meth:`accepts`), describes itself for messages (``str``), and converts an
    accepted value to its canonical form (:meth:`convert`). :func:`check_param` combines them.
    """

    @abstractmethod
    def accepts_type(self, value: Any) -> bool:
        """Whether ``value`` has a type this constraint can accept."""

    @abstractmethod
    def accepts(self, value: Any) -> bool:
        """Whether ``value`` satisfies the constraint (its type included)."""

    def convert(self, value: Any) -> Any:
        """The canonical form of an accepted value (a Python int or float, ...)."""
        return value


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return _is_int(value) or isinstance(value, (float, np.floating))


class Interval(Constraint):
    """An int (``kind="int"``) or a finite real number (``kind="real"``) in an interval.

    Bools are never numbers here, and a ``"real"`` interval never accepts NaN or inf. ``None`` for
    ``low`` / ``high`` leaves that side unbounded; ``closed`` says which bounds belong to it;
    ``what`` names the value in messages (default "an int" / "a finite number").

    Examples
    --------
    ``Interval("int", 1, None)`` is "an int >= 1"; ``Interval("real", 0, 0.5, closed="right")`` is
    "a finite number in (0, 0.5]".
    """

    def __init__(
        self,
        kind: Literal["int", "real"],
        low: float | None,
        high: float | None,
        *,
        closed: Literal["left", "right", "both", "neither"] = "both",
        what: str | None = None,
    ) -> None:
        self.what = what
        self.kind = kind
        self.low = low
        self.high = high
        self.closed = closed

    def accepts_type(self, value: Any) -> bool:
        return _is_int(value) if self.kind == "int" else _is_real(value)

    def accepts(self, value: Any) -> bool:
        if not self.accepts_type(value):
            return False
        if self.kind == "real" and not math.isfinite(float(value)):
            return False
        v = int(value) if self.kind == "int" else float(value)
        left = self.closed in ("left", "both")
        right = self.closed in ("right", "both")
        if self.low is not None and (v < self.low or (v == self.low and not left)):
            return False
        return not (self.high is not None and (v > self.high or (v == self.high and not right)))

    def convert(self, value: Any) -> Any:
        return int(value) if self.kind == "int" else float(value)

    def __str__(self) -> str:
        what = self.what or ("an int" if self.kind == "int" else "a finite number")
        left = self.closed in ("left", "both")
        right = self.closed in ("right", "both")
        low, high = self._bound(self.low), self._bound(self.high)
        if self.low is None and self.high is None:
            return what
        if self.high is None:
            return f"{what} {'>=' if left else '>'} {low}"
        if self.low is None:
            return f"{what} {'<=' if right else '<'} {high}"
        return f"{what} in {'[' if left else '('}{low}, {high}{']' if right else ')'}"

    def _bound(self, bound: float | None) -> str:
        if bound is None:
            return ""
        if self.kind == "int" or float(bound).is_integer() and abs(bound) < 1e15:
            value = int(bound)
            if value >= 2**32 and value & (value - 1) == 0:  # 2**128 rather than its 39 digits
                return f"2**{value.bit_length() - 1}"
            return str(value)
        return f"{bound:g}"


class Options(Constraint):
    """One of a fixed set of values (compared with ``==``, of the options' own types)."""

    def __init__(self, options: Sequence[Any]) -> None:
        self.options: tuple[Any, ...] = tuple(options)

    def accepts_type(self, value: Any) -> bool:
        return any(isinstance(value, type(o)) for o in self.options)

    def accepts(self, value: Any) -> bool:
        return self.accepts_type(value) and any(value == o for o in self.options)

    def __str__(self) -> str:
        return "one of " + ", ".join(map(repr, self.options))


class InstanceOf(Constraint):
    """An instance of one of ``types``, described as ``description`` (e.g. "a callable")."""

    def __init__(self, types: type | tuple[type, ...], description: str) -> None:
        self.types = types
        self.description = description

    def accepts_type(self, value: Any) -> bool:
        return isinstance(value, self.types)

    def accepts(self, value: Any) -> bool:
        return self.accepts_type(value)

    def __str__(self) -> str:
        return self.description


class _NoneConstraint(Constraint):
    def accepts_type(self, value: Any) -> bool:
        return value is None

    def accepts(self, value: Any) -> bool:
        return value is None

    def __str__(self) -> str:
        return "None"


NONE: Constraint = _NoneConstraint()
"""The constraint that accepts ``None`` only (for optional parameters)."""


def check_param(value: Any, name: str, *constraints: Constraint) -> Any:
    """Check ``value`` against ``constraints`` (any one suffices) and return its canonical form.

    Parameters
    ----------
    value : object
        The parameter's value.
    name : str
        The parameter's name, as the user wrote it (``"batch_size"``, ``"--max"``).
    *constraints : Constraint
        The allowed kinds of value; the first that accepts ``value`` converts it.

    Returns
    -------
    object
        ``value`` converted by the first constraint that accepts it (an ``int`` for an int
        interval, a ``float`` for a real one, the value itself otherwise).

    Raises
    ------
    ParameterTypeError
        No constraint accepts the type of ``value``:
        ``"{name}: expected {constraints}, got {type} {value}"``.
    ParameterError
        A constraint accepts the type but none the value:
        ``"{name}: expected {constraints}, got {value}"``.
    """
    for constraint in constraints:
        if constraint.accepts(value):
            return constraint.convert(value)
    expected = " or ".join(str(c) for c in constraints)
    if any(c.accepts_type(value) for c in constraints):
        raise ParameterError(f"{name}: expected {expected}, got {_got(value, with_type=False)}")
    raise ParameterTypeError(f"{name}: expected {expected}, got {_got(value, with_type=True)}")


POSITIVE_INT: Constraint = Interval("int", 1, None)
"""An int >= 1 (batch sizes, epochs, numbers of draws)."""

POSITIVE_REAL: Constraint = Interval("real", 0, None, closed="neither")
"""A finite number > 0 (noise levels, step sizes)."""

REDUCTIONS: Constraint = Options(("none", "mean", "sum"))
"""A loss reduction: ``"none"`` (per sample), ``"mean"`` or ``"sum"``."""


def check_positive_int(value: Any, name: str) -> int:
    """An int >= 1 (Python or numpy, not bool).

    Raises
    ------
    ParameterTypeError
        Not an int (a bool, a float such as ``2.0``, a string).
    ParameterError
        An int below 1.
    """
    out: int = check_param(value, name, POSITIVE_INT)
    return out


def check_positive_float(value: Any, name: str) -> float:
    """A finite number > 0 (int or float, not bool), as a float.

    Raises
    ------
    ParameterTypeError
        Not a real number (a bool, a string, an array).
    ParameterError
        Zero, negative, NaN or inf.
    """
    out: float = check_param(value, name, POSITIVE_REAL)
    return out


def check_real(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    closed: Literal["left", "right", "both", "neither"] = "both",
) -> float:
    """A finite real number (not bool) in an interval, as a float (see :class:`Interval`).

    Raises
    ------
    ParameterTypeError
        Not a real number.
    ParameterError
        NaN, inf or outside the interval.
    """
    out: float = check_param(value, name, Interval("real", low, high, closed=closed))
    return out


def check_reduction(reduction: Any, name: str = "reduction") -> Literal["none", "mean", "sum"]:
    """A loss reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Raises
    ------
    ParameterTypeError
        Not a string.
    ParameterError
        Another string.
    """
    out: Literal["none", "mean", "sum"] = check_param(reduction, name, REDUCTIONS)
    return out


def check_nonempty(n: int, name: str = "x") -> None:
    """Refuse to fit on zero samples (every adapter's ``fit``: one documented behaviour).

    Raises
    ------
    ParameterError
        ``n == 0``: ``"x: expected at least one sample to fit on, got 0"``.
    """
    if n == 0:
        raise ParameterError(f"{name}: expected at least one sample to fit on, got 0")


def check_batch_size(batch_size: Any, name: str = "batch_size") -> int:
    """Validate a batch size: a positive int (see :func:`check_positive_int`).

    Raises
    ------
    ParameterTypeError
        If it is not an int (a bool, a float, a string).
    ParameterError
        If it is below 1.
    """
    return check_positive_int(batch_size, name)


def check_int_range(value: Any, name: str, *, low: int = 0, high: int | None = None) -> int:
    """An integer (Python or numpy, not bool) in ``[low, high)`` (``high=None``: no upper bound).

    Raises
    ------
    ParameterTypeError
        Not an integer (a bool, a float such as ``2.5``, a string such as ``"5"``, an array).
    ParameterError
        Outside ``[low, high)``.
    """
    out: int = check_param(value, name, Interval("int", low, high, closed="left"))
    return out


def check_layer(layer: Any, names: Sequence[str], name: str = "layer") -> int:
    """A layer given by name or by index into ``names`` (negative indices count from the end, as
    in Python), as a non-negative index.

    Raises
    ------
    ParameterTypeError
        Neither an int nor a str (a bool, a float).
    ParameterError
        An unknown name, or an index outside ``[-len(names), len(names))``.
    """
    count = len(names)
    if isinstance(layer, str):
        if layer not in names:
            raise ParameterError(
                f"{name}: expected one of layer_names {list(names)}, got {layer!r}"
            )
        return list(names).index(layer)
    index: int = check_param(
        layer, name, Interval("int", -count, count, closed="left", what="an int index"),
        InstanceOf(str, f"a name in {list(names)}"),
    )
    return index % count if count else index
