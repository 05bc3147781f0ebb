"""The PyTorch adapter (extra ``torch``): :class:`PyTorchClassifier`.

Importing this module imports torch; without it, :class:`~trustml.errors.MissingDependencyError`
gives the install line ``pip install "trustml[torch]"``.

Public names
------------
PyTorchClassifier
    A ``torch.nn.Module`` classifier with the Classifier, Fittable, LossGradients, ClassGradients,
    NeuralNetwork and NoisyCounter capabilities.
TorchPreprocessor
    Protocol of preprocessing defences written in torch (run on the device, inside autograd).
TorchFunctionPreprocessor
    A TorchPreprocessor made from a differentiable torch function.
count_hooks
    Forward hooks registered on a model (unchanged by every adapter call).
"""

from __future__ import annotations

from trustml._deps import require

require("torch", "torch", purpose="trustml.adapters.torch")

from trustml.adapters.torch._classifier import PyTorchClassifier
from trustml.adapters.torch._pipeline import (
    TorchFunctionPreprocessor,
    TorchPreprocessor,
)
from trustml.adapters.torch._state import count_hooks

__all__ = ["PyTorchClassifier", "TorchFunctionPreprocessor", "TorchPreprocessor", "count_hooks"]
