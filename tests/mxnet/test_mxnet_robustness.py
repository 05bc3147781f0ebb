"""The hostile sweep (``tests/robustness/robustness_cases.py``) on the MXNet adapter, float32 and
float64: every case raises its typed error naming the parameter, and the weights are unchanged."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "robustness"))

from _mxnets import mlp
from mxnet import gluon
from robustness_cases import Case, cases_for, check_raises, same_state

from trustml.adapters.mxnet import MXNetClassifier

_METHODS = {"predict", "compute_loss", "loss_gradient", "class_gradient", "get_activations",
            "fit", "fit_generator"}
_BUILT: dict[str, MXNetClassifier] = {}


def _adapter(dtype: str) -> MXNetClassifier:
    if dtype not in _BUILT:
        net = mlp(dtype=dtype)
        _BUILT[dtype] = MXNetClassifier(net, gluon.loss.SoftmaxCrossEntropyLoss(), (4,), 3,
                                        optimizer=("sgd", {"learning_rate": 0.5}))
    return _BUILT[dtype]


def _weights(clf: MXNetClassifier) -> list[np.ndarray]:
    return [p.data().asnumpy().copy() for p in clf.model.collect_params().values()]


@pytest.mark.parametrize(
    ("case", "dtype"),
    [
        pytest.param(c, dtype, id=f"{dtype}-{c.id}")
        for dtype, features in (("float32", {"float32"}), ("float64", set()))
        for c in cases_for(_METHODS, {"fit_seed", "per_epoch", *features})
    ],
)
def test_mxnet_bad_input_raises_typed_error_and_changes_nothing(case: Case, dtype: str) -> None:
    clf = _adapter(dtype)
    before = _weights(clf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_raises(case, clf)
    assert same_state(before, _weights(clf)), f"{case.id}: the weights changed"


def test_mxnet_float32_model_refuses_float64_values_beyond_float32() -> None:
    from trustml.errors import InputValueError

    x = np.zeros((2, 4))
    x[1, 3] = 1e39
    with pytest.raises(InputValueError, match=r"^x: expected values within the range of float32"):
        _adapter("float32").predict(x)
    assert np.isfinite(_adapter("float64").predict(x)).all()
