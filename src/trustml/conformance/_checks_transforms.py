"""ActivationTransforms checks: removal bit-identical with nothing left behind (first, so that the
other checks can rely on removal), the transform against its numpy reference, inside the forward
pass, bad input refused with nothing installed.

Every check works on one layer, the *probe layer*: the last layer before the final one (then the
earlier ones, then the final one) at which a transform of ones can be installed; adapters may
refuse some layers (scikit-learn's output activation) with ParameterError. Each check removes
what it installed, also when it fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trustml.activations import ActivationTransform
from trustml.conformance._checks_activations import activations, layer_names
from trustml.conformance._checks_predict import assert_close
from trustml.conformance._context import Context, check, fail, require_true
from trustml.conformance._failures import NotApplicable
from trustml.conformance._snapshots import framework_state, same_state
from trustml.errors import ParameterError, ParameterTypeError
from trustml.protocols import ClassGradients, LossGradients, NeuralNetwork


def _probe_layer(ctx: Context, x: NDArray[Any]) -> tuple[int, NDArray[Any]]:
    """``(index, untransformed activations of x)`` of the probe layer."""
    est: Any = ctx.estimator
    if not isinstance(ctx.estimator, NeuralNetwork):
        raise NotApplicable("ActivationTransforms without NeuralNetwork: no layer_names or "
                            "get_activations to address and read a layer")
    names = layer_names(ctx)
    order = [*range(len(names) - 2, -1, -1), len(names) - 1]
    for index in order:
        a = activations(ctx, x, index)
        if a.dtype.kind != "f":
            continue
        try:
            est.set_activation_transform(index, ActivationTransform(scale=np.ones(a.shape[1:])))
        except ParameterError:
            continue
        est.set_activation_transform(index, None)
        return index, a
    raise fail(f"set_activation_transform: every layer of {names} refused a transform of ones")


@contextmanager
def _installed(ctx: Context, layer: int, transform: ActivationTransform) -> Iterator[None]:
    est = ctx.estimator
    est.set_activation_transform(layer, transform)
    try:
        yield
    finally:
        est.set_activation_transform(layer, None)


def _reference_transform(ctx: Context, a: NDArray[Any]) -> ActivationTransform:
    """Bounds at the 25% and 75% quantiles of ``a`` (the clip is active on both sides), a scale
    in [0.5, 2] per unit of the last axis with a third of the units set to 0."""
    rng = ctx.rng("transform")
    lo, hi = (float(v) for v in np.quantile(a, [0.25, 0.75]))
    width = a.shape[-1]
    scale = rng.uniform(0.5, 2.0, width) * (np.arange(width) % 3 != 0)
    return ActivationTransform(scale=scale, clip_min=min(lo, hi), clip_max=hi)


def _outputs(ctx: Context, x: NDArray[Any], y: NDArray[Any], layer: int) -> dict[str, Any]:
    est = ctx.estimator
    out: dict[str, Any] = {"predict": est.predict(x), "get_activations": activations(ctx, x, layer),
                           "last get_activations": activations(ctx, x, len(layer_names(ctx)) - 1)}
    if isinstance(est, LossGradients):
        out["compute_loss"] = est.compute_loss(x, y)
        out["loss_gradient"] = est.loss_gradient(x, y)
    if isinstance(est, ClassGradients):
        out["class_gradient"] = est.class_gradient(x)
    return out


@check("transforms_removal", "ActivationTransforms")
def check_removal(ctx: Context) -> None:
    """Installing a transform at the probe layer, calling every member, then removing it (and
    removing it again, a no-op) gives bit-identical predict, losses, gradients and activations,
    an empty ``activation_transforms``, and the framework state (modes, hooks) of before."""
    est = ctx.estimator
    x = ctx.inputs()
    y = ctx.labels(len(x)) if isinstance(est, LossGradients) else np.zeros(len(x), np.int64)
    layer, plain = _probe_layer(ctx, x)
    state = framework_state(est)
    before = _outputs(ctx, x, y, layer)
    est.set_activation_transform(layer, _reference_transform(ctx, plain))
    try:
        _outputs(ctx, x, y, layer)
    finally:
        # replaced by an identity-valued transform, then removed: an adapter that ignored the
        # removal keeps a transform that changes nothing, so the later checks still run cleanly
        est.set_activation_transform(layer, ActivationTransform())
        est.set_activation_transform(layer, None)
        est.set_activation_transform(layer, None)
    require_true(est.activation_transforms == {}, "activation_transforms: expected {} after "
                 f"removal, got {est.activation_transforms!r}")
    after = _outputs(ctx, x, y, layer)
    changed = [k for k in before if not np.array_equal(np.asarray(before[k]), np.asarray(after[k]))]
    require_true(not changed, f"{', '.join(changed)}: not bit-identical after the transform was "
                 "removed")
    now = framework_state(est)
    diff = sorted(k for k in set(state) | set(now) if not same_state(state.get(k), now.get(k)))
    require_true(not diff, f"installing, using and removing a transform changed {', '.join(diff)}")


@check("transforms_activations_reference", "ActivationTransforms")
def check_reference(ctx: Context) -> None:
    """With a transform (clip at quantiles, a scale with zeros) installed at the probe layer,
    get_activations of that layer equals ``ActivationTransform.apply`` of its untransformed
    activations, and ``activation_transforms`` names it."""
    est = ctx.estimator
    x = ctx.inputs()
    layer, plain = _probe_layer(ctx, x)
    t = _reference_transform(ctx, plain)
    with _installed(ctx, layer, t):
        name = layer_names(ctx)[layer]
        got = est.activation_transforms
        require_true(set(got) == {name} and got[name] is t,
                     f"activation_transforms: expected {{{name!r}: the transform}}, got {got!r}")
        assert_close(ctx, activations(ctx, x, layer), t.apply(plain),
                     f"get_activations(layer={layer}) with a transform vs transform.apply of the "
                     "untransformed activations")


@check("transforms_inside_forward", "ActivationTransforms")
def check_inside_forward(ctx: Context) -> None:
    """A scale of 0 at the probe layer zeroes its activations and changes ``predict``: the
    transform acts inside the forward pass, not only on what get_activations returns."""
    est = ctx.estimator
    x = ctx.inputs()
    layer, plain = _probe_layer(ctx, x)
    if not np.any(plain):
        raise NotApplicable(f"the probe layer {layer}'s activations are all 0 on the inputs")
    before = np.asarray(est.predict(x), dtype=np.float64)
    with _installed(ctx, layer, ActivationTransform(scale=np.zeros(plain.shape[1:]))):
        zeroed = activations(ctx, x, layer)
        require_true(not np.any(zeroed), f"get_activations(layer={layer}) with scale 0: expected "
                     f"zeros, got max |a| = {np.abs(zeroed).max()}")
        after = np.asarray(est.predict(x), dtype=np.float64)
    if np.allclose(after, before, rtol=1e-6, atol=1e-7):
        raise fail(f"predict: unchanged by a scale-0 transform at layer {layer} whose activations "
                   "are not all 0; the transform is not applied inside the forward pass")


@check("transforms_bad_input", "ActivationTransforms")
def check_bad_input(ctx: Context) -> None:
    """An unknown layer name, an out-of-range index and a scale that does not broadcast to the
    layer's output raise ParameterError, a transform that is not an ActivationTransform raises
    ParameterTypeError, and none of them installs anything."""
    est = ctx.estimator
    x = ctx.inputs(2)
    layer, plain = _probe_layer(ctx, x)
    names = layer_names(ctx)
    shape = plain.shape[1:]
    wrong = ActivationTransform(scale=np.ones((*shape[:-1], shape[-1] + 1)))
    before = est.activation_transforms
    cases: list[tuple[Any, Any, type[Exception]]] = [
        ("__no_such_layer__", ActivationTransform(clip_max=0.0), ParameterError),
        (len(names), ActivationTransform(clip_max=0.0), ParameterError),
        (layer, wrong, ParameterError),
        (layer, {"scale": 0.0}, ParameterTypeError),
    ]
    for bad_layer, transform, expected in cases:
        what = f"set_activation_transform({bad_layer!r}, {transform!r})"
        try:
            est.set_activation_transform(bad_layer, transform)
        except expected:
            pass
        except Exception as exc:  # noqa: BLE001
            raise fail(f"{what}: expected {expected.__name__}, got {type(exc).__name__}: "
                       f"{exc}") from None
        else:
            _restore(est, before)
            raise fail(f"{what}: expected {expected.__name__}, nothing was raised")
        installed = est.activation_transforms
        if installed != before:
            _restore(est, before)
            raise fail(f"{what} raised but changed activation_transforms from {before!r} to "
                       f"{installed!r}")


def _restore(est: Any, before: dict[str, ActivationTransform]) -> None:
    for name in list(est.activation_transforms):
        if name not in before:
            est.set_activation_transform(name, None)
    for name, transform in before.items():
        est.set_activation_transform(name, transform)
