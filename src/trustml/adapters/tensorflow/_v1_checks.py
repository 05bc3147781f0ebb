"""Checks of the ``tf.compat.v1`` objects a :class:`TensorFlowV1Classifier` is built from: graph
tensors and ops, placeholders, losses, extra feeds, names in a frozen graph, and the labels of
``class_gradient``. Each raises a typed error naming the parameter."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import tensorflow as tf
from numpy.typing import NDArray

from trustml.errors import ParameterError, ParameterTypeError
from trustml.labels import class_gradient_targets

__all__ = [
    "as_tensor",
    "by_name",
    "check_feed_dict",
    "check_labels_ph",
    "check_loss",
    "class_rows",
    "input_shape_of",
    "nb_classes_of",
]


def as_tensor(value: Any, graph: tf.Graph | None, name: str, *, op: bool = False) -> Any:
    """``value`` checked to be a graph tensor (or, with ``op``, a graph operation) of ``graph``.

    Raises
    ------
    ParameterTypeError
        Not a symbolic graph tensor (an eager tensor or another object).
    ParameterError
        It belongs to another graph than ``graph``.
    """
    kinds = (tf.Operation, tf.Tensor) if op else (tf.Tensor,)
    if not isinstance(value, kinds) or not hasattr(value, "graph") or _is_eager(value):
        what = "a graph tensor or operation" if op else "a graph tensor"
        raise ParameterTypeError(
            f"{name}: expected {what} of a tf.compat.v1 graph, got {type(value).__name__}"
        )
    if graph is not None and value.graph is not graph:
        raise ParameterError(
            f"{name}: expected a tensor of the graph of input_ph, got {value.name!r} of another "
            f"graph"
        )
    return value


def _is_eager(value: Any) -> bool:
    try:
        _ = value.graph
    except AttributeError:
        return True
    return isinstance(value, tf.Tensor) and not hasattr(value, "op")


def check_feed_dict(feed_dict: Any, graph: tf.Graph) -> dict[tf.Tensor, Any]:
    """The extra feeds of every run, keys resolved to tensors of ``graph`` (names accepted).

    Raises
    ------
    ParameterTypeError
        Not a mapping.
    ParameterError
        A key that is not a tensor (or tensor name) of ``graph``.
    """
    if feed_dict is None:
        return {}
    if not isinstance(feed_dict, Mapping):
        raise ParameterTypeError(
            f"feed_dict: expected a dict of graph tensors to values, got {type(feed_dict).__name__}"
        )
    out: dict[tf.Tensor, Any] = {}
    for key, value in feed_dict.items():
        if isinstance(key, str):
            try:
                key = graph.get_tensor_by_name(key)
            except (KeyError, ValueError):
                raise ParameterError(
                    f"feed_dict: expected tensors of the graph of input_ph, got the unknown name "
                    f"{key!r}"
                ) from None
        out[as_tensor(key, graph, "feed_dict key")] = value
    return out


def input_shape_of(inp: tf.Tensor) -> tuple[int, ...]:
    dims = inp.shape
    if dims.rank is None or dims.rank < 2 or any(d is None for d in list(dims)[1:]):
        raise ParameterError(
            f"input_ph: expected a placeholder (N, *input_shape) with a fully known sample shape, "
            f"got {dims}"
        )
    return tuple(int(d) for d in list(dims)[1:])


def nb_classes_of(out: tf.Tensor) -> int:
    dims = out.shape
    if dims.rank != 2 or dims[1] is None or int(dims[1]) < 2:
        raise ParameterError(
            f"output: expected outputs of shape (N, nb_classes) with nb_classes >= 2, got {dims}"
        )
    return int(dims[1])


def check_labels_ph(lab: tf.Tensor, classes: int) -> None:
    rank = lab.shape.rank
    if rank == 1 and lab.dtype.is_integer:
        return
    numeric = lab.dtype.is_floating or lab.dtype.is_integer
    if rank == 2 and lab.shape[1] in (None, classes) and numeric:
        return
    raise ParameterError(
        f"labels_ph: expected index labels (N,) of an integer dtype or one-hot labels "
        f"(N, {classes}), got shape {lab.shape} of {lab.dtype.name}"
    )


def check_loss(loss: tf.Tensor, lab: tf.Tensor | None) -> None:
    if lab is None:
        raise ParameterError("loss: expected labels_ph with loss (the loss reads the labels)")
    if loss.shape.rank != 1:
        raise ParameterError(
            f"loss: expected per-sample losses of shape (N,), got shape {loss.shape}; pass the "
            f"unreduced tensor (e.g. before tf.reduce_mean; train may minimise its mean), or "
            f"loss=None for softmax cross-entropy on output"
        )


def class_rows(label: Any, nb_classes: int, n: int) -> NDArray[np.int64] | None:
    """``class_gradient``'s label: None (every class), an int for every sample, or index /
    one-hot labels of the ``n`` samples."""
    return class_gradient_targets(label, nb_classes, n)


def by_name(graph: tf.Graph, name: Any, param: str) -> tf.Tensor:
    if not isinstance(name, str):
        raise ParameterTypeError(
            f"{param}: expected a tensor or op name, got {type(name).__name__}"
        )
    try:
        if ":" in name:
            return graph.get_tensor_by_name(name)
        op = graph.get_operation_by_name(name)
        if not op.outputs:
            raise KeyError(name)
        return op.outputs[0]
    except (KeyError, ValueError):
        raise ParameterError(
            f"{param}: expected a tensor or op name of the frozen graph, got {name!r}"
        ) from None
