"""Trigger reverse-engineering (Wang et al., IEEE S&P 2019, Sec. IV-C), written against protocols.

A trigger is a mask ``m`` (one value per pixel, shared over the channel axis) and a pattern ``p``
(shaped like one input); a triggered input is ``x' = (1 - m) * x + m * p`` in raw input space,
before the classifier's preprocessing. Both are optimised in tanh space, so they never leave their
ranges: ``m = tanh(w_m) / (2 - eps) + 0.5`` in ``(0, 1)`` and
``p = lo + (hi - lo) * (tanh(w_p) / (2 - eps) + 0.5)`` in ``(lo, hi)``, the input's clip range.

The objective for a target label ``t`` on a minibatch ``B`` is the paper's

``J(w_m, w_p) = mean_{x in B} CE(f(x'), t) + cost * ||m||``

with ``||.||`` the L1 norm by default (L2 or max norm on request). Its gradient is chained exactly
from the classifier's ``loss_gradient`` (the gradient of the summed per-sample loss with respect to
the raw input) through the blend and the tanh reparametrisation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from trustml.errors import ParameterError
from trustml.protocols import Classifier, LossGradients

__all__ = [
    "DifferentiableClassifier",
    "TriggerResult",
    "TriggerSpace",
    "objective_gradient",
    "penalty",
    "reverse_engineer_trigger",
]

EPSILON = 1e-7
"""``eps`` of the tanh reparametrisation (as in the authors' code), keeping ``m`` inside (0, 1)."""

F64 = NDArray[np.float64]


@runtime_checkable
class DifferentiableClassifier(Classifier, LossGradients, Protocol):
    """What the trigger search needs: class scores and the input gradient of the loss."""


@dataclass(frozen=True)
class TriggerSpace:
    """Layout and parametrisation of a trigger for inputs of one shape.

    Parameters
    ----------
    input_shape : tuple of int
        Shape of one input.
    channel_axis : int or None
        Axis of ``input_shape`` holding channels, over which the mask is shared (``None``: the mask
        is shaped like the input, as for flat or 2-D inputs).
    lo, hi : numpy.ndarray
        Bounds of the pattern, float64 broadcastable to ``input_shape`` (``lo < hi``).
    """

    input_shape: tuple[int, ...]
    channel_axis: int | None
    lo: F64
    hi: F64

    @property
    def mask_shape(self) -> tuple[int, ...]:
        """``input_shape`` without its channel axis (e.g. ``(H, W)``)."""
        if self.channel_axis is None:
            return self.input_shape
        return tuple(d for i, d in enumerate(self.input_shape) if i != self.channel_axis)

    def expand(self, mask: NDArray[Any]) -> NDArray[Any]:
        """A mask broadcastable to ``input_shape`` (a length-1 channel axis put back)."""
        if self.channel_axis is None:
            return mask
        return np.expand_dims(mask, self.channel_axis)

    def mask(self, w_mask: F64) -> F64:
        """``tanh(w_m) / (2 - eps) + 0.5``, in (0, 1)."""
        return np.tanh(w_mask) / (2.0 - EPSILON) + 0.5

    def pattern(self, w_pattern: F64) -> F64:
        """``lo + (hi - lo) * (tanh(w_p) / (2 - eps) + 0.5)``, in (lo, hi)."""
        return self.lo + (self.hi - self.lo) * (np.tanh(w_pattern) / (2.0 - EPSILON) + 0.5)

    def to_tanh(self, mask: F64, pattern: F64) -> tuple[F64, F64]:
        """Inverse of :meth:`mask` and :meth:`pattern` (values clipped just inside the range)."""
        m = np.clip(mask, 0.0, 1.0)
        unit = np.clip((pattern - self.lo) / (self.hi - self.lo), 0.0, 1.0)
        return (np.arctanh((m - 0.5) * (2.0 - EPSILON)),
                np.arctanh((unit - 0.5) * (2.0 - EPSILON)))

    def apply(self, x: NDArray[Any], mask: NDArray[Any], pattern: NDArray[Any]) -> NDArray[Any]:
        """``(1 - m) * x + m * p`` for a batch ``x`` ``(N, *input_shape)``, in ``x``'s dtype."""
        m = self.expand(np.asarray(mask, dtype=np.float64))
        out: NDArray[Any] = (1.0 - m) * x + m * np.asarray(pattern, dtype=np.float64)
        return out.astype(x.dtype if x.dtype.kind == "f" else np.float32, copy=False)


def penalty(mask: F64, norm: float) -> tuple[float, F64]:
    """The mask penalty ``||m||`` (L1, L2 or max norm) and its gradient with respect to ``m``."""
    flat = np.abs(mask)
    if norm == 1:
        return float(flat.sum()), np.sign(mask)
    if norm == 2:
        value = float(np.sqrt(np.sum(mask * mask)))
        return value, mask / value if value > 0 else np.zeros_like(mask)
    grad = np.zeros_like(mask)
    idx = np.unravel_index(int(np.argmax(flat)), mask.shape)
    grad[idx] = np.sign(mask[idx])
    return float(flat[idx]), grad


def objective_gradient(
    classifier: DifferentiableClassifier,
    space: TriggerSpace,
    x: NDArray[Any],
    y_target: NDArray[np.int64],
    w_mask: F64,
    w_pattern: F64,
    cost: float,
    norm: float,
) -> tuple[F64, F64, float]:
    """Gradients of ``J`` with respect to ``w_m`` and ``w_p`` on the minibatch ``x``, and the
    penalty's value (the cross-entropy is not evaluated: only its input gradient is needed).

    Chain rule, with ``g_i = dCE_i / dx'_i`` from ``loss_gradient`` and ``B = len(x)``:
    ``dJ/dm = sum_{i, channels} g_i * (p - x_i) / B + cost * d||m||/dm``,
    ``dJ/dp = sum_i g_i * m / B``, then ``dm/dw_m = (1 - tanh(w_m)^2) / (2 - eps)`` and
    ``dp/dw_p = (hi - lo) * (1 - tanh(w_p)^2) / (2 - eps)``.
    """
    mask = space.mask(w_mask)
    pattern = space.pattern(w_pattern)
    x64 = np.asarray(x, dtype=np.float64)
    triggered = space.apply(np.asarray(x), mask, pattern)
    g = np.asarray(classifier.loss_gradient(triggered, y_target), dtype=np.float64) / len(x)
    grad_m_full = np.sum(g * (pattern - x64), axis=0)
    if space.channel_axis is not None:
        grad_m_full = np.sum(grad_m_full, axis=space.channel_axis)
    value, grad_pen = penalty(mask, norm)
    grad_m = grad_m_full + cost * grad_pen
    grad_p = np.sum(g, axis=0) * space.expand(mask)
    t_m = np.tanh(w_mask)
    t_p = np.tanh(w_pattern)
    return (
        grad_m * (1.0 - t_m * t_m) / (2.0 - EPSILON),
        grad_p * (space.hi - space.lo) * (1.0 - t_p * t_p) / (2.0 - EPSILON),
        value,
    )


class _Adam:
    """Adam (Kingma, Ba, ICLR 2015) on a list of float64 arrays, with the authors' betas."""

    def __init__(self, lr: float, shapes: list[tuple[int, ...]], beta1: float = 0.5,
                 beta2: float = 0.9, eps: float = 1e-8) -> None:
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = [np.zeros(s) for s in shapes]
        self.v = [np.zeros(s) for s in shapes]
        self.t = 0

    def step(self, params: list[F64], grads: list[F64]) -> None:
        self.t += 1
        c1 = 1.0 - self.beta1**self.t
        c2 = 1.0 - self.beta2**self.t
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m *= self.beta1
            m += (1.0 - self.beta1) * g
            v *= self.beta2
            v += (1.0 - self.beta2) * g * g
            p -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)


@dataclass(frozen=True)
class TriggerResult:
    """One label's reversed trigger.

    Attributes
    ----------
    mask : numpy.ndarray
        ``mask_shape`` float32 in [0, 1].
    pattern : numpy.ndarray
        ``input_shape`` float32 within the clip range.
    attack_success : float
        Fraction of the optimisation inputs that the trigger sends to the target label.
    steps : int
        Passes over the data that ran (fewer than ``steps`` after an early stop).
    cost : float
        The penalty weight when the search ended.
    found : bool
        Whether a trigger reached ``attack_success_threshold`` (else the last one is returned).
    """

    mask: NDArray[np.float32]
    pattern: NDArray[np.float32]
    attack_success: float
    steps: int
    cost: float
    found: bool


@dataclass(frozen=True)
class SearchSettings:
    """The optimisation settings of :class:`~trustml.poisoning.NeuralCleanse` (ART's names)."""

    steps: int
    init_cost: float
    norm: float
    learning_rate: float
    attack_success_threshold: float
    patience: int
    early_stop: bool
    early_stop_threshold: float
    early_stop_patience: int
    cost_multiplier: float
    batch_size: int


def success_rate(
    classifier: Classifier, space: TriggerSpace, x: NDArray[Any], mask: NDArray[Any],
    pattern: NDArray[Any], target: int, batch_size: int,
) -> float:
    """Fraction of ``x`` that the trigger sends to ``target`` (by the argmax of ``predict``)."""
    if len(x) == 0:
        return 0.0
    scores = classifier.predict(space.apply(x, mask, pattern), batch_size=batch_size)
    return float(np.mean(np.argmax(scores, axis=1) == target))


def reverse_engineer_trigger(
    classifier: DifferentiableClassifier,
    space: TriggerSpace,
    x: NDArray[Any],
    target: int,
    settings: SearchSettings,
    rng: np.random.Generator,
    on_step: Callable[[], None] | None = None,
) -> TriggerResult:
    """The smallest trigger sending ``x`` to ``target`` (Adam in tanh space, the authors' cost
    schedule and early stop).

    One *step* is one pass over ``x`` in shuffled minibatches of ``settings.batch_size`` (as in the
    authors' code and ART); after each pass the trigger's success on all of ``x`` is measured with
    ``predict``. The best trigger is the one of smallest penalty among those with success
    ``>= attack_success_threshold``. The cost starts at ``init_cost``; after ``patience`` passes
    above the threshold it is multiplied by ``cost_multiplier``, after ``patience`` passes below it
    divided by ``cost_multiplier ** 1.5``. Early stopping needs the cost to have moved both ways,
    then ``early_stop_patience`` passes without the best penalty falling below
    ``early_stop_threshold`` times its best so far.
    """
    s = settings
    w_mask, w_pattern = space.to_tanh(
        rng.random(space.mask_shape), space.lo + (space.hi - space.lo) * rng.random(
            space.input_shape)
    )
    w_mask = np.array(w_mask, dtype=np.float64)
    w_pattern = np.array(np.broadcast_to(w_pattern, space.input_shape), dtype=np.float64)
    adam = _Adam(s.learning_rate, [w_mask.shape, w_pattern.shape])
    y_all = np.full(len(x), target, dtype=np.int64)
    cost = s.init_cost
    best: tuple[F64, F64, float] | None = None
    reg_best = math.inf
    early_reg_best = math.inf
    early_counter = up_counter = down_counter = set_counter = 0
    up_flag = down_flag = False
    steps_run = 0
    last_success = 0.0
    for _ in range(s.steps):
        steps_run += 1
        order = rng.permutation(len(x))
        for start in range(0, len(x), s.batch_size):
            idx = order[start:start + s.batch_size]
            g_m, g_p, _ = objective_gradient(
                classifier, space, x[idx], y_all[idx], w_mask, w_pattern, cost, s.norm
            )
            adam.step([w_mask, w_pattern], [g_m, g_p])
        mask = space.mask(w_mask)
        pattern = space.pattern(w_pattern)
        reg, _ = penalty(mask, s.norm)
        last_success = success_rate(classifier, space, x, mask, pattern, target, 128)
        if on_step is not None:
            on_step()
        if last_success >= s.attack_success_threshold and reg < reg_best:
            best = (mask, pattern, last_success)
            reg_best = reg
        if s.early_stop:
            if reg_best < math.inf:
                if reg_best >= s.early_stop_threshold * early_reg_best:
                    early_counter += 1
                else:
                    early_counter = 0
            early_reg_best = min(reg_best, early_reg_best)
            if up_flag and down_flag and early_counter >= s.early_stop_patience:
                break
        if cost == 0 and last_success >= s.attack_success_threshold:
            set_counter += 1
            if set_counter >= s.patience:
                cost = s.init_cost
                up_counter = down_counter = 0
                up_flag = down_flag = False
        else:
            set_counter = 0
        if last_success >= s.attack_success_threshold:
            up_counter += 1
            down_counter = 0
        else:
            up_counter = 0
            down_counter += 1
        if up_counter >= s.patience:
            up_counter = 0
            cost *= s.cost_multiplier
            up_flag = True
        elif down_counter >= s.patience:
            down_counter = 0
            cost /= s.cost_multiplier**1.5
            down_flag = True
    if best is None:
        mask, pattern = space.mask(w_mask), space.pattern(w_pattern)
        result_mask, result_pattern, success, found = mask, pattern, last_success, False
    else:
        result_mask, result_pattern, success = best
        found = True
    return TriggerResult(
        mask=np.clip(result_mask, 0.0, 1.0).astype(np.float32),
        pattern=np.asarray(np.broadcast_to(result_pattern, space.input_shape), dtype=np.float32),
        attack_success=float(success),
        steps=steps_run,
        cost=float(cost),
        found=found,
    )


def check_norm(norm: Any) -> float:
    """1, 2 or inf (``numpy.inf`` or ``"inf"``) -> float; anything else raises ParameterError."""
    if isinstance(norm, str) and norm.lower() == "inf":
        return math.inf
    if isinstance(norm, bool) or not isinstance(norm, (int, float, np.integer, np.floating)):
        raise ParameterError(f"norm: expected 1, 2 or inf, got {norm!r}")
    if float(norm) not in (1.0, 2.0, math.inf):
        raise ParameterError(f"norm: expected 1, 2 or inf, got {norm!r}")
    return float(norm)
