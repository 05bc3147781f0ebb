"""Members every scikit-learn adapter class shares, written once in a private concrete base class
with no capability meaning (DESIGN.md, "Sharing code"): the estimator's properties, ``predict``,
fitting, and the seed's estimator surface (``get_params``, ``set_params``,
``clone_for_refitting``). Each forwards to the adapter's :class:`~._core.SklearnCore`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import clone
from typing_extensions import Self

from trustml.adapters.sklearn._core import SklearnCore
from trustml.errors import ParameterError
from trustml.preprocessing import Standardisation
from trustml.validation import ClipValues

__all__ = ["PARAMS", "SklearnMembers"]

PARAMS = (
    "model", "clip_values", "preprocessing", "preprocessing_defences", "postprocessing_defences",
    "input_shape", "nb_classes",
)
"""The constructor's parameters of every scikit-learn adapter class (what ``get_params`` gives)."""


class SklearnMembers:
    """What every scikit-learn adapter has; a subclass's constructor builds ``self._core``."""

    _core: SklearnCore

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._core.model!r}, input_shape={self._core.input_shape})"

    @property
    def model(self) -> Any:
        """The wrapped scikit-learn estimator (not a copy); read-only."""
        return self._core.model

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one raw sample."""
        return self._core.input_shape

    @property
    def clip_values(self) -> ClipValues | None:
        """Valid raw input range ``(min, max)`` as float32 arrays, or None."""
        return self._core.clip_values

    @property
    def preprocessing(self) -> Standardisation:
        """The standardisation applied before the model."""
        return self._core.preprocessing

    @property
    def nb_classes(self) -> int:
        """``len(model.classes_)`` (class ``i`` of trustml is ``model.classes_[i]``).

        Raises
        ------
        NotFittedError
            Unfitted model wrapped without ``nb_classes``.
        """
        return self._core.nb_classes

    def predict(self, x: ArrayLike, batch_size: int = 128) -> NDArray[np.float32]:
        """``model.predict_proba``, or the one-hot of ``model.predict`` where the model has no
        ``predict_proba``; then the postprocessing defences.

        Parameters
        ----------
        x : array_like
            ``(N, *input_shape)`` raw input, finite real numbers; not modified.
        batch_size : int
            Samples per call to the model.

        Returns
        -------
        numpy.ndarray
            ``(N, nb_classes)`` float32.

        Raises
        ------
        NotFittedError, InputShapeError, InputValueError, ParameterError
        """
        return self._core.predict(x, batch_size, self._core.model_scores)

    def fit(
        self, x: ArrayLike, y: ArrayLike, batch_size: int = 128, nb_epochs: int = 20,
        **kwargs: Any,
    ) -> None:
        """Refit the model in place on ``x`` ``(N, *input_shape)`` (defended and standardised) and
        labels ``y`` (index ``(N,)`` or one-hot). ``batch_size`` and ``nb_epochs`` are validated
        but unused (scikit-learn's own settings apply); ``kwargs`` go to ``model.fit``.

        Raises
        ------
        InputShapeError, InputValueError, LabelError, ParameterError
            Before the model is touched. Every class must appear in ``y``.
        """
        self._core.fit(x, y, batch_size, nb_epochs, **kwargs)

    def fit_generator(
        self, generator: Iterable[tuple[Any, Any]], nb_epochs: int = 20, **kwargs: Any
    ) -> None:
        """Concatenate the ``(x, y)`` batches of one pass over ``generator`` and :meth:`fit`."""
        self._core.fit_generator(generator, nb_epochs, **kwargs)

    # ----------------------------------------------------------------- estimator surface
    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters (a new dict): the wrapped model itself, the validated
        ``clip_values``, ``preprocessing`` and ``input_shape``, the defences (None when there
        are none) and the declared ``nb_classes`` (None when it is read from the model)."""
        core = self._core
        return {
            "model": core.model,
            "clip_values": core.clip_values,
            "preprocessing": core.preprocessing,
            "preprocessing_defences": core.chain.defences or None,
            "postprocessing_defences": core.chain.postprocessors or None,
            "input_shape": core.input_shape,
            "nb_classes": core._declared_classes,
        }

    def set_params(self, **params: Any) -> Self:
        """Change constructor parameters (not the model's own hyperparameters: use
        ``model.set_params`` for those). Everything is validated as in the constructor before
        anything changes, so on error the adapter is unchanged.

        Returns
        -------
        The adapter itself.

        Raises
        ------
        ParameterError
            An unknown parameter name; or as the constructor.
        UnsupportedModelError
            As the constructor (a ``model`` this adapter class does not take).
        """
        unknown = sorted(set(params) - set(PARAMS))
        if unknown:
            raise ParameterError(
                f"set_params: expected parameters among {list(PARAMS)}, got {unknown}"
            )
        merged = {**self.get_params(), **params}
        if "input_shape" in params and "preprocessing" not in params:
            std = self._core.preprocessing  # lay the standardisation out anew
            merged["preprocessing"] = (std.subtrahend.squeeze(), std.divisor.squeeze())
        fresh: Self = _facade(self)(**merged)
        self._keep_state(fresh)  # raises before any change
        self.__dict__.update(fresh.__dict__)
        return self

    def clone_for_refitting(self) -> Self:
        """An untrained copy (ART's ``clone_for_refitting``): a new adapter of the same class and
        settings around ``sklearn.base.clone(model)`` (the same hyperparameters, unfitted, a
        Pipeline's scalers included), sharing no state with the original. ``nb_classes`` is
        declared from the original (so the copy answers it before it is fitted); it predicts
        once :meth:`fit` has run, and fitting it never changes the original. Activation transforms
        are not carried over (they are checked against fitted weights)."""
        params = {**self.get_params(), "model": clone(self._core.model)}
        params["nb_classes"] = self._core._known_classes()
        copy: Self = _facade(self)(**params)
        return copy

    def _keep_state(self, fresh: Self) -> None:
        """Carry adapter state that is not a constructor parameter over to ``fresh`` (a new
        adapter of the same class); raise before anything changes when it does not fit."""


def _facade(obj: SklearnMembers) -> Any:
    """The concrete class of ``obj``, whose constructor takes :data:`PARAMS`."""
    return type(obj)
