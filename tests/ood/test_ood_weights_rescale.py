"""FeatureExtractor.get_weights in its one layout (output units last) for PyTorch, Keras and
Gluon, checked against each layer's own output; the SCALE / ASH switches against their
definition (PercentileRescale) and oodeel's head-input semantics; typed errors."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from typing import Any

import numpy as np
import pytest
from ood_numpy_adapter import NumpyNet

from trustml.activations import PercentileRescale
from trustml.errors import CapabilityError, InputShapeError, ParameterError
from trustml.ood import MLS, ODIN, Energy, FeatureExtractor

torch = pytest.importorskip("torch")
torch.set_num_threads(1)


def _conv_at(inputs: np.ndarray, kernel: np.ndarray, bias: np.ndarray, i: int, j: int) -> Any:
    """A stride-1, unpadded 2-D convolution's output at (i, j) from a channels-last input
    ``(H, W, C_in)`` and a kernel in the documented layout ``(kh, kw, C_in, C_out)``."""
    kh, kw = kernel.shape[:2]
    patch = inputs[i : i + kh, j : j + kw, :]
    return np.einsum("abc,abco->o", patch, kernel) + bias


def _torch_clf() -> Any:
    from trustml.adapters.torch import PyTorchClassifier

    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(2, 3, (3, 2)), nn.ReLU(), nn.Flatten(),
                          nn.Linear(3 * 4 * 5, 7), nn.ReLU(), nn.Linear(7, 4, bias=False))
    return PyTorchClassifier(model, nn.CrossEntropyLoss(), (2, 6, 6), 4), model


def test_torch_get_weights_layout() -> None:
    clf, model = _torch_clf()
    x = np.random.default_rng(0).normal(size=(3, 2, 6, 6)).astype(np.float32)
    ext = FeatureExtractor(clf, [-1])
    kernel, bias = ext.get_weights("0")
    assert kernel.shape == (3, 2, 2, 3) and bias.shape == (3,)
    conv = clf.get_activations(x, "0")  # (N, 3, 4, 5)
    for i, j in ((0, 0), (2, 3), (3, 4)):
        np.testing.assert_allclose(_conv_at(x[1].transpose(1, 2, 0), kernel, bias, i, j),
                                   conv[1, :, i, j], rtol=1e-5, atol=1e-5)
    kernel, bias = ext.get_weights(3)
    assert kernel.shape == (60, 7)
    np.testing.assert_allclose(clf.get_activations(x, "2") @ kernel + bias,
                               clf.get_activations(x, "3"), rtol=1e-5, atol=1e-5)
    kernel, bias = ext.get_weights(-1)  # no bias: zeros
    assert kernel.shape == (7, 4) and np.array_equal(bias, np.zeros(4, np.float32))
    kernel[:] = 0.0  # a copy: the model is unchanged
    assert torch.count_nonzero(model[5].weight) > 0
    with pytest.raises(ParameterError, match="layer_id"):
        ext.get_weights("1")  # ReLU
    with pytest.raises(ParameterError, match="layer_id"):
        ext.get_weights("nope")


def test_keras_get_weights_layout() -> None:
    keras = pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    from trustml.adapters.tensorflow import KerasClassifier

    keras.utils.set_random_seed(0)
    layers = keras.layers
    model = keras.Sequential([keras.Input((6, 6, 2)), layers.Conv2D(3, (3, 2), name="conv"),
                              layers.Flatten(name="flat"), layers.Dense(5, name="dense")])
    clf = KerasClassifier(model, use_logits=True)
    x = np.random.default_rng(1).normal(size=(2, 6, 6, 2)).astype(np.float32)
    ext = FeatureExtractor(clf, [-1])
    kernel, bias = ext.get_weights("conv")
    assert kernel.shape == (3, 2, 2, 3)
    conv = clf.get_activations(x, "conv")  # (N, 4, 5, 3)
    np.testing.assert_allclose(_conv_at(x[0], kernel, bias, 1, 2), conv[0, 1, 2],
                               rtol=1e-5, atol=1e-5)
    kernel, bias = ext.get_weights("dense")
    np.testing.assert_allclose(clf.get_activations(x, "flat") @ kernel + bias,
                               clf.get_activations(x, "dense"), rtol=1e-5, atol=1e-5)
    # a dense head with a nonlinear activation is not affine in its input: SCALE / ASH refuse
    relu_head = keras.Sequential([keras.Input((4,)), layers.Dense(6, name="h"),
                                  layers.Dense(3, activation="relu", name="out")])
    bad = FeatureExtractor(KerasClassifier(relu_head, use_logits=True), [-1],
                           ash_percentile=0.5)
    with pytest.raises(ParameterError, match="affine"):
        bad.predict(np.random.default_rng(2).normal(size=(16, 4)).astype(np.float32))


def test_mxnet_get_weights_layout() -> None:
    mx = pytest.importorskip("mxnet")
    from trustml.adapters.mxnet import MXNetClassifier

    mx.random.seed(0)
    nn = mx.gluon.nn
    net = nn.HybridSequential()
    net.add(nn.Conv2D(3, (3, 2)), nn.Flatten(), nn.Dense(5))
    net.initialize()
    clf = MXNetClassifier(net, mx.gluon.loss.SoftmaxCrossEntropyLoss(), (2, 6, 6), 5)
    x = np.random.default_rng(2).normal(size=(2, 2, 6, 6)).astype(np.float32)
    ext = FeatureExtractor(clf, [-1])
    kernel, bias = ext.get_weights("0")
    assert kernel.shape == (3, 2, 2, 3)
    conv = clf.get_activations(x, "0")
    np.testing.assert_allclose(_conv_at(x[0].transpose(1, 2, 0), kernel, bias, 2, 1),
                               conv[0, :, 2, 1], rtol=1e-5, atol=1e-5)
    kernel, bias = ext.get_weights("2")
    np.testing.assert_allclose(clf.get_activations(x, "1") @ kernel + bias,
                               clf.get_activations(x, "2"), rtol=1e-5, atol=1e-5)


def test_percentile_rescale_hand_computed() -> None:
    a = np.array([[1.0, 2.0, 3.0, 4.0, 10.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    # 60 % quantile of row 0 (linear): 3.4 -> kept {4, 10}; s = exp(20 / 14)
    s = np.exp(20.0 / 14.0)
    ash = PercentileRescale(0.6, prune=True).apply(a)
    np.testing.assert_allclose(ash[0], np.array([0, 0, 0, 4.0, 10.0]) * s)
    np.testing.assert_allclose(PercentileRescale(0.6).apply(a)[0], a[0] * s)
    assert np.array_equal(ash[1], a[1])  # nothing above the percentile: unchanged, no NaN
    with pytest.raises(ParameterError, match="percentile"):
        PercentileRescale(1.0)


@pytest.mark.parametrize("prune", [False, True])
def test_scale_and_ash_rescale_the_head_input_only(prune: bool) -> None:
    clf, model = _torch_clf()
    x = np.random.default_rng(3).normal(size=(8, 2, 6, 6)).astype(np.float32)
    before = [p.detach().clone() for p in model.parameters()]
    logits_before = clf.predict(x)
    key = "ash_percentile" if prune else "scale_percentile"
    ext = FeatureExtractor(clf, ["4", "5"], **{key: 0.7})
    feats, info = ext.predict(x)
    hidden = clf.get_activations(x, "4")
    kernel, bias = ext.get_weights("5")
    expected = PercentileRescale(0.7, prune).apply(hidden) @ kernel + bias
    np.testing.assert_allclose(info["logits"], expected, rtol=1e-10)
    assert not np.allclose(info["logits"], logits_before, atol=1e-3)
    # the features are those of the unchanged forward pass (oodeel's pre-hook on the head)
    assert np.array_equal(feats[0], hidden) and np.array_equal(feats[1], logits_before)
    assert np.array_equal(clf.predict(x), logits_before)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    # the detectors' switches
    det = Energy(use_ash=prune, use_scale=not prune, **{key: 0.7}).fit(clf)
    from scipy.special import logsumexp

    np.testing.assert_allclose(det.score(x)[0], -logsumexp(expected, axis=1), rtol=1e-10)


def test_scale_ash_typed_errors() -> None:
    clf, _ = _torch_clf()
    with pytest.raises(ParameterError, match="use_ash"):
        MLS(use_react=True, use_ash=True)
    with pytest.raises(ParameterError, match="use_ash"):
        MLS(use_scale=True, use_ash=True)
    with pytest.raises(ParameterError, match="ash_percentile"):
        FeatureExtractor(clf, [-1], react_threshold=1.0, ash_percentile=0.9)
    with pytest.raises(ParameterError, match="scale_percentile"):
        MLS(use_scale=True, scale_percentile=1.5)
    with pytest.raises(ParameterError, match="eps"):
        ODIN(use_ash=True)  # ODIN perturbs by default
    with pytest.raises(ParameterError, match="head_layer_id"):
        FeatureExtractor(clf, [-1], head_layer_id="4", ash_percentile=0.9)  # ReLU, no kernel
    with pytest.raises(ParameterError, match="head_layer_id"):
        FeatureExtractor(clf, [-1], head_layer_id="0", scale_percentile=0.9)  # first layer
    ext = FeatureExtractor(clf, [-1], ash_percentile=0.9)
    with pytest.raises(ParameterError, match="predict"):
        ext.predict_tensor(torch.zeros((1, 2, 6, 6)))
    # the head is a softmax layer (oodeel's head_layer_id=-2 case taken as -1)
    soft = torch.nn.Sequential(*list(clf.model), torch.nn.Softmax(dim=1))
    from trustml.adapters.torch import PyTorchClassifier

    wrapped = PyTorchClassifier(soft, torch.nn.CrossEntropyLoss(), (2, 6, 6), 4)
    with pytest.raises(ParameterError, match="head_layer_id"):
        FeatureExtractor(wrapped, [-1], head_layer_id="6", ash_percentile=0.9)
    ok = FeatureExtractor(wrapped, [-1], head_layer_id=-2, ash_percentile=0.9)
    assert ok.predict(np.zeros((2, 2, 6, 6), np.float32))[1]["logits"].shape == (2, 4)
    numpy_net = NumpyNet(np.eye(3), np.zeros(3), input_dim=3)
    with pytest.raises(CapabilityError, match="model"):
        FeatureExtractor(numpy_net, [-1]).get_weights(-1)


def test_input_layer_id_starts_the_model_at_a_layer() -> None:
    from trustml.adapters.torch import PyTorchClassifier
    from trustml.ood import DKNN

    torch.manual_seed(2)
    nn = torch.nn
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 5), nn.ReLU(), nn.Linear(5, 3))
    clf = PyTorchClassifier(model, nn.CrossEntropyLoss(), (6,), 3, preprocessing=(0.5, 2.0))
    rng = np.random.default_rng(4)
    x, x_fit = rng.normal(size=(9, 6)).astype(np.float32), rng.normal(size=(40, 6)).astype("f4")
    mid, mid_fit = clf.get_activations(x, "1"), clf.get_activations(x_fit, "1")
    ext = FeatureExtractor(clf, ["3"], input_layer_id="2")
    assert ext.classifier.input_shape == (8,) and ext.input_layer_id == "2"
    feats, info = ext.predict(mid)
    np.testing.assert_allclose(feats[0], clf.get_activations(x, "3"), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(info["logits"], clf.predict(x), rtol=1e-6, atol=1e-6)
    assert ext.classifier.model[0] is model[2]  # shared layers, the user's model unchanged
    assert [k for k, _ in model.named_children()] == ["0", "1", "2", "3", "4"]
    whole = DKNN(nearest=3).fit(clf, x_fit, feature_layers_id=["3"])
    cropped = DKNN(nearest=3).fit(clf, mid_fit, feature_layers_id=["3"], input_layer_id=2)
    np.testing.assert_allclose(cropped.score(mid)[0], whole.score(x)[0], rtol=1e-5, atol=1e-7)
    with pytest.raises(ParameterError, match="input_layer_id"):
        FeatureExtractor(clf, ["3"], input_layer_id="nope")
    with pytest.raises(InputShapeError, match="x_fit"):
        DKNN(nearest=3).fit(clf, x_fit, feature_layers_id=["3"], input_layer_id="2")  # raw x
    nested = nn.Sequential(nn.Sequential(nn.Linear(6, 4), nn.ReLU()), nn.Linear(4, 3))
    nclf = PyTorchClassifier(nested, nn.CrossEntropyLoss(), (6,), 3)
    with pytest.raises(ParameterError, match="input_layer_id"):
        FeatureExtractor(nclf, [-1], input_layer_id="0.1")  # not a top-level layer
    numpy_net = NumpyNet(np.eye(3), np.zeros(3), input_dim=3)
    with pytest.raises(ParameterError, match="input_layer_id"):
        FeatureExtractor(numpy_net, [-1], input_layer_id="logits")


def test_vim_pseudo_origin_has_zero_logits() -> None:
    from trustml.ood import VIM

    clf, _ = _torch_clf()
    x = np.random.default_rng(5).normal(size=(30, 2, 6, 6)).astype(np.float32)
    det = VIM(princ_dims=3, pca_origin="pseudo").fit(clf, x, feature_layers_id=["4"])
    kernel, bias = FeatureExtractor(clf, [-1]).get_weights(-1)
    np.testing.assert_allclose(kernel.T.astype(np.float64) @ det._centers[0] + bias, 0.0,
                               atol=1e-6)
    center = VIM(princ_dims=3).fit(clf, x, feature_layers_id=["4"])._centers[0]
    assert not np.allclose(center, det._centers[0])
    with pytest.raises(ParameterError, match="pca_origin"):
        VIM(pca_origin="pseudo").fit(clf, x, feature_layers_id=["2"])  # not the head's input


def test_input_layer_id_on_a_keras_sequential() -> None:
    keras = pytest.importorskip("keras")
    from trustml.adapters.tensorflow import KerasClassifier

    keras.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input((6,)), keras.layers.Dense(8, activation="relu", name="d1"),
        keras.layers.Dense(5, activation="relu", name="d2"), keras.layers.Dense(3, name="out"),
    ])
    clf = KerasClassifier(model, use_logits=True, preprocessing=(0.5, 2.0))
    x = np.random.default_rng(4).normal(size=(9, 6)).astype(np.float32)
    before = [w.copy() for w in model.get_weights()]
    logits = clf.predict(x)
    mid = clf.get_activations(x, "d1")
    ext = FeatureExtractor(clf, ["d2"], input_layer_id="d2")
    assert ext.classifier.input_shape == (8,)
    feats, info = ext.predict(mid)
    np.testing.assert_allclose(feats[0], clf.get_activations(x, "d2"), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(info["logits"], logits, rtol=1e-5, atol=1e-6)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    np.testing.assert_array_equal(clf.predict(x), logits)  # the user's model is unchanged
    with pytest.raises(ParameterError, match="input_layer_id"):
        FeatureExtractor(clf, ["d2"], input_layer_id="nope")
