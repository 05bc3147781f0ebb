"""Inputs in, outputs out: numpy arrays or tensors (on any device) validated once, then batched.

Validation follows :mod:`trustml.validation`: shape ``(N, *input_shape)`` through
:func:`~trustml.validation.check_shape`, a real numeric dtype, and finiteness checked once over the
whole input (one ``torch.isfinite`` of its sum; see :func:`_all_finite`). The caller's array or
tensor is never written to: numpy inputs are wrapped without a copy (read-only arrays included)
and every batch is converted into a new tensor, or aliased only where no in-place operation
follows.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from trustml.errors import DeviceError, InputValueError
from trustml.labels import to_index
from trustml.validation import as_array, check_shape

__all__ = [
    "as_input", "as_labels", "batch_slices", "host_labels", "numpy_dtype_for", "to_device",
    "to_numpy",
]


def _numpy_input(x: Any, name: str) -> NDArray[Any]:
    arr = as_array(x, name)
    if arr.dtype == object or np.issubdtype(arr.dtype, np.complexfloating) or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise InputValueError(f"{name}: expected a real numeric array, got dtype {arr.dtype}")
    return arr


def _wrap(arr: NDArray[Any]) -> torch.Tensor:
    """A CPU tensor over ``arr`` without copying where torch allows it (never written to)."""
    with warnings.catch_warnings():
        # read-only arrays: torch warns that writing would be undefined; trustml never writes
        warnings.simplefilter("ignore", UserWarning)
        try:
            return torch.from_numpy(arr)
        except (TypeError, ValueError):  # negative strides, non-native byte order, exotic dtypes
            return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float64))


def _all_finite(x: torch.Tensor) -> bool:
    """Whether every entry of a floating tensor is finite, with one reduction over the whole input.

    The sum of the entries is finite exactly when no entry is NaN or inf, unless finite entries
    overflow when added; only then (a non-finite sum) does the exact elementwise
    ``torch.isfinite(x).all()`` run. On one CPU thread the sum of a 256x3x32x32 float32 batch
    takes about 0.1 ms where ``torch.isfinite(x).all()`` takes about 3 ms (6% of a small CNN's
    forward pass).
    """
    x = x.detach()
    total = x.sum(dtype=torch.float64 if x.dtype == torch.float64 else torch.float32)
    if bool(torch.isfinite(total)):
        return True
    return bool(torch.isfinite(x).all())


def _check_device(t: torch.Tensor, name: str) -> None:
    if t.device.type == "meta":
        raise DeviceError(
            f"{name}: expected a tensor with data (on the CPU or an accelerator), got a tensor on "
            "the meta device"
        )


def _within(x: torch.Tensor, dtype: torch.dtype | None) -> bool:
    """Whether every entry is finite and, where ``dtype`` is a narrower float, stays finite once
    cast to it: one ``aminmax`` over the input (twice the cost of the sum in :func:`_all_finite`),
    only when the cast narrows (a float64 array into a float32 model)."""
    if dtype is None or not dtype.is_floating_point or not x.is_floating_point():
        return _all_finite(x)
    limit = torch.finfo(dtype).max
    if torch.finfo(x.dtype).max <= limit:
        return _all_finite(x)
    lo, hi = torch.aminmax(x.detach())
    finite = bool(torch.isfinite(lo)) and bool(torch.isfinite(hi))
    return finite and max(-float(lo), float(hi)) <= limit


def as_input(
    x: Any, input_shape: tuple[int, ...], name: str = "x", dtype: torch.dtype | None = None
) -> torch.Tensor:
    """Validate ``x`` and return it as a tensor on its own device, in its own dtype.

    Parameters
    ----------
    x : array_like or torch.Tensor
        ``(N, *input_shape)``, real numeric (bool, int or float), finite. Never modified.
    dtype : torch.dtype or None
        The model's dtype the batches are cast to later: values must stay finite in it (a float64
        ``1e39`` is finite but overflows float32).

    Returns
    -------
    torch.Tensor
        ``x`` itself for a tensor, or a CPU tensor sharing a numpy array's memory. Callers convert
        batches with :func:`to_device` and never write into the result.

    Raises
    ------
    InputShapeError
        Not ``(N, *input_shape)`` (with a hint when the channel axis looks misplaced).
    InputValueError
        Ragged nested sequence; complex or non-numeric dtype; NaN or inf values; values that
        overflow ``dtype``.
    DeviceError
        A tensor on the ``meta`` device (no data).
    """
    if isinstance(x, torch.Tensor):
        _check_device(x, name)
        if x.is_complex() or x.dtype in (torch.quint8, torch.qint8, torch.qint32):
            raise InputValueError(f"{name}: expected a real numeric tensor, got dtype {x.dtype}")
        check_shape(tuple(x.shape), input_shape, name)
        tensor = x
    else:
        arr = _numpy_input(x, name)
        check_shape(arr.shape, input_shape, name)
        tensor = _wrap(arr)
    if tensor.is_floating_point() and tensor.numel() and not _within(tensor, dtype):
        detached = tensor.detach()
        bad = (~torch.isfinite(detached)).nonzero()
        if bad.shape[0]:
            first = tuple(int(i) for i in bad[0].tolist())
            raise InputValueError(
                f"{name}: expected finite values, got {bad.shape[0]} NaN/inf entries "
                f"(first at index {first})"
            )
        limit = torch.finfo(dtype).max if dtype is not None else float("inf")
        over = (detached.abs() > limit).nonzero()
        first = tuple(int(i) for i in over[0].tolist())
        raise InputValueError(
            f"{name}: expected values within the range of {dtype} (|value| <= {limit:.6g}), got "
            f"{over.shape[0]} entries that overflow to inf in {dtype} (first at index {first})"
        )
    return tensor


def as_labels(y: Any, nb_classes: int, n: int, name: str = "y") -> NDArray[np.int64]:
    """Index or one-hot labels (numpy or tensor) as validated ``(N,)`` int64 indices.

    Raises
    ------
    LabelError
        See :func:`trustml.labels.to_index`.
    """
    return to_index(host_labels(y, name), nb_classes, n=n, name=name)


def host_labels(y: Any, name: str = "y") -> Any:
    """Labels given as a torch tensor, as a numpy array on the host; anything else unchanged."""
    if isinstance(y, torch.Tensor):
        _check_device(y, name)
        y = y.detach()
        if y.dtype in (torch.float16, torch.bfloat16):
            y = y.float()
        return y.cpu().numpy()
    return y


def to_device(x: torch.Tensor, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Move a batch to ``device`` in ``dtype`` (a no-op alias when it is already there).

    Host-to-CUDA copies go through pinned memory with ``non_blocking=True``; the cast happens on the
    device after the copy.
    """
    if x.device != device and device.type == "cuda" and x.device.type == "cpu":
        x = x.pin_memory().to(device, non_blocking=True)
    return x.to(device=device, dtype=dtype)


def batch_slices(n: int, batch_size: int) -> Iterator[slice]:
    """``slice(0, b), slice(b, 2b), ...`` covering ``range(n)``."""
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))


def numpy_dtype_for(dtype: torch.dtype) -> type[np.floating[Any]]:
    """numpy dtype of gradients and activations: float64 for float64 models, else float32
    (numpy has no bfloat16, and float16 gradients lose too much to be useful)."""
    return np.float64 if dtype == torch.float64 else np.float32


def to_numpy(t: torch.Tensor, dtype: type[np.floating[Any]]) -> NDArray[Any]:
    """A detached host copy of ``t`` as a numpy array of ``dtype``."""
    t = t.detach()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    return np.asarray(t.cpu().numpy(), dtype=dtype)
