"""The batched computations: scores, per-sample losses, input gradients, activations.

Every function validates its inputs first, then runs batch by batch inside the core's mode context
(the model's flags restored afterwards). Gradients are taken with ``torch.autograd.grad`` with
respect to the raw batch only, so the parameters' ``.grad`` stay untouched; numpy results leave the
device batch by batch so device memory is bounded by the batch.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, TypeAlias

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from trustml.adapters.torch._core import Core, unaliased
from trustml.adapters.torch._inputs import (
    as_input,
    batch_slices,
    host_labels,
    numpy_dtype_for,
    to_device,
    to_numpy,
)
from trustml.adapters.torch._layers import capture
from trustml.labels import class_gradient_targets
from trustml.protocols import Reduction
from trustml.validation import check_batch_size, check_layer, check_reduction

__all__ = [
    "activations", "class_gradient", "compute_loss", "loss_from_predictions", "loss_gradient",
    "predict", "resolve_layer",
]

GradFn = Callable[[torch.Tensor, slice], torch.Tensor]

TorchInput: TypeAlias = "ArrayLike | torch.Tensor"
"""Inputs and labels: numpy-compatible arrays or tensors (on any device)."""

Result: TypeAlias = "NDArray[Any] | torch.Tensor"
"""numpy on the host, or the framework's tensor with ``framework=True``."""


def _grad_context(x: torch.Tensor, framework: bool) -> AbstractContextManager[Any]:
    """Keep autograd for framework outputs of an input that requires grad; else no_grad."""
    if framework and x.requires_grad:
        return torch.enable_grad()
    return torch.no_grad()


def predict(
    core: Core, x: TorchInput, batch_size: int, training_mode: bool, framework: bool
) -> Result:
    """Scores ``(N, nb_classes)`` after postprocessing; see ``PyTorchClassifier.predict``."""
    bs = check_batch_size(batch_size)
    xt = as_input(x, core.input_shape, dtype=core.dtype)
    dtype = core.dtype
    outs: list[torch.Tensor] = []
    with core.mode(training_mode), _grad_context(xt, framework):
        for sl in batch_slices(xt.shape[0], bs):
            outs.append(unaliased(core.scores(to_device(xt[sl], core.device, dtype)), xt))
    scores = (
        torch.cat(outs) if outs
        else torch.empty((0, core.nb_classes), device=core.device, dtype=dtype)
    )
    out: Result = core.postprocess(scores, framework)
    return out


def compute_loss(
    core: Core, x: TorchInput, y: TorchInput, reduction: Reduction, batch_size: int,
    training_mode: bool, framework: bool,
) -> Result:
    """Per-sample losses, optionally reduced; see ``PyTorchClassifier.compute_loss``."""
    check_reduction(reduction)
    bs = check_batch_size(batch_size)
    xt = as_input(x, core.input_shape, dtype=core.dtype)
    yt = core.labels(y, xt.shape[0])
    dtype = core.dtype
    parts: list[torch.Tensor] = []
    with core.mode(training_mode), _grad_context(xt, framework):
        for sl in batch_slices(xt.shape[0], bs):
            scores = core.scores(to_device(xt[sl], core.device, dtype))
            parts.append(core.per_sample_loss(scores, yt[sl]))
    out_dtype = torch.float64 if dtype == torch.float64 else torch.float32
    losses = (
        torch.cat(parts).to(out_dtype) if parts
        else torch.zeros(0, device=core.device, dtype=out_dtype)
    )
    if reduction == "mean":
        losses = losses.mean()
    elif reduction == "sum":
        losses = losses.sum()
    return losses if framework else to_numpy(losses, numpy_dtype_for(dtype))


def _gradients(
    core: Core, xt: torch.Tensor, batch_size: int, training_mode: bool, framework: bool,
    grad: GradFn, extra: tuple[int, ...],
) -> Result:
    """Run ``grad(raw batch requiring grad, slice)`` batch by batch."""
    n = xt.shape[0]
    dtype = core.dtype
    shape = (n, *extra, *core.input_shape)
    np_dtype = numpy_dtype_for(dtype)
    parts: list[torch.Tensor] = []
    # several batches: host copies batch by batch into one array; one batch: no extra copy
    out = np.empty(shape, np_dtype) if not framework and n > batch_size else None
    with core.mode(training_mode), torch.enable_grad():
        for sl in batch_slices(n, batch_size):
            xb = to_device(xt[sl].detach(), core.device, dtype).detach().requires_grad_(True)
            g = grad(xb, sl)
            if out is None:
                parts.append(g.detach())
            else:
                out[sl] = to_numpy(g, np_dtype)
    if out is not None:
        return out
    if not framework:
        return to_numpy(parts[0], np_dtype) if parts else np.zeros(shape, np_dtype)
    return torch.cat(parts) if parts else torch.zeros(shape, device=core.device, dtype=dtype)


def loss_gradient(
    core: Core, x: TorchInput, y: TorchInput, batch_size: int, training_mode: bool,
    framework: bool,
) -> Result:
    """Gradient of the summed per-sample loss; see ``PyTorchClassifier.loss_gradient``."""
    bs = check_batch_size(batch_size)
    xt = as_input(x, core.input_shape, dtype=core.dtype)
    yt = core.labels(y, xt.shape[0])

    def grad(xb: torch.Tensor, sl: slice) -> torch.Tensor:
        total = core.per_sample_loss(core.scores(xb), yt[sl]).sum()
        return torch.autograd.grad(total, xb)[0]

    return _gradients(core, xt, bs, training_mode, framework, grad, ())


def class_gradient(
    core: Core, x: TorchInput, label: TorchInput | None, batch_size: int, training_mode: bool,
    framework: bool,
) -> Result:
    """Gradient of the model's output; see ``PyTorchClassifier.class_gradient``."""
    bs = check_batch_size(batch_size)
    xt = as_input(x, core.input_shape, dtype=core.dtype)
    n = xt.shape[0]
    classes = core.nb_classes
    targets = class_gradient_targets(host_labels(label, "label"), classes, n)
    chosen = None if targets is None else torch.from_numpy(targets).to(core.device)

    def grad(xb: torch.Tensor, sl: slice) -> torch.Tensor:
        scores = core.scores(xb)
        if chosen is not None:
            picked = scores.gather(1, chosen[sl].view(-1, 1)).sum()
            return torch.autograd.grad(picked, xb)[0].unsqueeze(1)
        rows = [  # one backward pass per class (never per sample): rows are independent
            torch.autograd.grad(scores[:, c].sum(), xb, retain_graph=c < classes - 1)[0]
            for c in range(classes)
        ]
        return torch.stack(rows, dim=1)

    extra = (classes if chosen is None else 1,)
    return _gradients(core, xt, bs, training_mode, framework, grad, extra)


def resolve_layer(
    core: Core, names: list[str], layer: int | str
) -> tuple[str, torch.nn.Module]:
    """``(name, module)`` for an index into ``names`` or a name.

    Raises
    ------
    ParameterError
        Unknown name or index out of range.
    ParameterTypeError
        Neither an int nor a str.
    """
    name = names[check_layer(layer, names)]
    return name, core.model.get_submodule(name)


def activations(
    core: Core, names: list[str], x: TorchInput, layer: int | str, batch_size: int,
    framework: bool, training_mode: bool,
) -> Result:
    """One layer's output; see ``PyTorchClassifier.get_activations``."""
    bs = check_batch_size(batch_size)
    xt = as_input(x, core.input_shape, dtype=core.dtype)
    name, module = resolve_layer(core, names, layer)
    dtype = core.dtype
    np_dtype = numpy_dtype_for(dtype)

    def run(xb: torch.Tensor) -> Result:
        out = capture(module, name, lambda: core.model(core.pipeline.predict_input(xb)))
        act = unaliased(out, xt)
        if framework:
            return act
        return to_numpy(act, np_dtype) if act.is_floating_point() else act.cpu().numpy()

    parts: list[Any] = []
    n = xt.shape[0]
    with core.mode(training_mode), _grad_context(xt, framework):
        if n == 0:  # run one zero sample to learn the layer's output shape
            zeros = torch.zeros((1, *core.input_shape), device=core.device, dtype=dtype)
            parts.append(run(zeros)[:0])
        for sl in batch_slices(n, bs):
            parts.append(run(to_device(xt[sl], core.device, dtype)))
    if framework:
        return torch.cat(parts)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def loss_from_predictions(core: Core, pred: Any, y: Any, reduction: Any, framework: bool) -> Any:
    """The user's loss on given scores; see ``PyTorchClassifier.compute_loss_from_predictions``."""
    check_reduction(reduction)
    scores = as_input(pred, (core.nb_classes,), name="pred")
    yt = core.labels(y, scores.shape[0])
    dtype = core.dtype
    with _grad_context(scores, framework):
        losses = core.per_sample_loss(to_device(scores, core.device, dtype), yt)
        losses = losses.to(torch.float64 if dtype == torch.float64 else torch.float32)
        if reduction == "mean":
            losses = losses.mean()
        elif reduction == "sum":
            losses = losses.sum()
    return losses if framework else to_numpy(losses, numpy_dtype_for(dtype))
