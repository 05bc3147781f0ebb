"""Static checks (mypy --strict, with stubs/mxnet): MXNetClassifier has every capability.

Nothing here runs; mypy proves that the adapter satisfies the protocols structurally, with
the stubs standing in for mxnet where mxnet is not installed.
"""

from __future__ import annotations

from typing import Any

import mxnet as mx
import numpy as np
from mxnet import gluon, nd
from numpy.typing import NDArray

from trustml.adapters.mxnet import MXNetClassifier
from trustml.protocols import (
    Fittable,
    NeuralNetwork,
    NeuralNetworkClassifier,
    WhiteBoxClassifier,
)


def build(net: gluon.Block) -> MXNetClassifier:
    return MXNetClassifier(
        net, gluon.loss.SoftmaxCrossEntropyLoss(), (3, 8, 8), 10,
        optimizer=("sgd", {"learning_rate": 0.1}), preprocessing=([0.5] * 3, [0.25] * 3),
        ctx=mx.cpu(),
    )


def as_everything(clf: MXNetClassifier) -> NeuralNetworkClassifier:
    return clf


def as_white_box(clf: MXNetClassifier) -> WhiteBoxClassifier:
    return clf


def as_parts(clf: MXNetClassifier) -> tuple[Fittable, NeuralNetwork]:
    return clf, clf


def activations(clf: MXNetClassifier, x: NDArray[np.float32]) -> tuple[NDArray[Any], nd.NDArray]:
    return clf.get_activations(x, 0), clf.get_activations(x, "0", framework=True)
