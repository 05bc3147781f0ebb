"""The hypothesis strategies, and one property written with them."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("hypothesis")
from hypothesis import given, settings
from softmax_regression import make

from trustml.conformance import strategies as tst

MODEL = make()


@settings(max_examples=25, deadline=None)
@given(tst.batches_for(MODEL, max_batch=6), tst.batch_sizes(8))
def test_predict_is_batch_invariant_on_drawn_batches(batch: tuple, batch_size: int) -> None:
    x, y = batch
    assert x.dtype == np.float32 and x.shape[1:] == MODEL.input_shape
    assert ((x >= 0) & (x <= 1)).all() and ((y >= 0) & (y < 3)).all()
    np.testing.assert_allclose(MODEL.predict(x, batch_size=batch_size), MODEL.predict(x),
                               rtol=1e-6, atol=1e-7)


@settings(max_examples=10, deadline=None)
@given(tst.labels(4, 5, one_hot=True))
def test_one_hot_labels(y: np.ndarray) -> None:
    assert y.shape == (5, 4) and (y.sum(axis=1) == 1).all()
