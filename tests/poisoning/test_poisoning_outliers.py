"""MAD outlier analysis of trigger sizes (Wang et al., Sec. IV-C)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trustml.errors import InputShapeError, InputValueError, ParameterError
from trustml.poisoning import CONSISTENCY_CONSTANT, anomaly_indices, flag_outliers


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.0, 100.0), min_size=2, max_size=20))
def test_poisoning_anomaly_index_agrees_with_scipy_mad(norms: list[float]) -> None:
    from scipy.stats import median_abs_deviation

    idx, median, mad = anomaly_indices(norms)
    n = np.asarray(norms)
    assert median == np.median(n)
    expected = median_abs_deviation(n, scale="normal")
    np.testing.assert_allclose(mad, expected, rtol=1e-5)
    if mad > 0:
        np.testing.assert_allclose(idx, np.abs(n - median) / mad, rtol=1e-12)


def test_poisoning_outliers_flag_only_small_norms() -> None:
    norms = [10.0, 11.0, 9.5, 10.5, 9.8, 10.2, 1.0, 40.0]
    idx, _, _ = anomaly_indices(norms)
    assert idx[6] > 2 and idx[7] > 2
    assert flag_outliers(norms) == [6]  # the large trigger (label 7) is not a backdoor
    assert flag_outliers(norms, threshold=1e6) == []
    assert CONSISTENCY_CONSTANT == 1.4826


def test_poisoning_outliers_zero_mad() -> None:
    idx, median, mad = anomaly_indices([5.0, 5.0, 5.0, 1.0])
    assert mad == 0.0 and median == 5.0
    assert idx.tolist() == [0.0, 0.0, 0.0, np.inf]
    assert flag_outliers([5.0, 5.0, 5.0, 1.0]) == [3]


@pytest.mark.parametrize(
    ("norms", "error"),
    [([1.0], InputShapeError), ([[1.0, 2.0]], InputShapeError), ([1.0, np.nan], InputValueError),
     ([1.0, -2.0], InputValueError)],
)
def test_poisoning_outliers_bad_input(norms: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="norms"):
        anomaly_indices(norms)  # type: ignore[arg-type]


@pytest.mark.parametrize("threshold", [0, -1.0, np.inf, "2", True])
def test_poisoning_outliers_bad_threshold(threshold: object) -> None:
    with pytest.raises(ParameterError, match="threshold"):
        flag_outliers([1.0, 2.0, 3.0], threshold=threshold)  # type: ignore[arg-type]
