"""LossGradients and ClassGradients checks: shapes, finite differences, labels, batches."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from trustml.conformance._checks_predict import assert_close
from trustml.conformance._context import BATCH, Context, check, fail, require_true
from trustml.conformance._failures import NotApplicable
from trustml.conformance._tolerance import Tolerance, tolerance_for
from trustml.errors import LabelError

_DIRECTIONS = 3
_MIN_AGREEMENT = 0.9
"""Share of (sample, direction) pairs that must agree with finite differences: the rest allows a
step to cross a kink of a piecewise-linear model (ReLU, max-pooling)."""


def _array(out: Any, what: str) -> NDArray[Any]:
    require_true(isinstance(out, np.ndarray), f"{what}: expected a numpy array, got "
                 f"{type(out).__name__}")
    require_true(np.issubdtype(out.dtype, np.floating),
                 f"{what}: expected a floating dtype, got {out.dtype}")
    require_true(bool(np.isfinite(out).all()), f"{what}: expected finite values, got NaN/inf")
    return np.asarray(out)


def loss(ctx: Context, x: Any, y: Any) -> NDArray[Any]:
    out = _array(ctx.estimator.compute_loss(x, y), "compute_loss")
    require_true(out.shape == (len(x),),
                 f"compute_loss(reduction='none'): expected shape ({len(x)},), got {out.shape}")
    return out


def loss_gradient(ctx: Context, x: Any, y: Any) -> NDArray[Any]:
    out = _array(ctx.estimator.loss_gradient(x, y), "loss_gradient")
    require_true(out.shape == np.shape(x),
                 f"loss_gradient: expected the shape of x {np.shape(x)}, got {out.shape}")
    return out


def _agreement(
    ctx: Context, f: Any, grad: NDArray[Any], x: NDArray[np.float32], tol_dtypes: list[Any],
    what: str,
) -> None:
    """Compare per-sample finite differences of ``f`` (``x -> (N, ...)`` values, one block per
    sample) with ``grad`` (``(N, ..., *input_shape)``) along random directions."""
    x64 = x.astype(np.float64)
    f0 = np.asarray(f(x64), dtype=np.float64)
    tol: Tolerance = tolerance_for(*tol_dtypes)
    step = tol.fd_step * ctx.scale
    agree: list[NDArray[np.bool_]] = []
    worst = (0.0, 0.0)
    n_in = int(np.prod(ctx.input_shape))
    g = np.asarray(grad, np.float64).reshape(len(x), -1, n_in)
    for d in ctx.directions(len(x), _DIRECTIONS):
        fd = (np.asarray(f(x64 + step * d), np.float64)
              - np.asarray(f(x64 - step * d), np.float64)) / (2 * step)
        fd = fd.reshape(len(x), -1)
        analytic = np.einsum("nko,no->nk", g, d.reshape(len(x), n_in))
        ok = tol.fd_close(fd, analytic, f0.reshape(len(x), -1), step)
        agree.append(ok)
        if not ok.all():
            i = np.unravel_index(np.argmax(np.abs(fd - analytic) * ~ok), ok.shape)
            worst = (float(fd[i]), float(analytic[i]))
    share = float(np.mean(agree))
    if share < _MIN_AGREEMENT:
        raise fail(f"{what}: only {share:.0%} of (sample, output, direction) triples agree with "
                   f"central finite differences ({tol.name} tolerance: step {step:.3g}, rtol "
                   f"{tol.fd_rtol:g}); e.g. finite difference {worst[0]:.5g} vs gradient "
                   f"{worst[1]:.5g}")


@check("loss_shape_dtype", "LossGradients")
def check_loss_shape(ctx: Context) -> None:
    """compute_loss returns ``(N,)`` finite floats for ``reduction='none'``, and 0-d arrays equal to
    their sum and mean for ``'sum'`` and ``'mean'``."""
    x, y = ctx.inputs(), ctx.labels()
    per_sample = loss(ctx, x, y)
    for reduction, want in (("sum", per_sample.sum()), ("mean", per_sample.mean())):
        got = np.asarray(ctx.estimator.compute_loss(x, y, reduction=reduction))
        require_true(got.shape == (), f"compute_loss(reduction={reduction!r}): expected a 0-d "
                     f"array, got shape {got.shape}")
        assert_close(ctx, got.astype(per_sample.dtype), np.asarray(want),
                     f"compute_loss(reduction={reduction!r}) vs the per-sample losses")


@check("loss_gradient_shape_dtype", "LossGradients")
def check_gradient_shape(ctx: Context) -> None:
    """loss_gradient returns finite floats of the shape of ``x``, in a new array."""
    x, y = ctx.inputs(), ctx.labels()
    g = loss_gradient(ctx, x, y)
    require_true(not np.shares_memory(g, x), "loss_gradient: the result aliases the input")
    require_true(bool(np.abs(g).sum() > 0), "loss_gradient: identically zero on random inputs")


@check("loss_gradient_finite_differences", "LossGradients")
def check_gradient_fd(ctx: Context) -> None:
    """loss_gradient agrees with central finite differences of compute_loss, per sample, along
    random directions (tolerance from the dtypes returned)."""
    x, y = ctx.inputs(), ctx.labels()
    g = loss_gradient(ctx, x, y)
    dtypes = [g.dtype, loss(ctx, x, y).dtype]
    _agreement(ctx, lambda z: loss(ctx, z, y), g[:, None], x, dtypes,
               "loss_gradient vs finite differences of compute_loss")


@check("loss_gradient_batch_independent", "LossGradients")
def check_gradient_batch(ctx: Context) -> None:
    """Row i of loss_gradient (the gradient of the summed loss) equals sample i's gradient
    computed alone, and compute_loss of a sample does not depend on its batch."""
    x, y = ctx.inputs(), ctx.labels()
    g = loss_gradient(ctx, x, y)
    l_all = loss(ctx, x, y)
    for i in (0, BATCH - 1):
        assert_close(ctx, loss_gradient(ctx, x[i:i + 1], y[i:i + 1])[0], g[i],
                     f"loss_gradient of sample {i} alone vs in a batch of {BATCH}")
        assert_close(ctx, loss(ctx, x[i:i + 1], y[i:i + 1]), l_all[i:i + 1],
                     f"compute_loss of sample {i} alone vs in a batch of {BATCH}")


@check("loss_gradient_preprocessing", "LossGradients")
def check_gradient_preprocessing(ctx: Context) -> None:
    """With a non-trivial standardisation, loss_gradient is with respect to the raw input: it
    agrees with finite differences taken in raw input space (skipped when the standardisation is
    the identity)."""
    std = getattr(ctx.estimator, "preprocessing", None)
    if std is None or getattr(std, "is_identity", True):
        raise NotApplicable("the standardisation is the identity; build the object with a "
                            "non-trivial preprocessing=(subtrahend, divisor) to exercise it")
    x, y = ctx.inputs(tag="xp"), ctx.labels(tag="yp")
    g = loss_gradient(ctx, x, y)
    _agreement(ctx, lambda z: loss(ctx, z, y), g[:, None], x, [g.dtype],
               "loss_gradient vs finite differences in raw input space (standardisation "
               f"subtrahend {np.ravel(std.subtrahend)[:3]}, divisor {np.ravel(std.divisor)[:3]})")


def _expect_label_error(call: Any, what: str) -> None:
    try:
        call()
    except LabelError:
        return
    except Exception as exc:  # noqa: BLE001
        raise fail(f"{what}: expected LabelError, got {type(exc).__name__}: {exc}") from None
    raise fail(f"{what}: expected LabelError, nothing was raised")


@check("loss_bad_labels", "LossGradients")
def check_bad_labels(ctx: Context) -> None:
    """Labels out of ``[0, nb_classes)`` or of the wrong length raise LabelError in compute_loss
    and loss_gradient."""
    x, y = ctx.inputs(), ctx.labels()
    too_big = y.copy()
    too_big[2] = ctx.nb_classes
    est = ctx.estimator
    for name, labels in (("a label equal to nb_classes", too_big), ("N - 1 labels", y[:-1])):
        _expect_label_error(lambda bad=labels: est.compute_loss(x, bad),
                            f"compute_loss with {name}")
        _expect_label_error(lambda bad=labels: est.loss_gradient(x, bad),
                            f"loss_gradient with {name}")


def class_gradient(ctx: Context, x: Any, label: Any, classes: int) -> NDArray[Any]:
    what = f"class_gradient(label={'None' if label is None else type(label).__name__})"
    out = _array(ctx.estimator.class_gradient(x, label=label), what)
    want = (len(x), classes, *ctx.input_shape)
    require_true(out.shape == want, f"{what}: expected shape {want}, got {out.shape}")
    return out


@check("class_gradient_labels", "ClassGradients")
def check_class_gradient_labels(ctx: Context) -> None:
    """class_gradient has shape ``(N, nb_classes, *input_shape)`` for label None and
    ``(N, 1, *input_shape)`` for an int or a per-sample array, whose rows are the matching rows of
    the label-None result."""
    x = ctx.inputs()
    full = class_gradient(ctx, x, None, ctx.nb_classes)
    k = ctx.nb_classes - 1
    assert_close(ctx, class_gradient(ctx, x, k, 1)[:, 0], full[:, k], f"class_gradient(label={k})")
    per = ctx.rng("labels").integers(0, ctx.nb_classes, size=len(x))
    per[0], per[1] = 0, ctx.nb_classes - 1
    got = class_gradient(ctx, x, per, 1)[:, 0]
    assert_close(ctx, got, full[np.arange(len(x)), per], "class_gradient(label=per-sample array)")
    got_list = class_gradient(ctx, x, [int(v) for v in per], 1)[:, 0]
    assert_close(ctx, got_list, got, "class_gradient(label=list) vs label=array")


@check("class_gradient_bad_label", "ClassGradients")
def check_class_gradient_bad_label(ctx: Context) -> None:
    """A label outside ``[0, nb_classes)`` (int or per-sample) raises LabelError."""
    x = ctx.inputs()
    est = ctx.estimator
    k = ctx.nb_classes
    _expect_label_error(lambda: est.class_gradient(x, label=k), f"class_gradient(label={k})")
    per = np.zeros(len(x), dtype=np.int64)
    per[4] = -1
    _expect_label_error(lambda: est.class_gradient(x, label=per),
                        "class_gradient(label=array holding -1)")


OUTPUT_ATTRIBUTE = "class_gradient_output"
"""Attribute by which an object says which of its outputs ``class_gradient`` differentiates: the
name of a method ``(x) -> (N, nb_classes)`` scores (e.g. ``"decision_function"``); absent means
``"predict"``."""


def _differentiated_output(ctx: Context) -> tuple[str, Any]:
    """``(name, method)`` of the output class_gradient differentiates (see
    :data:`OUTPUT_ATTRIBUTE`)."""
    name = getattr(ctx.estimator, OUTPUT_ATTRIBUTE, "predict")
    require_true(isinstance(name, str), f"{OUTPUT_ATTRIBUTE}: expected the name of a method, got "
                 f"{name!r}")
    method = getattr(ctx.estimator, name, None)
    if method is None and name == "predict":
        raise NotApplicable("the object has no predict to take finite differences of")
    require_true(callable(method), f"{OUTPUT_ATTRIBUTE} = {name!r}: expected the name of a "
                 f"method of the object, got {type(method).__name__}")
    return name, method


@check("class_gradient_finite_differences", "ClassGradients")
def check_class_gradient_fd(ctx: Context) -> None:
    """class_gradient(label=None) agrees with finite differences of the scores predict returns,
    or of the method the object names in its ``class_gradient_output`` attribute (the output
    class_gradient differentiates must be the one the object says)."""
    name, method = _differentiated_output(ctx)
    x = ctx.inputs()
    full = class_gradient(ctx, x, None, ctx.nb_classes)

    def scores(z: Any) -> NDArray[Any]:
        out = _array(method(z), name)
        require_true(out.shape == (len(z), ctx.nb_classes), f"{name}: expected shape "
                     f"({len(z)}, {ctx.nb_classes}), got {out.shape}")
        return out

    p = scores(x)
    _agreement(ctx, scores, full, x, [full.dtype, p.dtype],
               f"class_gradient vs finite differences of {name}")
