"""Static checks (mypy --strict): both TensorFlow adapters satisfy every capability protocol, and
``get_activations`` is typed by its ``framework`` flag. Nothing here runs."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf
from numpy.typing import NDArray

from trustml.adapters.tensorflow import KerasClassifier, TensorFlowV2Classifier
from trustml.protocols import (
    FittableClassifier,
    NeuralNetwork,
    NeuralNetworkClassifier,
    WhiteBoxClassifier,
)


def keras_is_complete(clf: KerasClassifier) -> NeuralNetworkClassifier:
    return clf


def tf2_is_complete(clf: TensorFlowV2Classifier) -> NeuralNetworkClassifier:
    return clf


def white_box(clf: KerasClassifier | TensorFlowV2Classifier) -> WhiteBoxClassifier:
    return clf


def fittable(clf: TensorFlowV2Classifier) -> FittableClassifier:
    clf.fit(np.zeros((2, 4)), [0, 1], batch_size=2, nb_epochs=1, seed=0)
    return clf


def numpy_activations(clf: NeuralNetwork, x: NDArray[np.float32]) -> NDArray[Any]:
    return clf.get_activations(x, 0)


def tensor_activations(clf: KerasClassifier, x: NDArray[np.float32]) -> tf.Tensor:
    return clf.get_activations(x, "dense", framework=True)


def tensor_activations_batched(clf: TensorFlowV2Classifier, x: tf.Tensor) -> tf.Tensor:
    return clf.get_activations(x, -1, 32, True)  # tf.Tensor is accepted as input too


def saved(clf: KerasClassifier) -> KerasClassifier:
    path: str = clf.save("model.keras")
    return KerasClassifier.load(path, use_logits=True)
