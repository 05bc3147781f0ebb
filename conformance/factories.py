"""Factories of every shipped adapter for the conformance report (and for ``trustml check``).

Each entry names the modules it needs (the report covers those importable in the current
environment), a zero-argument factory returning a small, seeded object with non-trivial
standardisation, and a function of the built object returning the checks it is expected to fail with
the reason (empty: none).
``trustml check conformance/factories.py:sklearn_logistic`` runs the kit on one of them.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

_HERE = Path(__file__).resolve().parent
if str(_HERE / "examples") not in sys.path:
    sys.path.insert(0, str(_HERE / "examples"))

FEATURES = 6
CLASSES = 3
IMAGE = (3, 6, 6)
FEATURE_STD = ((0.5, 0.4, 0.6, 0.5, 0.3, 0.7), (0.25, 0.5, 2.0, 1.0, 0.3, 0.8))
CHANNEL_STD = ((0.4, 0.5, 0.6), (0.25, 0.5, 2.0))


def toy_problem(shape: tuple[int, ...] = (FEATURES,), classes: int = CLASSES, per_class: int = 10,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A seeded problem in ``[0, 1]``: one random template per class plus 10% noise."""
    rng = np.random.default_rng(seed)
    templates = rng.uniform(0.2, 0.8, size=(classes, *shape))
    y = np.repeat(np.arange(classes), per_class)
    x = np.clip(templates[y] + 0.1 * rng.standard_normal((len(y), *shape)), 0.0, 1.0)
    return x.astype(np.float32), y


# -- examples (numpy only) -----------------------------------------------------------------------
def example_softmax() -> Any:
    from softmax_regression import make

    return make()


def example_certifier() -> Any:
    from gaussian_certifier import make

    return make()


# -- scikit-learn ----------------------------------------------------------------------------------
def _sklearn(model: Any) -> Any:
    from trustml.adapters.sklearn import wrap

    x, y = toy_problem()
    model.fit(x, y)
    return wrap(model, clip_values=(0.0, 1.0), preprocessing=FEATURE_STD)


def sklearn_logistic() -> Any:
    from sklearn.linear_model import LogisticRegression

    return _sklearn(LogisticRegression(max_iter=200))


def sklearn_linear_svc() -> Any:
    from sklearn.svm import LinearSVC

    return _sklearn(LinearSVC(random_state=0))


def sklearn_svc_linear() -> Any:
    from sklearn.svm import SVC

    return _sklearn(SVC(kernel="linear", random_state=0))


def sklearn_mlp() -> Any:
    from sklearn.neural_network import MLPClassifier

    return _sklearn(MLPClassifier(hidden_layer_sizes=(8,), activation="tanh", max_iter=300,
                                  random_state=0))


def sklearn_decision_tree() -> Any:
    from sklearn.tree import DecisionTreeClassifier

    return _sklearn(DecisionTreeClassifier(max_depth=4, random_state=0))


def sklearn_random_forest() -> Any:
    from sklearn.ensemble import RandomForestClassifier

    return _sklearn(RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0))


def sklearn_extra_trees() -> Any:
    from sklearn.ensemble import ExtraTreesClassifier

    return _sklearn(ExtraTreesClassifier(n_estimators=5, max_depth=3, random_state=0))


def sklearn_gradient_boosting() -> Any:
    from sklearn.ensemble import GradientBoostingClassifier

    return _sklearn(GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0))


def sklearn_knn() -> Any:
    from sklearn.neighbors import KNeighborsClassifier

    return _sklearn(KNeighborsClassifier(n_neighbors=3))


# -- PyTorch ---------------------------------------------------------------------------------------
def torch_cnn() -> Any:
    import torch
    from torch import nn

    from trustml.adapters.torch import PyTorchClassifier

    torch.set_num_threads(1)
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(4 * 3 * 3, CLASSES),
    )
    torch.random.set_rng_state(gen_state)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    return PyTorchClassifier(model, nn.CrossEntropyLoss(), IMAGE, CLASSES, optimizer=optimizer,
                             clip_values=(0.0, 1.0), preprocessing=CHANNEL_STD, device="cpu")


# -- TensorFlow / Keras ----------------------------------------------------------------------------
def _keras_model(softmax: bool) -> Any:
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((6, 6, 3)),
        keras.layers.Conv2D(4, 3, activation="tanh", name="conv"),
        keras.layers.Flatten(name="flat"),
        keras.layers.Dense(CLASSES, activation="softmax" if softmax else None, name="out"),
    ])


def keras_sequential() -> Any:
    from trustml.adapters.tensorflow import KerasClassifier

    return KerasClassifier(_keras_model(softmax=True), clip_values=(0.0, 1.0),
                           preprocessing=CHANNEL_STD)


def tensorflow_v2() -> Any:
    import keras
    import tensorflow as tf

    from trustml.adapters.tensorflow import TensorFlowV2Classifier

    model = _keras_model(softmax=False)
    return TensorFlowV2Classifier(
        model, CLASSES, (6, 6, 3),
        loss_object=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        optimizer=keras.optimizers.Adam(0.05), clip_values=(0.0, 1.0), preprocessing=CHANNEL_STD)


def tensorflow_v1() -> Any:
    import tensorflow as tf

    from trustml.adapters.tensorflow import TensorFlowV1Classifier

    v1 = tf.compat.v1
    rng = np.random.default_rng(0)
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, (None, 6, 6, 3), name="x")
        y = v1.placeholder(tf.int64, (None,), name="y")
        with tf.name_scope("conv"):
            kernel = tf.Variable(rng.normal(0.0, 0.5, (3, 3, 3, 4)).astype("f4"), name="kernel")
            h = tf.tanh(tf.nn.conv2d(x, kernel, 1, "VALID"))
        with tf.name_scope("flat"):
            h = tf.reshape(h, (-1, 64))
        with tf.name_scope("out"):
            dense = tf.Variable(rng.normal(0.0, 0.3, (64, CLASSES)).astype("f4"), name="kernel")
            logits = tf.matmul(h, dense)
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        train = v1.train.AdamOptimizer(0.05).minimize(tf.reduce_mean(loss))
        init = v1.global_variables_initializer()
    sess = v1.Session(graph=graph)
    sess.run(init)
    return TensorFlowV1Classifier(x, logits, labels_ph=y, train=train, loss=loss, sess=sess,
                                  clip_values=(0.0, 1.0), preprocessing=CHANNEL_STD)


# -- MXNet -----------------------------------------------------------------------------------------
def mxnet_cnn() -> Any:
    import mxnet as mx
    from mxnet import gluon

    from trustml.adapters.mxnet import MXNetClassifier

    mx.random.seed(0)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Conv2D(4, 3, padding=1, activation="tanh"), gluon.nn.AvgPool2D(2),
            gluon.nn.Flatten(), gluon.nn.Dense(CLASSES))
    net.initialize(mx.init.Normal(0.5), ctx=mx.cpu())
    return MXNetClassifier(net, gluon.loss.SoftmaxCrossEntropyLoss(), IMAGE, CLASSES,
                           optimizer=("adam", {"learning_rate": 0.05}), clip_values=(0.0, 1.0),
                           preprocessing=CHANNEL_STD)


# -- certification ---------------------------------------------------------------------------------
def smoothing_reference() -> Any:
    from trustml.certification import RandomizedSmoothing
    from trustml.conformance import ReferenceLinearClassifier

    return RandomizedSmoothing(ReferenceLinearClassifier(), 0.5, seed=0)


def smoothing_sklearn_logistic() -> Any:
    from trustml.certification import RandomizedSmoothing

    return RandomizedSmoothing(sklearn_logistic(), 0.25, n=200, seed=0)


def smoothing_torch() -> Any:
    from trustml.certification import RandomizedSmoothing

    return RandomizedSmoothing(torch_cnn(), 0.25, n=100, seed=0)


@dataclass(frozen=True)
class Entry:
    """One column of the report."""

    name: str
    factory: Callable[[], Any]
    requires: tuple[str, ...]
    environment: str
    expected_failures: Callable[[Any], dict[str, str]] = field(default=lambda estimator: {})

    def available(self) -> bool:
        """Whether every required module is importable here (without importing it)."""
        return all(importlib.util.find_spec(m) is not None for m in self.requires)


ENTRIES: list[Entry] = [
    Entry("example SoftmaxRegression", example_softmax, (), "any"),
    Entry("example GaussianCertifier", example_certifier, ("scipy",), "any"),
    Entry("sklearn LogisticRegression", sklearn_logistic, ("sklearn",), "tests"),
    Entry("sklearn LinearSVC", sklearn_linear_svc, ("sklearn",), "tests"),
    Entry("sklearn SVC(linear)", sklearn_svc_linear, ("sklearn",), "tests"),
    Entry("sklearn MLPClassifier", sklearn_mlp, ("sklearn",), "tests"),
    Entry("sklearn DecisionTree", sklearn_decision_tree, ("sklearn",), "tests"),
    Entry("sklearn RandomForest", sklearn_random_forest, ("sklearn",), "tests"),
    Entry("sklearn ExtraTrees", sklearn_extra_trees, ("sklearn",), "tests"),
    Entry("sklearn GradientBoosting", sklearn_gradient_boosting, ("sklearn",), "tests"),
    Entry("sklearn KNeighbors", sklearn_knn, ("sklearn",), "tests"),
    Entry("torch PyTorchClassifier", torch_cnn, ("torch",), "tests"),
    Entry("keras KerasClassifier", keras_sequential, ("tensorflow", "keras"), "tests"),
    Entry("tf TensorFlowV2Classifier", tensorflow_v2, ("tensorflow", "keras"), "tests"),
    Entry("tf TensorFlowV1Classifier", tensorflow_v1, ("tensorflow", "keras"), "tests"),
    Entry("mxnet MXNetClassifier", mxnet_cnn, ("mxnet",), "mxnet"),
    Entry("RandomizedSmoothing(reference)", smoothing_reference, ("scipy",), "any"),
    Entry("RandomizedSmoothing(sklearn)", smoothing_sklearn_logistic, ("sklearn",), "tests"),
    Entry("RandomizedSmoothing(torch)", smoothing_torch, ("torch",), "tests"),
]
"""Every shipped adapter (and the examples), in report order."""
