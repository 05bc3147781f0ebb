"""Arrays: batch shape, dtype, finiteness (after the cast), ragged input, clip values;
see :mod:`trustml.validation`."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from trustml.errors import InputShapeError, InputValueError, ParameterError, ParameterTypeError

__all__ = [
    "ClipValues",
    "ClipValuesLike",
    "check_batch",
    "check_clip_values",
    "check_finite",
    "check_input_shape",
    "check_integral_array",
    "check_shape",
    "format_shape",
]

ClipValues = tuple[NDArray[np.float32], NDArray[np.float32]]
"""``(min, max)`` float32 arrays, each broadcastable to ``input_shape``: an estimator's
``clip_values`` once checked."""

ClipValuesLike = tuple[ArrayLike, ArrayLike]
"""``(min, max)`` as a constructor takes them: numbers or arrays, each broadcastable to
``input_shape`` (see :func:`check_clip_values`)."""


def format_shape(input_shape: tuple[int, ...]) -> str:
    """``(3, 32, 32)`` -> ``"(N, 3, 32, 32)"``."""
    return "(" + ", ".join(["N", *map(str, input_shape)]) + ")"


def check_input_shape(input_shape: Any, name: str = "input_shape") -> tuple[int, ...]:
    """Validate the shape of one sample: a non-empty tuple of positive ints.

    Raises
    ------
    ParameterError
        If it is empty or holds a non-positive entry.
    ParameterTypeError
        If it is not a sequence of integers.
    """
    try:
        dims = tuple(input_shape)
    except TypeError:
        raise ParameterTypeError(
            f"{name}: expected a tuple of positive ints, got {type(input_shape).__name__}"
        ) from None
    if not dims:
        raise ParameterError(f"{name}: expected a non-empty tuple of positive ints, got ()")
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            raise ParameterTypeError(f"{name}: expected a tuple of positive ints, got {dims!r}")
        if d <= 0:
            raise ParameterError(f"{name}: expected a tuple of positive ints, got {dims!r}")
    return tuple(int(d) for d in dims)


def check_shape(shape: tuple[int, ...], input_shape: tuple[int, ...], name: str = "x") -> None:
    """Raise :class:`InputShapeError` unless ``shape == (N, *input_shape)`` for some ``N >= 0``."""
    if len(shape) != len(input_shape) + 1 or tuple(shape[1:]) != tuple(input_shape):
        hint = ""
        if (
            len(shape) == len(input_shape) + 1
            and len(input_shape) == 3
            and sorted(shape[1:]) == sorted(input_shape)
        ):
            hint = " (channel axis in the wrong place? check channels_first)"
        elif len(shape) == len(input_shape):
            hint = " (a single sample? add a leading batch axis)"
        raise InputShapeError(
            f"{name}: expected shape {format_shape(input_shape)}, got {tuple(shape)}{hint}"
        )


def check_finite(x: NDArray[Any], name: str = "x") -> None:
    """Raise :class:`InputValueError` if ``x`` holds NaN or inf (floating dtypes only)."""
    if np.issubdtype(x.dtype, np.floating) and x.size and not np.isfinite(x).all():
        bad = np.argwhere(~np.isfinite(x))
        raise InputValueError(
            f"{name}: expected finite values, got {len(bad)} NaN/inf entries "
            f"(first at index {tuple(int(i) for i in bad[0])})"
        )


def check_batch(
    x: ArrayLike,
    input_shape: tuple[int, ...],
    *,
    dtype: DTypeLike = np.float32,
    name: str = "x",
    finite_as: DTypeLike | None = None,
) -> NDArray[Any]:
    """Validate a batch and return it as a new array of ``dtype``.

    Parameters
    ----------
    x : array_like
        Shape ``(N, *input_shape)``; real numeric dtype. Never modified.
    input_shape : tuple of int
        Shape of one sample.
    dtype : numpy dtype
        Working dtype of the result (float32 by default).
    name : str
        Parameter name used in error messages.
    finite_as : numpy dtype or None
        A narrower dtype the values must also be finite in (the model computes in it later, as
        scikit-learn's trees do in float32), or None.

    Returns
    -------
    numpy.ndarray
        A C-contiguous, writeable copy of ``x`` in ``dtype`` (the caller's array is never aliased).

    Raises
    ------
    InputShapeError
        If the shape is not ``(N, *input_shape)``.
    InputValueError
        If ``x`` is ragged, the dtype is not real numeric, a value is NaN or inf, or a finite value
        overflows to inf in ``dtype`` (or in ``finite_as``).
    """
    arr = as_array(x, name)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ) or np.issubdtype(arr.dtype, np.complexfloating):
        raise InputValueError(f"{name}: expected a real numeric array, got dtype {arr.dtype}")
    check_shape(arr.shape, input_shape, name)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below, typed
        out = np.array(arr, dtype=dtype, order="C", copy=True)
        narrow = None if finite_as is None else out.astype(finite_as, copy=False)
    check_cast_finite(arr, out, name)
    if narrow is not None:
        check_cast_finite(arr, narrow, name)
    return out


def as_array(x: Any, name: str = "x") -> NDArray[Any]:
    """``numpy.asarray(x)``, with a ragged nested sequence reported as a typed error.

    Raises
    ------
    InputValueError
        ``x`` is a nested sequence whose rows differ in length (numpy cannot make an array of it).
    """
    try:
        return np.asarray(x)
    except ValueError:
        raise InputValueError(
            f"{name}: expected a rectangular array, got a ragged nested sequence "
            f"({type(x).__name__} whose rows differ in length)"
        ) from None


def check_cast_finite(original: NDArray[Any], cast: NDArray[Any], name: str = "x") -> None:
    """Raise unless every entry of ``cast`` (``original`` converted to a working dtype) is finite.

    NaN and inf in ``original`` are reported as such; finite values of ``original`` that became
    inf in the cast (a float64 ``1e39`` in float32) are reported as overflowing the working dtype.

    Raises
    ------
    InputValueError
        A NaN or inf in ``original``, or a value outside the range of ``cast.dtype``.
    """
    if not (np.issubdtype(cast.dtype, np.floating) and cast.size) or np.isfinite(cast).all():
        return
    bad = ~np.isfinite(cast)
    was_bad = bad & ~np.isfinite(original) if original.dtype.kind == "f" else np.zeros_like(bad)
    if was_bad.any():
        check_finite(original, name)
    where = np.argwhere(bad)
    limit = float(np.finfo(cast.dtype).max)
    raise InputValueError(
        f"{name}: expected values within the range of {cast.dtype} (|value| <= {limit:.6g}), "
        f"got {len(where)} entries that overflow to inf in {cast.dtype} "
        f"(first at index {tuple(int(i) for i in where[0])})"
    )


def check_clip_values(
    clip_values: Any, input_shape: tuple[int, ...], name: str = "clip_values"
) -> ClipValues | None:
    """Validate ``(min, max)``: scalars or arrays broadcastable to ``input_shape``, min < max.

    Returns
    -------
    tuple of numpy.ndarray or None
        ``(min, max)`` as float32 arrays (read-only), or None when ``clip_values`` is None.

    Raises
    ------
    ParameterError
        Not a pair, not broadcastable to ``input_shape``, not finite, or ``min >= max`` anywhere.
    """
    if clip_values is None:
        return None
    try:
        lo_raw, hi_raw = clip_values
    except (TypeError, ValueError):
        raise ParameterError(
            f"{name}: expected a pair (min, max), got {clip_values!r}"
        ) from None
    try:
        lo = np.array(lo_raw, dtype=np.float32, copy=True)
        hi = np.array(hi_raw, dtype=np.float32, copy=True)
        np.broadcast_shapes(lo.shape, hi.shape, input_shape)
    except (TypeError, ValueError):
        raise ParameterError(
            f"{name}: expected (min, max) scalars or arrays broadcastable to {input_shape}, "
            f"got {clip_values!r}"
        ) from None
    if np.broadcast_shapes(lo.shape, hi.shape, input_shape) != tuple(input_shape):
        raise ParameterError(
            f"{name}: expected (min, max) broadcastable to input_shape {input_shape}, got shapes "
            f"{lo.shape} and {hi.shape}"
        )
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise ParameterError(f"{name}: expected finite bounds, got {clip_values!r}")
    if not (lo < hi).all():
        raise ParameterError(f"{name}: expected min < max everywhere, got {clip_values!r}")
    lo.setflags(write=False)
    hi.setflags(write=False)
    return lo, hi


def check_integral_array(values: ArrayLike, name: str) -> NDArray[np.int64]:
    """An array of whole numbers (ints, bools excluded, or floats with integral values), as int64.

    Raises
    ------
    ParameterTypeError
        Not a real numeric array (strings, complex, objects, booleans).
    ParameterError
        A value that is not a whole number (``2.7``), or NaN / inf.
    """
    try:
        arr = np.asarray(values)
    except ValueError:  # ragged nested sequences
        raise ParameterTypeError(
            f"{name}: expected an array of ints, got a ragged sequence"
        ) from None
    if arr.dtype.kind not in "iuf":
        raise ParameterTypeError(f"{name}: expected an array of ints, got dtype {arr.dtype}")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ParameterError(f"{name}: expected whole numbers, got NaN or inf")
        if (arr != np.round(arr)).any():
            bad = arr[arr != np.round(arr)].flat[0]
            raise ParameterError(f"{name}: expected whole numbers, got {bad!r}")
    return arr.astype(np.int64)
