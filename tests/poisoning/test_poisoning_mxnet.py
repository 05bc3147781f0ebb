"""Neural Cleanse on an MXNet Gluon model (runs in the ``mxnet`` nox session: mxnet 1.9.1 needs
numpy < 1.24). BadNets digits, a Gluon MLP: detection flags [0]; unlearning works although a
deep-copied Gluon net cannot be trained (mitigation copies through ``clone_for_refitting`` and the
adapter's ``save`` / ``load``), the user's model is never changed, ``reset()`` is exact; without
``clone_for_refitting`` the failure is a CapabilityError naming each way tried, and nothing changes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

mx = pytest.importorskip("mxnet")
pytest.importorskip("sklearn")

import poisoning_badnets as bn

from trustml.adapters.mxnet import MXNetClassifier
from trustml.errors import CapabilityError
from trustml.poisoning import NeuralCleanse

SEED = 0


def _net(seed: int) -> Any:
    from mxnet import gluon

    mx.random.seed(seed)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Flatten(), gluon.nn.Dense(64, activation="relu"), gluon.nn.Dense(10))
    net.initialize(mx.init.Xavier(), ctx=mx.cpu())
    return net


def _make(cls: type, seed: int) -> Any:
    from mxnet import gluon

    return cls(_net(seed), gluon.loss.SoftmaxCrossEntropyLoss(), (8, 8), 10,
               optimizer=("adam", {"learning_rate": 3e-3, "wd": 1e-4}), clip_values=(0.0, 1.0))


class _Clonable(MXNetClassifier):
    """The adapter with ``clone_for_refitting`` (a fresh net of the same architecture), for as
    long as the shipped adapter has none."""

    def clone_for_refitting(self) -> _Clonable:
        return _make(_Clonable, SEED + 1)


class _NoClone:
    """A user's adapter that forwards everything to an MXNetClassifier except
    ``clone_for_refitting``: only ``copy.deepcopy`` is left to copy it."""

    def __init__(self, inner: MXNetClassifier) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name in ("clone_for_refitting", "_inner") or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._inner, name)


@pytest.fixture(scope="module")
def trained() -> dict[str, Any]:
    data = bn.digits(SEED)
    cls = MXNetClassifier if hasattr(MXNetClassifier, "clone_for_refitting") else _Clonable
    clf = _make(cls, SEED)
    clf.fit(data.x_train, data.y_train, batch_size=32, nb_epochs=30, seed=SEED)
    return {"data": data, "clf": clf}


def test_poisoning_mxnet_unlearning_on_a_copy(trained: dict[str, Any]) -> None:
    clf, data = trained["clf"], trained["data"]
    assert bn.accuracy(clf, data.x_test, data.y_test) >= 0.95
    asr0 = bn.attack_success(clf, data.x_test, data.y_test)
    assert asr0 >= 0.95
    nc = NeuralCleanse(clf, seed=SEED, steps=20, init_cost=1e-2, patience=2)
    report = nc.detect(data.x_val, data.y_val)
    assert report.flagged == [bn.TARGET]
    original = clf.predict(data.x_test)
    weights = {k: v.data().asnumpy().copy() for k, v in clf.model.collect_params().items()}

    summary = nc.mitigate(data.x_val, data.y_val, ["unlearning"], unlearning_epochs=2)
    keep = data.y_test != bn.TARGET
    asr = float(np.mean(nc.predict_labels(bn.stamp(data.x_test[keep])) == bn.TARGET))
    acc = float(np.mean(nc.predict_labels(data.x_test) == data.y_test))
    assert asr <= asr0 / 5, summary
    assert acc >= bn.accuracy(clf, data.x_test, data.y_test) - 0.10
    # the user's model: same weights, same predictions
    np.testing.assert_array_equal(clf.predict(data.x_test), original)
    for k, v in clf.model.collect_params().items():
        np.testing.assert_array_equal(v.data().asnumpy(), weights[k])
    nc.reset()
    np.testing.assert_array_equal(nc.predict(data.x_test), original)


def test_poisoning_mxnet_no_trainable_copy_is_a_clean_error(trained: dict[str, Any]) -> None:
    clf, data = trained["clf"], trained["data"]
    user = _NoClone(clf)
    nc = NeuralCleanse(user, seed=SEED, steps=20, init_cost=1e-2, patience=2)  # type: ignore[arg-type]
    nc.detect(data.x_val, data.y_val)
    original = clf.predict(data.x_test)
    with pytest.raises(CapabilityError, match=r"copy\.deepcopy: mitigating the copy raised"):
        nc.mitigate(data.x_val, data.y_val, ["unlearning"])
    assert not nc.mitigated
    np.testing.assert_array_equal(nc.predict(data.x_test), original)
    np.testing.assert_array_equal(clf.predict(data.x_test), original)
    # pruning and filtering need no training: the deep copy serves them
    nc.mitigate(data.x_val, data.y_val, ["filtering"])
    assert nc.mitigated
    nc.reset()
    np.testing.assert_array_equal(nc.predict(data.x_test), original)
