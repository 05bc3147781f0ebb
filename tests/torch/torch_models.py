"""Small models for the PyTorch adapter tests (tiny: the test machine has 2 shared CPU cores)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from torch import nn
from torch.nn import functional as F

from trustml.adapters.torch import PyTorchClassifier

CNN_SHAPE = (3, 8, 8)
MLP_SHAPE = (6,)
PER_CHANNEL = ((0.1, 0.2, 0.3), (0.5, 1.5, 2.0))
PER_FEATURE = ((0.0, 0.1, -0.2, 0.3, 0.05, -0.1), (1.0, 2.0, 0.5, 1.5, 0.8, 1.2))


def make_cnn(seed: int = 0, classes: int = 4) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(4, 5, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(5 * 4 * 4, classes),
    )


class ResNetFunctional(nn.Module):
    """A residual network with a functional forward; declared in an order that differs from the
    execution order (head first, stem last)."""

    def __init__(self, classes: int = 4) -> None:
        super().__init__()
        self.head = nn.Linear(4 * 4 * 4, classes)
        self.block2 = nn.Conv2d(4, 4, 3, padding=1)
        self.block1 = nn.Conv2d(4, 4, 3, padding=1)
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.act = nn.Softplus()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.stem(x))
        h = h + self.act(self.block1(h))
        h = h + torch.tanh(self.block2(h))
        h = F.avg_pool2d(h, 2)
        return self.head(h.flatten(1))


def make_resnet(seed: int = 0, classes: int = 4) -> nn.Module:
    torch.manual_seed(seed)
    return ResNetFunctional(classes)


def make_mlp(seed: int = 0, classes: int = 3, hidden: int = 8) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, hidden), nn.Tanh(), nn.Linear(hidden, classes))


def wrap(
    model: nn.Module, shape: tuple[int, ...], classes: int, **kwargs: object
) -> PyTorchClassifier:
    kwargs.setdefault("device", "cpu")
    return PyTorchClassifier(model, nn.CrossEntropyLoss(), shape, classes, **kwargs)  # type: ignore[arg-type]
