"""layer_names and get_activations for Sequential, Functional and subclassed Keras models."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import MODELS, SHAPE, batch, keras, tf

from trustml.adapters.tensorflow import KerasClassifier, TensorFlowV2Classifier

SUB, DIV = np.array([0.1, 0.2, 0.3]), np.array([0.5, 1.0, 2.0])


def wrap(arch: str) -> KerasClassifier:
    return KerasClassifier(MODELS[arch](), use_logits=True, input_shape=SHAPE,
                           preprocessing=(SUB, DIV))


def test_layer_names_in_execution_order() -> None:
    assert wrap("sequential").layer_names == ["conv", "pool", "flat", "logits"]
    assert wrap("functional").layer_names == ["conv", "skip", "flat", "logits"]
    # declared conv, head, pool; executed conv, pool, head
    assert wrap("subclassed").layer_names == ["conv", "pool", "head"]


@pytest.mark.parametrize("arch", sorted(MODELS))
def test_activations_match_independent_forward(arch: str) -> None:
    clf = wrap(arch)
    model = clf.model
    x = batch(3)
    z = tf.constant(((x - SUB) / DIV).astype(np.float32))
    conv = model.get_layer("conv")
    np.testing.assert_allclose(clf.get_activations(x, "conv"), conv(z).numpy(), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(clf.get_activations(x, 0), clf.get_activations(x, "conv"))
    last = clf.get_activations(x, -1)
    np.testing.assert_allclose(last, clf.predict(x), rtol=1e-5, atol=1e-6)
    by_name = clf.get_activations(x, clf.layer_names[-1])
    np.testing.assert_array_equal(by_name, last)


def test_framework_true_returns_tensor_that_a_tape_sees() -> None:
    clf = wrap("functional")
    x = tf.constant(batch(2))
    with tf.GradientTape() as tape:
        tape.watch(x)
        act = clf.get_activations(x, "logits", framework=True)
        total = tf.reduce_sum(act[:, 1])
    assert isinstance(act, tf.Tensor)
    grad = tape.gradient(total, x)
    np.testing.assert_allclose(grad.numpy(), clf.class_gradient(x.numpy(), label=1)[:, 0],
                               rtol=1e-5, atol=1e-7)


def test_functional_side_models_reuse_weights() -> None:
    clf = wrap("functional")
    before = clf.get_activations(batch(2), "skip")
    clf.model.get_layer("conv").kernel.assign(np.zeros((3, 3, 3, 3), np.float32))
    after = clf.get_activations(batch(2), "skip")
    assert not np.allclose(before, after)  # the cached side model reads the live weights
    expected = (batch(2) - SUB) / DIV + np.tanh(clf.model.get_layer("conv").bias.numpy())
    np.testing.assert_allclose(after, expected, rtol=1e-5, atol=1e-6)


def test_nested_sequential_is_one_layer() -> None:
    block = keras.Sequential([keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(5)],
                             name="block")
    model = keras.Sequential([keras.Input((4,)), block, keras.layers.Dense(3, name="out")])
    clf = KerasClassifier(model, use_logits=True)
    assert clf.layer_names == ["block", "out"]
    assert clf.get_activations(np.ones((2, 4)), "block").shape == (2, 5)


def test_tf2_classifier_wraps_keras_layers_too() -> None:
    model = MODELS["sequential"]()
    clf = TensorFlowV2Classifier(model, 4, SHAPE)
    assert clf.layer_names == ["conv", "pool", "flat", "logits"]
    assert clf.get_activations(batch(2), "flat").shape == (2, 16)


def test_unbuilt_sequential_and_shared_layer() -> None:
    model = keras.Sequential([keras.layers.Dense(5, activation="tanh", name="a"),
                              keras.layers.Dense(3, name="b")])
    with pytest.raises(Exception, match="input_shape"):
        KerasClassifier(model, use_logits=True)
    clf = KerasClassifier(model, use_logits=True, input_shape=(4,))
    assert clf.layer_names == ["a", "b"]
    x = np.ones((2, 4), np.float32)
    np.testing.assert_allclose(clf.get_activations(x, "b"), clf.predict(x), rtol=1e-6)
    # a layer called twice in a Functional model: its activation is its first call's output
    inputs = keras.Input((4,))
    shared = keras.layers.Dense(4, activation="tanh", name="shared")
    out = keras.layers.Dense(3, name="out")(shared(shared(inputs)))
    fclf = KerasClassifier(keras.Model(inputs, out), use_logits=True)
    assert fclf.layer_names == ["shared", "out"]
    np.testing.assert_allclose(fclf.get_activations(x, "shared"), shared(x).numpy(), rtol=1e-6)
