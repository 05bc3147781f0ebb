"""``SklearnClassifier``: any scikit-learn classifier, as a Classifier + Fittable."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trustml.adapters.sklearn._core import SklearnCore, build_core
from trustml.adapters.sklearn._shared import SklearnMembers
from trustml.preprocessing import Postprocessor, PreprocessingLike, Preprocessor
from trustml.validation import ClipValuesLike

__all__ = ["SklearnClassifier"]


class SklearnClassifier(SklearnMembers):
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
