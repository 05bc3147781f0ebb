"""Classifier checks: predict's shape, dtype, batch invariance, determinism and errors."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from trustml.conformance._context import BATCH, Context, check, fail, require_true
from trustml.conformance._tolerance import tolerance_for
from trustml.errors import InputShapeError, InputValueError, ParameterError


def predict(ctx: Context, x: Any, batch_size: int | None = None) -> NDArray[Any]:
    """``estimator.predict`` as a numpy array (raises CheckFailure if it is not one)."""
    out = ctx.estimator.predict(x) if batch_size is None else ctx.estimator.predict(
        x, batch_size=batch_size)
    require_true(isinstance(out, np.ndarray),
                 f"predict: expected a numpy array, got {type(out).__name__}")
    return np.asarray(out)


def assert_close(ctx: Context, got: NDArray[Any], want: NDArray[Any], what: str) -> None:
    """Raise CheckFailure unless ``got`` and ``want`` have one shape and agree within the equal
    tolerance of their dtypes."""
    require_true(got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}")
    tol = tolerance_for(got.dtype, want.dtype)
    close = tol.close(got, want)
    if not close.all():
        diff = np.abs(np.asarray(got, np.float64) - np.asarray(want, np.float64))
        raise fail(f"{what}: {int((~close).sum())} of {close.size} values differ beyond "
                   f"{tol.name} tolerance (rtol {tol.rtol:g}, atol {tol.atol:g}); max |diff| "
                   f"{float(diff.max()):.3g}")


@check("predict_shape_dtype", "Classifier")
def check_shape_dtype(ctx: Context) -> None:
    """predict returns a new ``(N, nb_classes)`` float32 numpy array of finite values."""
    x = ctx.inputs()
    out = predict(ctx, x)
    require_true(out.shape == (BATCH, ctx.nb_classes),
                 f"predict: expected shape ({BATCH}, {ctx.nb_classes}), got {out.shape}")
    require_true(out.dtype == np.float32, f"predict: expected dtype float32, got {out.dtype}")
    require_true(bool(np.isfinite(out).all()), "predict: expected finite values, got NaN/inf")
    require_true(not np.shares_memory(out, x), "predict: the result aliases the input")


@check("predict_batch_invariance", "Classifier")
def check_batch_invariance(ctx: Context) -> None:
    """predict gives the same scores for batch sizes 1, 3 (which does not divide N) and N."""
    x = ctx.inputs()
    ref = predict(ctx, x, batch_size=BATCH)
    for bs in (1, 3):
        assert_close(ctx, predict(ctx, x, batch_size=bs), ref,
                     f"predict with batch_size={bs} vs batch_size={BATCH}")


@check("predict_deterministic", "Classifier")
def check_deterministic(ctx: Context) -> None:
    """Two calls of predict on the same input agree."""
    x = ctx.inputs()
    assert_close(ctx, predict(ctx, x), predict(ctx, x), "predict called twice")


@check("predict_single_sample", "Classifier")
def check_single_sample(ctx: Context) -> None:
    """N = 1 gives ``(1, nb_classes)``, equal to that sample's row in a larger batch."""
    x = ctx.inputs()
    ref = predict(ctx, x)
    one = predict(ctx, x[3:4])
    require_true(one.shape == (1, ctx.nb_classes),
                 f"predict on one sample: expected shape (1, {ctx.nb_classes}), got {one.shape}")
    assert_close(ctx, one, ref[3:4], "predict on one sample vs the same sample in a batch")


@check("predict_empty_batch", "Classifier")
def check_empty_batch(ctx: Context) -> None:
    """N = 0 gives an empty ``(0, nb_classes)`` array."""
    out = predict(ctx, ctx.inputs()[:0])
    require_true(out.shape == (0, ctx.nb_classes),
                 f"predict on an empty batch: expected shape (0, {ctx.nb_classes}), "
                 f"got {out.shape}")


@check("predict_wrong_shape", "Classifier")
def check_wrong_shape(ctx: Context) -> None:
    """A sample of the wrong shape, or one sample without its batch axis, raises
    InputShapeError."""
    x = ctx.inputs()
    bad_shape = (BATCH, *ctx.input_shape[:-1], ctx.input_shape[-1] + 1)
    cases = {f"x of shape {bad_shape}": np.zeros(bad_shape, np.float32),
             f"one sample without its batch axis {x[0].shape}": x[0]}
    for what, bad in cases.items():
        try:
            ctx.estimator.predict(bad)
        except InputShapeError:
            continue
        except Exception as exc:  # noqa: BLE001
            raise fail(f"predict({what}): expected InputShapeError, got {type(exc).__name__}: "
                       f"{exc}") from None
        raise fail(f"predict({what}): expected InputShapeError, nothing was raised")


@check("predict_non_finite", "Classifier")
def check_non_finite(ctx: Context) -> None:
    """An input holding NaN or inf raises InputValueError (a ValueError)."""
    for bad_value in (np.nan, np.inf):
        x = ctx.inputs()
        x.flat[7] = bad_value
        try:
            ctx.estimator.predict(x)
        except InputValueError:
            continue
        except Exception as exc:  # noqa: BLE001
            raise fail(f"predict(x with {bad_value}): expected InputValueError, got "
                       f"{type(exc).__name__}: {exc}") from None
        raise fail(f"predict(x with {bad_value}): expected InputValueError, nothing was raised")


@check("predict_bad_batch_size", "Classifier")
def check_bad_batch_size(ctx: Context) -> None:
    """``batch_size`` 0 raises ParameterError."""
    try:
        ctx.estimator.predict(ctx.inputs(), batch_size=0)
    except ParameterError:
        return
    except Exception as exc:  # noqa: BLE001
        raise fail(f"predict(batch_size=0): expected ParameterError, got {type(exc).__name__}: "
                   f"{exc}") from None
    raise fail("predict(batch_size=0): expected ParameterError, nothing was raised")


@check("predict_readonly_input", "Classifier")
def check_readonly_input(ctx: Context) -> None:
    """Read-only, non-contiguous and float64 inputs are accepted and give the same scores."""
    x = ctx.inputs()
    ref = predict(ctx, x)
    ro = x.copy()
    ro.setflags(write=False)
    assert_close(ctx, predict(ctx, ro), ref, "predict on a read-only input")
    strided = np.repeat(x, 2, axis=0)[::2]
    assert_close(ctx, predict(ctx, strided), ref, "predict on a non-contiguous input")
    assert_close(ctx, predict(ctx, x.astype(np.float64)), ref, "predict on a float64 input")
