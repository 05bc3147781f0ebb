"""Static checks (mypy --strict): TensorFlowV1Classifier satisfies the full set of protocols, and
the tf.compat.v1 surface a user writes to build one type-checks through the stubs."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from numpy.typing import NDArray
from tensorflow.compat import v1

from trustml.adapters.tensorflow import TensorFlowV1Classifier, from_frozen_graph
from trustml.protocols import FittableClassifier, NeuralNetworkClassifier, WhiteBoxClassifier


def v1_is_complete(clf: TensorFlowV1Classifier) -> NeuralNetworkClassifier:
    return clf


def white_box(clf: TensorFlowV1Classifier) -> WhiteBoxClassifier:
    return clf


def fittable(clf: TensorFlowV1Classifier) -> FittableClassifier:
    return clf


def graph_tensor(clf: TensorFlowV1Classifier, x: NDArray[np.float32]) -> tf.Tensor:
    return clf.get_activations(x, 0, framework=True)


def numpy_activations(clf: TensorFlowV1Classifier, x: NDArray[np.float32]) -> NDArray[np.float32]:
    out: NDArray[np.float32] = clf.get_activations(x, "dense/Relu:0", 32).astype(np.float32)
    return out


def build(path: str) -> TensorFlowV1Classifier:
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, (None, 4), name="x")
        logits = tf.matmul(x, tf.Variable(tf.zeros((4, 3))))
    sess: v1.Session = v1.Session(graph=graph)
    clf = TensorFlowV1Classifier(x, logits, sess=sess)
    clf.save("model.pb", path)
    return from_frozen_graph(f"{path}/model.pb", "x", logits.name)
