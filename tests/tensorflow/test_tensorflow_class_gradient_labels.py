"""class_gradient takes one-hot labels on every TensorFlow adapter, as on the others (this raised
LabelError on KerasClassifier and TensorFlowV2Classifier before labels were handled in one
place)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import MODELS, SHAPE, batch

from trustml.adapters.tensorflow import KerasClassifier, TensorFlowV2Classifier
from trustml.errors import LabelError


@pytest.mark.parametrize("kind", ["keras", "tf2"])
def test_one_hot_labels_equal_index_labels(kind: str) -> None:
    model = MODELS["functional"]()
    clf = (KerasClassifier(model, use_logits=True, input_shape=SHAPE) if kind == "keras"
           else TensorFlowV2Classifier(model, 4, SHAPE))
    x = batch(5)
    idx = np.array([3, 0, 2, 2, 1])
    by_index = clf.class_gradient(x, label=idx)
    by_one_hot = clf.class_gradient(x, label=np.eye(4)[idx])
    assert by_one_hot.shape == (5, 1, *SHAPE)
    np.testing.assert_array_equal(by_one_hot, by_index)
    every = clf.class_gradient(x)
    np.testing.assert_allclose(by_index[:, 0], every[np.arange(5), idx], rtol=1e-5, atol=1e-7)
    with pytest.raises(LabelError, match="label: expected None, an int class index"):
        clf.class_gradient(x, label=1.5)
