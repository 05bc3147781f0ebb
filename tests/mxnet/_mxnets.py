"""Small Gluon networks shared by the MXNet adapter tests (imported by the test modules)."""

from __future__ import annotations

import mxnet as mx
import numpy as np
from mxnet import gluon

from trustml.adapters.mxnet import MXNetClassifier

CNN_SHAPE = (3, 8, 8)
CNN_MEAN = [0.5, 0.4, 0.3]
CNN_STD = [0.25, 0.5, 2.0]


def seeded(seed: int) -> None:
    mx.random.seed(seed)


def mlp(dtype: str = "float64", hybridize: bool = False, seed: int = 0) -> gluon.HybridBlock:
    """Dense(6, tanh) -> [Dense(5, tanh) -> Dense(3)], a nested HybridSequential on 4 features."""
    seeded(seed)
    net = gluon.nn.HybridSequential()
    inner = gluon.nn.HybridSequential()
    inner.add(gluon.nn.Dense(5, activation="tanh"), gluon.nn.Dense(3))
    net.add(gluon.nn.Dense(6, activation="tanh"), inner)
    net.initialize(mx.init.Normal(0.8), ctx=mx.cpu())
    net.cast(dtype)
    if hybridize:
        net.hybridize()
    return net


def mixed(dtype: str = "float64", seed: int = 0) -> gluon.Block:
    """A plain (non-hybrid) Sequential holding a hybridized HybridSequential and a Dense."""
    seeded(seed)
    net = gluon.nn.Sequential()
    inner = gluon.nn.HybridSequential()
    inner.add(gluon.nn.Dense(6, activation="tanh"), gluon.nn.Dense(5, activation="tanh"))
    inner.hybridize()
    net.add(inner, gluon.nn.Dense(3))
    net.initialize(mx.init.Normal(0.8), ctx=mx.cpu())
    net.cast(dtype)
    return net


def cnn(dtype: str = "float64", hybridize: bool = False, seed: int = 0) -> gluon.HybridBlock:
    """Conv(4, 3x3, tanh) -> AvgPool(2) -> Flatten -> Dense(3) on (3, 8, 8) images."""
    seeded(seed)
    net = gluon.nn.HybridSequential()
    net.add(
        gluon.nn.Conv2D(4, 3, padding=1, activation="tanh"),
        gluon.nn.AvgPool2D(2),
        gluon.nn.Flatten(),
        gluon.nn.Dense(3),
    )
    net.initialize(mx.init.Normal(0.5), ctx=mx.cpu())
    net.cast(dtype)
    if hybridize:
        net.hybridize()
    return net


def mlp_classifier(hybridize: bool = False, **kwargs: object) -> MXNetClassifier:
    kwargs.setdefault("preprocessing", ([0.1, -0.2, 0.3, 0.0], [0.5, 1.0, 2.0, 1.5]))
    return MXNetClassifier(
        mlp(hybridize=hybridize), gluon.loss.SoftmaxCrossEntropyLoss(), (4,), 3, **kwargs
    )


def mixed_classifier(**kwargs: object) -> MXNetClassifier:
    kwargs.setdefault("preprocessing", ([0.1, -0.2, 0.3, 0.0], [0.5, 1.0, 2.0, 1.5]))
    return MXNetClassifier(mixed(), gluon.loss.SoftmaxCrossEntropyLoss(), (4,), 3, **kwargs)


def cnn_classifier(hybridize: bool = False, **kwargs: object) -> MXNetClassifier:
    kwargs.setdefault("preprocessing", (CNN_MEAN, CNN_STD))
    return MXNetClassifier(
        cnn(hybridize=hybridize), gluon.loss.SoftmaxCrossEntropyLoss(), CNN_SHAPE, 3, **kwargs
    )


def data(shape: tuple[int, ...], n: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(0.0, 1.0, (n, *shape)), rng.integers(0, 3, n)
