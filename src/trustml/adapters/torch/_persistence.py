"""Weights in and out: checkpoints through ``state_dict``, re-initialisation, fresh optimizers.

Loading uses ``torch.load(..., weights_only=True)``, which refuses arbitrary pickled objects instead
of executing them, and compares keys and shapes with the model before copying anything, so a
mismatched checkpoint leaves the model as it was.
"""

from __future__ import annotations

import os
import pickle
from typing import Any

import torch

from trustml.adapters.torch._randomness import draw_seed, seeded
from trustml.errors import ParameterError
from trustml.rng import SeedLike

__all__ = ["load", "optimizer_like", "reinitialise", "save"]


def save(path: str | os.PathLike[str], model: torch.nn.Module,
         optimizer: torch.optim.Optimizer | None) -> None:
    """Write ``{"model": state_dict[, "optimizer": state_dict]}`` with ``torch.save``."""
    state: dict[str, Any] = {"model": model.state_dict()}
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    torch.save(state, path)


def load(path: str | os.PathLike[str], model: torch.nn.Module,
         optimizer: torch.optim.Optimizer | None, device: torch.device) -> None:
    """Read a checkpoint written by :func:`save` into ``model`` (and ``optimizer``).

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ParameterError
        Not such a checkpoint, objects other than tensors and plain containers, or keys or shapes
        that do not match the model.
    """
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ParameterError(
            f"path: expected a checkpoint of tensors written by save(), got a file that "
            f"weights_only loading refuses ({exc})"
        ) from None
    if not isinstance(state, dict) or not isinstance(state.get("model"), dict):
        raise ParameterError(
            f"path: expected a checkpoint written by PyTorchClassifier.save, got "
            f"{type(state).__name__}"
        )
    current = model.state_dict()
    saved: dict[str, Any] = state["model"]
    missing = sorted(set(current) - set(saved))
    unexpected = sorted(set(saved) - set(current))
    mismatched = sorted(
        k for k in set(current) & set(saved)
        if not isinstance(saved[k], torch.Tensor) or saved[k].shape != current[k].shape
    )
    if missing or unexpected or mismatched:
        raise ParameterError(
            f"path: expected weights matching the model, got missing keys {missing}, "
            f"unexpected keys {unexpected}, shape mismatches {mismatched}"
        )
    if optimizer is not None and "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
    model.load_state_dict(saved)


def reinitialise(model: torch.nn.Module, optimizer: torch.optim.Optimizer | None,
                 device: torch.device, seed: SeedLike) -> None:
    """Call every submodule's ``reset_parameters`` with torch seeded from ``seed`` and clear the
    optimizer's state (momenta)."""
    with seeded(draw_seed(seed), device), torch.no_grad():
        for module in model.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                reset()
    if optimizer is not None:
        optimizer.state.clear()


def optimizer_like(optimizer: torch.optim.Optimizer, old: torch.nn.Module,
                   new: torch.nn.Module) -> torch.optim.Optimizer:
    """A fresh optimizer of ``optimizer``'s class and parameter-group settings over ``new``'s
    parameters (``new`` a deep copy of ``old``); parameters outside ``old`` are dropped."""
    index = {id(p): i for i, p in enumerate(old.parameters())}
    new_params = list(new.parameters())
    groups = []
    for group in optimizer.param_groups:
        settings = {k: v for k, v in group.items() if k != "params"}
        members = [new_params[index[id(p)]] for p in group["params"] if id(p) in index]
        groups.append({**settings, "params": members})
    return type(optimizer)(groups, **optimizer.defaults)
