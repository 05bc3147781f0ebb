"""The conformance kit over MXNetClassifier: an MLP (nested, hybridized) and a CNN."""

from __future__ import annotations

import pytest

pytest.importorskip("mxnet")
conformance = pytest.importorskip("trustml.conformance")

from _mxnets import cnn_classifier, mlp_classifier

SGD = ("sgd", {"learning_rate": 0.05})


@pytest.mark.parametrize(
    "build", [mlp_classifier, cnn_classifier], ids=["mlp-hybridized", "cnn-hybridized"]
)
def test_every_conformance_check_passes(build) -> None:
    report = conformance.check_estimator(build(optimizer=SGD, hybridize=True), verbose=False)
    assert {"NeuralNetwork", "Fittable", "ClassGradients"} <= set(report.capabilities)
    report.raise_for_failures(strict=True)
