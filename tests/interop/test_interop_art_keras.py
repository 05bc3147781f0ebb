"""to_art over trustml's Keras 3 adapter matches ART's own TensorFlowV2Classifier (art session).

ART 1.20.1's KerasClassifier does not run on Keras 3 (it needs Keras 2's backend functions), so
the reference is ART's TensorFlowV2Classifier over the same Keras model.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("art")
pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from art.attacks.evasion import FastGradientMethod, ProjectedGradientDescent
from art_models import labels

from trustml.interop.art import to_art

SHAPE = (8, 8, 3)
K = 4


def _model() -> object:
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input(SHAPE), keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.Flatten(), keras.layers.Dense(K),
    ])


def test_fgsm_and_pgd_match_arts_tensorflow_v2_classifier() -> None:
    from art.estimators.classification import TensorFlowV2Classifier as ArtTF

    from trustml.adapters.tensorflow import KerasClassifier

    model = _model()
    theirs = ArtTF(model, nb_classes=K, input_shape=SHAPE, clip_values=(0.0, 1.0),
                   loss_object=keras.losses.CategoricalCrossentropy(from_logits=True))
    ours = to_art(KerasClassifier(model, use_logits=True, clip_values=(0.0, 1.0)))
    x = np.random.default_rng(0).random((8, *SHAPE), dtype=np.float32)
    y = np.eye(K, dtype=np.float32)[labels(8, k=K)]
    for make in (
        lambda e: FastGradientMethod(e, eps=0.05),
        lambda e: ProjectedGradientDescent(e, eps=0.1, eps_step=0.02, max_iter=5,
                                           num_random_init=0, verbose=False),
    ):
        adv_theirs = make(theirs).generate(x, y=y)
        assert np.abs(adv_theirs - x).max() > 1e-3
        np.testing.assert_allclose(make(ours).generate(x, y=y), adv_theirs, rtol=0, atol=1e-5)


def test_from_art_over_tensorflow_v2_matches_trustmls_keras_adapter() -> None:
    from art.estimators.classification import TensorFlowV2Classifier as ArtTF

    from trustml.adapters.tensorflow import KerasClassifier
    from trustml.interop.art import from_art

    model = _model()
    bridged = from_art(ArtTF(model, nb_classes=K, input_shape=SHAPE, clip_values=(0.0, 1.0),
                             loss_object=keras.losses.CategoricalCrossentropy(from_logits=True)))
    ours = KerasClassifier(model, use_logits=True, clip_values=(0.0, 1.0))
    x = np.random.default_rng(2).random((6, *SHAPE), dtype=np.float32)
    y = labels(6, k=K)
    # ART's Keras loss averages over the batch ("sum_over_batch_size"); from_art undoes it
    np.testing.assert_allclose(bridged.loss_gradient(x, y), ours.loss_gradient(x, y),
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(bridged.compute_loss(x, y), ours.compute_loss(x, y), rtol=1e-5)
