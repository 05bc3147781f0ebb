"""Static checks (mypy --strict, warn_unused_ignores): the PyTorch and Keras adapters are what
trustml.ood needs (LayeredClassifier, the MultiLayerActivations and ActivationTransforms
capabilities); detectors return typed scores; an object without layers is rejected."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from typing_extensions import assert_type

from trustml.adapters.tensorflow import KerasClassifier
from trustml.adapters.torch import PyTorchClassifier
from trustml.ood import DKNN, Energy, FeatureExtractor, LayeredClassifier
from trustml.protocols import ActivationTransforms, Classifier, MultiLayerActivations


def torch_side(clf: PyTorchClassifier, x: NDArray[np.float32]) -> None:
    layered: LayeredClassifier = clf
    multi: MultiLayerActivations = clf
    transforms: ActivationTransforms = clf
    feats, info = FeatureExtractor(clf, ["1"], react_threshold=1.0).predict(x)
    assert_type(feats, list[NDArray[Any]])
    assert_type(info, dict[str, NDArray[Any]])
    scores, _ = DKNN(nearest=5).fit(clf, x, feature_layers_id=[-2]).score(x)
    assert_type(scores, NDArray[np.float64])
    del layered, multi, transforms


def keras_side(clf: KerasClassifier, x: NDArray[np.float32]) -> None:
    layered: LayeredClassifier = clf
    multi: MultiLayerActivations = clf
    Energy(use_react=True).fit(clf, x)
    del layered, multi


def rejected(clf: Classifier) -> None:
    FeatureExtractor(clf)  # type: ignore[arg-type]
