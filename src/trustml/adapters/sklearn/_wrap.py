"""``wrap``: the factory that picks the adapter with exactly the capabilities a model has."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

from sklearn.base import ClassifierMixin
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC, LinearSVC
from sklearn.tree import DecisionTreeClassifier

from trustml.adapters.sklearn._generic import SklearnClassifier
from trustml.adapters.sklearn._linear import SklearnLinearClassifier
from trustml.adapters.sklearn._mlp import SklearnMLPClassifier
from trustml.adapters.sklearn._model import final_estimator
from trustml.adapters.sklearn._tree_reader import TREE_MODELS
from trustml.adapters.sklearn._trees import SklearnTreeClassifier
from trustml.preprocessing import Postprocessor, PreprocessingLike, Preprocessor
from trustml.validation import ClipValuesLike

__all__ = ["SklearnAdapter", "wrap"]

SklearnAdapter = (
    SklearnLinearClassifier | SklearnMLPClassifier | SklearnTreeClassifier | SklearnClassifier
)
"""Any adapter :func:`wrap` can return; narrow it with ``isinstance`` or
:func:`trustml.protocols.require`."""

# The overloads are tried in order: a model statically known only as a ClassifierMixin gets
# SklearnClassifier, which has a subset of the members of the adapter wrap may then return for it
# (mypy's overload-overlap, silenced on purpose: every adapter satisfies FittableClassifier).


@overload
def wrap(  # type: ignore[overload-overlap]  # narrowest first, as noted above
    model: LogisticRegression | LinearSVC,
    *,
    clip_values: ClipValuesLike | None = ...,
    preprocessing: PreprocessingLike = ...,
    preprocessing_defences: Preprocessor | Sequence[Preprocessor] | None = ...,
    postprocessing_defences: Postprocessor | Sequence[Postprocessor] | None = ...,
    input_shape: tuple[int, ...] | None = ...,
    nb_classes: int | None = ...,
) -> SklearnLinearClassifier: ...


@overload
def wrap(  # type: ignore[overload-overlap]  # narrowest first, as noted above
    model: MLPClassifier,
    *,
    clip_values: ClipValuesLike | None = ...,
    preprocessing: PreprocessingLike = ...,
    preprocessing_defences: Preprocessor | Sequence[Preprocessor] | None = ...,
    postprocessing_defences: Postprocessor | Sequence[Postprocessor] | None = ...,
    input_shape: tuple[int, ...] | None = ...,
    nb_classes: int | None = ...,
) -> SklearnMLPClassifier: ...


@overload
def wrap(  # type: ignore[overload-overlap]  # narrowest first, as noted above
    model: (
        DecisionTreeClassifier
        | RandomForestClassifier
        | ExtraTreesClassifier
        | GradientBoostingClassifier
    ),
    *,
    clip_values: ClipValuesLike | None = ...,
    preprocessing: PreprocessingLike = ...,
    preprocessing_defences: Preprocessor | Sequence[Preprocessor] | None = ...,
    postprocessing_defences: Postprocessor | Sequence[Postprocessor] | None = ...,
    input_shape: tuple[int, ...] | None = ...,
    nb_classes: int | None = ...,
) -> SklearnTreeClassifier: ...


@overload
def wrap(  # type: ignore[overload-overlap]  # narrowest first, as noted above
    model: SVC,
    *,
    clip_values: ClipValuesLike | None = ...,
    preprocessing: PreprocessingLike = ...,
    preprocessing_defences: Preprocessor | Sequence[Preprocessor] | None = ...,
    postprocessing_defences: Postprocessor | Sequence[Postprocessor] | None = ...,
    input_shape: tuple[int, ...] | None = ...,
    nb_classes: int | None = ...,
) -> SklearnLinearClassifier | SklearnClassifier: ...


@overload
def wrap(
    model: Pipeline,
    *,
    clip_values: ClipValuesLike | None = ...,
    preprocessing: PreprocessingLike = ...,
    preprocessing_defences: Preprocessor | Sequence[Preprocessor] | None = ...,
    postprocessing_defences: Postprocessor | Sequence[Postprocessor] | None = ...,
    input_shape: tuple[int, ...] | None = ...,
    nb_classes: int | None = ...,
) -> SklearnAdapter: ...


@overload
def wrap(
    model: ClassifierMixin,
    *,
    clip_values: ClipValuesLike | None = ...,
    preprocessing: PreprocessingLike = ...,
    preprocessing_defences: Preprocessor | Sequence[Preprocessor] | None = ...,
    postprocessing_defences: Postprocessor | Sequence[Postprocessor] | None = ...,
    input_shape: tuple[int, ...] | None = ...,
    nb_classes: int | None = ...,
) -> SklearnClassifier: ...


def wrap(
    model: Any,
    *,
    clip_values: ClipValuesLike | None = None,
    preprocessing: PreprocessingLike = (0.0, 1.0),
    preprocessing_defences: Preprocessor | Sequence[Preprocessor] | None = None,
    postprocessing_defences: Postprocessor | Sequence[Postprocessor] | None = None,
    input_shape: tuple[int, ...] | None = None,
    nb_classes: int | None = None,
) -> SklearnAdapter:
    """Wrap a scikit-learn classifier in the adapter that has exactly its capabilities.

    ========================================================  ======================================
    model (or the last step of a Pipeline of scalers)          adapter: capabilities
    ========================================================  ======================================
    LogisticRegression, LinearSVC, SVC(kernel="linear")        :class:`SklearnLinearClassifier`:
                                                               Classifier, Fittable, LossGradients,
                                                               ClassGradients
    MLPClassifier                                              :class:`SklearnMLPClassifier`: the
                                                               above + NeuralNetwork
    DecisionTree / RandomForest / ExtraTrees /                 :class:`SklearnTreeClassifier`:
    GradientBoosting classifiers                               Classifier, Fittable, DecisionTrees
    any other classifier                                       :class:`SklearnClassifier`:
                                                               Classifier, Fittable
    ========================================================  ======================================

    Statically, ``wrap`` is overloaded on the model's type; an ``SVC`` (kernel known only at run
    time) gives ``SklearnLinearClassifier | SklearnClassifier`` and a ``Pipeline`` gives
    :data:`SklearnAdapter`; narrow them with ``isinstance`` or :func:`trustml.protocols.require`.

    Parameters
    ----------
    model : sklearn classifier or Pipeline
        Wrapped, not copied. A Pipeline may hold StandardScaler, MinMaxScaler (``clip=False``),
        MaxAbsScaler, RobustScaler or ``"passthrough"`` steps before its classifier; they become
        part of the input path, gradients included.
    clip_values : (min, max), optional
        Valid raw input range (scalars or arrays broadcastable to ``input_shape``); never applied.
    preprocessing : (subtrahend, divisor) or Standardisation or None
        ``(x - subtrahend) / divisor`` before the model (per feature for flat inputs).
    preprocessing_defences, postprocessing_defences : optional
        Defences (see :mod:`trustml.preprocessing`).
    input_shape : tuple of int, optional
        Shape of one raw sample; default ``(n_features_in_,)``; required for an unfitted model.
    nb_classes : int, optional
        Class count of an unfitted model.

    Returns
    -------
    SklearnLinearClassifier or SklearnMLPClassifier or SklearnTreeClassifier or SklearnClassifier

    Raises
    ------
    UnsupportedModelError
        Not a scikit-learn classifier (regressors, transformers, other frameworks' models), a
        pipeline step that is not a supported scaler, or a multi-output model. (An SVC with a
        non-linear kernel is not an error: it gets :class:`SklearnClassifier`.)
    ParameterError, ParameterTypeError
        Unfitted model without ``input_shape``; bad ``input_shape``, ``clip_values``,
        ``preprocessing``, ``nb_classes`` or defences.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from trustml.adapters.sklearn import wrap
    >>> x, y = load_iris(return_X_y=True)
    >>> clf = wrap(LogisticRegression(max_iter=500).fit(x, y), clip_values=(0.0, 8.0))
    >>> clf.class_gradient(x[:2]).shape
    (2, 3, 4)
    """
    final = final_estimator(model)
    kwargs: dict[str, Any] = {
        "clip_values": clip_values,
        "preprocessing": preprocessing,
        "preprocessing_defences": preprocessing_defences,
        "postprocessing_defences": postprocessing_defences,
        "input_shape": input_shape,
        "nb_classes": nb_classes,
    }
    if isinstance(final, (LogisticRegression, LinearSVC)) or (
        isinstance(final, SVC) and final.kernel == "linear"
    ):
        return SklearnLinearClassifier(model, **kwargs)
    if isinstance(final, MLPClassifier):
        return SklearnMLPClassifier(model, **kwargs)
    if isinstance(final, TREE_MODELS):
        return SklearnTreeClassifier(model, **kwargs)
    return SklearnClassifier(model, **kwargs)
