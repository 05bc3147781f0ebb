"""Labels: one place that turns index or one-hot labels into validated arrays.

Every trustml method that takes labels accepts both formats:

- index labels, shape ``(N,)``, any integer dtype (or floats holding whole numbers), values in
  ``[0, nb_classes)``;
- one-hot labels, shape ``(N, nb_classes)``, every row all zeros except a single one.

Anything else raises :class:`~trustml.errors.LabelError` naming the parameter and the offending
value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.errors import LabelError, ParameterError

__all__ = ["check_nb_classes", "class_gradient_targets", "to_index", "to_one_hot"]


def check_nb_classes(nb_classes: Any, name: str = "nb_classes") -> int:
    """Validate a class count: an integer >= 2.

    Raises
    ------
    ParameterError
        If ``nb_classes`` is not an integer or is smaller than 2.
    """
    if isinstance(nb_classes, bool) or not isinstance(nb_classes, (int, np.integer)):
        raise ParameterError(f"{name}: expected an integer >= 2, got {nb_classes!r}")
    if nb_classes < 2:
        raise ParameterError(f"{name}: expected an integer >= 2, got {nb_classes}")
    return int(nb_classes)


def to_index(
    y: ArrayLike, nb_classes: int, *, n: int | None = None, name: str = "y"
) -> NDArray[np.int64]:
    """Convert index or one-hot labels to validated index labels.

    Parameters
    ----------
    y : array_like
        Index labels ``(N,)`` or one-hot labels ``(N, nb_classes)``. Not modified.
    nb_classes : int
        Number of classes.
    n : int, optional
        Expected number of samples (the length of the matching ``x``).
    name : str
        Parameter name used in error messages.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` int64, a new array.

    Raises
    ------
    LabelError
        Wrong shape, wrong length, non-integral values, values outside ``[0, nb_classes)``, or
        one-hot rows that are not exactly one 1 and zeros elsewhere; a ragged nested sequence.
    """
    try:
        arr = np.asarray(y)
    except ValueError:
        raise LabelError(
            f"{name}: expected index or one-hot labels, got a ragged sequence"
        ) from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise LabelError(f"{name}: expected numeric labels, got dtype {arr.dtype}")
    if arr.ndim == 1:
        if np.issubdtype(arr.dtype, np.bool_):
            raise LabelError(f"{name}: expected integer class indices, got dtype bool")
        if np.issubdtype(arr.dtype, np.complexfloating):
            raise LabelError(f"{name}: expected integer class indices, got dtype {arr.dtype}")
        if np.issubdtype(arr.dtype, np.floating):
            bad = ~np.isfinite(arr) | (arr != np.round(arr))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise LabelError(
                    f"{name}: expected integer class indices, got {arr[i].item()!r} at position {i}"
                )
        idx = arr.astype(np.int64)
        out_of_range = (idx < 0) | (idx >= nb_classes)
        if out_of_range.any():
            i = int(np.flatnonzero(out_of_range)[0])
            raise LabelError(
                f"{name}: expected class indices in [0, {nb_classes}), got {arr[i].item()!r} "
                f"at position {i}"
            )
    elif arr.ndim == 2:
        if arr.shape[1] != nb_classes:
            raise LabelError(
                f"{name}: expected index labels (N,) or one-hot labels (N, {nb_classes}), "
                f"got shape {arr.shape}"
            )
        ones = arr == 1
        valid = (ones | (arr == 0)).all(axis=1) & (ones.sum(axis=1) == 1)
        if not valid.all():
            i = int(np.flatnonzero(~valid)[0])
            raise LabelError(
                f"{name}: expected one-hot rows (a single 1, zeros elsewhere), "
                f"got {arr[i].tolist()!r} at row {i}"
            )
        idx = np.argmax(arr, axis=1).astype(np.int64)
    else:
        raise LabelError(
            f"{name}: expected index labels (N,) or one-hot labels (N, {nb_classes}), "
            f"got shape {arr.shape}"
        )
    if n is not None and idx.shape[0] != n:
        raise LabelError(f"{name}: expected {n} labels (one per sample of x), got {idx.shape[0]}")
    return idx


def to_one_hot(
    y: ArrayLike, nb_classes: int, *, n: int | None = None, name: str = "y"
) -> NDArray[np.float32]:
    """Convert index or one-hot labels to validated one-hot labels.

    Returns
    -------
    numpy.ndarray
        ``(N, nb_classes)`` float32, a new array.

    Raises
    ------
    LabelError
        As :func:`to_index`.
    """
    idx = to_index(y, nb_classes, n=n, name=name)
    out = np.zeros((idx.shape[0], nb_classes), dtype=np.float32)
    out[np.arange(idx.shape[0]), idx] = 1.0
    return out




def class_gradient_targets(
    label: Any, nb_classes: int, n: int, *, name: str = "label"
) -> NDArray[np.int64] | None:
    """The ``label`` argument of ``class_gradient``, in every adapter: the class of each sample.

    Parameters
    ----------
    label : None, int, or array_like
        None (every class: returns None); a Python or numpy int, the same class for all ``n``
        samples; or index labels ``(n,)`` / one-hot labels ``(n, nb_classes)``, one class per
        sample (as every label-taking method accepts, see :func:`to_index`).
    nb_classes : int
        Number of classes.
    n : int
        Number of samples of the matching ``x``.
    name : str
        Parameter name used in error messages.

    Returns
    -------
    numpy.ndarray or None
        ``(n,)`` int64 class indices, or None for ``label=None``.

    Raises
    ------
    LabelError
        An int outside ``[0, nb_classes)``; a scalar that is not an int (``1.5``, ``True``, a
        string); labels that :func:`to_index` rejects.
    """
    if label is None:
        return None
    if np.ndim(label) == 0 and np.asarray(label).dtype.kind in "iu":  # 0-d integer arrays too
        label = int(np.asarray(label))
    if isinstance(label, (int, np.integer)) and not isinstance(label, (bool, np.bool_)):
        if not 0 <= int(label) < nb_classes:
            raise LabelError(f"{name}: expected a class index in [0, {nb_classes}), got {label}")
        return np.full(n, int(label), dtype=np.int64)
    if np.ndim(label) == 0:
        raise LabelError(
            f"{name}: expected None, an int class index, index labels ({n},) or one-hot labels "
            f"({n}, {nb_classes}), got {label!r}"
        )
    return to_index(label, nb_classes, n=n, name=name)
