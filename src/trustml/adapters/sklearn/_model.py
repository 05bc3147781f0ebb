"""Reading a scikit-learn model: pipeline scalers, the final estimator, fitted state, classes.

Every function here reads the model afresh, so an adapter stays right after the model is refitted
(by the adapter's ``fit`` or by the user).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, is_classifier
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler
from sklearn.utils.validation import check_is_fitted

from trustml.errors import NotFittedError, UnsupportedModelError

__all__ = [
    "Affine",
    "classes_of",
    "final_estimator",
    "fitted_scalers",
    "is_fitted",
    "require_fitted",
    "scaler_steps",
]

_SCALERS = (StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler)
_SCALER_NAMES = ", ".join(s.__name__ for s in _SCALERS)


@dataclass(frozen=True)
class Affine:
    """Per-feature increasing affine map ``z = x * scale + offset`` (``scale > 0``), float64
    ``(F,)``."""

    scale: NDArray[np.float64]
    offset: NDArray[np.float64]

    def apply(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return x * self.scale + self.offset

    def gradient(self, grad: NDArray[np.float64]) -> NDArray[np.float64]:
        """Gradient w.r.t. ``x`` given ``grad`` w.r.t. ``z`` (any leading axes)."""
        return grad * self.scale

    def inverse(self, z: NDArray[np.float64]) -> NDArray[np.float64]:
        return (z - self.offset) / self.scale

    def then(self, other: Affine) -> Affine:
        """The map ``other(self(x))``."""
        return Affine(self.scale * other.scale, self.offset * other.scale + other.offset)


def _steps(model: Any) -> tuple[list[tuple[str, Any]], Any]:
    """Non-final steps (flattening nested pipelines) and the final step."""
    if not isinstance(model, Pipeline):
        return [], model
    steps = list(model.steps)
    if not steps:
        raise UnsupportedModelError("model: expected a Pipeline with at least one step, got none")
    *head, (_, last) = steps
    inner, final = _steps(last)
    return [*head, *inner], final


def _is_classifier(obj: Any) -> bool:
    if not isinstance(obj, BaseEstimator):
        return False
    try:
        return bool(is_classifier(obj))
    except (AttributeError, TypeError, ValueError):
        return False


def final_estimator(model: Any) -> Any:
    """The classifier at the end of ``model`` (``model`` itself unless it is a Pipeline).

    Raises
    ------
    UnsupportedModelError
        If it is not a scikit-learn classifier (a regressor, a transformer, ``"passthrough"``).
    """
    final = _steps(model)[1]
    if not _is_classifier(final):
        what = "a Pipeline ending in " if isinstance(model, Pipeline) else ""
        raise UnsupportedModelError(
            f"model: expected a scikit-learn classifier (or a Pipeline ending in one), got "
            f"{what}{type(final).__name__}"
        )
    return final


def scaler_steps(model: Any) -> list[Any]:
    """The pipeline's scaling steps in order (``"passthrough"`` / None steps dropped).

    Raises
    ------
    UnsupportedModelError
        Naming the first step that is not a supported scaler (StandardScaler, MinMaxScaler,
        MaxAbsScaler, RobustScaler; MinMaxScaler only with ``clip=False``).
    """
    out: list[Any] = []
    for name, step in _steps(model)[0]:
        if step is None or (isinstance(step, str) and step == "passthrough"):
            continue
        if not isinstance(step, _SCALERS):
            raise UnsupportedModelError(
                f"model: pipeline step {name!r} is a {type(step).__name__}; trustml's scikit-learn "
                f"adapter supports pipelines of per-feature scalers ({_SCALER_NAMES}) ending in a "
                f"classifier, whose gradients it chains exactly"
            )
        if isinstance(step, MinMaxScaler) and step.clip:
            raise UnsupportedModelError(
                f"model: pipeline step {name!r} is a MinMaxScaler with clip=True, which is not an "
                f"affine map; use clip=False"
            )
        out.append(step)
    return out


def _affine_of(step: Any, n_features: int) -> Affine:
    ones = np.ones(n_features)
    zeros = np.zeros(n_features)
    if isinstance(step, StandardScaler):
        scale = 1.0 / np.asarray(step.scale_, dtype=np.float64) if step.with_std else ones
        offset = -np.asarray(step.mean_, dtype=np.float64) * scale if step.with_mean else zeros
        return Affine(scale * ones, offset * ones)
    if isinstance(step, MinMaxScaler):
        return Affine(
            np.asarray(step.scale_, dtype=np.float64) * ones,
            np.asarray(step.min_, dtype=np.float64) * ones,
        )
    if isinstance(step, MaxAbsScaler):
        return Affine(1.0 / np.asarray(step.scale_, dtype=np.float64) * ones, zeros)
    # RobustScaler: (x - center) / scale, either part optional
    scale = 1.0 / np.asarray(step.scale_, dtype=np.float64) if step.with_scaling else ones
    offset = -np.asarray(step.center_, dtype=np.float64) * scale if step.with_centering else zeros
    return Affine(scale * ones, offset * ones)


def fitted_scalers(model: Any, n_features: int) -> Affine | None:
    """The composition of the pipeline's (fitted) scalers, or None when there are none."""
    total: Affine | None = None
    for step in scaler_steps(model):
        affine = _affine_of(step, n_features)
        if (affine.scale <= 0).any():
            raise UnsupportedModelError(
                f"model: scaler {type(step).__name__} has a non-positive scale; expected an "
                f"increasing per-feature map"
            )
        total = affine if total is None else total.then(affine)
    return total


def is_fitted(model: Any) -> bool:
    """Whether every step of ``model`` is fitted (scikit-learn's own test)."""
    parts = [*scaler_steps(model), final_estimator(model)]
    try:
        for part in parts:
            check_is_fitted(part)
    except SklearnNotFittedError:
        return False
    return True


def classes_of(final: Any) -> NDArray[Any]:
    """``final.classes_`` for a fitted single-output classifier.

    Raises
    ------
    UnsupportedModelError
        For multi-output / multi-label classifiers.
    """
    classes = getattr(final, "classes_", None)
    if isinstance(classes, list) or classes is None or np.ndim(classes) != 1:
        raise UnsupportedModelError(
            f"model: expected a single-output classifier, got a multi-output {type(final).__name__}"
        )
    return np.asarray(classes)


def require_fitted(model: Any, n_features: int, what: str) -> None:
    """Raise :class:`~trustml.errors.NotFittedError` unless ``model`` is fitted on
    ``n_features``."""
    if not is_fitted(model):
        raise NotFittedError(
            f"{what}: the wrapped {type(model).__name__} is not fitted; call fit(x, y) on the "
            f"adapter (or the model) first"
        )
    fitted_on = getattr(model, "n_features_in_", None)
    if fitted_on is not None and int(fitted_on) != n_features:
        raise UnsupportedModelError(
            f"model: expected a model fitted on {n_features} features (the adapter's input_shape), "
            f"got one fitted on {int(fitted_on)}"
        )
