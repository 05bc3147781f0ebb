"""Activation transforms (:class:`~trustml.protocols.ActivationTransforms`) as forward hooks that
exist only for the duration of one call.

:meth:`Core.mode <trustml.adapters.torch._core.Core.mode>`, which every operation of the adapter
enters, installs one forward hook per transformed layer (plus one forward pre-hook on the root
model) and removes them on exit, also after an exception: between calls the user's module carries
no hook of ours, and its weights and structure are never touched. The hook returns
``clamp(output, clip_min, clip_max) * scale``, so the rest of the forward pass, the losses, every
autograd gradient and the ``get_activations`` capture hook (registered later, so it sees the hook's
result) use the transformed value.

A module that the forward pass calls several times (a shared activation function) is transformed
at its **first** call of each forward pass only: the call ``layer_names`` and ``get_activations``
refer to. A layer returning a tuple or list has its first element transformed, the element
``get_activations`` returns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import torch

from trustml.activations import ActivationTransform, check_transform
from trustml.adapters.torch._layers import capture
from trustml.errors import ParameterError

if TYPE_CHECKING:
    from trustml.adapters.torch._core import Core

__all__ = ["installed", "output_shape", "transform_tensor"]


def transform_tensor(
    out: torch.Tensor, transform: ActivationTransform, scale: torch.Tensor | None
) -> torch.Tensor:
    """``clamp(out, clip_min, clip_max) * scale`` in torch (``scale`` already on ``out``'s
    device and dtype); autograd flows through it (0 outside the clip's bounds)."""
    if transform.clip_min is not None or transform.clip_max is not None:
        out = torch.clamp(out, min=transform.clip_min, max=transform.clip_max)
    if scale is not None:
        out = out * scale
    return out


def output_shape(core: Core, module: torch.nn.Module, name: str) -> tuple[int, ...]:
    """The (floating) output shape of one sample of ``module``, from a forward pass on a zero
    sample in eval mode, with the transforms installed now (earlier layers' transforms can
    change nothing about shapes, but the pass must be the one the adapter runs).

    Raises
    ------
    ParameterError
        The forward pass does not reach ``module``, or its output is not a floating tensor.
    """
    zeros = torch.zeros((1, *core.input_shape), device=core.device, dtype=core.dtype)
    with core.mode(False), torch.no_grad():
        out = capture(module, name, lambda: core.model(core.pipeline.predict_input(zeros)))
    if not isinstance(out, torch.Tensor) or not out.is_floating_point():
        got = f"a {out.dtype} tensor" if isinstance(out, torch.Tensor) else type(out).__name__
        raise ParameterError(
            f"layer: expected a layer whose output is a floating tensor to transform, got "
            f"{name!r}, whose output is {got}"
        )
    return tuple(int(d) for d in out.shape[1:])


def validated(
    core: Core, name: str, module: torch.nn.Module, transform: object
) -> ActivationTransform | None:
    """``transform`` checked against the layer (type first, then the scale's shape).

    Raises
    ------
    ParameterTypeError, ParameterError
    """
    if transform is None:
        return None
    check_transform(transform, name, None)  # the type, before running anything
    return check_transform(transform, name, output_shape(core, module, name))


def _make_hook(
    transform: ActivationTransform, scale: torch.Tensor | None, first: set[str], name: str
) -> Callable[[torch.nn.Module, Any, Any], Any]:
    cache: dict[tuple[torch.device, torch.dtype], torch.Tensor] = {}

    def hook(module: torch.nn.Module, args: Any, output: Any) -> Any:
        if name in first:  # a later call of a shared module in the same forward pass
            return None
        first.add(name)
        head = output[0] if isinstance(output, (tuple, list)) else output
        s = None
        if scale is not None:
            key = (head.device, head.dtype)
            if key not in cache:
                cache[key] = scale.to(device=head.device, dtype=head.dtype)
            s = cache[key]
        new = transform_tensor(head, transform, s)
        if isinstance(output, (tuple, list)):
            return type(output)([new, *output[1:]])
        return new

    return hook


@contextmanager
def installed(
    model: torch.nn.Module, transforms: dict[str, ActivationTransform]
) -> Iterator[None]:
    """The transforms as forward hooks on ``model``'s submodules for the block; every hook is
    removed on exit, also after an exception. Nothing is registered when ``transforms`` is
    empty."""
    if not transforms:
        yield
        return
    first: set[str] = set()
    handles: list[torch.utils.hooks.RemovableHandle] = []

    def reset(module: torch.nn.Module, args: Any) -> None:
        first.clear()

    try:
        handles.append(model.register_forward_pre_hook(reset))
        for name, transform in transforms.items():
            scale = None if transform.scale is None else torch.from_numpy(transform.scale.copy())
            module = model.get_submodule(name)
            handles.append(module.register_forward_hook(_make_hook(transform, scale, first, name)))
        yield
    finally:
        for handle in handles:
            handle.remove()
