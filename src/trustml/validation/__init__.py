"""Validation of inputs shared by every adapter and algorithm.

Policies (the contract every shipped adapter follows):

- ``x`` must have shape ``(N, *input_shape)``; ``N = 0`` is allowed and gives empty outputs,
  except in ``fit``, which refuses to train on nothing (:func:`check_nonempty`).
- ``x`` must be real-valued numeric (bool, int or float); it is converted to the working float
  dtype in a new array, so read-only, non-contiguous and integer inputs are accepted and the
  caller's array is never mutated.
- NaN and +/-inf are rejected with :class:`~trustml.errors.InputValueError`: no model output or
  gradient is meaningful for them, and silently propagating them hides bugs upstream.
- Values must also be finite once cast to the working dtype: a float64 ``1e39`` is finite but
  overflows to inf in float32, so it is rejected with :class:`~trustml.errors.InputValueError`
  after the cast, not propagated as NaN.
- A ragged nested sequence (rows of different lengths) is an
  :class:`~trustml.errors.InputValueError`, not numpy's own ``ValueError``.
- ``clip_values`` (the valid input range) are validated, stored, and never applied silently.

Parameter constraints are declared once (:class:`Interval`, :class:`Options`, :class:`InstanceOf`,
:data:`NONE`) and checked by :func:`check_param`, in one message format (the model is
scikit-learn's ``_param_validation``)::

    {name}: expected {constraint} [or {constraint} ...], got {value}

A value of a type no constraint accepts raises :class:`~trustml.errors.ParameterTypeError`; a value
of an accepted type outside every constraint raises :class:`~trustml.errors.ParameterError`. Both
are also the matching builtin (``TypeError`` / ``ValueError``).
"""

from __future__ import annotations

from trustml.validation._arrays import (
    ClipValues,
    ClipValuesLike,
    as_array,
    check_batch,
    check_cast_finite,
    check_clip_values,
    check_finite,
    check_input_shape,
    check_integral_array,
    check_shape,
    format_shape,
)
from trustml.validation._constraints import (
    NONE,
    POSITIVE_INT,
    POSITIVE_REAL,
    REDUCTIONS,
    Constraint,
    InstanceOf,
    Interval,
    Options,
    check_batch_size,
    check_int_range,
    check_layer,
    check_nonempty,
    check_param,
    check_positive_float,
    check_positive_int,
    check_real,
    check_reduction,
)

__all__ = [
    "NONE",
    "POSITIVE_INT",
    "POSITIVE_REAL",
    "REDUCTIONS",
    "ClipValues",
    "ClipValuesLike",
    "Constraint",
    "InstanceOf",
    "Interval",
    "Options",
    "as_array",
    "check_batch",
    "check_batch_size",
    "check_cast_finite",
    "check_clip_values",
    "check_finite",
    "check_input_shape",
    "check_int_range",
    "check_integral_array",
    "check_layer",
    "check_nonempty",
    "check_param",
    "check_positive_float",
    "check_positive_int",
    "check_real",
    "check_reduction",
    "check_shape",
    "format_shape",
]
