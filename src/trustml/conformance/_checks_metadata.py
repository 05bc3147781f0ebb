"""Metadata checks: input_shape, nb_classes, clip_values, preprocessing, channels_first."""

from __future__ import annotations

import numpy as np

from trustml.conformance._context import Context, check, fail, require_true
from trustml.preprocessing import Standardisation


@check("metadata_input_shape", "Estimator")
def check_input_shape(ctx: Context) -> None:
    """``input_shape`` is a non-empty tuple of positive Python ints, the same on every access."""
    shape = ctx.estimator.input_shape
    require_true(isinstance(shape, tuple),
                 f"input_shape: expected a tuple, got {type(shape).__name__}")
    require_true(len(shape) > 0, "input_shape: expected a non-empty tuple, got ()")
    for d in shape:
        require_true(isinstance(d, int) and not isinstance(d, bool) and d > 0,
                     f"input_shape: expected positive ints, got {shape!r}")
    require_true(ctx.estimator.input_shape == shape, "input_shape: changed between two reads")


@check("metadata_clip_values", "Estimator")
def check_clip_values(ctx: Context) -> None:
    """``clip_values`` is None or ``(min, max)`` float32 arrays broadcastable to ``input_shape``,
    finite, with ``min < max`` everywhere."""
    clip = ctx.estimator.clip_values
    if clip is None:
        return
    require_true(isinstance(clip, tuple) and len(clip) == 2,
                 f"clip_values: expected None or a pair (min, max), got {clip!r}")
    lo, hi = clip
    for name, arr in (("min", lo), ("max", hi)):
        require_true(isinstance(arr, np.ndarray) and arr.dtype == np.float32,
                     f"clip_values {name}: expected a float32 numpy array, got "
                     f"{type(arr).__name__} {getattr(arr, 'dtype', '')}")
        require_true(bool(np.isfinite(arr).all()), f"clip_values {name}: expected finite values")
    try:
        shape = np.broadcast_shapes(lo.shape, hi.shape, ctx.input_shape)
    except ValueError:
        raise fail(f"clip_values: shapes {lo.shape}, {hi.shape} do not broadcast to "
                   f"input_shape {ctx.input_shape}") from None
    require_true(shape == ctx.input_shape,
                 f"clip_values: expected shapes broadcastable to {ctx.input_shape}, got {shape}")
    require_true(bool((lo < hi).all()), "clip_values: expected min < max everywhere")


@check("metadata_preprocessing", "Estimator")
def check_preprocessing(ctx: Context) -> None:
    """``preprocessing`` is a :class:`~trustml.preprocessing.Standardisation` whose arrays
    broadcast against a batch ``(N, *input_shape)``, with a positive divisor."""
    std = ctx.estimator.preprocessing
    require_true(isinstance(std, Standardisation),
                 f"preprocessing: expected a trustml Standardisation, got {type(std).__name__}")
    for name, arr in (("subtrahend", std.subtrahend), ("divisor", std.divisor)):
        try:
            np.broadcast_shapes(arr.shape, (1, *ctx.input_shape))
        except ValueError:
            raise fail(f"preprocessing {name}: shape {arr.shape} does not broadcast to a batch "
                       f"(N, *{ctx.input_shape})") from None
        if arr.ndim > len(ctx.input_shape):
            raise fail(f"preprocessing {name}: shape {arr.shape} has more axes than one sample "
                       f"{ctx.input_shape}")
    require_true(bool((std.divisor > 0).all()), "preprocessing divisor: expected positive values")


@check("metadata_nb_classes", "Classifier")
def check_nb_classes(ctx: Context) -> None:
    """``nb_classes`` is a Python int >= 2."""
    k = ctx.estimator.nb_classes
    require_true(isinstance(k, int) and not isinstance(k, bool) and k >= 2,
                 f"nb_classes: expected an int >= 2, got {k!r}")


@check("metadata_channels_first", "NeuralNetwork")
def check_channels_first(ctx: Context) -> None:
    """``channels_first`` is a bool."""
    cf = ctx.estimator.channels_first
    require_true(isinstance(cf, (bool, np.bool_)), f"channels_first: expected a bool, got {cf!r}")
