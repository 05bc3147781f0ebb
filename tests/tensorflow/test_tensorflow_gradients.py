"""Gradients against central finite differences in float64, through per-channel standardisation
and a numpy defence, for a Sequential CNN, a Functional model with a skip connection and a
subclassed model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import DIV, MODELS, SHAPE, SUB, batch, keras, tf

from trustml.adapters.tensorflow import KerasClassifier, TensorFlowV2Classifier
from trustml.preprocessing import FunctionPreprocessor

H = 1e-6


def raw_outputs(model: Any, x: np.ndarray) -> np.ndarray:
    """Independent forward pass: numpy standardisation, then the model."""
    return np.asarray(model((x - SUB) / DIV, training=False))


def raw_loss(model: Any, x: np.ndarray, y: np.ndarray, logits: bool) -> np.ndarray:
    out = raw_outputs(model, x)
    if logits:
        out = out - out.max(axis=1, keepdims=True)
        logp = out - np.log(np.exp(out).sum(axis=1, keepdims=True))
    else:
        logp = np.log(out)
    return -logp[np.arange(len(y)), y]


def wrap(kind: str, model: Any, logits: bool, **kw: Any) -> Any:
    if kind == "keras":
        return KerasClassifier(model, use_logits=logits, preprocessing=(SUB, DIV),
                               input_shape=SHAPE, **kw)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=logits)
    return TensorFlowV2Classifier(model, 4, SHAPE, loss_object=loss, preprocessing=(SUB, DIV), **kw)


def directional(f: Any, x: np.ndarray, v: np.ndarray) -> Any:
    return (f(x + H * v) - f(x - H * v)) / (2 * H)


@pytest.mark.parametrize("arch", sorted(MODELS))
@pytest.mark.parametrize("kind", ["keras", "tf2"])
def test_loss_gradient_matches_finite_differences(float64: None, arch: str, kind: str) -> None:
    model = MODELS[arch]()
    clf = wrap(kind, model, logits=True)
    x = batch(3, dtype=np.float64)
    y = np.array([0, 3, 1])
    grad = clf.loss_gradient(x, y)
    assert grad.dtype == np.float64 and grad.shape == x.shape
    np.testing.assert_allclose(clf.compute_loss(x, y), raw_loss(model, x, y, True), rtol=1e-12)
    rng = np.random.default_rng(5)
    for _ in range(3):
        v = rng.normal(size=x.shape)
        fd = directional(lambda z: raw_loss(model, z, y, True).sum(), x, v)
        assert np.sum(grad * v) == pytest.approx(fd, rel=1e-6, abs=1e-9)
    # per-sample: row i is the gradient of sample i's own loss
    v = np.zeros_like(x)
    v[1] = rng.normal(size=SHAPE)
    fd1 = directional(lambda z: raw_loss(model, z, y, True)[1], x, v)
    assert np.sum(grad[1] * v[1]) == pytest.approx(fd1, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("arch", sorted(MODELS))
def test_class_gradient_matches_finite_differences(float64: None, arch: str) -> None:
    model = MODELS[arch]()
    clf = wrap("keras", model, logits=True)
    x = batch(2, seed=3, dtype=np.float64)
    full = clf.class_gradient(x)
    assert full.shape == (2, 4, *SHAPE) and full.dtype == np.float64
    rng = np.random.default_rng(9)
    v = rng.normal(size=x.shape)
    fd = directional(lambda z: raw_outputs(model, z), x, v)  # (N, K)
    for c in range(4):
        got = np.sum((full[:, c] * v).reshape(2, -1), axis=1)
        np.testing.assert_allclose(got, fd[:, c], rtol=1e-6, atol=1e-9)
    one = clf.class_gradient(x, label=2)
    np.testing.assert_array_equal(one[:, 0], full[:, 2])
    per = clf.class_gradient(x, label=np.array([3, 1]))
    np.testing.assert_array_equal(per[0, 0], full[0, 3])
    np.testing.assert_array_equal(per[1, 0], full[1, 1])


def test_probability_outputs_stable_cross_entropy(float64: None) -> None:
    model = MODELS["sequential"](activation="softmax")
    clf = wrap("keras", model, logits=False)
    x = batch(4, seed=7, dtype=np.float64)
    y = np.array([0, 1, 2, 3])
    np.testing.assert_allclose(clf.compute_loss(x, y), raw_loss(model, x, y, False), rtol=1e-10)
    grad = clf.loss_gradient(x, y)
    v = np.random.default_rng(1).normal(size=x.shape)
    fd = directional(lambda z: raw_loss(model, z, y, False).sum(), x, v)
    assert np.sum(grad * v) == pytest.approx(fd, rel=1e-6)
    # same loss and gradient as the logits model underneath (softmax taken off by copying weights)
    logits_model = MODELS["sequential"]()
    logits_model.set_weights(model.get_weights())
    ref = wrap("keras", logits_model, logits=True)
    np.testing.assert_allclose(clf.compute_loss(x, y), ref.compute_loss(x, y), rtol=1e-10)
    np.testing.assert_allclose(grad, ref.loss_gradient(x, y), rtol=1e-7, atol=1e-12)


def test_probability_loss_finite_when_probability_underflows() -> None:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    model.set_weights([np.array([[200.0, -200.0], [0.0, 0.0]], "f4"), np.zeros(2, "f4")])
    clf = KerasClassifier(model, use_logits=False)
    x = np.array([[1.0, 0.0]], dtype=np.float32)  # p = (1, 0) in float32
    loss = clf.compute_loss(x, [1])
    grad = clf.loss_gradient(x, [1])
    assert np.isfinite(loss).all() and np.isfinite(grad).all()
    assert loss[0] > 80  # -log(tiny float32) ~ 87: large, not inf


def test_gradients_chain_through_numpy_defence(float64: None) -> None:
    """A defence x -> x**2 / 2 + x with its exact gradient (1 + x): adapter gradient equals the
    finite difference of the whole pipeline."""
    defence = FunctionPreprocessor(lambda z: z * z / 2 + z, gradient=lambda z, g: g * (1 + z))
    model = MODELS["functional"]()
    clf = wrap("keras", model, logits=True, preprocessing_defences=[defence])
    x = batch(2, seed=4, dtype=np.float64)
    y = np.array([2, 0])
    grad = clf.loss_gradient(x, y)
    v = np.random.default_rng(2).normal(size=x.shape)
    fd = directional(lambda z: raw_loss(model, z * z / 2 + z, y, True).sum(), x, v)
    assert np.sum(grad * v) == pytest.approx(fd, rel=1e-6)
    cg = clf.class_gradient(x, label=1)
    fdc = directional(lambda z: raw_outputs(model, z * z / 2 + z)[:, 1], x, v)
    np.testing.assert_allclose(np.sum((cg[:, 0] * v).reshape(2, -1), axis=1), fdc, rtol=1e-6)


def test_tf2_plain_callable_and_default_loss(float64: None) -> None:
    """A tf.Module that is not Keras: default loss is softmax cross-entropy on logits."""

    class Linear(tf.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            rng = np.random.default_rng(0)
            self.w = tf.Variable(rng.normal(size=(int(np.prod(SHAPE)), 3)))
            self.b = tf.Variable(np.zeros(3))

        def __call__(self, x: Any) -> Any:
            return tf.reshape(x, (-1, int(np.prod(SHAPE)))) @ self.w + self.b

    module = Linear()
    clf = TensorFlowV2Classifier(module, 3, SHAPE, preprocessing=(SUB, DIV))
    x = batch(3, dtype=np.float64)
    y = np.array([0, 2, 1])
    z = ((x - SUB) / DIV).reshape(3, -1)
    logits = z @ module.w.numpy() + module.b.numpy()
    soft = np.exp(logits - logits.max(1, keepdims=True))
    soft /= soft.sum(1, keepdims=True)
    onehot = np.eye(3)[y]
    expected = ((soft - onehot) @ module.w.numpy().T).reshape(x.shape) / DIV  # closed form
    np.testing.assert_allclose(clf.loss_gradient(x, y), expected, rtol=1e-10, atol=1e-12)
    assert clf.layer_names == []


def test_channels_first_standardisation(float64: None) -> None:
    """Per-channel standardisation on axis 1 when channels_first=True (a model on (C, H, W))."""
    model = keras.Sequential([keras.Input((3, 4, 4)), keras.layers.Flatten(),
                              keras.layers.Dense(6, activation="tanh"), keras.layers.Dense(3)])
    clf = KerasClassifier(model, use_logits=True, channels_first=True, preprocessing=(SUB, DIV))
    x = np.random.default_rng(0).uniform(size=(2, 3, 4, 4))
    y = np.array([2, 0])
    sub, div = SUB.reshape(3, 1, 1), DIV.reshape(3, 1, 1)

    def loss(z: np.ndarray) -> np.ndarray:
        out = np.asarray(model((z - sub) / div))
        return np.log(np.exp(out).sum(1)) - out[np.arange(2), y]

    np.testing.assert_allclose(clf.compute_loss(x, y), loss(x), rtol=1e-12)
    v = np.random.default_rng(1).normal(size=x.shape)
    fd = directional(lambda z: loss(z).sum(), x, v)
    assert np.sum(clf.loss_gradient(x, y) * v) == pytest.approx(fd, rel=1e-6)
