"""Hidden state, put back: train/eval modes, the loss reduction, forward hooks.

Every public call of the adapter runs inside these context managers, so the wrapped model and loss
look exactly the same before and after the call, whatever happens in between (ART leaves the
model in the last mode it set and adds a hook per ``get_activations`` call).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

__all__ = ["LAYER_KINDS", "count_hooks", "model_mode", "reduction_none", "restored_on_error"]

LAYER_KINDS: dict[str, tuple[type[torch.nn.Module], ...]] = {
    "dropout": (torch.nn.modules.dropout._DropoutNd,),
    "batchnorm": (torch.nn.modules.batchnorm._BatchNorm,),
    "multihead_attention": (torch.nn.MultiheadAttention,),
}
"""The layer families whose mode ``set_dropout`` / ``set_batchnorm`` / ``set_multihead_attention``
override."""


@contextmanager
def model_mode(
    model: torch.nn.Module, training: bool, overrides: dict[str, bool]
) -> Iterator[None]:
    """Put ``model`` in train (``training=True``) or eval mode, then force the layer families in
    ``overrides`` (keys of :data:`LAYER_KINDS`) into their own mode; restore every module's
    previous flag on exit, also after an exception."""
    modules = list(model.modules())
    previous = [m.training for m in modules]
    try:
        for module in modules:
            wanted = training
            for kind, train in overrides.items():
                if isinstance(module, LAYER_KINDS[kind]):
                    wanted = train
            if module.training != wanted:  # Module.__setattr__ is slow: only write changes
                module.training = wanted
        yield
    finally:
        for module, flag in zip(modules, previous):
            if module.training != flag:
                module.training = flag


@contextmanager
def reduction_none(loss: Any) -> Iterator[None]:
    """Set ``loss.reduction = "none"`` for the block and restore the user's value after."""
    previous = loss.reduction
    try:
        loss.reduction = "none"
        yield
    finally:
        loss.reduction = previous


def count_hooks(model: torch.nn.Module) -> int:
    """Number of forward (pre-)hooks registered on ``model`` and its submodules (for tests and
    the conformance kit: it must be the same before and after every call)."""
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


@contextmanager
def restored_on_error(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> Iterator[None]:
    """Keep a copy of the weights (buffers included) and the optimizer's state for the block, and
    put both back if it raises: a batch refused late in ``fit_generator`` leaves the model as it
    was before the call (the cost is one copy of the parameters, on their own device)."""
    weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
    opt_state = copy.deepcopy(optimizer.state_dict())
    try:
        yield
    except BaseException:
        with torch.no_grad():
            model.load_state_dict(weights)
        optimizer.load_state_dict(opt_state)
        raise
