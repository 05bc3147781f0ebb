"""RandomizedSmoothing over the shipped adapters (skipped where a framework is missing)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from certification_models import binary_linear

from trustml.certification import (
    RandomizedSmoothing,
    TrainableDifferentiableSmoothedClassifier,
    predicted_labels,
)


class PredictOnly:
    """Exposes only the Classifier members of a model (hides the NoisyCounter fast path)."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self.input_shape = model.input_shape
        self.clip_values = model.clip_values
        self.preprocessing = model.preprocessing
        self.nb_classes = model.nb_classes
        self.rows: list[int] = []

    def predict(self, x: Any, batch_size: int = 128) -> Any:
        self.rows.append(len(x))
        return self._model.predict(x, batch_size=batch_size)


def _torch_linear() -> Any:
    torch = pytest.importorskip("torch")
    from trustml.adapters.torch import PyTorchClassifier

    torch.manual_seed(0)
    net = torch.nn.Linear(6, 2).double()
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[0.0] * 6, [3.0, -4.0, 0, 0, 0, 0]], dtype=torch.float64))
        net.bias.copy_(torch.tensor([0.0, 0.5], dtype=torch.float64))
    return PyTorchClassifier(net, torch.nn.CrossEntropyLoss(), (6,), 2,
                             preprocessing=(0.0, 1.0), device="cpu")


def test_torch_fast_path_agrees_with_the_predict_path() -> None:
    torch_model = _torch_linear()
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    reference = binary_linear(np.array([3.0, -4.0, 0, 0, 0, 0]), 0.5)
    # signed distances to the boundary w . x + b = 0 (w = (3, -4, 0...), b = 0.5), away from it
    w = np.array([3.0, -4.0, 0, 0, 0, 0])
    d = np.array([0.15, -0.2, 0.4, -0.5, 0.7, -0.3])
    x = (d - 0.1)[:, None] * w / 5 + np.random.default_rng(0).normal(size=(6, 6)) * (w == 0)
    fast = RandomizedSmoothing(torch_model, 0.25, batch_size=2000)
    slow_model = PredictOnly(torch_model)
    slow = RandomizedSmoothing(slow_model, 0.25, batch_size=2000)
    exact = RandomizedSmoothing(reference, 0.25, batch_size=2000)
    n = 20_000
    lf, rf = fast.certify(x, n, seed=1)
    ls, rs = slow.certify(x, n, seed=1)
    le, re = exact.certify(x, n, seed=2)
    assert max(slow_model.rows) <= 2000
    np.testing.assert_array_equal(lf, le)
    np.testing.assert_array_equal(ls, le)
    # the three estimate the same smoothed radius; different noise, so Monte Carlo tolerance
    np.testing.assert_allclose(rf, re, atol=0.03)
    np.testing.assert_allclose(rs, re, atol=0.03)
    np.testing.assert_array_equal(fast.certify(x, 500, seed=3)[1], fast.certify(x, 500, seed=3)[1])


def test_torch_smoothed_capabilities_and_gradients() -> None:
    model = _torch_linear()
    smoothed = RandomizedSmoothing(model, 0.25, nb_gradient_samples=4, seed=0)
    assert isinstance(smoothed, TrainableDifferentiableSmoothedClassifier)
    x = np.random.default_rng(1).normal(size=(3, 6))
    grad = smoothed.loss_gradient(x, [0, 1, 1])
    assert grad.shape == x.shape
    labels = predicted_labels(smoothed.predict(x + np.array([3.0, -4, 0, 0, 0, 0]), n=200))
    np.testing.assert_array_equal(labels, 1)


def test_sklearn_logistic_regression() -> None:
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from trustml.adapters.sklearn import wrap

    x, y = load_iris(return_X_y=True)
    model = wrap(LogisticRegression(max_iter=500).fit(x, y))
    smoothed = RandomizedSmoothing(model, 0.1, batch_size=500)
    assert isinstance(smoothed, TrainableDifferentiableSmoothedClassifier)
    labels, _ = smoothed.certify(x[::10], 500, seed=0)
    assert labels.shape == (15,) and (labels[labels >= 0] == y[::10][labels >= 0]).mean() > 0.8
    smoothed.fit(x, y, batch_size=50, nb_epochs=1, seed=0)  # Gaussian augmentation
    assert (smoothed.classifier.predict(x).argmax(1) == y).mean() > 0.8
