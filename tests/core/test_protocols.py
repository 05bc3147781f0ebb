"""Capabilities are structural; `require` names what is missing."""

from __future__ import annotations

import numpy as np
import pytest

from trustml.errors import CapabilityError, ParameterTypeError
from trustml.preprocessing import Standardisation
from trustml.protocols import (
    Classifier,
    Estimator,
    LossGradients,
    WhiteBoxClassifier,
    missing_members,
    require,
)
from trustml.rng import as_generator


class _Thresholder:
    """A two-class classifier on one feature (no gradients)."""

    input_shape = (1,)
    clip_values = None
    nb_classes = 2
    preprocessing = Standardisation.create(0.0, 1.0, input_shape=(1,), channels_first=False)

    def predict(self, x: object, batch_size: int = 128) -> np.ndarray:
        arr = np.asarray(x, dtype=np.float32)
        p = (arr[:, 0] > 0).astype(np.float32)
        return np.stack([1 - p, p], axis=1)


def test_structural_capabilities() -> None:
    clf = _Thresholder()
    assert isinstance(clf, Estimator)
    assert isinstance(clf, Classifier)
    assert not isinstance(clf, LossGradients)
    assert not isinstance(clf, WhiteBoxClassifier)
    assert require(clf, Classifier) is clf


def test_require_names_missing_members() -> None:
    with pytest.raises(CapabilityError) as info:
        require(_Thresholder(), WhiteBoxClassifier, name="classifier")
    message = str(info.value)
    assert message.startswith(
        "classifier: expected an object with the WhiteBoxClassifier capability"
    )
    assert "class_gradient, compute_loss, loss_gradient" in message
    assert isinstance(info.value, TypeError)
    assert missing_members(_Thresholder(), WhiteBoxClassifier) == [
        "class_gradient", "compute_loss", "loss_gradient"
    ]


def test_seeds() -> None:
    a = as_generator(3).normal(size=4)
    b = as_generator(3).normal(size=4)
    np.testing.assert_array_equal(a, b)
    g = np.random.default_rng(1)
    assert as_generator(g) is g
    assert isinstance(as_generator(None), np.random.Generator)
    state = np.random.get_state()[1].copy()  # type: ignore[index]
    as_generator(5).normal(size=10)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # type: ignore[index]
    for bad in (1.5, "1", True, np.random.RandomState(0)):
        with pytest.raises(ParameterTypeError, match="seed: expected an int"):
            as_generator(bad)  # type: ignore[arg-type]
