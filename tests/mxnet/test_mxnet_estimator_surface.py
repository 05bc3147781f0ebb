"""The seed's estimator surface on the MXNet adapter: ``model``, ``get_params``, ``set_params``
(atomic), ``clone_for_refitting`` (a working, untrained, independent copy: ``copy.deepcopy`` of a
Gluon block cannot train) and ``compute_loss_from_predictions``."""

from __future__ import annotations

import copy
from typing import Any

import mxnet as mx
import numpy as np
import pytest
from _mxnets import CNN_SHAPE, cnn_classifier, data, mixed_classifier, mlp, mlp_classifier
from mxnet import gluon, nd
from numpy.testing import assert_array_equal

from trustml.activations import ActivationTransform
from trustml.adapters.mxnet import MXNetClassifier
from trustml.errors import InputShapeError, ParameterError
from trustml.protocols import Clonable


def _weights(block: Any) -> dict[str, np.ndarray]:
    return {k: v.data().asnumpy().copy() for k, v in block.collect_params().items()}


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_model_is_the_wrapped_block_and_read_only() -> None:
    net = mlp()
    clf = MXNetClassifier(net, gluon.loss.SoftmaxCrossEntropyLoss(), (4,), 3)
    assert clf.model is net
    with pytest.raises(AttributeError):
        clf.model = net  # type: ignore[misc]


def test_get_params_set_params_round_trip_and_atomic() -> None:
    clf = mlp_classifier(clip_values=(0.0, 1.0), optimizer=("sgd", {"learning_rate": 0.1}))
    x, _ = data((4,))
    before, params = clf.predict(x), clf.get_params()
    assert params["optimizer"] is clf.trainer and params["model"] is clf.model
    assert clf.set_params(**params) is clf
    assert_array_equal(clf.predict(x), before)
    params = clf.get_params()
    for bad in ({"input_shape": (5,)}, {"nb_classes": 4}, {"unknown": 1},
                {"clip_values": (1.0, 0.0)}, {"preprocessing": (0.0, 0.0)}):
        with pytest.raises(ParameterError):
            clf.set_params(**bad)
        assert all(clf.get_params()[k] is params[k] for k in params)
        assert_array_equal(clf.predict(x), before)
    clf.set_params(preprocessing=(0.0, 1.0))
    assert not np.allclose(clf.predict(x), before)


def test_deepcopy_of_a_hybridized_block_fails_which_is_why_clone_exists() -> None:
    clf = cnn_classifier(hybridize=True)
    clf.predict(data(CNN_SHAPE)[0])  # builds the cached graph
    with pytest.raises(Exception):  # noqa: B017 - mxnet's own error, whatever its type
        copy.deepcopy(clf.model)


@pytest.mark.parametrize(
    ("make", "shape"),
    [(lambda: cnn_classifier(hybridize=True), CNN_SHAPE),
     (lambda: cnn_classifier(optimizer=("sgd", {"learning_rate": 0.5, "momentum": 0.9})),
      CNN_SHAPE),
     (lambda: mixed_classifier(), (4,)),
     (lambda: mlp_classifier(hybridize=True, optimizer="adam"), (4,))],
)
def test_clone_trains_and_leaves_the_original_bit_exact(make: Any, shape: Any) -> None:
    clf = make()
    x, y = data(shape, n=8)
    clf.fit(x, y, batch_size=4, nb_epochs=1, seed=0)  # the original has a trainer and state
    assert isinstance(clf, Clonable)
    original, before = _weights(clf.model), clf.predict(x)
    clone = clf.clone_for_refitting()
    assert type(clone) is MXNetClassifier and clone.model is not clf.model
    assert clone.input_shape == clf.input_shape and clone.nb_classes == clf.nb_classes
    assert clone.dtype == clf.dtype and clone.preprocessing == clf.preprocessing
    assert clone.layer_names == clf.layer_names
    mine, theirs = clone.model.collect_params().values(), clf.model.collect_params().values()
    assert not {id(p) for p in mine} & {id(p) for p in theirs}
    fresh = _weights(clone.model)
    assert fresh.keys() == original.keys() and not _same(fresh, original)  # re-initialised
    assert clone.predict(x).shape == before.shape
    clone.fit(x, y, batch_size=4, nb_epochs=3, seed=1)
    trained = _weights(clone.model)
    assert all(not np.array_equal(trained[k], fresh[k])
               for k in fresh if clone.model.collect_params()[k].grad_req != "null")
    assert clone.trainer is not clf.trainer
    assert type(clone.trainer._optimizer) is type(clf.trainer._optimizer)
    assert clone.trainer.learning_rate == clf.trainer.learning_rate
    assert _same(_weights(clf.model), original)  # bit-exact
    assert_array_equal(clf.predict(x), before)


def test_clone_keeps_transforms_and_takes_an_initialiser() -> None:
    clf = mlp_classifier()
    clf.set_activation_transform(0, ActivationTransform(clip_max=0.5))
    clone = clf.clone_for_refitting(init=mx.init.Constant(0.01))
    assert clone.activation_transforms.keys() == clf.activation_transforms.keys()
    weights = [v for k, v in _weights(clone.model).items() if k.endswith("weight")]
    assert weights and all(np.all(w == np.float64(0.01)) for w in weights)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compute_loss_from_predictions_equals_compute_loss(dtype: str) -> None:
    net = mlp(dtype=dtype)
    clf = MXNetClassifier(net, gluon.loss.SoftmaxCrossEntropyLoss(), (4,), 3)
    x, y = data((4,), n=7)
    pred = clf.predict(x)
    for reduction in ("none", "mean", "sum"):
        expected = clf.compute_loss(x, y, reduction=reduction)
        got = clf.compute_loss_from_predictions(pred, y, reduction=reduction)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        if dtype == "float32":
            assert_array_equal(got, expected)
        else:  # predict's float32 scores
            np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert_array_equal(clf.compute_loss_from_predictions(nd.array(pred), np.eye(3)[y]),
                       clf.compute_loss_from_predictions(pred, y))
    with pytest.raises(InputShapeError, match="pred"):
        clf.compute_loss_from_predictions(pred[:, :2], y)
    with pytest.raises(ParameterError, match="reduction"):
        clf.compute_loss_from_predictions(pred, y, reduction="max")  # type: ignore[arg-type]
