"""Factory for the ``trustml monitor`` test: a small PyTorch MLP trained on digits 0-4."""

from __future__ import annotations

from typing import Any

import numpy as np


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = (d.data / 16.0).astype(np.float32), d.target
    return x[y < 5], y[y < 5], x[y >= 5]


def build() -> Any:
    import torch

    from trustml.adapters.torch import PyTorchClassifier

    torch.manual_seed(0)
    x, y, _ = digits_split()
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 5))
    clf = PyTorchClassifier(model, torch.nn.CrossEntropyLoss(), (64,), 5,
                            optimizer=torch.optim.Adam(model.parameters(), 1e-2))
    clf.fit(x[:400], y[:400], batch_size=64, nb_epochs=15, seed=0)
    return clf
