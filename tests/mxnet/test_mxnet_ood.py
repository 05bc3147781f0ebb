"""trustml.ood over the MXNet adapter: every detector gives the scores it gives on the same
weights copied into PyTorch (float64 both sides), spatial features pooled on the channel axis."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mxnet")
pytest.importorskip("sklearn")
torch = pytest.importorskip("torch")

from _mxnets import CNN_MEAN, CNN_SHAPE, CNN_STD, cnn_classifier, data

from trustml.adapters.torch import PyTorchClassifier
from trustml.ood import DETECTORS, FeatureExtractor

torch.set_num_threads(1)


def torch_copy(clf) -> PyTorchClassifier:
    conv, dense = clf.model[0], clf.model[3]
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.Tanh(), torch.nn.AvgPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(64, 3),
    ).double()
    for layer, target in [(conv, net[0]), (dense, net[4])]:
        target.weight.data = torch.from_numpy(layer.weight.data().asnumpy())
        target.bias.data = torch.from_numpy(layer.bias.data().asnumpy())
    return PyTorchClassifier(net, torch.nn.CrossEntropyLoss(), CNN_SHAPE, 3,
                             preprocessing=(CNN_MEAN, CNN_STD))


def test_mxnet_and_torch_agree_for_every_detector() -> None:
    mx_clf = cnn_classifier()
    t_clf = torch_copy(mx_clf)
    x_fit, _ = data(CNN_SHAPE, n=80, seed=1)
    x_q, _ = data(CNN_SHAPE, n=12, seed=2)
    y_fit = t_clf.predict(x_fit).argmax(1)
    conv_mx, conv_t = mx_clf.layer_names[0], "1"
    feats_mx = FeatureExtractor(mx_clf, [conv_mx]).predict(x_q)[0][0]
    np.testing.assert_array_equal(feats_mx, mx_clf.get_activations(x_q, conv_mx))
    np.testing.assert_allclose(feats_mx, t_clf.get_activations(x_q, conv_t), rtol=1e-10,
                               atol=1e-12)
    for name, cls in DETECTORS.items():
        kwargs = {"nearest": 5} if name == "DKNN" else {"eps": 0.01} if name == "ODIN" else {}
        scores = []
        for clf, layer in ((mx_clf, conv_mx), (t_clf, conv_t)):
            det = cls(**kwargs).fit(clf, x_fit, y_fit, feature_layers_id=[layer])
            scores.append(det.score(x_q)[0])
        np.testing.assert_allclose(scores[0], scores[1], rtol=1e-7, atol=1e-9, err_msg=name)
