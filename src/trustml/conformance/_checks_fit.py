"""Fittable and Clonable checks (run last). The Fittable checks train
``estimator.clone_for_refitting()`` when the object offers it, else ``copy.deepcopy(estimator)``
when that can be made and trained, else the object itself, in place, and then say so in their
results (see ``Context.trainable``)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from trustml.conformance._context import Context, check, fail, require_true
from trustml.conformance._failures import NotApplicable
from trustml.conformance._snapshots import framework_state, global_rng_state, same_state

_BATCH = 8


def _classifier(ctx: Context) -> Any:
    """The object to train (a clone or a deep copy when possible, see ``Context.trainable``)."""
    if not hasattr(ctx.estimator, "predict"):
        raise NotApplicable("the object has no predict to measure what fit learned")
    return ctx.trainable()


def _accuracy(est: Any, x: NDArray[Any], y: NDArray[np.int64]) -> float:
    return float(np.mean(np.argmax(est.predict(x), axis=1) == y))


def _threshold(k: int) -> float:
    """Halfway between chance (1/k) and perfect accuracy."""
    return 0.5 * (1.0 + 1.0 / k)


@check("fit_no_side_effects", "Fittable")
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


@check("fit_learns", "Fittable")
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


@check("fit_generator_learns", "Fittable")
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


@check("clone_independent", "Clonable")
def check_clone(ctx: Context) -> None:
    """clone_for_refitting returns a new object of the same type with the same input_shape,
    nb_classes, clip_values and standardisation, that (when Fittable) trains without changing
    the original's predictions."""
    est = ctx.estimator
    clone = est.clone_for_refitting()
    require_true(clone is not est, "clone_for_refitting: returned the object itself")
    require_true(type(clone) is type(est), f"clone_for_refitting: expected a "
                 f"{type(est).__name__}, got {type(clone).__name__}")
    for attr in ("input_shape", "nb_classes"):
        if hasattr(est, attr):
            require_true(getattr(clone, attr, None) == getattr(est, attr),
                         f"clone_for_refitting: {attr} {getattr(clone, attr, None)!r}, expected "
                         f"{getattr(est, attr)!r}")
    if hasattr(est, "clip_values"):
        a, b = est.clip_values, clone.clip_values
        require_true((a is None) == (b is None) and (a is None or all(
            np.array_equal(u, v) for u, v in zip(a, b))),
            f"clone_for_refitting: clip_values {b!r}, expected {a!r}")
    std = getattr(est, "preprocessing", None)
    if std is not None and hasattr(std, "subtrahend"):
        other = clone.preprocessing
        require_true(np.array_equal(std.subtrahend, other.subtrahend)
                     and np.array_equal(std.divisor, other.divisor),
                     "clone_for_refitting: a different standardisation (subtrahend, divisor)")
    if not (hasattr(clone, "fit") and hasattr(est, "predict")):
        return
    x, y = ctx.separable_problem()
    before = np.array(est.predict(x), copy=True)
    clone.fit(x, (y + 1) % ctx.nb_classes, batch_size=_BATCH, nb_epochs=2)
    after = np.asarray(est.predict(x))
    require_true(np.array_equal(before, after), "training the clone_for_refitting() copy changed "
                 "the original's predictions: the copy shares state with it")
