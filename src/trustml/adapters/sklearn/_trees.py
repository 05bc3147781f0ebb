"""``SklearnTreeClassifier``: decision trees and tree ensembles, with their structure readable."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from trustml.adapters.sklearn._core import SklearnCore, build_core
from trustml.adapters.sklearn._model import require_fitted
from trustml.adapters.sklearn._shared import SklearnMembers
from trustml.adapters.sklearn._tree_reader import TREE_MODELS, check_trees, read_trees
from trustml.errors import UnsupportedModelError
from trustml.preprocessing import Postprocessor, PreprocessingLike, Preprocessor
from trustml.trees import Tree
from trustml.validation import ClipValuesLike

__all__ = ["SklearnTreeClassifier", "float32_boundary"]


def float32_boundary(threshold: float) -> float:
    """The float64 value ``b`` such that ``z <= b`` exactly when ``float32(z) <= threshold``.

    scikit-learn's trees cast their inputs to float32 before comparing them with a float64
    threshold, so the real decision boundary is the rounding boundary between the largest float32
    ``v <= threshold`` and the next float32 (up to ties, which round to even).
    """
    v = np.float32(threshold)
    if float(v) > threshold:
        v = np.nextafter(v, np.float32(-np.inf))
    return (float(v) + float(np.nextafter(v, np.float32(np.inf)))) / 2.0


class SklearnTreeClassifier(SklearnMembers):
    """DecisionTreeClassifier, RandomForestClassifier, ExtraTreesClassifier or
    GradientBoostingClassifier, alone or at the end of a Pipeline of scalers.

    Capabilities: Classifier, Fittable, DecisionTrees. No gradients: a tree model's output is
    piecewise constant, so it is deliberately *not* LossGradients / ClassGradients.

    ``predict`` is ``predict_proba`` (float32). ``get_trees`` returns :class:`trustml.trees.Tree`
    objects whose thresholds are in raw input units: the adapter's standardisation and the
    pipeline's scalers (increasing per-feature affine maps) are undone, so ``x[feature] <=
    threshold`` on the raw float64 input (flattened in C order) takes the model's branch. The
    float32 rounding scikit-learn applies to tree inputs is accounted for: each threshold is the
    raw image of the float32 rounding boundary of the model's own threshold (so it may differ from
    ``tree_.threshold`` mapped back by about one float32 ulp). With preprocessing defences,
    thresholds are in the units of the defences' output (defences come first and are not inverted).

    Parameters are those of :class:`~trustml.adapters.sklearn.SklearnClassifier`.

    Raises
    ------
    UnsupportedModelError
        Not one of these models, gradient boosting with a custom ``init`` estimator, or a pipeline
        step that is not a supported scaler.

    References
    ----------
    Breiman, Friedman, Olshen, Stone, "Classification and Regression Trees", 1984; Breiman, "Random
    forests", Machine Learning 2001; Geurts, Ernst, Wehenkel, "Extremely randomized trees", Machine
    Learning 2006; Friedman, "Greedy function approximation: a gradient boosting machine", Annals of
    Statistics 2001.
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
        core = build_core(
            model,
            input_shape=input_shape,
            nb_classes=nb_classes,
            clip_values=clip_values,
            preprocessing=preprocessing,
            preprocessing_defences=preprocessing_defences,
            postprocessing_defences=postprocessing_defences,
        )
        if not isinstance(core.final, TREE_MODELS):
            raise UnsupportedModelError(
                f"model: expected {', '.join(t.__name__ for t in TREE_MODELS)}, got "
                f"{type(core.final).__name__}"
            )
        check_trees(core.final)
        self._core: SklearnCore = core

    # ----------------------------------------------------------------- DecisionTrees
    def get_trees(self) -> list[Tree]:
        """The model's trees, thresholds in raw input units (see the class docstring and
        :func:`trustml.adapters.sklearn._tree_reader.read_trees` for weights and leaf values).

        Raises
        ------
        NotFittedError
            The model is not fitted.
        """
        core = self._core
        require_fitted(core.model, core.n_features, "get_trees")
        std = core.preprocessing
        shape = core.input_shape
        sub = np.broadcast_to(std.subtrahend, shape).reshape(-1)
        div = np.broadcast_to(std.divisor, shape).reshape(-1)
        affine = core.scalers()

        def raw(feature: int, threshold: float) -> float:
            t = float32_boundary(threshold)
            if affine is not None:
                t = (t - float(affine.offset[feature])) / float(affine.scale[feature])
            return t * float(div[feature]) + float(sub[feature])

        return read_trees(core.final, raw, core.n_features)
