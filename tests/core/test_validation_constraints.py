"""Declarative parameter constraints: one message format, type vs value errors, the helpers."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trustml.errors import ParameterError, ParameterTypeError, TrustMLError
from trustml.validation import (
    NONE,
    POSITIVE_INT,
    InstanceOf,
    Interval,
    Options,
    check_layer,
    check_param,
    check_positive_float,
    check_positive_int,
    check_real,
    check_reduction,
)

FORMAT = re.compile(r"^(?P<name>[\w-]+): expected (?P<expected>.+), got (?P<got>.+)$")

_FIXED = settings(max_examples=60, deadline=None, derandomize=True)


@pytest.mark.parametrize(
    ("constraint", "text"),
    [
        (Interval("int", 1, None), "an int >= 1"),
        (Interval("int", 0, 2**128, closed="left"), "an int in [0, 2**128)"),
        (Interval("real", 0, None, closed="neither"), "a finite number > 0"),
        (Interval("real", 0, 0.5, closed="right"), "a finite number in (0, 0.5]"),
        (Interval("real", None, 1.5, closed="neither"), "a finite number < 1.5"),
        (Interval("real", None, None), "a finite number"),
        (Interval("int", -3, 3, closed="left", what="an int index"), "an int index in [-3, 3)"),
        (Options(("none", "mean", "sum")), "one of 'none', 'mean', 'sum'"),
        (InstanceOf(str, "a layer name"), "a layer name"),
        (NONE, "None"),
    ],
)
def test_each_constraint_describes_itself(constraint: Any, text: str) -> None:
    assert str(constraint) == text


@_FIXED
@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_int_interval_accepts_exactly_its_range(value: int) -> None:
    if value >= 1:
        assert check_param(value, "k", POSITIVE_INT) == value
        assert type(check_param(np.int64(1), "k", POSITIVE_INT)) is int
    else:
        with pytest.raises(ParameterError, match=rf"^k: expected an int >= 1, got {value}$"):
            check_param(value, "k", POSITIVE_INT)


@_FIXED
@given(
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=5),
        st.booleans(),
        st.none(),
        st.lists(st.integers(), max_size=3),
        st.complex_numbers(),
    )
)
def test_a_value_of_the_wrong_type_is_a_type_error_in_the_one_format(value: Any) -> None:
    with pytest.raises(ParameterTypeError) as info:
        check_positive_int(value, "nb_epochs")
    match = FORMAT.match(str(info.value))
    assert match is not None, str(info.value)
    assert match["name"] == "nb_epochs" and match["expected"] == "an int >= 1"
    assert match["got"].startswith(type(value).__name__ + " ")
    assert isinstance(info.value, TypeError) and isinstance(info.value, TrustMLError)


@_FIXED
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_real_interval_rejects_non_finite_and_out_of_range_as_value_errors(value: float) -> None:
    ok = math.isfinite(value) and 0.0 < value <= 0.5
    if ok:
        assert check_real(value, "alpha", low=0.0, high=0.5, closed="right") == value
        return
    with pytest.raises(ParameterError) as info:
        check_real(value, "alpha", low=0.0, high=0.5, closed="right")
    assert str(info.value).startswith("alpha: expected a finite number in (0, 0.5], got ")
    assert isinstance(info.value, ValueError)


def test_several_constraints_are_joined_with_or_and_the_first_match_converts() -> None:
    assert check_param(None, "max_iter", NONE, POSITIVE_INT) is None
    assert check_param(np.int32(4), "max_iter", NONE, POSITIVE_INT) == 4
    with pytest.raises(ParameterError, match=r"^max_iter: expected None or an int >= 1, got 0$"):
        check_param(0, "max_iter", NONE, POSITIVE_INT)
    with pytest.raises(ParameterTypeError, match=r"^max_iter: expected None or an int >= 1, "
                                                 r"got str '4'$"):
        check_param("4", "max_iter", NONE, POSITIVE_INT)


def test_numpy_scalars_are_shown_as_plain_values_and_long_values_are_shortened() -> None:
    with pytest.raises(ParameterError, match=r"got -5$"):
        check_positive_int(np.int64(-5), "n")
    with pytest.raises(ParameterTypeError) as info:
        check_positive_int("x" * 500, "n")
    assert len(str(info.value)) < 120


@pytest.mark.parametrize(
    ("value", "error", "tail"),
    [
        ("avg", ParameterError, "got 'avg'"),
        ("NONE", ParameterError, "got 'NONE'"),
        (5, ParameterTypeError, "got int 5"),
        (None, ParameterTypeError, "got NoneType None"),
    ],
)
def test_reduction(value: Any, error: type[Exception], tail: str) -> None:
    for good in ("none", "mean", "sum"):
        assert check_reduction(good) == good
    with pytest.raises(error, match=rf"^reduction: expected one of 'none', 'mean', 'sum', {tail}$"):
        check_reduction(value)


@pytest.mark.parametrize(
    ("value", "error"),
    [(0.0, ParameterError), (-1, ParameterError), (float("nan"), ParameterError),
     (float("inf"), ParameterError), ("0.5", ParameterTypeError), (True, ParameterTypeError),
     (np.array(0.5), ParameterTypeError)],
)
def test_positive_float(value: Any, error: type[Exception]) -> None:
    assert check_positive_float(np.float32(0.25), "sigma") == 0.25
    with pytest.raises(error, match=r"^sigma: expected a finite number > 0, got "):
        check_positive_float(value, "sigma")


def test_layer_by_name_or_index_negative_counting_from_the_end() -> None:
    names = ["conv", "pool", "logits"]
    assert [check_layer(i, names) for i in (0, 2, -1, -3, np.int64(1))] == [0, 2, 2, 0, 1]
    assert check_layer("pool", names) == 1
    with pytest.raises(ParameterError, match=r"^layer: expected an int index in \[-3, 3\) or "):
        check_layer(3, names)
    with pytest.raises(ParameterError, match=r"^layer: expected one of layer_names"):
        check_layer("dense", names)
    for bad in (1.0, True, None):
        with pytest.raises(ParameterTypeError, match=r"^layer: "):
            check_layer(bad, names)
