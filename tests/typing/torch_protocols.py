"""Static checks (mypy --strict): PyTorchClassifier satisfies every capability it claims, and its
``framework=`` overloads give numpy arrays or tensors as documented.

Nothing here runs at import; mypy checks the bodies.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from typing_extensions import assert_type

from trustml.adapters.torch import PyTorchClassifier, TorchFunctionPreprocessor, TorchPreprocessor
from trustml.preprocessing import FunctionPreprocessor
from trustml.protocols import (
    ClassGradients,
    Classifier,
    Fittable,
    FittableClassifier,
    LossGradients,
    NeuralNetwork,
    NeuralNetworkClassifier,
    NoisyCounter,
    WhiteBoxClassifier,
)


def build() -> PyTorchClassifier:
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 3))
    torch_defence: TorchPreprocessor = TorchFunctionPreprocessor(lambda t: t.clamp(0, 1))
    return PyTorchClassifier(
        model,
        torch.nn.CrossEntropyLoss(),
        (3, 2, 2),
        3,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        preprocessing=((0.5, 0.5, 0.5), (0.2, 0.2, 0.2)),
        preprocessing_defences=[FunctionPreprocessor(np.tanh), torch_defence],
        device="cpu",
    )


def capabilities(clf: PyTorchClassifier) -> None:
    a: Classifier = clf
    b: Fittable = clf
    c: LossGradients = clf
    d: ClassGradients = clf
    e: NeuralNetwork = clf
    f: NoisyCounter = clf
    g: WhiteBoxClassifier = clf
    h: FittableClassifier = clf
    i: NeuralNetworkClassifier = clf
    del a, b, c, d, e, f, g, h, i


def overloads(clf: PyTorchClassifier, x: NDArray[np.float32], y: NDArray[np.int64]) -> None:
    assert_type(clf.predict(x), NDArray[np.float32])
    assert_type(clf.predict(torch.from_numpy(x), framework=True), torch.Tensor)
    assert_type(clf.loss_gradient(x, y), NDArray[Any])
    assert_type(clf.loss_gradient(x, y, framework=True), torch.Tensor)
    assert_type(clf.class_gradient(x, 0), NDArray[Any])
    assert_type(clf.class_gradient(x, framework=True), torch.Tensor)
    assert_type(clf.compute_loss(x, y, "mean"), NDArray[Any])
    assert_type(clf.get_activations(x, 0), NDArray[Any])
    assert_type(clf.get_activations(x, "1", framework=True), torch.Tensor)
    assert_type(clf.count_noisy_predictions(x, 0.25, 100, batch_size=64, seed=0), NDArray[np.int64])
    assert_type(clf.layer_names, list[str])
    assert_type(clf.device, torch.device)
    clf.fit(x, y, batch_size=16, nb_epochs=2, seed=0)
    clf.set_dropout(False)
