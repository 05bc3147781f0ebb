"""Input validation: shapes, dtypes, NaN/inf, immutability, clip_values, batch sizes."""

from __future__ import annotations

import numpy as np
import pytest

from trustml.errors import InputShapeError, InputValueError, ParameterError, ParameterTypeError
from trustml.validation import (
    check_batch,
    check_batch_size,
    check_clip_values,
    check_input_shape,
    format_shape,
)


def test_batch_is_a_new_float32_array() -> None:
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    out = check_batch(x, (3, 4))
    assert out.dtype == np.float32 and out.flags.c_contiguous and out.flags.writeable
    out[0, 0, 0] = 99.0
    assert x[0, 0, 0] == 0.0


def test_read_only_non_contiguous_and_integer_inputs_are_accepted() -> None:
    base = np.arange(48, dtype=np.int16).reshape(4, 12)
    view = base[:, ::2]  # non-contiguous
    view.flags.writeable = False
    out = check_batch(view, (6,), dtype=np.float64)
    np.testing.assert_array_equal(out, view.astype(np.float64))
    assert out.dtype == np.float64 and out.flags.writeable


def test_empty_batch() -> None:
    assert check_batch(np.zeros((0, 5)), (5,)).shape == (0, 5)


@pytest.mark.parametrize(
    ("shape", "match"),
    [
        ((4, 5), r"x: expected shape \(N, 3, 4\), got \(4, 5\)"),
        ((3, 4), r"a single sample\? add a leading batch axis"),
        ((2, 4, 3), r"got \(2, 4, 3\)"),
    ],
)
def test_wrong_shape(shape: tuple[int, ...], match: str) -> None:
    with pytest.raises(InputShapeError, match=match):
        check_batch(np.zeros(shape), (3, 4))


def test_channel_order_hint() -> None:
    with pytest.raises(InputShapeError, match="channels_first"):
        check_batch(np.zeros((2, 8, 8, 3)), (3, 8, 8))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_rejected(bad: float) -> None:
    x = np.zeros((2, 3))
    x[1, 2] = bad
    with pytest.raises(InputValueError, match=r"1 NaN/inf entries \(first at index \(1, 2\)\)"):
        check_batch(x, (3,))


@pytest.mark.parametrize("x", [np.array([["a", "b"]]), np.ones((1, 2), dtype=complex),
                               np.array([[object(), object()]])])
def test_non_numeric_dtype(x: np.ndarray) -> None:
    with pytest.raises(InputValueError, match="real numeric"):
        check_batch(x, (2,))


def test_input_shape_validation() -> None:
    assert check_input_shape([3, np.int64(4)]) == (3, 4)
    with pytest.raises(ParameterError):
        check_input_shape(())
    with pytest.raises(ParameterError):
        check_input_shape((3, 0))
    with pytest.raises(ParameterTypeError):
        check_input_shape(3)
    with pytest.raises(ParameterTypeError):
        check_input_shape((3, 2.5))
    assert format_shape((3, 4)) == "(N, 3, 4)"


def test_clip_values() -> None:
    lo, hi = check_clip_values((0, 1), (3, 4))  # type: ignore[misc]
    assert lo.dtype == np.float32 and float(hi) == 1.0
    lo, hi = check_clip_values((np.zeros(4), np.ones(4)), (3, 4))  # type: ignore[misc]
    assert lo.shape == (4,)
    assert check_clip_values(None, (3,)) is None


def test_clip_values_do_not_alias_or_freeze_caller_arrays() -> None:
    lo_in = np.zeros(3, dtype=np.float32)
    pair = check_clip_values((lo_in, 1.0), (3,))
    assert pair is not None and not pair[0].flags.writeable
    assert lo_in.flags.writeable
    lo_in[0] = -5
    assert pair[0][0] == 0


@pytest.mark.parametrize(
    ("clip", "match"),
    [
        ((1, 0), "min < max"),
        ((0, 0), "min < max"),
        ((0,), r"pair \(min, max\)"),
        (5, r"pair \(min, max\)"),
        ((np.zeros(5), 1), "broadcastable"),
        ((np.zeros((2, 3, 4)), 1), "broadcastable to input_shape"),
        ((0, np.inf), "finite"),
        (("a", 1), "broadcastable"),
    ],
)
def test_bad_clip_values(clip: object, match: str) -> None:
    with pytest.raises(ParameterError, match="clip_values: .*" + match):
        check_clip_values(clip, (3, 4))


@pytest.mark.parametrize("bad", [0, -1, np.int64(-3)])
def test_batch_size_value(bad: object) -> None:
    with pytest.raises(ParameterError, match=r"batch_size: expected an int >= 1, got -?\d"):
        check_batch_size(bad)
    assert check_batch_size(np.int64(7)) == 7


@pytest.mark.parametrize("bad", [1.5, 8.0, "8", None, True, np.array(8)])
def test_batch_size_type(bad: object) -> None:
    with pytest.raises(ParameterTypeError, match="batch_size: expected an int >= 1, got "):
        check_batch_size(bad)
