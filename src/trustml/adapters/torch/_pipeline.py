"""Preprocessing in torch: defences (torch-native and numpy, in any order), then standardisation.

Torch-native defences (:class:`TorchPreprocessor`) run on the device inside autograd, so their
true gradient flows back. Runs of consecutive numpy defences (:class:`trustml.preprocessing.
Preprocessor`) are wrapped in one ``torch.autograd.Function`` whose forward is
:meth:`trustml.preprocessing.PreprocessingChain.defend_vjp` and whose backward is the pullback it
returns (each defence's ``estimate_gradient``, BPDA for :class:`trustml.preprocessing.
FunctionPreprocessor` without a gradient; Athalye, Carlini, Wagner, ICML 2018). Standardisation
``(x - subtrahend) / divisor`` runs in torch from tensors built once per device and dtype.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from trustml.errors import LabelError, ParameterTypeError
from trustml.preprocessing import PreprocessingChain, Preprocessor, Pullback

__all__ = [
    "DefenceLike",
    "Pipeline",
    "TorchFunctionPreprocessor",
    "TorchPreprocessor",
]


@runtime_checkable
class TorchPreprocessor(Protocol):
    """A preprocessing defence written in torch (ART's ``PreprocessorPyTorch``): it runs on the
    model's device inside autograd, so gradients flow through it exactly."""

    @property
    def apply_fit(self) -> bool:
        """Whether the defence is applied to training batches in ``fit``."""
        ...

    @property
    def apply_predict(self) -> bool:
        """Whether the defence is applied in ``predict`` and in every gradient."""
        ...

    def forward(
        self, x: torch.Tensor, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Defended ``(x, y)``: same shapes, differentiable in ``x``, no in-place change of ``x``.
        ``y`` is None at predict time and one-hot float ``(N, nb_classes)`` in ``fit``."""
        ...


@dataclass(frozen=True)
class TorchFunctionPreprocessor:
    """A :class:`TorchPreprocessor` made from a differentiable torch function ``x -> x'``.

    Parameters
    ----------
    function : callable
        ``torch.Tensor -> torch.Tensor`` of the same shape, without in-place changes of its input.
    apply_fit, apply_predict : bool
        Where the defence applies.
    """

    function: Callable[[torch.Tensor], torch.Tensor]
    apply_fit: bool = True
    apply_predict: bool = True

    def forward(
        self, x: torch.Tensor, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.function(x), y


DefenceLike = TorchPreprocessor | Preprocessor
"""What ``preprocessing_defences`` holds: torch-native or numpy defences, mixed freely."""


def _host(x: torch.Tensor) -> np.ndarray[Any, Any]:
    x = x.detach()
    if x.dtype in (torch.float16, torch.bfloat16):
        x = x.float()
    return np.asarray(x.cpu().numpy())


def _back(arr: Any, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(arr)).to(device=like.device, dtype=like.dtype)


class _NumpyDefences(torch.autograd.Function):
    """A run of numpy defences as one autograd node (forward: defend_vjp; backward: pullback)."""

    @staticmethod
    def forward(ctx: Any, *args: Any) -> Any:
        x, chain = args
        out, pullback = chain.defend_vjp(_host(x))
        ctx.pullback = pullback
        return _back(out, x)

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        (grad,) = grads
        pullback: Pullback = ctx.pullback
        return _back(pullback(_host(grad)), grad), None


_numpy_defences: Callable[[torch.Tensor, PreprocessingChain], torch.Tensor] = (
    _NumpyDefences.apply
)


@dataclass(frozen=True)
class _TorchStep:
    defence: TorchPreprocessor


@dataclass(frozen=True)
class _NumpyStep:
    chain: PreprocessingChain  # a run of consecutive numpy defences, no standardisation


def _split(defences: Any, input_shape: tuple[int, ...], channels_first: bool
           ) -> tuple[tuple[Any, ...], tuple[_TorchStep | _NumpyStep, ...]]:
    if defences is None:
        return (), ()
    if isinstance(defences, (TorchPreprocessor, Preprocessor)):
        items: tuple[Any, ...] = (defences,)
    else:
        try:
            items = tuple(defences)
        except TypeError:
            raise ParameterTypeError(
                "preprocessing_defences: expected a defence (trustml.preprocessing.Preprocessor "
                "or trustml.adapters.torch.TorchPreprocessor) or a sequence of them, got "
                f"{type(defences).__name__}"
            ) from None
    steps: list[_TorchStep | _NumpyStep] = []
    run: list[Preprocessor] = []

    def close_run() -> None:
        if run:
            steps.append(_NumpyStep(PreprocessingChain(
                None, input_shape=input_shape, channels_first=channels_first,
                preprocessing_defences=list(run))))
            run.clear()

    for i, item in enumerate(items):
        if isinstance(item, TorchPreprocessor):
            close_run()
            steps.append(_TorchStep(item))
        elif isinstance(item, Preprocessor):
            run.append(item)
        else:
            raise ParameterTypeError(
                f"preprocessing_defences[{i}]: expected a trustml.preprocessing.Preprocessor "
                f"(numpy) or a trustml.adapters.torch.TorchPreprocessor, got {type(item).__name__}"
            )
    close_run()
    return items, tuple(steps)


class Pipeline:
    """Defences then standardisation, in torch, for one adapter.

    Parameters
    ----------
    chain : PreprocessingChain
        Holds the standardisation (and the postprocessing defences, applied by the adapter).
    defences : defence or sequence of defences, optional
        :class:`TorchPreprocessor` and :class:`trustml.preprocessing.Preprocessor` in any mix.

    Raises
    ------
    ParameterTypeError
        A defence that satisfies neither protocol.
    """

    def __init__(
        self,
        chain: PreprocessingChain,
        defences: DefenceLike | Sequence[DefenceLike] | None,
        *,
        input_shape: tuple[int, ...],
        channels_first: bool,
    ) -> None:
        self.chain = chain
        self.defences, self.steps = _split(defences, input_shape, channels_first)
        self._identity = chain.standardisation.is_identity
        self._tensors: dict[
            tuple[torch.device, torch.dtype], tuple[torch.Tensor, torch.Tensor]
        ] = {}

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        """``(x - subtrahend) / divisor`` with tensors cached per (device, dtype)."""
        if self._identity:
            return x
        key = (x.device, x.dtype)
        pair = self._tensors.get(key)
        if pair is None:
            std = self.chain.standardisation
            pair = (
                torch.tensor(np.array(std.subtrahend)).to(device=x.device, dtype=x.dtype),
                torch.tensor(np.array(std.divisor)).to(device=x.device, dtype=x.dtype),
            )
            self._tensors[key] = pair
        return (x - pair[0]) / pair[1]

    def predict_input(self, x: torch.Tensor) -> torch.Tensor:
        """The model's input for the raw batch ``x`` at predict time (connected to ``x``)."""
        for step in self.steps:
            if isinstance(step, _TorchStep):
                if step.defence.apply_predict:
                    x = step.defence.forward(x, None)[0]
            elif any(d.apply_predict for d in step.chain.defences):
                x = _numpy_defences(x, step.chain)
        return self.standardise(x)

    def fit_input(
        self, x: torch.Tensor, y: torch.Tensor, nb_classes: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Model input and loss target for a training batch.

        ``y`` holds index labels ``(N,)`` int64. Defences flagged ``apply_fit`` see one-hot float
        labels; when one returns labels that are no longer one-hot (label smoothing, say), the
        target becomes those class probabilities ``(N, nb_classes)``, which
        ``torch.nn.CrossEntropyLoss`` accepts.

        Raises
        ------
        LabelError
            A defence returned labels of the wrong shape.
        """
        active = [s for s in self.steps if isinstance(s, _NumpyStep)
                  and any(d.apply_fit for d in s.chain.defences)
                  or isinstance(s, _TorchStep) and s.defence.apply_fit]
        if not active:
            return self.standardise(x), y
        onehot = torch.nn.functional.one_hot(y, nb_classes).to(x.dtype)
        soft: torch.Tensor | None = onehot
        for step in active:
            if isinstance(step, _TorchStep):
                x, soft = step.defence.forward(x, soft)
            else:
                arr, y_arr = step.chain.defend(
                    _host(x), None if soft is None else _host(soft), fit=True)
                x = _back(arr, x)
                soft = None if y_arr is None else _back(y_arr, onehot)
        if soft is None:
            return self.standardise(x), y
        if tuple(soft.shape) != (y.shape[0], nb_classes):
            raise LabelError(
                f"preprocessing_defences: expected labels of shape ({y.shape[0]}, {nb_classes}) "
                f"from a defence in fit, got {tuple(soft.shape)}"
            )
        is_onehot = bool(((soft == 0) | (soft == 1)).all() and (soft.sum(dim=1) == 1).all())
        target = soft.argmax(dim=1) if is_onehot else soft
        return self.standardise(x), target
