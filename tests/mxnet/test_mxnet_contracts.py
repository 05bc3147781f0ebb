"""The shared contracts: batching, labels, immutability, activations, context, empty batches."""

from __future__ import annotations

import numpy as np
import pytest

mx = pytest.importorskip("mxnet")

from _mxnets import (
    CNN_MEAN,
    CNN_SHAPE,
    CNN_STD,
    cnn_classifier,
    data,
    mixed_classifier,
    mlp_classifier,
)
from mxnet import gluon, nd

from trustml.adapters.mxnet import MXNetClassifier
from trustml.errors import DeviceError
from trustml.protocols import NeuralNetworkClassifier


class Reordered(gluon.HybridBlock):
    """Declares ``head`` before ``body`` but runs body, then a skip connection, then head."""

    def __init__(self) -> None:
        super().__init__()
        with self.name_scope():
            self.head = gluon.nn.Dense(3)
            self.body = gluon.nn.HybridSequential()
            self.body.add(gluon.nn.Dense(4, activation="tanh"), gluon.nn.Dense(4))

    def hybrid_forward(self, F, x):
        return self.head(x + self.body(x))


def reordered_classifier(hybridize: bool) -> MXNetClassifier:
    mx.random.seed(1)
    net = Reordered()
    net.initialize(mx.init.Normal(0.5))
    net.cast("float64")
    if hybridize:
        net.hybridize()
    return MXNetClassifier(net, gluon.loss.SoftmaxCrossEntropyLoss(), (4,), 3)


def test_is_a_neural_network_classifier() -> None:
    assert isinstance(mlp_classifier(), NeuralNetworkClassifier)


@pytest.mark.parametrize("hybridize", [False, True])
def test_batch_size_does_not_change_any_result(hybridize: bool) -> None:
    clf = cnn_classifier(hybridize=hybridize)
    x, y = data(CNN_SHAPE, n=7)
    for method, args in [
        ("predict", (x,)), ("compute_loss", (x, y)), ("loss_gradient", (x, y)),
        ("class_gradient", (x,)), ("get_activations", (x, "0")),
    ]:
        whole = getattr(clf, method)(*args, batch_size=7)
        for size in (1, 3):
            np.testing.assert_allclose(
                getattr(clf, method)(*args, batch_size=size), whole, rtol=1e-6, atol=1e-9,
                err_msg=method,
            )
    # a sample's loss gradient does not depend on its batch companions
    np.testing.assert_allclose(
        clf.loss_gradient(x[2:3], y[2:3]), clf.loss_gradient(x, y)[2:3], rtol=1e-12
    )


def test_index_and_one_hot_labels_agree() -> None:
    clf = mlp_classifier()
    x, y = data((4,), n=6)
    one_hot = np.eye(3)[y]
    np.testing.assert_array_equal(clf.compute_loss(x, y), clf.compute_loss(x, one_hot))
    np.testing.assert_array_equal(clf.loss_gradient(x, y), clf.loss_gradient(x, one_hot))


def test_dense_label_losses_get_one_hot_labels() -> None:
    sparse = mlp_classifier()
    dense = MXNetClassifier(
        sparse.model, gluon.loss.SoftmaxCrossEntropyLoss(sparse_label=False), (4,), 3,
        preprocessing=([0.1, -0.2, 0.3, 0.0], [0.5, 1.0, 2.0, 1.5]),
    )
    x, y = data((4,), n=5)
    np.testing.assert_allclose(dense.compute_loss(x, y), sparse.compute_loss(x, y), rtol=1e-12)
    np.testing.assert_allclose(dense.loss_gradient(x, y), sparse.loss_gradient(x, y), rtol=1e-12)


def test_reductions() -> None:
    clf = mlp_classifier()
    x, y = data((4,), n=5)
    per_sample = clf.compute_loss(x, y)
    assert per_sample.shape == (5,)
    # softmax cross-entropy in closed form from the float64 scores
    scores = clf.get_activations(x, clf.layer_names[-1])
    expected = np.log(np.exp(scores).sum(axis=1)) - scores[np.arange(5), y]
    np.testing.assert_allclose(per_sample, expected, rtol=1e-10)
    assert clf.compute_loss(x, y, reduction="sum").shape == ()
    np.testing.assert_allclose(clf.compute_loss(x, y, reduction="sum"), per_sample.sum())
    np.testing.assert_allclose(clf.compute_loss(x, y, reduction="mean"), per_sample.mean())


@pytest.mark.parametrize("hybridize", [False, True])
def test_nothing_is_mutated_and_hooks_are_removed(hybridize: bool) -> None:
    mx.random.seed(2)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(8), gluon.nn.BatchNorm(), gluon.nn.Dropout(0.5), gluon.nn.Dense(3))
    net.initialize()
    net.cast("float64")
    if hybridize:
        net.hybridize()
    clf = MXNetClassifier(net, gluon.loss.SoftmaxCrossEntropyLoss(), (4,), 3)
    x, y = data((4,), n=6)
    x.setflags(write=False)
    before = {k: p.data().asnumpy().copy() for k, p in net.collect_params().items()}
    blocks = [net, *net._children.values()]
    active = [b._active for b in blocks]
    first = clf.predict(x)
    clf.compute_loss(x, y)
    clf.loss_gradient(x, y)
    clf.class_gradient(x)
    clf.get_activations(x, 1)
    np.testing.assert_array_equal(clf.predict(x), first)  # dropout off, batch norm frozen
    for k, p in net.collect_params().items():
        np.testing.assert_array_equal(p.data().asnumpy(), before[k], err_msg=k)
    assert all(not b._forward_hooks and not b._forward_pre_hooks for b in blocks)
    assert [b._active for b in blocks] == active
    assert np.array_equal(x, data((4,), n=6)[0])


def test_layer_names_follow_execution_order() -> None:
    # Dense(activation=...) holds its activation as a child block "act", run before the Dense
    # returns; deferred initialisation (no in_units) must not hide it
    assert mlp_classifier().layer_names == ["0.act", "0", "1.0.act", "1.0", "1.1", "1"]
    mixed = mixed_classifier()
    assert mixed.layer_names == ["0.0.act", "0.0", "0.1.act", "0.1", "0", "1"]
    assert mixed.model[0]._active  # the hybridized child stays hybridized
    for hybridize in (False, True):
        clf = reordered_classifier(hybridize)
        assert clf.layer_names == ["body.0.act", "body.0", "body.1", "body", "head"]


def test_a_block_used_twice_is_listed_once_and_its_state_restored() -> None:
    mx.random.seed(3)
    shared = gluon.nn.Dense(4, in_units=4, activation="tanh")
    net = gluon.nn.HybridSequential()
    net.add(shared, shared, gluon.nn.Dense(3))
    net.initialize()
    net.cast("float64")
    net.hybridize()
    clf = MXNetClassifier(net, gluon.loss.SoftmaxCrossEntropyLoss(), (4,), 3)
    assert clf.layer_names == ["0.act", "0", "2"]  # the activation is a child block of Dense
    x, _ = data((4,), n=3)
    first = shared(nd.array(x, dtype="float64")).asnumpy()
    np.testing.assert_allclose(clf.get_activations(x, "0"), first, rtol=1e-12)  # first call
    assert shared._active and net._active


@pytest.mark.parametrize("hybridize", [False, True])
def test_activations_are_the_network_prefix_on_the_preprocessed_input(hybridize: bool) -> None:
    clf = cnn_classifier(hybridize=hybridize)
    net = clf.model
    x, _ = data(CNN_SHAPE, n=4)
    view = (1, 3, 1, 1)
    z = nd.array((x - np.reshape(CNN_MEAN, view)) / np.reshape(CNN_STD, view), dtype="float64")
    prefix = z
    assert clf.layer_names == ["0.act", "0", "1", "2", "3"]
    for i, name in enumerate(["0", "1", "2", "3"]):
        prefix = net[i](prefix)
        index = clf.layer_names.index(name)
        np.testing.assert_allclose(clf.get_activations(x, name), prefix.asnumpy(), rtol=1e-12)
        np.testing.assert_allclose(clf.get_activations(x, index), prefix.asnumpy(), rtol=1e-12)
    # the Conv2D's activation block sees (and returns) what the Conv2D returns
    np.testing.assert_allclose(
        clf.get_activations(x, "0.act"), clf.get_activations(x, "0"), rtol=1e-12
    )
    framework = clf.get_activations(x, "1", framework=True)
    assert isinstance(framework, nd.NDArray) and framework.shape == (4, 4, 4, 4)
    # the last block's output is the model output
    np.testing.assert_allclose(clf.get_activations(x, 4), clf.predict(x), rtol=1e-6)


def test_activations_of_a_residual_block() -> None:
    clf = reordered_classifier(hybridize=True)
    net = clf.model
    x, _ = data((4,), n=3)
    xn = nd.array(x, dtype="float64")
    np.testing.assert_allclose(
        clf.get_activations(x, "body"), net.body(xn).asnumpy(), rtol=1e-12
    )
    np.testing.assert_allclose(
        clf.get_activations(x, "head"), net.head(xn + net.body(xn)).asnumpy(), rtol=1e-12
    )


def test_ndarray_inputs_equal_numpy_inputs() -> None:
    clf = mlp_classifier()
    x, y = data((4,), n=4)
    np.testing.assert_array_equal(clf.predict(nd.array(x, dtype="float64")), clf.predict(x))
    np.testing.assert_array_equal(
        clf.loss_gradient(nd.array(x, dtype="float64"), y), clf.loss_gradient(x, y)
    )


def test_float32_model_accepts_float64_input_and_int_input() -> None:
    mx.random.seed(0)
    net = gluon.nn.Dense(3)
    net.initialize()
    clf = MXNetClassifier(net, gluon.loss.SoftmaxCrossEntropyLoss(), (4,), 3)
    x = np.arange(8, dtype=np.int64).reshape(2, 4)
    assert clf.predict(x).dtype == np.float32
    assert clf.loss_gradient(x.astype(np.float64), [0, 1]).dtype == np.float32
    np.testing.assert_array_equal(clf.predict(x), clf.predict(x.astype(np.float64)))


def test_empty_batches() -> None:
    clf = cnn_classifier()
    x = np.zeros((0, *CNN_SHAPE))
    y = np.zeros(0, dtype=int)
    assert clf.predict(x).shape == (0, 3)
    assert clf.compute_loss(x, y).shape == (0,)
    assert clf.loss_gradient(x, y).shape == x.shape
    assert clf.class_gradient(x).shape == (0, 3, *CNN_SHAPE)
    assert clf.class_gradient(x, label=1).shape == (0, 1, *CNN_SHAPE)
    assert clf.get_activations(x, "1").shape == (0, 4, 4, 4)
    assert clf.get_activations(x, "1", framework=True).shape == (0, 4, 4, 4)


def test_postprocessing_applies_to_predict_only() -> None:
    class Softmax:
        apply_fit = False
        apply_predict = True

        def __call__(self, preds: np.ndarray) -> np.ndarray:
            e = np.exp(preds - preds.max(axis=1, keepdims=True))
            return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)

    plain = mlp_classifier()
    post = mlp_classifier(postprocessing_defences=Softmax())
    x, _ = data((4,), n=4)
    np.testing.assert_allclose(post.predict(x).sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(post.class_gradient(x), plain.class_gradient(x))


def test_ctx_is_honoured_and_unavailable_gpu_is_refused() -> None:
    clf = mlp_classifier(ctx=mx.cpu())
    assert clf.ctx == mx.cpu()
    x, _ = data((4,), n=2)
    assert clf.get_activations(x, 0, framework=True).context == mx.cpu()
    if mx.context.num_gpus() == 0:
        with pytest.raises(DeviceError, match="ctx"):
            mlp_classifier(ctx=mx.gpu(0))
    with pytest.raises(DeviceError, match="reset_ctx"):
        mlp_classifier(ctx=mx.cpu(1))
