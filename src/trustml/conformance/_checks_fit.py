"""Fittable checks (run last). They train ``copy.deepcopy(estimator)`` when the object can be
deep-copied and its copy trained, else the object itself, in place (see ``Context.trainable``)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from trustml.conformance._context import Context, fail, require_true
from trustml.conformance._exercise import framework_state, global_rng_state, same_state
from trustml.conformance._registry import NotApplicable, register

_BATCH = 8


def _classifier(ctx: Context) -> Any:
    """The object to train (a deep copy when possible, see ``Context.trainable``)."""
    if not hasattr(ctx.estimator, "predict"):
        raise NotApplicable("the object has no predict to measure what fit learned")
    return ctx.trainable()


def _accuracy(est: Any, x: NDArray[Any], y: NDArray[np.int64]) -> float:
    return float(np.mean(np.argmax(est.predict(x), axis=1) == y))


def _threshold(k: int) -> float:
    """Halfway between chance (1/k) and perfect accuracy."""
    return 0.5 * (1.0 + 1.0 / k)


@register("fit_no_side_effects", "Fittable")
def check_side_effects(ctx: Context) -> None:
    """fit (one epoch) leaves x and y unmodified, numpy's global RNG state and the framework's
    modes and hooks unchanged."""
    est = _classifier(ctx)
    x, y = ctx.separable_problem()
    x0, y0 = x.copy(), y.copy()
    rng0, fw0 = global_rng_state(), framework_state(est)
    est.fit(x, y, batch_size=_BATCH, nb_epochs=1)
    require_true(np.array_equal(x, x0) and np.array_equal(y, y0), "fit modified x or y in place")
    require_true(same_state(rng0, global_rng_state()), "fit changed numpy's (or Python's) global "
                 "RNG state; take a seed and use a Generator")
    fw1 = framework_state(est)
    changed = sorted(k for k in set(fw0) | set(fw1) if not same_state(fw0.get(k), fw1.get(k)))
    require_true(not changed, f"fit changed {', '.join(changed)}")


@register("fit_learns", "Fittable")
def check_learns(ctx: Context) -> None:
    """fit (batch_size 8, default nb_epochs) learns a separable problem well above chance from
    index labels, then relearns it from one-hot labels shifted by one class (so a fit that does
    nothing fails)."""
    est = _classifier(ctx)
    x, y = ctx.separable_problem()
    k = ctx.nb_classes
    for shift in (0, 1):
        target = (y + shift) % k
        # index labels, then one-hot labels: fit accepts both formats
        est.fit(x, target if shift == 0 else np.eye(k, dtype=np.float32)[target],
                batch_size=_BATCH)
        acc = _accuracy(est, x, target)
        if acc < _threshold(k):
            raise fail(f"after fit on labels shifted by {shift}: training accuracy {acc:.2f}, "
                       f"expected >= {_threshold(k):.2f} (chance {1 / k:.2f})")


@register("fit_generator_learns", "Fittable")
def check_generator(ctx: Context) -> None:
    """fit_generator on a re-iterable of (x, y) batches learns the separable problem with labels
    shifted by two classes (from what fit_learns left) as fit does."""
    est = _classifier(ctx)
    x, y = ctx.separable_problem()
    k = ctx.nb_classes
    target = (y + 2) % k if k > 2 else y
    batches = [(x[i:i + _BATCH], target[i:i + _BATCH]) for i in range(0, len(x), _BATCH)]
    est.fit_generator(batches)
    acc = _accuracy(est, x, target)
    require_true(acc >= _threshold(k), f"after fit_generator: training accuracy {acc:.2f}, "
                 f"expected >= {_threshold(k):.2f} (chance {1 / k:.2f})")
