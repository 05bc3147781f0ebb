"""The optimiser behind ``MXNetClassifier.fit``: a ``gluon.Trainer`` over the model's parameters."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from trustml.errors import ParameterError, ParameterTypeError

if TYPE_CHECKING:
    from mxnet import gluon

__all__ = ["make_trainer", "optimizer_like"]

_EXPECTED = (
    "a gluon.Trainer over the model's parameters, an mx.optimizer.Optimizer, an optimizer name "
    "such as 'sgd' or 'adam', a pair (name, {'learning_rate': ...}), or None"
)


DEFAULT = ("adam", {"learning_rate": 1e-3})
"""What ``fit`` uses when no optimizer was given (as the PyTorch and Keras adapters: Adam, 1e-3)."""


def make_trainer(optimizer: Any, model: gluon.Block) -> gluon.Trainer:
    """Build (or check) the trainer that ``fit`` steps.

    Parameters
    ----------
    optimizer : gluon.Trainer, mx.optimizer.Optimizer, str, (str, dict) or None
        A Trainer is used as is (it must train only parameters of ``model``); anything else
        becomes ``gluon.Trainer(model.collect_params(), name_or_optimizer, params)``; None means
        :data:`DEFAULT`.

    Raises
    ------
    ParameterTypeError
        ``optimizer`` has none of the accepted types.
    ParameterError
        An unknown optimizer name or parameter, or a Trainer over foreign parameters.
    """
    import mxnet as mx
    from mxnet import gluon

    if optimizer is None:
        optimizer = DEFAULT
    if isinstance(optimizer, gluon.Trainer):
        own = {id(p) for p in model.collect_params().values()}
        foreign = [p.name for p in optimizer._params if id(p) not in own]
        if foreign:
            raise ParameterError(
                f"optimizer: expected a gluon.Trainer over the model's parameters, got one that "
                f"also trains {foreign[:3]}"
            )
        return optimizer
    if isinstance(optimizer, (str, mx.optimizer.Optimizer)):
        name, params = optimizer, {}
    elif (
        isinstance(optimizer, tuple)
        and len(optimizer) == 2
        and isinstance(optimizer[0], str)
        and isinstance(optimizer[1], dict)
    ):
        name, params = optimizer[0], dict(optimizer[1])
    else:
        raise ParameterTypeError(f"optimizer: expected {_EXPECTED}, got {optimizer!r}")
    try:
        return gluon.Trainer(model.collect_params(), name, params)
    except (ValueError, KeyError, TypeError, AssertionError) as exc:
        raise ParameterError(
            f"optimizer: expected {_EXPECTED}, got {optimizer!r} ({exc})"
        ) from None


def optimizer_like(trainer: gluon.Trainer | None) -> Any:
    """A fresh optimizer of the same class and settings as ``trainer``'s, bound to no parameter
    and with no update counts (for :func:`make_trainer` over a copied model); None (the
    default) when there is no trainer yet. The learning-rate scheduler is copied."""
    if trainer is None:
        return None
    fresh: Any = copy.copy(trainer._optimizer)
    fresh.param_dict = {}
    fresh.lr_mult = {}
    fresh.wd_mult = {}
    fresh.num_update = fresh.begin_num_update
    fresh._all_index_update_counts = {0: {}}
    fresh._index_update_count = fresh._all_index_update_counts[0]
    fresh.lr_scheduler = copy.deepcopy(fresh.lr_scheduler)
    return fresh
