"""Hypothesis strategies for inputs and labels of trustml estimators.

Requires ``hypothesis`` (a test dependency): this module is never imported by
``trustml.conformance`` itself; import it in your tests.

Examples
--------
>>> from hypothesis import given
>>> from trustml.conformance import strategies as tst
>>> @given(tst.batches_for(my_adapter))                    # doctest: +SKIP
... def test_predict_rows_sum_to_one(batch):
...     x, y = batch
...     assert my_adapter.predict(x).sum(axis=1) == pytest.approx(1.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from trustml._deps import require
from trustml.validation import ClipValuesLike

_st = require("hypothesis.strategies", "dev", purpose="trustml.conformance.strategies")
_hnp = require("hypothesis.extra.numpy", "dev", purpose="trustml.conformance.strategies")

__all__ = ["batch_sizes", "batches_for", "inputs", "labels"]


def _bounds(
    input_shape: tuple[int, ...], clip_values: ClipValuesLike | None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    if clip_values is None:
        lo = np.full(input_shape, -3.0)
        hi = np.full(input_shape, 3.0)
    else:
        lo = np.broadcast_to(np.asarray(clip_values[0], np.float64), input_shape)
        hi = np.broadcast_to(np.asarray(clip_values[1], np.float64), input_shape)
    return lo, hi


def inputs(
    input_shape: tuple[int, ...],
    clip_values: ClipValuesLike | None = None,
    *,
    min_batch: int = 1,
    max_batch: int = 16,
    dtype: Any = np.float32,
) -> Any:
    """Strategy of batches ``(N, *input_shape)`` with ``min_batch <= N <= max_batch``, finite values
    within ``clip_values`` (``[-3, 3]`` without them), in ``dtype`` (float32 by default)."""
    lo, hi = _bounds(tuple(input_shape), clip_values)

    @_st.composite  # type: ignore[untyped-decorator]  # hypothesis is optional, untyped here
    def build(draw: Any) -> NDArray[Any]:
        n = draw(_st.integers(min_batch, max_batch))
        u = draw(_hnp.arrays(np.float64, (n, *input_shape),
                             elements=_st.floats(0.0, 1.0, allow_nan=False, allow_infinity=False)))
        out: NDArray[Any] = np.asarray((lo + u * (hi - lo)).astype(dtype))
        return out

    return build()


def labels(nb_classes: int, n: int, *, one_hot: bool = False) -> Any:
    """Strategy of ``n`` index labels ``(n,)`` int64 (or one-hot ``(n, nb_classes)`` float32)."""
    idx = _hnp.arrays(np.int64, (n,), elements=_st.integers(0, nb_classes - 1))
    if not one_hot:
        return idx
    return idx.map(lambda y: np.eye(nb_classes, dtype=np.float32)[y])


def batch_sizes(max_size: int = 32) -> Any:
    """Strategy of valid ``batch_size`` values (1 to ``max_size``)."""
    return _st.integers(1, max_size)


def batches_for(estimator: Any, *, min_batch: int = 1, max_batch: int = 16) -> Any:
    """Strategy of ``(x, y)`` for ``estimator``: inputs from its ``input_shape`` and
    ``clip_values``, index labels from its ``nb_classes``."""

    @_st.composite  # type: ignore[untyped-decorator]  # hypothesis is optional, untyped here
    def build(draw: Any) -> tuple[NDArray[Any], NDArray[np.int64]]:
        x = draw(inputs(estimator.input_shape, estimator.clip_values, min_batch=min_batch,
                        max_batch=max_batch))
        y = draw(labels(estimator.nb_classes, len(x)))
        return x, y

    return build()
