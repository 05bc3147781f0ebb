"""Small seeded models shared by the ART interop tests (imported after importorskip("art"))."""

from __future__ import annotations

from typing import Any

import numpy as np

MEAN = (0.4, 0.5, 0.6)
STD = (0.25, 0.5, 2.0)
IMAGE = (3, 8, 8)
CLASSES = 4


def images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, *IMAGE), dtype=np.float32)


def labels(n: int, seed: int = 1, k: int = CLASSES) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, k, n)


def torch_cnn(seed: int = 0) -> Any:
    import torch

    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
        torch.nn.Linear(4 * 6 * 6, CLASSES),
    )


def art_torch(net: Any, *, optimizer: bool = False) -> Any:
    """ART's own PyTorchClassifier over ``net`` (loss reduction "mean", per-channel standard-
    isation, clip values [0, 1])."""
    import torch
    from art.estimators.classification import PyTorchClassifier

    return PyTorchClassifier(
        net, loss=torch.nn.CrossEntropyLoss(), input_shape=IMAGE, nb_classes=CLASSES,
        optimizer=torch.optim.SGD(net.parameters(), lr=0.05) if optimizer else None,
        clip_values=(0.0, 1.0),
        preprocessing=(np.array(MEAN).reshape(3, 1, 1), np.array(STD).reshape(3, 1, 1)),
        device_type="cpu",
    )


def trustml_torch(net: Any) -> Any:
    import torch

    from trustml.adapters.torch import PyTorchClassifier

    return PyTorchClassifier(
        net, torch.nn.CrossEntropyLoss(), IMAGE, CLASSES, clip_values=(0.0, 1.0),
        preprocessing=(MEAN, STD), device="cpu",
    )


def tabular(n_per_class: int = 10, k: int = 3, d: int = 6, seed: int = 0) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    templates = rng.uniform(0.2, 0.8, size=(k, d))
    y = np.repeat(np.arange(k), n_per_class)
    x = np.clip(templates[y] + 0.1 * rng.standard_normal((len(y), d)), 0.0, 1.0)
    return x.astype(np.float32), y


class PredictOnly:
    """A user's black-box classifier: the Classifier capability and nothing else."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self._inner.input_shape)

    @property
    def clip_values(self) -> Any:
        return self._inner.clip_values

    @property
    def preprocessing(self) -> Any:
        return self._inner.preprocessing

    @property
    def nb_classes(self) -> int:
        return int(self._inner.nb_classes)

    def predict(self, x: Any, batch_size: int = 128) -> Any:
        return self._inner.predict(x, batch_size=batch_size)
