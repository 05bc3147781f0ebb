"""Layer names in execution order, and one layer's output, with every hook removed afterwards.

The order of ``layer_names`` is found by running the model once on a zero batch with a forward hook
on every named submodule (at any depth, dotted names such as ``features.3``): a module is listed
when its forward *returns*, the moment its activation exists, so a container comes after its
children. Modules that the forward pass never calls are not listed; a module called several times
(a shared activation function, say) is listed at its first call, and :func:`capture` returns the
output of that first call. This works for any ``forward`` (residual blocks, functional code), not
only ``torch.nn.Sequential``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from trustml.errors import ParameterError

__all__ = ["capture", "execution_order"]


class _Stop(Exception):
    """Raised by the capture hook to skip the rest of the forward pass."""


def execution_order(model: torch.nn.Module, run: Callable[[], Any]) -> list[str]:
    """Names of ``model``'s submodules in the order their forward returns during ``run()``."""
    order: list[str] = []
    seen: set[str] = set()
    handles = []

    def make_hook(name: str) -> Callable[..., None]:
        def hook(module: torch.nn.Module, args: Any, output: Any) -> None:
            if name not in seen:
                seen.add(name)
                order.append(name)
        return hook

    try:
        for name, module in model.named_modules():
            if name:
                handles.append(module.register_forward_hook(make_hook(name)))
        run()
    finally:
        for handle in handles:
            handle.remove()
    return order


def capture(module: torch.nn.Module, name: str, run: Callable[[], Any]) -> Any:
    """The output of ``module``'s first call during ``run()``; the rest of the forward is skipped.

    A module returning a tuple or list (``torch.nn.MultiheadAttention``, an LSTM) gives its first
    element. The hook is removed before returning, also after an exception.
    """
    box: list[Any] = []

    def hook(mod: torch.nn.Module, args: Any, output: Any) -> None:
        box.append(output[0] if isinstance(output, (tuple, list)) else output)
        raise _Stop

    handle = module.register_forward_hook(hook)
    try:
        run()
    except _Stop:
        pass
    finally:
        handle.remove()
    if not box:
        raise ParameterError(
            f"layer: expected a layer that the forward pass calls, got {name!r}, which this "
            "input's forward pass did not reach"
        )
    return box[0]
