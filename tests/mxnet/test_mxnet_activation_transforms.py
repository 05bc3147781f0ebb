"""MXNetClassifier's ActivationTransforms: the numpy reference, the rest of the network applied to
the transformed value, finite differences, bit-identical removal, nothing left on the network
(no wrapped forward, hybridize flags back), fit through the transform, errors."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mxnet")

from _mxnets import CNN_SHAPE, cnn_classifier, data, mixed_classifier, mlp_classifier
from mxnet import autograd, nd
from numpy.testing import assert_allclose, assert_array_equal

from trustml.activations import ActivationTransform
from trustml.errors import ParameterError, ParameterTypeError
from trustml.protocols import ActivationTransforms

EPS = 1e-6
T6 = ActivationTransform(scale=np.array([0.0, 1.0, 2.0, 1.0, 1.0, 0.5]), clip_min=-0.4,
                         clip_max=0.3)


def _blocks(net):
    out, stack = [], [net]
    while stack:
        block = stack.pop()
        out.append(block)
        stack.extend(block._children.values())
    return out


def _snapshot(net):
    params = {k: v.data().asnumpy().copy() for k, v in net.collect_params().items()}
    flags = [getattr(b, "_active", None) for b in _blocks(net)]
    return params, flags


def _unchanged(net, snap) -> None:
    params, flags = _snapshot(net)
    assert flags == snap[1]
    assert params.keys() == snap[0].keys()
    for k, v in params.items():
        assert_array_equal(v, snap[0][k])
    assert all("forward" not in b.__dict__ for b in _blocks(net))


def _run(block, a: np.ndarray) -> np.ndarray:
    with autograd.pause(train_mode=False):
        return block(nd.array(a, dtype="float64")).asnumpy()


@pytest.mark.parametrize("make", [
    pytest.param(lambda: mlp_classifier(), id="mlp"),
    pytest.param(lambda: mlp_classifier(hybridize=True), id="mlp-hybridized"),
    pytest.param(mixed_classifier, id="block-holding-hybridized"),
])
def test_transform_inside_the_forward_pass(make) -> None:
    clf = make()
    assert isinstance(clf, ActivationTransforms)
    net = clf.model
    layer = "0" if "0.act" in clf.layer_names else "0.1"
    x, y = data((4,))
    snap = _snapshot(net)
    p0, g0 = clf.predict(x), clf.loss_gradient(x, y)
    plain = clf.get_activations(x, layer)
    t = T6 if plain.shape[1] == 6 else ActivationTransform(scale=np.arange(5.0), clip_max=0.2)
    clf.set_activation_transform(layer, t)
    assert clf.activation_transforms == {layer: t}
    acts = clf.get_activations(x, layer)
    assert_allclose(acts, t.apply(plain), atol=0)
    # the rest of the network: the inner block after layer "0" (mlp), or the head after the
    # hybridized inner block whose last layer is "0.1" (mixed)
    scores = _run(net[1], acts)
    assert_allclose(clf.get_activations(x, clf.layer_names[-1]), scores, rtol=1e-12)
    assert_allclose(clf.predict(x), scores.astype(np.float32), rtol=1e-6)
    _unchanged(net, snap)
    clf.set_activation_transform(layer, None)
    assert clf.activation_transforms == {}
    assert_array_equal(clf.predict(x), p0)
    assert_array_equal(clf.loss_gradient(x, y), g0)
    _unchanged(net, snap)


def test_cnn_per_channel_scale() -> None:
    clf = cnn_classifier(hybridize=True)
    x, _ = data(CNN_SHAPE, n=4)
    plain = clf.get_activations(x, "0")
    t = ActivationTransform(scale=np.array([1.0, 0.0, 2.0, 0.5]).reshape(4, 1, 1), clip_max=0.5)
    clf.set_activation_transform("0", t)
    acts = clf.get_activations(x, "0")
    assert_allclose(acts, t.apply(plain), atol=0)
    net = clf.model
    h = acts
    for k in (1, 2, 3):
        h = _run(net[k], h)
    assert_allclose(clf.get_activations(x, "3"), h, rtol=1e-12)
    assert net._active


def _fd(f, x: np.ndarray) -> np.ndarray:
    """Central differences of a per-sample function, one coordinate of every sample at a time."""
    d = x.shape[1]
    out = []
    for j in range(d):
        step = np.zeros_like(x)
        step[:, j] = EPS
        out.append((f(x + step) - f(x - step)) / (2 * EPS))
    return np.stack(out, axis=-1)


@pytest.mark.parametrize("hybridize", [False, True])
def test_gradients_match_finite_differences(hybridize: bool) -> None:
    clf = mlp_classifier(hybridize=hybridize)
    x, y = data((4,), n=5, seed=3)
    clf.set_activation_transform("0", T6)
    clf.set_activation_transform("1.0", ActivationTransform(clip_min=-0.5))
    raw = clf.get_activations(x, "0.act")  # the untransformed output of layer "0"
    assert np.abs(np.abs(raw + 0.05) - 0.35).min() > 1e-4  # away from both bounds (-0.4, 0.3)
    assert ((raw > 0.3) | (raw < -0.4)).any()
    fd = _fd(lambda v: clf.compute_loss(v, y), x)
    assert_allclose(clf.loss_gradient(x, y), fd, rtol=1e-5, atol=1e-8)
    scores = clf.layer_names[-1]
    fd = _fd(lambda v: clf.get_activations(v, scores), x)  # (N, classes, d)
    assert_allclose(clf.class_gradient(x), fd, rtol=1e-5, atol=1e-8)


def test_fit_trains_through_the_transform() -> None:
    clf = mlp_classifier(hybridize=True, optimizer=("sgd", {"learning_rate": 0.1}))
    net = clf.model
    x, y = data((4,), n=12)
    before = _snapshot(net)[0]
    clf.set_activation_transform("0", ActivationTransform(scale=np.zeros(6)))
    clf.fit(x, y, batch_size=4, nb_epochs=2, seed=0)
    after = _snapshot(net)[0]
    first = [k for k in before if k.startswith(net[0].prefix)]
    assert first
    for k in first:  # no gradient reaches the first layer
        assert_array_equal(after[k], before[k])
    assert any(not np.array_equal(after[k], before[k]) for k in before if k not in first)
    assert all("forward" not in b.__dict__ for b in _blocks(net)) and net._active


def test_errors_install_nothing() -> None:
    clf = mlp_classifier()
    clf.set_activation_transform("0", T6)
    with pytest.raises(ParameterError, match="layer"):
        clf.set_activation_transform("9", T6)
    with pytest.raises(ParameterError, match="layer"):
        clf.set_activation_transform(17, T6)
    with pytest.raises(ParameterError, match=r"scale.*\(6,\).*\(5,\)"):
        clf.set_activation_transform("0", ActivationTransform(scale=np.ones(5)))
    with pytest.raises(ParameterTypeError, match="ActivationTransform"):
        clf.set_activation_transform("0", {"scale": 0})  # type: ignore[arg-type]
    assert clf.activation_transforms == {"0": T6}
    assert all("forward" not in b.__dict__ for b in _blocks(clf.model))
