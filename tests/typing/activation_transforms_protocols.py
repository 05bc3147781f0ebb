"""Static checks (mypy --strict): every adapter with activation transforms satisfies
``ActivationTransforms``, and ``ActivationTransform`` takes any array_like scale. Nothing runs."""

from __future__ import annotations

import numpy as np

from trustml.activations import ActivationTransform, transformed_activations
from trustml.adapters.mxnet import MXNetClassifier
from trustml.adapters.sklearn import SklearnMLPClassifier
from trustml.adapters.tensorflow import KerasClassifier, TensorFlowV2Classifier
from trustml.adapters.torch import PyTorchClassifier
from trustml.protocols import ActivationTransforms


def capabilities(
    torch_clf: PyTorchClassifier,
    keras_clf: KerasClassifier,
    tf_clf: TensorFlowV2Classifier,
    mx_clf: MXNetClassifier,
    mlp_clf: SklearnMLPClassifier,
) -> list[ActivationTransforms]:
    return [torch_clf, keras_clf, tf_clf, mx_clf, mlp_clf]


def transforms(clf: ActivationTransforms) -> dict[str, ActivationTransform]:
    pruned = ActivationTransform(scale=np.array([1.0, 0.0, 1.0]))  # float64 array
    react = ActivationTransform(clip_max=1.0)
    listed = ActivationTransform(scale=[1, 0, 1], clip_min=0.0)
    clf.set_activation_transform("fc", pruned)
    clf.set_activation_transform(-2, None)
    with transformed_activations(clf, {"fc": react, 0: listed}):
        pass
    return clf.activation_transforms
