"""``SklearnClassifier``: any scikit-learn classifier, as a Classifier + Fittable."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.adapters.sklearn._core import SklearnCore, build_core
from trustml.preprocessing import Postprocessor, PreprocessingLike, Preprocessor, Standardisation
from trustml.validation import ClipValues, ClipValuesLike

__all__ = ["SklearnClassifier"]


class _HasCore(Protocol):
    """What the members shared by every scikit-learn adapter class need: the composed core.

    The other adapter classes reuse those members (``predict = SklearnClassifier.predict``)
    instead of re-delegating each to the core."""

    _core: SklearnCore


class SklearnClassifier:
    """Any scikit-learn classifier (or a Pipeline of scalers ending in one): predictions and
    fitting.

    Capabilities: :class:`~trustml.protocols.Classifier`, :class:`~trustml.protocols.Fittable`.
    Prefer :func:`trustml.adapters.sklearn.wrap`, which picks the adapter with every capability the
    model has.

    Parameters
    ----------
    model : sklearn classifier or Pipeline
        Wrapped, not copied: ``fit`` refits it in place.
    clip_values : (min, max), optional
        Valid raw input range, scalars or arrays broadcastable to ``input_shape``; never applied.
    preprocessing : (subtrahend, divisor) or Standardisation or None
        Standardisation ``(x - subtrahend) / divisor`` applied (after the defences) before the
        model, per feature for flat inputs. Default ``(0.0, 1.0)``: none.
    preprocessing_defences, postprocessing_defences : optional
        :class:`~trustml.preprocessing.Preprocessor` /
        :class:`~trustml.preprocessing.Postprocessor`.
    input_shape : tuple of int, optional
        Shape of one raw sample; default ``(model.n_features_in_,)``. Required for an unfitted
        model. Any shape holding ``n_features_in_`` values (e.g. ``(8, 8)`` for the digits); samples
        are flattened (C order) before the model.
    nb_classes : int, optional
        Class count of an unfitted model (otherwise read from ``classes_``).

    Raises
    ------
    UnsupportedModelError
        ``model`` is not a scikit-learn classifier, a pipeline step is not a supported scaler, or
        the model is multi-output.
    ParameterError, ParameterTypeError
        Bad ``input_shape``, ``clip_values``, ``preprocessing``, ``nb_classes``, or an unfitted
        model without ``input_shape``.
    """

    def __init__(
        self,
        model: Any,
        *,
        clip_values: ClipValuesLike | None = None,
        preprocessing: PreprocessingLike = (0.0, 1.0),
        preprocessing_defences: Preprocessor | Sequence[Preprocessor] | None = None,
        postprocessing_defences: Postprocessor | Sequence[Postprocessor] | None = None,
        input_shape: tuple[int, ...] | None = None,
        nb_classes: int | None = None,
    ) -> None:
        self._core: SklearnCore = build_core(
            model,
            input_shape=input_shape,
            nb_classes=nb_classes,
            clip_values=clip_values,
            preprocessing=preprocessing,
            preprocessing_defences=preprocessing_defences,
            postprocessing_defences=postprocessing_defences,
        )

    def __repr__(self: _HasCore) -> str:
        return f"{type(self).__name__}({self._core.model!r}, input_shape={self._core.input_shape})"

    @property
    def model(self: _HasCore) -> Any:
        """The wrapped scikit-learn estimator."""
        return self._core.model

    @property
    def input_shape(self: _HasCore) -> tuple[int, ...]:
        """Shape of one raw sample."""
        return self._core.input_shape

    @property
    def clip_values(self: _HasCore) -> ClipValues | None:
        """Valid raw input range ``(min, max)`` as float32 arrays, or None."""
        return self._core.clip_values

    @property
    def preprocessing(self: _HasCore) -> Standardisation:
        """The standardisation applied before the model."""
        return self._core.preprocessing

    @property
    def nb_classes(self: _HasCore) -> int:
        """``len(model.classes_)`` (class ``i`` of trustml is ``model.classes_[i]``).

        Raises
        ------
        NotFittedError
            Unfitted model wrapped without ``nb_classes``.
        """
        return self._core.nb_classes

    def predict(self: _HasCore, x: ArrayLike, batch_size: int = 128) -> NDArray[np.float32]:
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
        self: _HasCore, x: ArrayLike, y: ArrayLike, batch_size: int = 128, nb_epochs: int = 20,
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
        self: _HasCore, generator: Iterable[tuple[Any, Any]], nb_epochs: int = 20, **kwargs: Any
    ) -> None:
        """Concatenate the ``(x, y)`` batches of one pass over ``generator`` and :meth:`fit`."""
        self._core.fit_generator(generator, nb_epochs, **kwargs)
