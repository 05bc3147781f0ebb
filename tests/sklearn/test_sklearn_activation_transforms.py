"""SklearnMLPClassifier's ActivationTransforms on hidden layers: an independent numpy forward pass
with the transform inside, analytic gradients through clip and scale against central
differences, bit-identical removal, the model untouched, errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, softmax
from sklearn.neural_network import MLPClassifier
from sklearn_helpers import central_difference, fit_quietly, probe_points, rel_err

from trustml.activations import ActivationTransform, transformed_activations
from trustml.adapters.sklearn import SklearnMLPClassifier, wrap
from trustml.errors import ParameterError, ParameterTypeError
from trustml.protocols import ActivationTransforms

ACT = {"relu": lambda p: np.maximum(p, 0), "tanh": np.tanh, "logistic": expit,
       "identity": lambda p: p}


def _reference(model: Any, z: np.ndarray, layer: int, t: ActivationTransform) -> list[np.ndarray]:
    """Every layer's output, the transform applied after hidden layer ``layer`` (independent of
    trustml's own forward pass)."""
    outs, a = [], z
    for i, (w, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        pre = a @ w + b
        if i == len(model.coefs_) - 1:
            p = expit(pre) if pre.shape[1] == 1 else softmax(pre, axis=1)
            outs.append(np.hstack([1 - p, p]) if p.shape[1] == 1 else p)
            return outs
        a = ACT[model.activation](pre)
        if i == layer:
            a = t.apply(a)
        outs.append(a)
    raise AssertionError


@pytest.fixture(
    scope="module",
    params=[(a, d) for a in ("relu", "tanh", "logistic") for d in ("iris", "iris_binary")],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def case(request: pytest.FixtureRequest) -> dict[str, Any]:
    activation, data = request.param
    x, y = request.getfixturevalue(data)
    mean, std = x.mean(0), x.std(0)
    model = fit_quietly(
        MLPClassifier(hidden_layer_sizes=(7, 5), activation=activation, max_iter=300,
                      random_state=0),
        (x - mean) / std, y,
    )
    return {"model": model, "x": x, "std": (mean, std)}


def _gap(values: np.ndarray, q: float) -> float:
    """The middle of the widest gap between distinct values near quantile ``q``: a bound that no
    value sits on (central differences stay away from the clip's kinks)."""
    v = np.unique(values)
    k = int(q * (len(v) - 1))
    lo, hi = max(k - 6, 0), min(k + 6, len(v) - 1)
    gaps = np.diff(v[lo : hi + 1])
    i = lo + int(np.argmax(gaps))
    return float((v[i] + v[i + 1]) / 2)


def _transform(model: Any, z: np.ndarray, layer: int) -> ActivationTransform:
    """Bounds between activations of ``z`` at this layer, so that the clip is active on some
    samples and inactive on others; a scale with zeros (pruned units)."""
    a = _reference(model, z, -1, ActivationTransform())[layer]
    rng = np.random.default_rng(layer)
    scale = rng.uniform(0.5, 2.0, a.shape[1]) * (rng.random(a.shape[1]) > 0.3)
    return ActivationTransform(scale=scale, clip_min=_gap(a, 0.3), clip_max=_gap(a, 0.8))


@pytest.mark.parametrize("layer", [0, 1])
def test_transform_inside_the_forward_pass(case: dict[str, Any], layer: int) -> None:
    model, x = case["model"], probe_points(case["x"], 15)
    mean, std = case["std"]
    clf = wrap(model, preprocessing=(mean, std))
    assert isinstance(clf, SklearnMLPClassifier) and isinstance(clf, ActivationTransforms)
    z = (x - mean) / std
    t = _transform(model, z, layer)
    coefs = [c.copy() for c in model.coefs_]
    plain = [clf.get_activations(x, k) for k in range(3)]
    p0 = clf.predict(x)
    clf.set_activation_transform(f"hidden_{layer}", t)
    ref = _reference(model, z, layer, t)
    assert_allclose(clf.get_activations(x, layer), t.apply(plain[layer]), rtol=1e-12, atol=0)
    for k in range(layer, 2):
        assert_allclose(clf.get_activations(x, k), ref[k], rtol=1e-12, atol=1e-15)
    assert_allclose(clf.predict(x), ref[-1].astype(np.float32), rtol=1e-6, atol=1e-7)
    y = np.arange(len(x)) % clf.nb_classes
    assert_allclose(clf.compute_loss(x, y), -np.log(ref[-1][np.arange(len(x)), y]), rtol=1e-10)
    clf.set_activation_transform(layer, None)
    assert_array_equal(clf.predict(x), p0)
    assert_array_equal(clf.get_activations(x, 1), plain[1])
    for got, want in zip(model.coefs_, coefs):
        assert_array_equal(got, want)


@pytest.mark.parametrize("layer", [0, 1])
def test_gradients_through_clip_and_scale_match_central_differences(
    case: dict[str, Any], layer: int
) -> None:
    model = case["model"]
    mean, std = case["std"]
    clf = wrap(model, preprocessing=(mean, std))
    x = probe_points(case["x"], 15, seed=5)
    t = _transform(model, (x - mean) / std, layer)
    clf.set_activation_transform(layer, t)
    raw = _reference(model, (x - mean) / std, -1, ActivationTransform())[layer]
    near = np.abs(raw[..., None] - np.array([t.clip_min, t.clip_max])).min()
    assert near > 1e-5  # no sample sits on a kink of the clip
    assert ((raw < t.clip_min) | (raw > t.clip_max)).any()  # the clip is active somewhere
    y = (np.arange(len(x)) * 7) % clf.nb_classes
    grad = clf.loss_gradient(x, y)
    fd = central_difference(lambda v: clf.compute_loss(v, y), x)
    assert rel_err(grad, fd) < 1e-5
    cg = clf.class_gradient(x)
    fd = central_difference(lambda v: _reference(model, (v - mean) / std, layer, t)[-1], x)
    assert rel_err(cg, fd) < 1e-5
    assert_allclose(clf.class_gradient(x, label=y)[:, 0], cg[np.arange(len(x)), y], rtol=1e-12)


def test_scale_zero_everywhere_gives_constant_output_and_zero_gradient(iris) -> None:
    x, y = iris
    model = fit_quietly(MLPClassifier(hidden_layer_sizes=(6,), max_iter=100, random_state=0), x, y)
    clf = wrap(model)
    clf.set_activation_transform("hidden_0", ActivationTransform(scale=np.zeros(6)))
    pred = clf.predict(x[:5])
    assert_allclose(pred, np.broadcast_to(softmax(model.intercepts_[-1]), pred.shape), rtol=1e-6)
    assert_array_equal(clf.class_gradient(x[:5]), 0.0)
    assert_array_equal(clf.loss_gradient(x[:5], y[:5]), 0.0)


def test_errors_and_refused_fit(iris) -> None:
    x, y = iris
    model = fit_quietly(MLPClassifier(hidden_layer_sizes=(6, 4), max_iter=50, random_state=0),
                        x, y)
    clf = wrap(model)
    good = ActivationTransform(clip_max=1.0)
    clf.set_activation_transform("hidden_1", good)
    with pytest.raises(ParameterError, match="hidden layer"):
        clf.set_activation_transform("output", good)
    with pytest.raises(ParameterError, match="layer"):
        clf.set_activation_transform("hidden_7", good)
    with pytest.raises(ParameterError, match=r"scale.*\(6,\).*\(4,\)"):
        clf.set_activation_transform(0, ActivationTransform(scale=np.ones(4)))
    with pytest.raises(ParameterTypeError, match="ActivationTransform"):
        clf.set_activation_transform(0, "relu")  # type: ignore[arg-type]
    assert clf.activation_transforms == {"hidden_1": good}
    coefs = [c.copy() for c in model.coefs_]
    with pytest.raises(ParameterError, match="fit"):
        clf.fit(x, y)
    for got, want in zip(model.coefs_, coefs):
        assert_array_equal(got, want)
    with transformed_activations(clf, {"hidden_1": None}):  # type: ignore[dict-item]
        clf.fit(x, y)  # removed for the block: scikit-learn trains
    assert clf.activation_transforms == {"hidden_1": good}
