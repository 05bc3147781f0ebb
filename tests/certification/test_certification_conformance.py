"""The conformance kit on smoothed classifiers: its reference problem and the shipped adapters."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from trustml.certification import RandomizedSmoothing

conformance = pytest.importorskip("trustml.conformance")


def _run(smoothed: Any) -> None:
    report = conformance.check_estimator(smoothed, verbose=False)
    certify_ids = {r.check_id for r in report.results if r.capability == "Certifier"}
    assert {"certify_shapes_dtypes", "certify_abstain", "certify_seed_reproducible"} <= certify_ids
    report.raise_for_failures()


def test_reference_problem_passes_every_check() -> None:
    _run(RandomizedSmoothing(conformance.ReferenceLinearClassifier(), 0.5, n=200, seed=0))


def test_sklearn_adapter() -> None:
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from trustml.adapters.sklearn import wrap

    x, y = load_iris(return_X_y=True)
    model = wrap(LogisticRegression(max_iter=300).fit(x, y))
    _run(RandomizedSmoothing(model, 0.25, n=100, nb_gradient_samples=2, seed=0))


def test_torch_adapter() -> None:
    torch = pytest.importorskip("torch")
    from trustml.adapters.torch import PyTorchClassifier

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 8), torch.nn.Tanh(),
                              torch.nn.Linear(8, 3))
    # a larger learning rate than Adam's default: the kit's fit checks relearn shifted labels in
    # 20 epochs of noisy batches, and abstentions of the smoothed predict count as errors
    model = PyTorchClassifier(net, torch.nn.CrossEntropyLoss(), (3, 2, 2), 3,
                              optimizer=torch.optim.Adam(net.parameters(), lr=0.02),
                              preprocessing=(np.array([0.1, 0.2, 0.3]), np.array([0.5, 1.0, 2.0])),
                              device="cpu")
    _run(RandomizedSmoothing(model, 0.25, n=100, nb_gradient_samples=2, seed=0))


def test_keras_adapter() -> None:
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    from trustml.adapters.tensorflow import KerasClassifier

    keras.utils.set_random_seed(0)
    net = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="tanh"),
                            keras.layers.Dense(3, activation="softmax")])
    net.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy")
    model = KerasClassifier(net)
    _run(RandomizedSmoothing(model, 0.25, n=100, nb_gradient_samples=2, seed=0))
