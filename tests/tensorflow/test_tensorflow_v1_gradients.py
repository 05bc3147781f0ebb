"""TensorFlowV1Classifier: loss and class gradients against central finite differences on a
float64 graph (through per-channel standardisation and a defence), every label form, the sum
convention, and no graph growth on repeated calls."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import DIV, SUB, batch
from tf1_graphs import cnn, op_count, random_weights, v1

from trustml.adapters.tensorflow import TensorFlowV1Classifier
from trustml.errors import LabelError
from trustml.preprocessing import FunctionPreprocessor

tf = pytest.importorskip("tensorflow")

EPS = 1e-6
Y = np.array([0, 1, 2, 3, 1])


def squash() -> FunctionPreprocessor:
    """x -> x + 0.1 x^2, with its exact gradient (a differentiable defence)."""
    return FunctionPreprocessor(lambda x: x + 0.1 * x**2, lambda x, g: g * (1 + 0.2 * x))


def classifier(kind: str, **kwargs: Any) -> TensorFlowV1Classifier:
    g = cnn(random_weights(), tf.float64, one_hot=kind == "one_hot")
    if kind == "default":
        return TensorFlowV1Classifier(g.x, g.logits, sess=g.sess, preprocessing=(SUB, DIV),
                                      **kwargs)
    return TensorFlowV1Classifier(g.x, g.logits, labels_ph=g.y, loss=g.loss, train=g.train,
                                  sess=g.sess, preprocessing=(SUB, DIV), **kwargs)


@pytest.mark.parametrize("kind", ["default", "index", "one_hot"])
@pytest.mark.parametrize("defended", [False, True])
def test_loss_gradient_matches_finite_differences(kind: str, defended: bool) -> None:
    clf = classifier(kind, preprocessing_defences=[squash()] if defended else None)
    x = batch(5, dtype=np.float64)
    grad = clf.loss_gradient(x, Y)
    assert grad.shape == x.shape and grad.dtype == np.float64
    rng = np.random.default_rng(1)
    for _ in range(3):
        d = rng.normal(size=x.shape)
        fd = (clf.compute_loss(x + EPS * d, Y, "sum") - clf.compute_loss(x - EPS * d, Y, "sum"))
        np.testing.assert_allclose(np.sum(grad * d), fd / (2 * EPS), rtol=1e-6, atol=1e-8)
    # coordinate-wise on a few entries of the first sample
    for idx in [(0, 0, 0, 0), (0, 3, 2, 1), (2, 5, 5, 2)]:
        e = np.zeros_like(x)
        e[idx] = EPS
        fd = (clf.compute_loss(x + e, Y, "sum") - clf.compute_loss(x - e, Y, "sum")) / (2 * EPS)
        np.testing.assert_allclose(grad[idx], fd, rtol=1e-5, atol=1e-8)


def test_loss_gradient_is_per_sample_sum_convention() -> None:
    clf = classifier("index")
    x = batch(5, dtype=np.float64)
    full = clf.loss_gradient(x, Y)
    for i in range(5):
        np.testing.assert_allclose(clf.loss_gradient(x[i : i + 1], Y[i : i + 1])[0], full[i],
                                   rtol=1e-12, atol=1e-14)
    losses = clf.compute_loss(x, Y)
    assert losses.shape == (5,)
    np.testing.assert_allclose(clf.compute_loss(x, Y, "mean"), losses.mean(), rtol=1e-12)


def test_default_loss_equals_user_loss() -> None:
    x = batch(5, dtype=np.float64)
    a, b = classifier("default"), classifier("index")
    np.testing.assert_allclose(a.compute_loss(x, Y), b.compute_loss(x, Y), rtol=1e-12)
    np.testing.assert_allclose(a.loss_gradient(x, Y), b.loss_gradient(x, Y), rtol=1e-10,
                               atol=1e-14)


@pytest.mark.parametrize("defended", [False, True])
def test_class_gradient_matches_finite_differences(defended: bool) -> None:
    clf = classifier("index", preprocessing_defences=[squash()] if defended else None)
    x = batch(4, dtype=np.float64)
    grads = clf.class_gradient(x)
    assert grads.shape == (4, 4, *x.shape[1:]) and grads.dtype == np.float64
    rng = np.random.default_rng(2)
    d = rng.normal(size=x.shape)
    out_plus = clf.get_activations(x + EPS * d, -1)
    out_minus = clf.get_activations(x - EPS * d, -1)
    fd = (out_plus - out_minus) / (2 * EPS)  # (N, K)
    np.testing.assert_allclose((grads * d[:, None]).reshape(4, 4, -1).sum(axis=2), fd,
                               rtol=1e-6, atol=1e-8)


def test_class_gradient_label_forms() -> None:
    clf = classifier("index")
    x = batch(4, dtype=np.float64)
    full = clf.class_gradient(x)
    np.testing.assert_allclose(clf.class_gradient(x, 2), full[:, 2:3], rtol=1e-12)
    rows = np.array([3, 0, 1, 3])
    picked = full[np.arange(4), rows][:, None]
    np.testing.assert_allclose(clf.class_gradient(x, rows), picked, rtol=1e-12)
    np.testing.assert_allclose(clf.class_gradient(x, np.eye(4)[rows]), picked, rtol=1e-12)
    assert clf.class_gradient(x[:0], 1).shape == (0, 1, *x.shape[1:])
    for bad in (4, -1, np.array([0, 1]), np.array([[0.5, 0.5, 0, 0]] * 4)):
        with pytest.raises(LabelError):
            clf.class_gradient(x, bad)


def test_no_graph_growth_after_second_call_of_each_method() -> None:
    g = cnn(random_weights(), tf.float64)
    clfs = [
        TensorFlowV1Classifier(g.x, g.logits, labels_ph=g.y, loss=g.loss, train=g.train,
                               sess=g.sess, preprocessing=(SUB, DIV)),
        TensorFlowV1Classifier(g.x, g.logits, sess=g.sess),  # default loss and default train
    ]
    x = batch(5, dtype=np.float64)
    calls = {
        "predict": lambda c: c.predict(x),
        "compute_loss": lambda c: c.compute_loss(x, Y),
        "loss_gradient": lambda c: c.loss_gradient(x, Y),
        "class_gradient(None)": lambda c: c.class_gradient(x),
        "class_gradient(int)": lambda c: c.class_gradient(x, 1),
        "class_gradient(array)": lambda c: c.class_gradient(x, Y),
        "get_activations": lambda c: c.get_activations(x, 0),
        "get_activations(framework)": lambda c: c.get_activations(x, "pool/AvgPool2D",
                                                                  framework=True),
        "fit": lambda c: c.fit(x, Y, batch_size=2, nb_epochs=1, seed=0),
        "fit_generator": lambda c: c.fit_generator([(x, Y)], nb_epochs=1),
    }
    for clf in clfs:
        for name, call in calls.items():
            call(clf)
            before = op_count(g)
            call(clf)
            assert op_count(g) == before, name
    # a framework tensor is the graph's own tensor: nothing was built for it
    assert clfs[0].get_activations(x, 1, framework=True) is g.graph.get_tensor_by_name(
        "pool/AvgPool2D:0")
    assert isinstance(clfs[0].sess, v1.Session)
