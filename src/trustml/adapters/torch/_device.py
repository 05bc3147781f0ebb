"""Where the model runs: parsing ``device=`` and reading the model's floating dtype."""

from __future__ import annotations

from typing import Any

import torch

from trustml.errors import DeviceError, ParameterError, ParameterTypeError

__all__ = ["check_autocast_dtype", "model_dtype", "resolve_device"]


def resolve_device(device: Any, name: str = "device") -> torch.device:
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or a ``torch.device`` into an
    available ``torch.device``.

    ``"auto"`` picks ``cuda`` (the current CUDA device) when CUDA is available, else ``cpu``. A bare
    ``"cuda"`` is pinned to the current CUDA device index so that tensors and the model agree.

    Raises
    ------
    ParameterTypeError
        ``device`` is neither a string nor a ``torch.device``.
    DeviceError
        The string is malformed, or the device is not available on this machine (no CUDA, an index
        past ``torch.cuda.device_count()``, no MPS, or a device type trustml does not drive).
    """
    if isinstance(device, str) and device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")
    if isinstance(device, str):
        try:
            dev = torch.device(device)
        except (RuntimeError, ValueError):
            raise DeviceError(
                f"{name}: expected 'auto', 'cpu', 'cuda', 'cuda:N', 'mps' or a torch.device, "
                f"got {device!r}"
            ) from None
    elif isinstance(device, torch.device):
        dev = device
    else:
        raise ParameterTypeError(
            f"{name}: expected a str or a torch.device, got {type(device).__name__}"
        )
    if dev.type == "cpu":
        return torch.device("cpu")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"{name}: expected an available device, got {device!r} (CUDA is not "
                              "available on this machine; use 'cpu' or 'auto')")
        index = torch.cuda.current_device() if dev.index is None else dev.index
        count = torch.cuda.device_count()
        if index >= count:
            raise DeviceError(
                f"{name}: expected a CUDA device index in [0, {count}), got {device!r}"
            )
        return torch.device("cuda", index)
    if dev.type == "mps":
        if not torch.backends.mps.is_available():
            raise DeviceError(f"{name}: expected an available device, got {device!r} (MPS is not "
                              "available on this machine)")
        return dev
    raise DeviceError(f"{name}: expected a cpu, cuda or mps device, got {device!r}")


def model_dtype(model: torch.nn.Module) -> torch.dtype:
    """The dtype of the model's first floating parameter (or buffer); float32 when it has none."""
    for param in model.parameters():
        if param.is_floating_point():
            return param.dtype
    for buffer in model.buffers():
        if buffer.is_floating_point():
            return buffer.dtype
    return torch.float32


_AUTOCAST = {"bfloat16": torch.bfloat16, "float16": torch.float16}


def check_autocast_dtype(value: Any, name: str) -> torch.dtype | None:
    """None, or the ``torch.autocast`` dtype named by ``"bfloat16"`` / ``"float16"`` (or given
    as ``torch.bfloat16`` / ``torch.float16``).

    Raises
    ------
    ParameterError
        Any other value.
    """
    if value is None:
        return None
    if isinstance(value, str) and value in _AUTOCAST:
        return _AUTOCAST[value]
    if isinstance(value, torch.dtype) and value in _AUTOCAST.values():
        return value
    raise ParameterError(
        f"{name}: expected None, 'bfloat16' or 'float16' (or the torch dtypes), got {value!r}"
    )
