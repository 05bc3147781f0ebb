"""The demo's models, one small network per framework, trained on digits ``(N, 8, 8)`` and
returned wrapped in the framework's trustml adapter: scikit-learn's ``MLPClassifier`` (one hidden
layer of 128 units), and in PyTorch, TensorFlow / Keras and MXNet Gluon a small CNN (two 3x3
convolutions, 2x2 max-pooling, a 64-unit dense layer). The audit step trains its models with
recipes under which Neural Cleanse is reliable on clean models (see :func:`train`)."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["FRAMEWORKS", "MODULES", "prepare", "shaped", "train"]

FRAMEWORKS = ("sklearn", "torch", "tensorflow", "mxnet")
MODULES = {"sklearn": "sklearn", "torch": "torch", "tensorflow": "keras", "mxnet": "mxnet"}
"""The module each framework needs (its extra has the framework's name)."""
EPOCHS = 8


def noisy_copies(x: NDArray[np.float32], y: NDArray[np.int64], sigma: float, copies: int,
                 seed: int) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """``x`` followed by ``copies`` copies with Gaussian noise of std ``sigma`` (Cohen et al.,
    ICML 2019, Section 4: the base classifier is trained under the noise it is certified
    with)."""
    if sigma == 0 or copies == 0:
        return x, y
    rng = np.random.default_rng([seed, 2])
    xs = np.concatenate([x] + [x + rng.normal(0.0, sigma, x.shape).astype(np.float32)
                               for _ in range(copies)])
    return xs, np.tile(y, copies + 1)


def _schedule(audit: bool) -> dict[str, int]:
    """Training schedule of the CNNs: 8 epochs of 128 (the noisy copies make 5x the data), or for
    the audit's models (no noise) 12 epochs of 32, trained until the clean labels' reversed
    triggers are alike in size."""
    return {"batch_size": 32, "nb_epochs": 12} if audit else {"batch_size": 128,
                                                             "nb_epochs": EPOCHS}


def shaped(clf: Any, x: NDArray[Any]) -> NDArray[Any]:
    """Images ``(N, 8, 8)`` laid out as ``clf``'s input."""
    return x.reshape((len(x), *clf.input_shape))


def _sklearn(x: NDArray[np.float32], y: NDArray[np.int64], nb_classes: int, seed: int,
             audit: bool = False) -> Any:
    from sklearn.neural_network import MLPClassifier

    from trustml.adapters.sklearn import wrap

    # the audit's models: 64 units and a strong L2 penalty (0.1), whose reversed triggers of
    # clean labels are alike in size (Neural Cleanse flags nothing on the clean one)
    model = MLPClassifier(hidden_layer_sizes=(64,) if audit else (128,),
                          alpha=0.1 if audit else 1e-3, max_iter=300 if audit else 200,
                          random_state=seed)
    model.fit(x.reshape(len(x), -1), y)
    return wrap(model, clip_values=(0.0, 1.0), input_shape=(8, 8))


def _torch(x: NDArray[np.float32], y: NDArray[np.int64], nb_classes: int, seed: int,
           audit: bool = False) -> Any:
    import torch

    from trustml.adapters.torch import PyTorchClassifier

    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(16 * 4 * 4, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, nb_classes),
    )
    clf = PyTorchClassifier(
        net, loss=torch.nn.CrossEntropyLoss(), input_shape=(1, 8, 8), nb_classes=nb_classes,
        optimizer=torch.optim.Adam(net.parameters(), lr=2e-3), clip_values=(0.0, 1.0),
        preprocessing=(0.3, 0.4), device="cpu",
    )
    schedule = _schedule(audit)
    clf.fit(x[:, None], y, batch_size=schedule["batch_size"], nb_epochs=schedule["nb_epochs"],
            seed=seed)
    return clf


def _tensorflow(x: NDArray[np.float32], y: NDArray[np.int64], nb_classes: int, seed: int,
                audit: bool = False) -> Any:
    import keras

    from trustml.adapters.tensorflow import KerasClassifier

    keras.utils.set_random_seed(seed)
    if audit:
        # the audit's Keras models: an MLP with an L2 penalty (1e-4), 20 epochs of 32; the CNN's
        # clean labels get reversed triggers too unlike in size for Neural Cleanse
        reg = keras.regularizers.L2(1e-4)  # type: ignore[attr-defined]  # not in stubs/keras
        layers = [keras.layers.Flatten(),
                  keras.layers.Dense(64, activation="relu", kernel_regularizer=reg),
                  keras.layers.Dense(nb_classes, kernel_regularizer=reg)]
        rate, schedule = 3e-3, {"batch_size": 32, "nb_epochs": 20}
    else:
        layers = [keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
                  keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
                  keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                  keras.layers.Dense(64, activation="relu"), keras.layers.Dense(nb_classes)]
        rate, schedule = 2e-3, _schedule(False)
    model = keras.Sequential([keras.Input((8, 8, 1)), *layers])
    model.compile(optimizer=keras.optimizers.Adam(rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    clf = KerasClassifier(model, use_logits=True, clip_values=(0.0, 1.0))
    clf.fit(x[..., None], y, batch_size=schedule["batch_size"], nb_epochs=schedule["nb_epochs"],
            seed=seed)
    if audit:  # unlearning fine-tunes a copy whose Adam restarts: a lower rate
        model.optimizer.learning_rate.assign(2e-3)
    return clf


def prepare(framework: str) -> None:
    """Settings a framework needs before its first import: for MXNet, the reference convolution
    kernels (MXNet 1.9.1's oneDNN / MKLDNN convolution backward gives non-deterministic input
    gradients on CPU, two identical calls differing by half the gradient's size, which the
    kit's gradient checks catch; see docs/adapters/mxnet.md). No effect once it is imported."""
    if framework == "mxnet" and "mxnet" not in sys.modules:
        os.environ.setdefault("MXNET_MKLDNN_ENABLED", "0")
        os.environ.setdefault("MXNET_STORAGE_FALLBACK_LOG_VERBOSE", "0")


def _mxnet(x: NDArray[np.float32], y: NDArray[np.int64], nb_classes: int, seed: int,
           audit: bool = False) -> Any:
    prepare("mxnet")
    import mxnet as mx
    from mxnet import gluon

    from trustml.adapters.mxnet import MXNetClassifier

    mx.random.seed(seed)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Conv2D(8, 3, padding=1, activation="relu"),
            gluon.nn.Conv2D(16, 3, padding=1, activation="relu"),
            gluon.nn.MaxPool2D(2), gluon.nn.Flatten(),
            gluon.nn.Dense(64, activation="relu"), gluon.nn.Dense(nb_classes))
    net.initialize(mx.init.Xavier())
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 2e-3})
    clf = MXNetClassifier(net, loss=gluon.loss.SoftmaxCrossEntropyLoss(), input_shape=(1, 8, 8),
                          nb_classes=nb_classes, optimizer=trainer, clip_values=(0.0, 1.0))
    clf.fit(x[:, None], y, **_schedule(audit))
    return clf


_TRAINERS: dict[str, Callable[..., Any]] = {
    "sklearn": _sklearn, "torch": _torch, "tensorflow": _tensorflow, "mxnet": _mxnet,
}


def train(framework: str, x: NDArray[np.float32], y: NDArray[np.int64], *, nb_classes: int = 10,
          sigma: float = 0.0, seed: int = 0, audit: bool = False) -> Any:
    """Train ``framework``'s demo model on images ``x`` ``(N, 8, 8)`` in [0, 1] and labels ``y``
    (with four noisy copies of std ``sigma`` when ``sigma > 0``); returns the trustml adapter.
    ``audit`` selects the audit step's recipe."""
    xs, ys = noisy_copies(x, y, sigma, copies=4, seed=seed)
    extra = {"audit": True} if audit else {}
    with warnings.catch_warnings():
        # a fixed iteration budget keeps the demo short; the models are accurate regardless
        warnings.filterwarnings("ignore", message=".*(converge|Maximum iterations).*")
        return _TRAINERS[framework](xs, ys, nb_classes, seed, **extra)
