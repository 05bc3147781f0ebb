"""Several layers' outputs from ONE forward pass per batch (the ``MultiLayerActivations`` fast
path used by :mod:`trustml.ood`): a forward hook per requested module records its first output,
and the pass stops once every one has been seen. Every hook is removed before returning."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from trustml.adapters.torch._compute import _grad_context, resolve_layer
from trustml.adapters.torch._core import Core, unaliased
from trustml.adapters.torch._inputs import (
    as_input,
    batch_slices,
    numpy_dtype_for,
    to_device,
    to_numpy,
)
from trustml.errors import ParameterError
from trustml.validation import check_batch_size

__all__ = ["multi_activations"]


class _Done(Exception):
    """Raised by the last hook to skip the rest of the forward pass."""


def _capture_many(
    modules: list[tuple[str, torch.nn.Module]], run: Callable[[], Any]
) -> dict[str, Any]:
    box: dict[str, Any] = {}
    wanted = {name for name, _ in modules}
    handles = []

    def make_hook(name: str) -> Callable[..., None]:
        def hook(mod: torch.nn.Module, args: Any, output: Any) -> None:
            if name not in box:
                box[name] = output[0] if isinstance(output, (tuple, list)) else output
                if wanted <= box.keys():
                    raise _Done
        return hook

    try:
        for name, module in modules:
            handles.append(module.register_forward_hook(make_hook(name)))
        run()
    except _Done:
        pass
    finally:
        for handle in handles:
            handle.remove()
    missing = sorted(wanted - box.keys())
    if missing:
        raise ParameterError(
            f"layers: expected layers that the forward pass calls, got {missing}, which this "
            "input's forward pass did not reach"
        )
    return box


def multi_activations(
    core: Core, names: list[str], x: Any, layers: Any, batch_size: Any, framework: bool,
) -> list[Any]:
    """See ``PyTorchClassifier.get_multi_activations``."""
    bs = check_batch_size(batch_size)
    if isinstance(layers, (str, int)) or not hasattr(layers, "__iter__"):
        raise ParameterError(f"layers: expected a list of layer ids, got {layers!r}")
    resolved = [resolve_layer(core, names, layer) for layer in layers]
    if not resolved:
        raise ParameterError("layers: expected at least one layer id, got []")
    xt = as_input(x, core.input_shape, dtype=core.dtype)
    unique = list({name: module for name, module in resolved}.items())
    np_dtype = numpy_dtype_for(core.dtype)

    def run(xb: torch.Tensor) -> list[Any]:
        box = _capture_many(unique, lambda: core.model(core.pipeline.predict_input(xb)))
        out: list[Any] = []
        for name, _ in resolved:
            act = unaliased(box[name], xt)
            if framework:
                out.append(act)
            else:
                out.append(
                    to_numpy(act, np_dtype) if act.is_floating_point() else act.cpu().numpy()
                )
        return out

    parts: list[list[Any]] = []
    n = xt.shape[0]
    with core.mode(False), _grad_context(xt, framework):
        if n == 0:
            zeros = torch.zeros((1, *core.input_shape), device=core.device, dtype=core.dtype)
            parts.append([a[:0] for a in run(zeros)])
        for sl in batch_slices(n, bs):
            parts.append(run(to_device(xt[sl], core.device, core.dtype)))
    columns = list(zip(*parts, strict=True))
    if framework:
        return [torch.cat(list(col)) for col in columns]
    return [col[0] if len(col) == 1 else np.concatenate(col) for col in columns]
