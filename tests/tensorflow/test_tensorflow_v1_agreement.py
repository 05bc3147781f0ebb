"""TensorFlowV1Classifier agrees with KerasClassifier and TensorFlowV2Classifier on copied weights
(predictions, per-sample losses, loss and class gradients, every layer's activations) to float32
rounding, through per-channel standardisation; logits and softmax outputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import DIV, SUB, batch, keras, sequential_cnn
from tf1_graphs import cnn, random_weights

from trustml.adapters.tensorflow import (
    KerasClassifier,
    TensorFlowV1Classifier,
    TensorFlowV2Classifier,
)

tf = pytest.importorskip("tensorflow")

TOL = {"rtol": 1e-5, "atol": 1e-5}
Y = np.array([0, 1, 2, 3, 1, 2])


def pair(softmax: bool) -> tuple[TensorFlowV1Classifier, list[Any]]:
    weights = random_weights(seed=3)
    model = sequential_cnn(4, activation="softmax" if softmax else None)
    model.set_weights([w.astype(np.float32) for w in weights])
    g = cnn(weights, softmax=softmax)
    v1 = TensorFlowV1Classifier(g.x, g.output, sess=g.sess, preprocessing=(SUB, DIV))
    others: list[Any] = [KerasClassifier(model, use_logits=not softmax, preprocessing=(SUB, DIV))]
    if not softmax:
        others.append(TensorFlowV2Classifier(
            model, 4, model.input_shape[1:],
            loss_object=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            preprocessing=(SUB, DIV)))
    return v1, others


@pytest.mark.parametrize("softmax", [False, True], ids=["logits", "softmax"])
def test_agrees_on_copied_weights(softmax: bool) -> None:
    clf, others = pair(softmax)
    x = batch(6, seed=4)
    for other in others:
        name = type(other).__name__
        np.testing.assert_allclose(clf.predict(x), other.predict(x), err_msg=name, **TOL)
        np.testing.assert_allclose(clf.compute_loss(x, Y), other.compute_loss(x, Y),
                                   err_msg=name, **TOL)
        np.testing.assert_allclose(clf.loss_gradient(x, Y), other.loss_gradient(x, Y),
                                   err_msg=name, **TOL)
        np.testing.assert_allclose(clf.class_gradient(x), other.class_gradient(x),
                                   err_msg=name, **TOL)
        np.testing.assert_allclose(clf.class_gradient(x, Y), other.class_gradient(x, Y),
                                   err_msg=name, **TOL)


def test_layers_match_keras_layers() -> None:
    clf, (keras_clf, *_) = pair(softmax=False)
    assert keras_clf.layer_names == ["conv", "pool", "flat", "logits"]
    assert clf.layer_names == ["conv/Tanh:0", "pool/AvgPool2D:0", "flat/Reshape:0",
                               "logits/add:0"]
    x = batch(6, seed=5)
    for i, name in enumerate(keras_clf.layer_names):
        ours = clf.get_activations(x, i, batch_size=4)
        np.testing.assert_allclose(ours, keras_clf.get_activations(x, name), err_msg=name, **TOL)
        np.testing.assert_allclose(clf.get_activations(x, clf.layer_names[i]), ours, **TOL)
    # any op / tensor computed from the input, by name: the conv before its tanh
    pre = clf.get_activations(x, "conv/BiasAdd")
    np.testing.assert_allclose(np.tanh(pre), clf.get_activations(x, 0), **TOL)
