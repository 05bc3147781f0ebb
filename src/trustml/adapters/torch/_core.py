"""What every operation of the adapter shares: the model on its device, the loss, the preprocessing
pipeline, the layer-mode overrides, and the checked forward pass.

:class:`~trustml.adapters.torch.PyTorchClassifier` holds one :class:`Core` (composition) and the
operation modules (``_compute``, ``_noise``, ``_training``, ``_persistence``) are functions of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from trustml.activations import ActivationTransform
from trustml.adapters.torch._device import model_dtype
from trustml.adapters.torch._inputs import as_labels, to_numpy
from trustml.adapters.torch._pipeline import Pipeline
from trustml.adapters.torch._state import model_mode, reduction_none
from trustml.adapters.torch._transforms import installed
from trustml.errors import ParameterError, ParameterTypeError, UnsupportedModelError
from trustml.preprocessing import PreprocessingChain

__all__ = ["Core", "unaliased"]


@dataclass(eq=False)
class Core:
    """The validated state of one adapter (built by the constructor, never half-updated)."""

    model: torch.nn.Module
    loss: torch.nn.Module
    input_shape: tuple[int, ...]
    nb_classes: int
    device: torch.device
    chain: PreprocessingChain
    pipeline: Pipeline
    overrides: dict[str, bool] = field(default_factory=dict)
    count_autocast: torch.dtype | None = None
    """Mixed-precision dtype of the noisy counting fast path (None: the model's own)."""
    transforms: dict[str, ActivationTransform] = field(default_factory=dict)

    @property
    def dtype(self) -> torch.dtype:
        """The model's computation dtype (read at every call: the user may convert the model)."""
        return model_dtype(self.model)

    def mode(self, training_mode: bool) -> AbstractContextManager[None]:
        """Train/eval mode for one call, with the layer overrides, restored afterwards; the
        activation transforms installed as forward hooks for the call, removed afterwards.

        Raises
        ------
        ParameterTypeError
            ``training_mode`` is not a bool.
        """
        if not isinstance(training_mode, (bool, np.bool_)):
            raise ParameterTypeError(f"training_mode: expected a bool, got {training_mode!r}")
        if not self.transforms:
            return model_mode(self.model, bool(training_mode), self.overrides)
        return self._call_state(bool(training_mode))

    @contextmanager
    def _call_state(self, training: bool) -> Iterator[None]:
        with model_mode(self.model, training, self.overrides), installed(
            self.model, self.transforms
        ):
            yield

    def scores(self, xb: torch.Tensor) -> torch.Tensor:
        """Model output for a raw batch on the device (defences, standardisation, model), checked
        to be ``(b, nb_classes)``.

        Raises
        ------
        UnsupportedModelError
            The model's output is not a ``(b, nb_classes)`` tensor.
        """
        out = self.model(self.pipeline.predict_input(xb))
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (xb.shape[0], self.nb_classes):
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise UnsupportedModelError(
                f"model: expected outputs of shape ({xb.shape[0]}, nb_classes={self.nb_classes}), "
                f"got {got}"
            )
        return out

    def per_sample_loss(self, scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The user's loss with ``reduction="none"`` (restored after), on float32 scores for half
        precision models.

        Raises
        ------
        ParameterError
            The loss does not return one value per sample.
        """
        if scores.dtype in (torch.float16, torch.bfloat16):
            scores = scores.float()  # losses in half precision over/underflow
        with reduction_none(self.loss):
            value = self.loss(scores, target)
        if not isinstance(value, torch.Tensor) or tuple(value.shape) != (scores.shape[0],):
            got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise ParameterError(
                f"loss: expected per-sample losses of shape ({scores.shape[0]},) with "
                f"reduction='none', got {got}"
            )
        return value

    def labels(self, y: Any, n: int, name: str = "y") -> torch.Tensor:
        """Index or one-hot labels (numpy or tensor) as validated int64 indices on the device."""
        return torch.from_numpy(as_labels(y, self.nb_classes, n, name)).to(self.device)

    def postprocess(self, scores: torch.Tensor, framework: bool) -> Any:
        """Scores after the postprocessing defences: numpy float32, or a tensor on the device."""
        if not any(p.apply_predict for p in self.chain.postprocessors):
            return scores if framework else to_numpy(scores, np.float32)
        out = self.chain.postprocess(to_numpy(scores, np.float32))
        return torch.as_tensor(out, device=self.device) if framework else out


def unaliased(out: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
    """``out``, or a copy when it shares memory with the caller's input ``src`` (a model or layer
    that returns its input), so that writing into a result never changes the input."""
    if out.untyped_storage().data_ptr() == src.untyped_storage().data_ptr():
        return out.clone()
    return out


def probe_input_shape(
    model: torch.nn.Module, pipeline: Pipeline, input_shape: tuple[int, ...]
) -> None:
    """One forward pass of a zero batch ``(1, *input_shape)`` (standardised) through ``model`` on
    the device and in the dtype of its parameters, in eval mode (its mode restored afterwards)
    and without autograd: batch normalisation reads its running statistics and never updates
    them, no parameter or buffer changes. The preprocessing defences are not run.

    Raises
    ------
    ParameterError
        The model fails on a batch of that shape (its first layer expects another input shape);
        the message names ``input_shape`` and gives the framework's own first line.
    """
    tensors = [*model.parameters(), *model.buffers()]
    device = tensors[0].device if tensors else torch.device("cpu")
    zeros = torch.zeros((1, *input_shape), device=device, dtype=model_dtype(model))
    try:
        with model_mode(model, False, {}), torch.no_grad():
            model(pipeline.standardise(zeros))
    except Exception as exc:  # the user's forward may raise anything; a typed error names why
        text = str(exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        raise ParameterError(
            f"input_shape: expected the shape of one sample the model accepts, got "
            f"{input_shape}: a forward pass of a (1, *input_shape) batch failed "
            f"({type(exc).__name__}: {first})"
        ) from exc
