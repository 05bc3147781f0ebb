"""Static checks (mypy --strict) of the seed's estimator surface: every adapter class with
``clone_for_refitting`` is a :class:`~trustml.protocols.Clonable`, its clone keeps the adapter's
own class, and ``set_params`` returns the adapter's own class (so chained calls keep every
capability)."""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

from trustml.adapters.mxnet import MXNetClassifier
from trustml.adapters.sklearn import (
    SklearnClassifier,
    SklearnLinearClassifier,
    SklearnMLPClassifier,
    SklearnTreeClassifier,
)
from trustml.adapters.tensorflow import (
    KerasClassifier,
    TensorFlowV1Classifier,
    TensorFlowV2Classifier,
)
from trustml.adapters.torch import PyTorchClassifier
from trustml.protocols import Clonable


def needs_clonable(model: Clonable) -> Any:
    return model.clone_for_refitting()


def surface(
    torch_clf: PyTorchClassifier,
    keras_clf: KerasClassifier,
    v2_clf: TensorFlowV2Classifier,
    v1_clf: TensorFlowV1Classifier,
    mx_clf: MXNetClassifier,
    generic: SklearnClassifier,
    linear: SklearnLinearClassifier,
    mlp: SklearnMLPClassifier,
    trees: SklearnTreeClassifier,
) -> None:
    for clonable in (torch_clf, keras_clf, v2_clf, mx_clf, generic, linear, mlp, trees):
        needs_clonable(clonable)
    assert_type(torch_clf.clone_for_refitting(), PyTorchClassifier)
    assert_type(keras_clf.clone_for_refitting(), KerasClassifier)
    assert_type(mx_clf.clone_for_refitting(), MXNetClassifier)
    assert_type(mlp.clone_for_refitting(), SklearnMLPClassifier)
    assert_type(trees.set_params(clip_values=None), SklearnTreeClassifier)
    assert_type(v2_clf.set_params(nb_classes=3), TensorFlowV2Classifier)
    assert_type(v1_clf.set_params(channels_first=True), TensorFlowV1Classifier)
    assert_type(mx_clf.set_params(ctx=None), MXNetClassifier)
    assert_type(torch_clf.set_params(device="cpu"), PyTorchClassifier)
    assert_type(keras_clf.model, Any)
    needs_clonable(v1_clf)  # type: ignore[arg-type]  # a TF1 graph cannot be rebuilt fresh
