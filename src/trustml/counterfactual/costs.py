"""Cost functions of counterfactual explanations, with CEML's names, each with its exact gradient.

Two kinds:

- **input costs** act on the candidate ``x`` ``(N, *input_shape)``: :class:`DummyCost`,
  :class:`L1Cost`, :class:`L2Cost`, :class:`LMadCost`;
- **output costs** act on the classifier's outputs ``y`` ``(N, nb_classes)`` (what ``predict``
  returns): :class:`NegLogLikelihoodCost`, :class:`SquaredError`; their gradient with respect to
  ``x`` is chained exactly through the adapter's ``class_gradient``
  (:class:`~trustml.protocols.ClassGradients`). :class:`TargetLossCost` is the model's own loss
  towards the target, differentiated by ``loss_gradient``
  (:class:`~trustml.protocols.LossGradients`).

:class:`RegularizedCost` combines them into the loss of Wachter et al. as CEML states it:
``C * penalize_input(x) + penalize_output(model(x))``.

Every cost, bound to a model, has ``value(model, x) -> (N,)`` and
``value_and_gradient(model, x) -> ((N,), like x)`` (the :class:`Loss` protocol the optimisers
take). Values and gradients are float64; rows are independent (a row's value and gradient never
depend on the other rows).

References
----------
Wachter, Mittelstadt, Russell, "Counterfactual Explanations without Opening the Black Box:
Automated Decisions and the GDPR", Harvard Journal of Law & Technology 31(2), 2018.
Artelt, Hammer, "On the computation of counterfactual explanations -- A survey", arXiv:1911.07749,
2019 (and the CEML toolbox, whose names these are).
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.errors import InputShapeError, LabelError, ParameterError, ParameterTypeError
from trustml.labels import to_index
from trustml.protocols import ClassGradients, Classifier, LossGradients, require
from trustml.validation import check_finite

__all__ = [
    "DummyCost",
    "InputCost",
    "L1Cost",
    "L2Cost",
    "LMadCost",
    "Loss",
    "NegLogLikelihoodCost",
    "OutputCost",
    "RegularizedCost",
    "SquaredError",
    "TargetLossCost",
    "check_c",
]

F64 = NDArray[np.float64]


class Loss(Protocol):
    """What the optimisers minimise: a per-row loss of a batch of candidates."""

    def value(self, model: Classifier, x: F64) -> F64:
        """``(N,)`` float64 loss of each row of ``x`` ``(N, *input_shape)``."""
        ...

    def value_and_gradient(self, model: Classifier, x: F64) -> tuple[F64, F64]:
        """The loss ``(N,)`` and its gradient with respect to ``x`` (shape of ``x``)."""
        ...

    def select(self, rows: NDArray[np.intp], x_ndim: int) -> Loss:
        """The same loss for the rows ``rows`` of the batch only (per-row references, targets
        and strengths are sliced; ``x_ndim`` is ``x.ndim`` of the full batch)."""
        ...


def _take(arr: NDArray[Any], rows: NDArray[np.intp], batched: bool) -> NDArray[Any]:
    return arr[rows] if batched else arr


def check_c(c: Any, name: str = "C") -> float:
    """Validate a regularisation strength: a finite float > 0.

    Raises
    ------
    ParameterError
        ``c`` is not a finite number > 0.
    """
    if isinstance(c, bool) or not isinstance(c, (int, float, np.integer, np.floating)):
        raise ParameterError(f"{name}: expected a float > 0, got {c!r}")
    if not np.isfinite(c) or c <= 0:
        raise ParameterError(f"{name}: expected a float > 0, got {c!r}")
    return float(c)


def _reference(x_orig: ArrayLike, name: str) -> F64:
    arr = np.asarray(x_orig)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise ParameterTypeError(f"{name}: expected a real numeric array, got dtype {arr.dtype}")
    out = np.array(arr, dtype=np.float64, copy=True)
    check_finite(out, name)
    out.setflags(write=False)
    return out


def _rows(x: F64) -> F64:
    return x.reshape(len(x), -1)


class InputCost(ABC):
    """A cost of the candidate ``x`` alone (a distance to the original input)."""

    @abstractmethod
    def __call__(self, x: F64) -> F64:
        """``(N,)`` float64 cost of each row of ``x`` ``(N, *input_shape)``."""

    @abstractmethod
    def gradient(self, x: F64) -> F64:
        """Gradient of each row's cost with respect to that row: shape of ``x``, float64."""

    def value(self, model: Classifier, x: F64) -> F64:
        """The cost (``model`` is unused); see :class:`Loss`."""
        return self(x)

    def value_and_gradient(self, model: Classifier, x: F64) -> tuple[F64, F64]:
        """The cost and its gradient (``model`` is unused); see :class:`Loss`."""
        return self(x), self.gradient(x)

    def input_gradient(self, model: Classifier, x: F64) -> F64:
        """The gradient alone (``model`` is unused)."""
        return self.gradient(x)

    def select(self, rows: NDArray[np.intp], x_ndim: int) -> InputCost:
        """See :class:`Loss` (``x_orig`` with a batch axis is sliced)."""
        return self

    def l1_weights(self) -> F64 | None:
        """For a weighted L1 distance ``sum_i v_i |x_i - x_orig_i|``, the weights ``v``
        (broadcastable to ``x``); None for other costs."""
        return None


class DummyCost(InputCost):
    """The zero cost (CEML's ``DummyCost``): no penalty on the input."""

    def __call__(self, x: F64) -> F64:
        return np.zeros(len(x))

    def gradient(self, x: F64) -> F64:
        return np.zeros_like(x, dtype=np.float64)


class _DistanceCost(InputCost):
    def __init__(self, x_orig: ArrayLike) -> None:
        self.x_orig: F64 = _reference(x_orig, "x_orig")

    def _diff(self, x: F64) -> F64:
        x = np.asarray(x, dtype=np.float64)
        try:
            shape = np.broadcast_shapes(self.x_orig.shape, x.shape)
        except ValueError:
            shape = ()
        if shape != x.shape:
            raise InputShapeError(
                f"x: expected a batch that x_orig {self.x_orig.shape} broadcasts to, got {x.shape}"
            )
        diff: F64 = x - self.x_orig
        return diff


    def select(self, rows: NDArray[np.intp], x_ndim: int) -> InputCost:
        """See :class:`Loss` (``x_orig`` with a batch axis is sliced)."""
        new = copy.copy(self)
        new.x_orig = _take(self.x_orig, rows, self.x_orig.ndim == x_ndim)
        return new


class L1Cost(_DistanceCost):
    """``sum_i |x_i - x_orig_i|`` per row (CEML's ``L1Cost``); subgradient 0 where
    ``x_i = x_orig_i`` (inside :class:`RegularizedCost`, the minimum-norm subgradient of the sum).

    Parameters
    ----------
    x_orig : array_like
        ``(*input_shape)`` or ``(N, *input_shape)``: the original input(s), copied.
    """

    def __call__(self, x: F64) -> F64:
        out: F64 = np.abs(_rows(self._diff(x))).sum(axis=1)
        return out

    def gradient(self, x: F64) -> F64:
        out: F64 = np.sign(self._diff(x))
        return out

    def l1_weights(self) -> F64 | None:
        return np.ones(1)


class L2Cost(_DistanceCost):
    """``sum_i (x_i - x_orig_i)**2`` per row (CEML's ``L2Cost``: the squared Euclidean distance).

    Parameters
    ----------
    x_orig : array_like
        ``(*input_shape)`` or ``(N, *input_shape)``, copied.
    """

    def __call__(self, x: F64) -> F64:
        d = _rows(self._diff(x))
        out: F64 = np.einsum("ij,ij->i", d, d)
        return out

    def gradient(self, x: F64) -> F64:
        out: F64 = 2.0 * self._diff(x)
        return out


class LMadCost(_DistanceCost):
    """``sum_i |x_i - x_orig_i| / mad_i`` per row (CEML's ``LMadCost``; Wachter et al.'s L1
    weighted by the inverse median absolute deviation of each feature over the data).

    Parameters
    ----------
    x_orig : array_like
        ``(*input_shape)`` or ``(N, *input_shape)``, copied.
    mad : array_like
        ``(*input_shape)`` (or broadcastable to it): the median absolute deviation of each
        feature, all > 0 (e.g. ``scipy.stats.median_abs_deviation(x_train, axis=0)``).

    Raises
    ------
    ParameterError
        ``mad`` holds a value <= 0 (a constant feature: drop it from the whitelist instead) or
        NaN/inf, or does not broadcast to ``x_orig``.
    """

    def __init__(self, x_orig: ArrayLike, mad: ArrayLike) -> None:
        super().__init__(x_orig)
        weights = _reference(mad, "mad")
        if not (weights > 0).all():
            bad = int(np.flatnonzero(~(weights.reshape(-1) > 0))[0])
            raise ParameterError(
                f"mad: expected every median absolute deviation > 0, got "
                f"{weights.reshape(-1)[bad]!r} at flat index {bad}"
            )
        try:
            np.broadcast_shapes(weights.shape, self.x_orig.shape[-weights.ndim :] or ())
        except ValueError:
            raise ParameterError(
                f"mad: expected a shape broadcastable to x_orig {self.x_orig.shape}, got "
                f"{weights.shape}"
            ) from None
        self.mad = weights

    def __call__(self, x: F64) -> F64:
        out: F64 = _rows(np.abs(self._diff(x)) / self.mad).sum(axis=1)
        return out

    def gradient(self, x: F64) -> F64:
        out: F64 = np.sign(self._diff(x)) / self.mad
        return out

    def l1_weights(self) -> F64 | None:
        out: F64 = 1.0 / self.mad
        return out


def _targets(y_target: ArrayLike, name: str) -> NDArray[Any]:
    arr = np.asarray(y_target)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise LabelError(f"{name}: expected numeric targets, got dtype {arr.dtype}")
    if arr.ndim > 2:
        raise LabelError(
            f"{name}: expected a class index, (N,) indices, or target outputs (C,) / (N, C), got "
            f"shape {arr.shape}"
        )
    return arr


class OutputCost(ABC):
    """A cost of the classifier's outputs ``y`` ``(N, nb_classes)``, chained to ``x`` through
    ``class_gradient`` (exact)."""

    @abstractmethod
    def __call__(self, y: F64) -> F64:
        """``(N,)`` float64 cost of each row of the outputs ``y`` ``(N, nb_classes)``."""

    @abstractmethod
    def gradient(self, y: F64) -> F64:
        """Gradient with respect to ``y``: ``(N, nb_classes)`` float64."""

    def _sparse_labels(self, y: F64) -> NDArray[np.int64] | None:
        """Per-row class whose output is the only one the cost depends on, or None."""
        return None

    def select(self, rows: NDArray[np.intp], x_ndim: int) -> OutputCost:
        """See :class:`Loss` (per-row targets are sliced)."""
        new = copy.copy(self)
        t = self.y_target  # type: ignore[attr-defined]  # every target cost sets it
        batched = (t.ndim == 1 and not np.issubdtype(t.dtype, np.floating)) or t.ndim == 2
        new.y_target = _take(t, rows, batched)  # type: ignore[attr-defined]  # as above
        return new

    def value(self, model: Classifier, x: F64) -> F64:
        """The cost of ``model.predict(x)``; see :class:`Loss`."""
        return self(np.asarray(model.predict(x), dtype=np.float64))

    def value_and_gradient(self, model: Classifier, x: F64) -> tuple[F64, F64]:
        """The cost and its exact gradient with respect to ``x``: ``dcost/dy`` contracted with
        ``model.class_gradient(x)`` (one class per row where the cost depends on one output).

        Raises
        ------
        CapabilityError
            ``model`` lacks :class:`~trustml.protocols.ClassGradients`.
        """
        grads = require(model, ClassGradients, "model")
        y = np.asarray(model.predict(x), dtype=np.float64)
        value = self(y)
        gy = self.gradient(y)
        sparse = self._sparse_labels(y)
        if sparse is not None:
            cg = np.asarray(grads.class_gradient(x, label=sparse), dtype=np.float64)
            weights = gy[np.arange(len(y)), sparse]
            gx: F64 = weights.reshape(-1, *([1] * (x.ndim - 1))) * cg[:, 0]
            return value, gx
        cg = np.asarray(grads.class_gradient(x), dtype=np.float64)
        gx = np.einsum("nc,nc...->n...", gy, cg)
        return value, gx

    def input_gradient(self, model: Classifier, x: F64) -> F64:
        """The gradient with respect to ``x`` alone (it needs the outputs anyway)."""
        return self.value_and_gradient(model, x)[1]


class NegLogLikelihoodCost(OutputCost):
    """``-log p_target`` per row (CEML's ``NegLogLikelihoodCost``).

    Parameters
    ----------
    y_target : int, array_like
        The target class (an int for every row, or ``(N,)`` indices), or target distributions
        ``(C,)`` / ``(N, C)`` (then the cost is the cross-entropy ``-sum_k t_k log p_k``).
    from_logits : bool
        False: the outputs are probabilities ``p``; True: they are logits ``z`` and
        ``p = softmax(z)`` (the gradient with respect to ``z`` is ``softmax(z) - t``).
    eps : float
        Probabilities are clipped below at ``eps`` inside the logarithm (probabilities only).
    """

    def __init__(
        self, y_target: int | ArrayLike, *, from_logits: bool = False, eps: float = 1e-12
    ) -> None:
        self.y_target: NDArray[Any] = _targets(y_target, "y_target")
        self.from_logits: bool = bool(from_logits)
        self.eps: float = float(eps)

    def _dense(self, y: F64) -> F64:
        t = self.y_target
        if t.ndim == 0 or (t.ndim == 1 and not np.issubdtype(t.dtype, np.floating)):
            idx = to_index(np.broadcast_to(t, (len(y),)), y.shape[1], name="y_target")
            out = np.zeros_like(y)
            out[np.arange(len(y)), idx] = 1.0
            return out
        dense: F64 = np.broadcast_to(np.asarray(t, dtype=np.float64), y.shape)
        return dense

    def _sparse_labels(self, y: F64) -> NDArray[np.int64] | None:
        t = self.y_target
        if self.from_logits or t.ndim > 1 or not np.issubdtype(t.dtype, np.integer):
            return None
        return to_index(np.broadcast_to(t, (len(y),)), y.shape[1], name="y_target")

    def __call__(self, y: F64) -> F64:
        t = self._dense(y)
        if self.from_logits:
            shifted = y - y.max(axis=1, keepdims=True)
            logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        else:
            logp = np.log(np.maximum(y, self.eps))
        out: F64 = -(t * logp).sum(axis=1)
        return out

    def gradient(self, y: F64) -> F64:
        t = self._dense(y)
        if self.from_logits:
            e = np.exp(y - y.max(axis=1, keepdims=True))
            out: F64 = e / e.sum(axis=1, keepdims=True) * t.sum(axis=1, keepdims=True) - t
            return out
        safe = np.maximum(y, self.eps)
        out = np.where(y > self.eps, -t / safe, 0.0)
        return out


class SquaredError(OutputCost):
    """``sum_k (y_k - t_k)**2`` per row (CEML's ``SquaredError``).

    Parameters
    ----------
    y_target : int, array_like
        A class index (its one-hot is the target output), ``(N,)`` indices, or target outputs
        ``(C,)`` / ``(N, C)``.
    """

    def __init__(self, y_target: int | ArrayLike) -> None:
        self.y_target: NDArray[Any] = _targets(y_target, "y_target")

    def _dense(self, y: F64) -> F64:
        t = self.y_target
        if t.ndim == 0 or (t.ndim == 1 and not np.issubdtype(t.dtype, np.floating)):
            idx = to_index(np.broadcast_to(t, (len(y),)), y.shape[1], name="y_target")
            out = np.zeros_like(y)
            out[np.arange(len(y)), idx] = 1.0
            return out
        dense: F64 = np.broadcast_to(np.asarray(t, dtype=np.float64), y.shape)
        return dense

    def __call__(self, y: F64) -> F64:
        d = y - self._dense(y)
        out: F64 = np.einsum("ij,ij->i", d, d)
        return out

    def gradient(self, y: F64) -> F64:
        out: F64 = 2.0 * (y - self._dense(y))
        return out


class TargetLossCost:
    """The model's own per-sample loss towards the target class (``compute_loss(x, y_target)``),
    differentiated by ``loss_gradient``: the output cost of models with
    :class:`~trustml.protocols.LossGradients` but no class gradients. For a model trained with
    cross-entropy this is :class:`NegLogLikelihoodCost` of its softmax.

    Parameters
    ----------
    y_target : int or array_like
        The target class, for every row or ``(N,)``.
    """

    def __init__(self, y_target: int | ArrayLike) -> None:
        self.y_target: NDArray[Any] = _targets(y_target, "y_target")

    def select(self, rows: NDArray[np.intp], x_ndim: int) -> TargetLossCost:
        """See :class:`Loss` (per-row targets are sliced)."""
        return TargetLossCost(_take(self.y_target, rows, self.y_target.ndim == 1))

    def _labels(self, model: Classifier, n: int) -> NDArray[np.int64]:
        return to_index(np.broadcast_to(self.y_target, (n,)), model.nb_classes, name="y_target")

    def value(self, model: Classifier, x: F64) -> F64:
        """``(N,)`` float64 loss; see :class:`Loss`."""
        m = require(model, LossGradients, "model")
        return np.asarray(m.compute_loss(x, self._labels(model, len(x))), dtype=np.float64)

    def value_and_gradient(self, model: Classifier, x: F64) -> tuple[F64, F64]:
        """The loss and ``loss_gradient`` (float64); see :class:`Loss`."""
        m = require(model, LossGradients, "model")
        labels = self._labels(model, len(x))
        value = np.asarray(m.compute_loss(x, labels), dtype=np.float64)
        return value, np.asarray(m.loss_gradient(x, labels), dtype=np.float64)

    def input_gradient(self, model: Classifier, x: F64) -> F64:
        """``loss_gradient`` alone (one call fewer than :meth:`value_and_gradient`)."""
        m = require(model, LossGradients, "model")
        return np.asarray(m.loss_gradient(x, self._labels(model, len(x))), dtype=np.float64)


class RegularizedCost:
    """``C * penalize_input(x) + penalize_output(model(x))`` per row (CEML's ``RegularizedCost``;
    the loss of Wachter et al. with ``C`` weighting the distance).

    Parameters
    ----------
    penalize_input : InputCost
        The distance to the original input (e.g. :class:`L1Cost`).
    penalize_output : OutputCost, TargetLossCost or InputCost
        The cost of the outputs (e.g. :class:`NegLogLikelihoodCost`).
    C : float or array_like
        > 0; a float, or ``(N,)`` with one strength per row.

    Raises
    ------
    ParameterError
        ``C`` is not > 0.
    ParameterTypeError
        A penalty is not a cost.
    """

    def __init__(
        self,
        penalize_input: InputCost,
        penalize_output: OutputCost | TargetLossCost | InputCost,
        C: float | ArrayLike = 1.0,  # CEML's name
    ) -> None:
        if not isinstance(penalize_input, InputCost):
            raise ParameterTypeError(
                f"penalize_input: expected an InputCost, got {type(penalize_input).__name__}"
            )
        if not isinstance(penalize_output, (OutputCost, TargetLossCost, InputCost)):
            raise ParameterTypeError(
                f"penalize_output: expected an OutputCost, got {type(penalize_output).__name__}"
            )
        c = np.asarray(C, dtype=np.float64) if not isinstance(C, (int, float)) else None
        if c is None:
            self.C: F64 = np.asarray(check_c(C), dtype=np.float64)
        else:
            for v in c.reshape(-1):
                check_c(float(v))
            self.C = c
        self.penalize_input = penalize_input
        self.penalize_output = penalize_output

    def select(self, rows: NDArray[np.intp], x_ndim: int) -> RegularizedCost:
        """See :class:`Loss`: each penalty and a per-row ``C`` for ``rows`` only."""
        return RegularizedCost(
            self.penalize_input.select(rows, x_ndim),
            self.penalize_output.select(rows, x_ndim),
            _take(self.C, rows, self.C.ndim == 1),
        )

    def _c(self, x: F64) -> F64:
        return self.C.reshape(-1, *([1] * (x.ndim - 1))) if self.C.ndim else self.C

    def value(self, model: Classifier, x: F64) -> F64:
        """``(N,)`` float64; see :class:`Loss`."""
        out: F64 = self.C * self.penalize_input(x) + self.penalize_output.value(model, x)
        return out

    def value_and_gradient(self, model: Classifier, x: F64) -> tuple[F64, F64]:
        """The loss and its exact gradient with respect to ``x``; see :class:`Loss`."""
        vo, go = self.penalize_output.value_and_gradient(model, x)
        value: F64 = self.C * self.penalize_input(x) + vo
        return value, self._combine(x, go)

    def input_gradient(self, model: Classifier, x: F64) -> F64:
        """The gradient alone, as :meth:`value_and_gradient` computes it, without evaluating the
        output cost's value where that saves a model call (what the iterative optimisers use)."""
        return self._combine(x, self.penalize_output.input_gradient(model, x))

    def _combine(self, x: F64, go: F64) -> F64:
        c = self._c(x)
        grad: F64 = c * self.penalize_input.gradient(x) + go
        weights = self.penalize_input.l1_weights()
        ref = getattr(self.penalize_input, "x_orig", None)
        if weights is not None and ref is not None:
            # where x_i = x_orig_i, the L1 term is not differentiable: take the subgradient of
            # smallest norm, so a feature leaves the original only when the output cost's pull
            # exceeds C * weight (the optimality condition of the L1-regularised problem)
            at = np.broadcast_to(x == ref, x.shape)
            threshold = np.broadcast_to(c * weights, x.shape)
            shrunk = np.sign(go) * np.maximum(np.abs(go) - threshold, 0.0)
            grad = np.where(at, shrunk, grad)
        return grad
