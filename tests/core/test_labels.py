"""Labels: index and one-hot, validated in one place."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from trustml.errors import LabelError, ParameterError
from trustml.labels import check_nb_classes, to_index, to_one_hot


@st.composite
def index_labels(draw: st.DrawFn) -> tuple[np.ndarray, int]:
    k = draw(st.integers(2, 12))
    n = draw(st.integers(0, 40))
    dtype = draw(st.sampled_from([np.int64, np.int32, np.uint8, np.float32, np.float64]))
    y = draw(hnp.arrays(dtype, n, elements=st.integers(0, k - 1)))
    return y, k


@settings(deadline=None)
@given(index_labels())
def test_round_trip_index_one_hot_index(case: tuple[np.ndarray, int]) -> None:
    y, k = case
    before = y.copy()
    oh = to_one_hot(y, k)
    assert oh.shape == (len(y), k) and oh.dtype == np.float32
    assert (oh.sum(axis=1) == 1).all()
    idx = to_index(oh, k)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx, y.astype(np.int64))
    np.testing.assert_array_equal(to_index(y, k), idx)
    np.testing.assert_array_equal(y, before)  # never mutated


@settings(deadline=None)
@given(index_labels())
def test_one_hot_is_idempotent(case: tuple[np.ndarray, int]) -> None:
    y, k = case
    oh = to_one_hot(y, k)
    np.testing.assert_array_equal(to_one_hot(oh, k), oh)


def test_result_never_aliases_input() -> None:
    y = np.array([0, 1, 2], dtype=np.int64)
    idx = to_index(y, 3)
    idx[0] = 2
    assert y[0] == 0


@pytest.mark.parametrize(
    ("y", "match"),
    [
        (np.array([0, 3]), r"y: expected class indices in \[0, 3\), got 3 at position 1"),
        (np.array([-1, 0]), r"in \[0, 3\), got -1 at position 0"),
        (np.array([0.5, 1.0]), r"expected integer class indices, got 0.5 at position 0"),
        (np.array([np.nan]), "expected integer class indices"),
        (np.array([True, False]), "got dtype bool"),
        (np.array(["a", "b"]), "expected numeric labels"),
        (np.zeros((2, 4)), r"one-hot labels \(N, 3\), got shape \(2, 4\)"),
        (np.array([[1, 0, 0], [0, 0, 0]]), "at row 1"),
        (np.array([[1, 1, 0]]), "at row 0"),
        (np.array([[0.5, 0.5, 0]]), "at row 0"),
        (np.zeros((2, 3, 1)), r"got shape \(2, 3, 1\)"),
        (np.int64(1), r"got shape \(\)"),
    ],
)
def test_bad_labels_raise_label_error(y: np.ndarray, match: str) -> None:
    with pytest.raises(LabelError, match=match):
        to_index(y, 3)
    with pytest.raises(ValueError):
        to_one_hot(y, 3)


def test_length_is_checked_against_n() -> None:
    with pytest.raises(LabelError, match="expected 3 labels"):
        to_index([0, 1], 2, n=3)


def test_parameter_name_appears_in_message() -> None:
    with pytest.raises(LabelError, match="^label:"):
        to_index([5], 3, name="label")


@pytest.mark.parametrize("bad", [1, 0, -2, 2.0, True, "3", None])
def test_nb_classes_validation(bad: object) -> None:
    with pytest.raises(ParameterError, match="nb_classes"):
        check_nb_classes(bad)


def test_nb_classes_accepts_numpy_ints() -> None:
    assert check_nb_classes(np.int32(4)) == 4


def test_class_gradient_targets_accepts_every_label_format() -> None:
    from trustml.labels import class_gradient_targets

    idx = np.array([2, 0, 1])
    assert class_gradient_targets(None, 3, 3) is None
    np.testing.assert_array_equal(class_gradient_targets(1, 3, 3), [1, 1, 1])
    np.testing.assert_array_equal(class_gradient_targets(np.int8(2), 3, 3), [2, 2, 2])
    np.testing.assert_array_equal(class_gradient_targets(np.array(0), 3, 3), [0, 0, 0])
    np.testing.assert_array_equal(class_gradient_targets(idx, 3, 3), idx)
    np.testing.assert_array_equal(class_gradient_targets(np.eye(3)[idx], 3, 3), idx)
    assert class_gradient_targets(idx, 3, 3).dtype == np.int64


@pytest.mark.parametrize(
    ("label", "match"),
    [(3, r"label: expected a class index in \[0, 3\), got 3"), (-1, "got -1"),
     (1.5, "label: expected None, an int class index.*got 1.5"), (True, "got True"),
     ("1", "got '1'"), ([0, 1], "expected 3 labels"), (np.ones((3, 4)), "one-hot labels")],
)
def test_class_gradient_targets_rejects_bad_labels(label: object, match: str) -> None:
    from trustml.labels import class_gradient_targets

    with pytest.raises(LabelError, match=match):
        class_gradient_targets(label, 3, 3)
