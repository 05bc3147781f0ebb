"""Static checks (mypy --strict, warn_unused_ignores): what the protocols accept and reject.

Nothing here runs; mypy proves that a user's plain class satisfies the protocols structurally and
that a classifier without gradients is rejected where gradients are required.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.preprocessing import Standardisation
from trustml.protocols import Classifier, LossGradients, WhiteBoxClassifier, require


class BlackBox:
    """Only predictions: a Classifier and nothing more."""

    def __init__(self) -> None:
        self.input_shape: tuple[int, ...] = (4,)
        self.clip_values: tuple[NDArray[np.float32], NDArray[np.float32]] | None = None
        self.preprocessing = Standardisation.create(0.0, 1.0, input_shape=(4,),
                                                    channels_first=False)
        self.nb_classes = 3

    def predict(self, x: ArrayLike, batch_size: int = 128) -> NDArray[np.float32]:
        return np.zeros((len(np.asarray(x)), 3), dtype=np.float32)


class WhiteBox(BlackBox):
    """Adds loss and class gradients."""

    def compute_loss(self, x: ArrayLike, y: ArrayLike, reduction: str = "none") -> NDArray[Any]:
        return np.zeros(len(np.asarray(x)))

    def loss_gradient(self, x: ArrayLike, y: ArrayLike) -> NDArray[Any]:
        return np.zeros_like(np.asarray(x, dtype=np.float64))

    def class_gradient(self, x: ArrayLike, label: int | ArrayLike | None = None) -> NDArray[Any]:
        return np.zeros((len(np.asarray(x)), 3, 4))


def needs_classifier(model: Classifier) -> int:
    return model.nb_classes


def needs_gradients(model: WhiteBoxClassifier) -> NDArray[Any]:
    return model.loss_gradient(np.zeros((1, 4)), [0])


def needs_loss(model: LossGradients) -> None:
    model.compute_loss(np.zeros((1, 4)), [0])


needs_classifier(BlackBox())
needs_classifier(WhiteBox())
needs_gradients(WhiteBox())
needs_gradients(BlackBox())  # type: ignore[arg-type]
needs_loss(BlackBox())  # type: ignore[arg-type]


def narrowed(model: object) -> NDArray[Any]:
    # `require` accepts protocol classes and returns the object typed as the protocol.
    white = require(model, WhiteBoxClassifier)
    return white.loss_gradient(np.zeros((1, 4)), [0])
