"""The trustml exception hierarchy.

Every error trustml raises for a bad input is a :class:`TrustMLError` and, at the same time, the
builtin exception a Python user would expect (``ValueError`` for a bad value, ``TypeError`` for a
missing capability, ``ImportError`` for a missing optional dependency). ``except ValueError`` keeps
working; ``except TrustMLError`` catches everything trustml raises on purpose.

Messages name the parameter, what was expected and what came, e.g.
``x: expected shape (N, 3, 32, 32), got (16, 32, 32, 3)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CapabilityError",
    "ClusterError",
    "CounterfactualNotFoundError",
    "DeviceError",
    "InputShapeError",
    "InputValueError",
    "LabelError",
    "MissingDependencyError",
    "NotFittedError",
    "ParameterError",
    "ParameterTypeError",
    "TrustMLError",
    "UnsupportedModelError",
]


class TrustMLError(Exception):
    """Base class of every exception trustml raises on purpose."""


class InputShapeError(TrustMLError, ValueError):
    """An input array does not have the shape the estimator expects (e.g. ``(N, *input_shape)``)."""


class InputValueError(TrustMLError, ValueError):
    """An input array has the right shape but unusable values: non-numeric dtype, NaN or inf."""


class LabelError(TrustMLError, ValueError):
    """Labels are malformed: wrong shape, out of ``[0, nb_classes)``, not integral, not one-hot."""


class ParameterError(TrustMLError, ValueError):
    """A parameter (of a constructor or a method) has an invalid value."""


class ParameterTypeError(TrustMLError, TypeError):
    """A parameter has an invalid type."""


class CapabilityError(TrustMLError, TypeError):
    """An object lacks a capability (protocol member) that an algorithm requires."""


class UnsupportedModelError(TrustMLError, TypeError):
    """A framework model cannot be wrapped by the requested adapter."""


class DeviceError(TrustMLError, ValueError):
    """A requested compute device is malformed or not available."""


class NotFittedError(TrustMLError, ValueError, AttributeError):
    """The wrapped model must be fitted before this call (as scikit-learn's ``NotFittedError``)."""


class MissingDependencyError(TrustMLError, ImportError):
    """An optional dependency (an *extra*) is missing; the message gives the exact install line."""


class CounterfactualNotFoundError(TrustMLError, RuntimeError):
    """No counterfactual met the success criterion for at least one input.

    Attributes
    ----------
    x_cf : numpy.ndarray
        ``(N, *input_shape)``: the counterfactual where one was found, else the best candidate
        (the last iterate of the last ``C`` tried).
    y_cf : numpy.ndarray
        ``(N,)`` int64: the predicted label of each row of ``x_cf``.
    delta : numpy.ndarray
        ``x - x_cf`` (CEML's sign).
    found : numpy.ndarray
        ``(N,)`` bool: which rows are counterfactuals.
    """

    def __init__(
        self,
        message: str,
        x_cf: NDArray[Any],
        y_cf: NDArray[np.int64],
        delta: NDArray[Any],
        found: NDArray[np.bool_],
    ) -> None:
        super().__init__(message)
        self.x_cf = x_cf
        self.y_cf = y_cf
        self.delta = delta
        self.found = found
class ClusterError(TrustMLError, ConnectionError):
    """A compute cluster (a Dask scheduler) did not answer within the stated timeout, or failed."""
