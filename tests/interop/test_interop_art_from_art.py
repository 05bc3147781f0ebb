"""from_art: ART's estimators as trustml classifiers pass the kit (art session only)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("art")
pytest.importorskip("torch")

from art_models import CLASSES, art_torch, images, labels, tabular, torch_cnn, trustml_torch

from trustml.conformance import check_estimator
from trustml.errors import ParameterError, UnsupportedModelError
from trustml.interop.art import from_art
from trustml.protocols import ClassGradients, Fittable, LossGradients, NeuralNetwork


def test_pytorch_classifier_passes_the_kit_and_agrees_with_trustml() -> None:
    net = torch_cnn()
    assert net.training  # a fresh module: ART's predict would leave it in eval mode
    bridged = from_art(art_torch(net, optimizer=True))
    assert isinstance(bridged, LossGradients) and isinstance(bridged, ClassGradients)
    assert isinstance(bridged, Fittable) and not isinstance(bridged, NeuralNetwork)
    x, y = images(6), labels(6)
    ours = trustml_torch(net)
    net.train()
    np.testing.assert_allclose(bridged.loss_gradient(x, y), ours.loss_gradient(x, y),
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(bridged.loss_gradient(x, np.eye(CLASSES)[y]),
                               ours.loss_gradient(x, y), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(bridged.class_gradient(x), ours.class_gradient(x),
                               rtol=1e-4, atol=1e-6)
    assert net.training  # restored after ART's calls
    check_estimator(bridged, verbose=False).raise_for_failures()


def test_sklearn_logistic_regression_passes_the_kit_and_agrees_with_trustml() -> None:
    from art.estimators.classification import SklearnClassifier
    from sklearn.linear_model import LogisticRegression

    from trustml.adapters.sklearn import wrap

    x, y = tabular()
    for k in (3, 2):  # multinomial (ART scales by 1/k, differentiates log p) and binary
        keep = y < k
        model = LogisticRegression(max_iter=200).fit(x[keep], y[keep])
        bridged = from_art(SklearnClassifier(model, clip_values=(0.0, 1.0)))
        ours = wrap(model, clip_values=(0.0, 1.0))
        yk = y[:8] % k
        np.testing.assert_allclose(bridged.loss_gradient(x[:8], yk), ours.loss_gradient(x[:8], yk),
                                   rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(bridged.class_gradient(x[:8]), ours.class_gradient(x[:8]),
                                   rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(bridged.compute_loss(x[:8], yk), ours.compute_loss(x[:8], yk),
                                   rtol=1e-4)
        check_estimator(bridged, verbose=False).raise_for_failures()


def test_sklearn_with_standardisation_keeps_only_what_art_computes_correctly() -> None:
    from art.estimators.classification import SklearnClassifier
    from sklearn.linear_model import LogisticRegression

    from trustml.adapters.sklearn import wrap

    x, y = tabular()
    model = LogisticRegression(max_iter=200).fit(x, y)
    std = (np.full(6, 0.5), np.full(6, 0.25))
    bridged = from_art(SklearnClassifier(model, clip_values=(0.0, 1.0), preprocessing=std))
    assert not isinstance(bridged, LossGradients) and not isinstance(bridged, ClassGradients)
    ours = wrap(model, clip_values=(0.0, 1.0), preprocessing=std)
    np.testing.assert_allclose(bridged.predict(x), ours.predict(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bridged.preprocessing.divisor, ours.preprocessing.divisor)
    check_estimator(bridged, verbose=False).raise_for_failures()


def test_errors_are_typed() -> None:
    with pytest.raises(UnsupportedModelError, match="ART classifier"):
        from_art(trustml_torch(torch_cnn()))
    with pytest.raises(ParameterError, match="loss_reduction"):
        from_art(art_torch(torch_cnn()), loss_reduction="avg")


def test_svc_gets_no_gradients_its_predict_does_not_have() -> None:
    from art.estimators.classification import SklearnClassifier
    from sklearn.svm import SVC

    x, y = tabular()
    # probability=False explicitly: scikit-learn 1.9's default is the truthy string "deprecated",
    # on which ART 1.20.1's SVC predict calls the missing predict_proba
    model = SVC(kernel="linear", probability=False).fit(x, y)
    bridged = from_art(SklearnClassifier(model, clip_values=(0.0, 1.0)))
    assert not isinstance(bridged, LossGradients) and not isinstance(bridged, ClassGradients)
    check_estimator(bridged, verbose=False).raise_for_failures()
