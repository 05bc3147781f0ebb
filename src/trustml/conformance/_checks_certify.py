"""Certifier checks: shapes, abstention, radii, seeds, and soundness on the reference problem."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from trustml.conformance._context import Context, check, fail, require_true
from trustml.conformance._failures import NotApplicable
from trustml.conformance._reference import ReferenceLinearClassifier, find_reference
from trustml.errors import InputShapeError

_SIGNIFICANCE = 1e-3
"""A soundness check fails when the observed number of violations has probability below this
under a sound certifier (binomial tail at the certifier's ``alpha``)."""


def reference(ctx: Context) -> ReferenceLinearClassifier | None:
    return find_reference(ctx.estimator)


def _scale(ctx: Context) -> float:
    sigma = getattr(ctx.estimator, "sigma", None)
    if isinstance(sigma, (int, float, np.floating)) and not isinstance(sigma, bool) and sigma > 0:
        return float(sigma)
    return 0.5


def certify_inputs(ctx: Context, n: int = 6) -> NDArray[Any]:
    """Inputs for the generic checks: points around the reference hyperplane when the object wraps
    the reference classifier, else generated from ``input_shape`` or the user's data."""
    ref = reference(ctx)
    if ref is not None:
        dist = np.linspace(-1.5, 1.5, n) * _scale(ctx)
        dist[n // 2] = 0.0
        return ref.at_distance(dist, seed=ctx.seed)
    try:
        return ctx.inputs(n)
    except NotApplicable:
        raise NotApplicable("the certifier has no input_shape, wraps no reference classifier, and "
                            "no data was given") from None


def certify(ctx: Context, x: Any, n: int, seed: Any = 0) -> tuple[NDArray[Any], NDArray[Any]]:
    out = ctx.estimator.certify(x, n, seed=seed)
    require_true(isinstance(out, tuple) and len(out) == 2,
                 f"certify: expected a pair (labels, radii), got {type(out).__name__}")
    labels, radii = out
    for name, arr in (("labels", labels), ("radii", radii)):
        require_true(isinstance(arr, np.ndarray), f"certify {name}: expected a numpy array, got "
                     f"{type(arr).__name__}")
        require_true(arr.shape == (len(x),), f"certify {name}: expected shape ({len(x)},), got "
                     f"{arr.shape}")
    return labels, radii


@check("certify_shapes_dtypes", "Certifier")
def check_shapes(ctx: Context) -> None:
    """certify returns labels ``(N,)`` int64 in ``[-1, nb_classes)`` and radii ``(N,)``
    float64, also for N = 0; a batch of the wrong sample shape raises InputShapeError."""
    x = certify_inputs(ctx)
    empty = certify(ctx, x[:0], 10)
    require_true(empty[0].dtype == np.int64 and empty[1].dtype == np.float64,
                 f"certify on an empty batch: dtypes {empty[0].dtype}, {empty[1].dtype}")
    bad = np.zeros((2, *x.shape[1:-1], x.shape[-1] + 1))
    try:
        ctx.estimator.certify(bad, 10, seed=0)
    except InputShapeError:
        pass
    except Exception as exc:  # noqa: BLE001
        raise fail(f"certify(x of shape {bad.shape}): expected InputShapeError, got "
                   f"{type(exc).__name__}: {exc}") from None
    else:
        raise fail(f"certify(x of shape {bad.shape}): expected InputShapeError, nothing raised")
    labels, radii = certify(ctx, x, 100)
    require_true(labels.dtype == np.int64, f"certify labels: expected int64, got {labels.dtype}")
    require_true(radii.dtype == np.float64, f"certify radii: expected float64, got {radii.dtype}")
    k = getattr(ctx.estimator, "nb_classes", None)
    ref = reference(ctx)
    k = 2 if ref is not None and k is None else k
    if isinstance(k, int):
        require_true(bool(((labels >= -1) & (labels < k)).all()),
                     f"certify labels: expected values in [-1, {k}), got {labels.tolist()}")


@check("certify_abstain", "Certifier")
def check_abstain(ctx: Context) -> None:
    """Abstention is exactly ``(-1, 0.0)``; on the reference problem, points on the decision
    boundary (true radius 0) are certified no more often than ``alpha`` allows."""
    x = certify_inputs(ctx)
    for n in (1, 100):
        labels, radii = certify(ctx, x, n)
        bad = (labels == -1) & (radii != 0.0)
        require_true(not bad.any(), f"certify(n={n}): abstained rows must have radius 0.0, got "
                     f"{radii[bad].tolist()}")
    ref = reference(ctx)
    if ref is not None:
        from scipy.stats import binom

        on_boundary = ref.at_distance(np.zeros(16), seed=ctx.seed + 1)
        labels, radii = certify(ctx, on_boundary, 100)
        k = int((labels != -1).sum())
        p_value = float(binom.sf(k - 1, len(labels), _alpha(ctx)))
        require_true(p_value >= _SIGNIFICANCE, f"certify on the decision boundary (pA = 1/2, true "
                     f"radius 0): {k} of {len(labels)} points certified, which a sound certifier "
                     f"at alpha={_alpha(ctx):g} does with probability {p_value:.2g}; radii "
                     f"{radii[labels != -1].tolist()}")


def _alpha(ctx: Context) -> float:
    """The certifier's ``alpha`` attribute, 0.05 when it has none (or an invalid one)."""
    alpha = getattr(ctx.estimator, "alpha", None)
    if isinstance(alpha, (float, int)) and not isinstance(alpha, bool) and 0 < alpha < 1:
        return float(alpha)
    return 0.05


@check("certify_radius_nonnegative", "Certifier")
def check_radius(ctx: Context) -> None:
    """Radii are finite and >= 0 (for small and large n)."""
    x = certify_inputs(ctx)
    for n in (1, 10, 100):
        _, radii = certify(ctx, x, n)
        require_true(bool(np.isfinite(radii).all() and (radii >= 0).all()),
                     f"certify(n={n}): expected finite radii >= 0, got {radii.tolist()}")


@check("certify_seed_reproducible", "Certifier")
def check_seed(ctx: Context) -> None:
    """The same int seed gives the same labels and radii; a Generator seed is accepted."""
    x = certify_inputs(ctx)
    a = certify(ctx, x, 100, seed=123)
    b = certify(ctx, x, 100, seed=123)
    require_true(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]),
                 f"certify(seed=123) twice: labels {a[0].tolist()} vs {b[0].tolist()}, radii "
                 f"{a[1].tolist()} vs {b[1].tolist()}")
    certify(ctx, x, 10, seed=np.random.default_rng(0))


def _needs_reference(ctx: Context) -> ReferenceLinearClassifier:
    ref = reference(ctx)
    if ref is None:
        raise NotApplicable("the certifier does not wrap trustml.conformance."
                            "ReferenceLinearClassifier (see CONTRACTS.md: certify soundness)")
    return ref


@check("certify_sound_reference", "Certifier")
def check_sound(ctx: Context) -> None:
    """On the reference problem, certificates that are wrong (the other class, or a radius above
    the true one ``|w.x+b|/||w||``) occur no more often than ``alpha`` allows."""
    from scipy.stats import binom

    ref = _needs_reference(ctx)
    alpha = _alpha(ctx)
    s = _scale(ctx)
    dist = np.linspace(-1.5, 1.5, 16) * s
    x = ref.at_distance(dist, seed=ctx.seed)
    true_r, true_y = ref.true_radius(x), ref.true_label(x)
    violations, trials = 0, 0
    for seed in range(8):
        labels, radii = certify(ctx, x, 200, seed=ctx.seed * 1000 + seed)
        certified = labels != -1
        wrong = certified & ((labels != true_y) | (radii > true_r * (1 + 1e-9) + 1e-12))
        violations += int(wrong.sum())
        trials += len(x)
    p_value = float(binom.sf(violations - 1, trials, alpha))
    require_true(p_value >= _SIGNIFICANCE, f"{violations} of {trials} certificates exceed the true "
                 f"radius or name the wrong class; a sound certifier at alpha={alpha:g} does so "
                 f"this often with probability {p_value:.2g}")


@check("certify_tight_reference", "Certifier")
def check_tight(ctx: Context) -> None:
    """On the reference problem at large n (20000), points at 0.5 to 1.5 sigma from the boundary are
    certified, with a median radius at least 75% of the true one (needs the certifier's ``sigma``
    attribute)."""
    ref = _needs_reference(ctx)
    sigma = getattr(ctx.estimator, "sigma", None)
    if not isinstance(sigma, (float, int)) or sigma <= 0:
        raise NotApplicable("the certifier exposes no positive sigma attribute")
    dist = np.concatenate([np.linspace(0.5, 1.5, 4), -np.linspace(0.5, 1.5, 4)]) * float(sigma)
    x = ref.at_distance(dist, seed=ctx.seed + 7)
    labels, radii = certify(ctx, x, 20000, seed=ctx.seed)
    certified = labels != -1
    require_true(int(certified.sum()) >= 6, f"certify(n=20000): expected at least 6 of 8 points "
                 f"0.5-1.5 sigma from the boundary certified, got labels {labels.tolist()}")
    ratio = float(np.median(radii[certified] / ref.true_radius(x)[certified]))
    require_true(ratio >= 0.75, f"certify(n=20000): median certified/true radius {ratio:.3f}, "
                 "expected >= 0.75")


@check("certify_fresh_draws", "Certifier")
def check_fresh_draws(ctx: Context) -> None:
    """On the reference problem the wrapped classifier sees more than n noisy copies per input
    (selection draws besides the n estimation draws) and never the same noisy copy twice."""
    ref = _needs_reference(ctx)
    x = ref.at_distance(np.array([0.5 * _scale(ctx)]), seed=ctx.seed)
    n = 50
    ref.seen.clear()
    ref.recording = True
    try:
        certify(ctx, x, n, seed=ctx.seed)
    finally:
        ref.recording = False
    rows = np.concatenate(ref.seen) if ref.seen else np.zeros((0, x.shape[1]))
    ref.seen.clear()
    require_true(len(rows) > n, f"certify(n={n}) on one input: the classifier saw {len(rows)} "
                 "rows; expected more than n (selection draws independent of the n estimation "
                 "draws)")
    unique = np.unique(rows, axis=0)
    require_true(len(unique) == len(rows), f"certify(n={n}): {len(rows) - len(unique)} noisy "
                 "copies were predicted twice; selection and estimation draws must be independent")
