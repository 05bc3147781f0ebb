"""trustml.ood on a user's numpy adapter: closed forms (Mahalanobis on whitened Gaussian blobs,
DKNN on the unit circle, the logit scores), ODIN against finite differences, ReAct and the one
forward pass per batch, metrics on hand-computed cases, and typed errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from ood_numpy_adapter import MultiNumpyNet, NumpyNet
from scipy.special import logsumexp, softmax

from trustml.errors import (
    CapabilityError,
    InputShapeError,
    InputValueError,
    NotFittedError,
    ParameterError,
    ParameterTypeError,
)
from trustml.ood import (
    DKNN,
    GEN,
    MLS,
    MSP,
    ODIN,
    RMDS,
    VIM,
    Energy,
    Entropy,
    FeatureExtractor,
    Mahalanobis,
)
from trustml.ood.metrics import bench_metrics, fpr_at_tpr


def identity_net(dim: int, classes: int, seed: int = 0) -> NumpyNet:
    rng = np.random.default_rng(seed)
    return NumpyNet(rng.normal(size=(dim, classes)), rng.normal(size=classes), input_dim=dim)


def whitened_blobs(means: np.ndarray, cov: np.ndarray, n: int, seed: int) -> tuple[Any, Any]:
    """Gaussian blobs transformed so that the class means are exactly ``means`` and the pooled
    within-class covariance (1/N) is exactly ``cov``."""
    rng = np.random.default_rng(seed)
    k, d = means.shape
    z = rng.normal(size=(k, n, d))
    z -= z.mean(axis=1, keepdims=True)
    pooled = np.einsum("knd,kne->de", z, z) / (k * n)
    w = np.linalg.cholesky(cov) @ np.linalg.inv(np.linalg.cholesky(pooled))
    x = np.einsum("de,kne->knd", w, z) + means[:, None, :]
    return x.reshape(k * n, d), np.repeat(np.arange(k), n)


def test_mahalanobis_closed_form_on_gaussian_blobs() -> None:
    means = np.array([[0.0, 0.0, 0.0], [4.0, 0.0, 1.0], [0.0, -3.0, 2.0]])
    a = np.array([[1.0, 0.3, 0.0], [0.0, 0.8, 0.2], [0.1, 0.0, 0.5]])
    cov = a @ a.T
    x_fit, y_fit = whitened_blobs(means, cov, 40, seed=1)
    net = identity_net(3, 3)
    det = Mahalanobis().fit(net, x_fit, y_fit, feature_layers_id=["hidden"])
    queries = np.random.default_rng(2).normal(scale=3.0, size=(25, 3))
    scores, info = det.score(queries)
    prec = np.linalg.inv(cov)
    d2 = np.stack([np.einsum("nd,de,ne->n", queries - m, prec, queries - m) for m in means], 1)
    np.testing.assert_allclose(scores, 0.5 * d2.min(axis=1), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(info["logits"], queries @ net.w2 + net.b2, rtol=1e-12)
    # RMDS: the background Gaussian of all fit points has the mixture's mean and covariance
    mu0 = means.mean(axis=0)
    cov0 = cov + (means - mu0).T @ (means - mu0) / 3
    d0 = np.einsum("nd,de,ne->n", queries - mu0, np.linalg.inv(cov0), queries - mu0)
    rmds = RMDS().fit(net, x_fit, y_fit, feature_layers_id=["hidden"]).score(queries)[0]
    np.testing.assert_allclose(rmds, 0.5 * (d2 - d0[:, None]).min(axis=1), atol=1e-9)


def test_dknn_is_the_squared_chord_to_the_kth_neighbour_on_the_unit_circle() -> None:
    angles = np.linspace(0, 2 * np.pi, 36, endpoint=False)
    radii = np.random.default_rng(0).uniform(0.5, 3.0, size=36)  # normalised away
    x_fit = np.stack([np.cos(angles), np.sin(angles)], 1) * radii[:, None]
    net = identity_net(2, 2)
    theta = np.deg2rad(np.array([1.0, 5.0, 93.0, 181.0]))
    q = np.stack([np.cos(theta), np.sin(theta)], 1) * 7.0
    for k in (1, 3):
        det = DKNN(nearest=k).fit(net, x_fit, feature_layers_id=[0])
        gaps = np.sort(np.abs((np.rad2deg(theta)[:, None] - np.rad2deg(angles) + 180) % 360
                              - 180), axis=1)
        expected = 2.0 - 2.0 * np.cos(np.deg2rad(gaps[:, k - 1]))
        np.testing.assert_allclose(det.score(q)[0], expected, atol=1e-8)


def test_logit_scores_closed_form() -> None:
    net = NumpyNet(np.eye(4), np.zeros(4), input_dim=4)  # logits = x
    z = np.array([[0.0, 0.0, 0.0, 0.0], [5.0, 1.0, -2.0, 0.5], [1.0, 2.0, 3.0, 4.0]])
    p = softmax(z, axis=1)
    assert np.allclose(MLS().fit(net).score(z)[0], -z.max(1))
    assert np.allclose(MSP().fit(net).score(z)[0], -p.max(1))
    assert np.allclose(Energy().fit(net).score(z)[0], -logsumexp(z, axis=1))
    ent = Entropy().fit(net).score(z)[0]
    assert np.isclose(ent[0], np.log(4.0)) and np.allclose(ent, -(p * np.log(p)).sum(1))
    gen = GEN(gamma=0.5, k=2).fit(net).score(z)[0]
    top2 = np.sort(p, axis=1)[:, -2:]
    assert np.allclose(gen, np.sqrt(top2 * (1 - top2)).sum(1))
    assert np.allclose(ODIN(temperature=2.0, eps=0.0).fit(net).score(z)[0],
                       -softmax(z / 2.0, axis=1).max(1))


def test_gen_is_accurate_when_the_top_probability_rounds_to_one() -> None:
    """``1 - p_max`` below float64's resolution at 1 (margins of 40 and 60 nats): GEN sums it
    from the other probabilities, so the score matches the log-domain closed form
    ``sum_c exp(gamma (log p_c + log(1 - p_c)))`` instead of dropping the top class's term."""
    net = NumpyNet(np.eye(3), np.zeros(3), input_dim=3)
    z = np.array([[40.0, 0.0, -1.0], [60.0, 1.0, 0.0], [2.0, 1.0, 0.0]])
    gamma = 0.1
    log_p = z - logsumexp(z, axis=1, keepdims=True)
    log_rest = np.stack(
        [logsumexp(np.delete(z, c, axis=1), axis=1) for c in range(3)], axis=1
    ) - logsumexp(z, axis=1, keepdims=True)
    expected = np.exp(gamma * (log_p + log_rest)).sum(axis=1)
    scores = GEN(gamma=gamma).fit(net).score(z)[0]
    np.testing.assert_allclose(scores, expected, rtol=1e-12)
    p = softmax(z, axis=1)
    naive = (p**gamma * (1.0 - p) ** gamma).sum(axis=1)  # 1 - p_max = 0 in rows 0 and 1
    assert np.all(np.abs(naive[:2] - expected[:2]) > 1e-3)


def test_odin_perturbation_matches_finite_differences() -> None:
    rng = np.random.default_rng(3)
    net = NumpyNet(rng.normal(size=(6, 3)), rng.normal(size=3), rng.normal(size=(5, 6)),
                   rng.normal(size=6))
    x = rng.normal(size=(8, 5))
    temperature, eps = 10.0, 0.05

    def loss(xi: np.ndarray, label: int) -> float:
        z = net.predict(xi[None]).astype(np.float64)[0] / temperature
        return float(logsumexp(z) - z[label])

    labels = net.predict(x).argmax(1)
    grad = np.zeros_like(x)
    h = 1e-3
    for i in range(8):
        for j in range(5):
            e = np.zeros(5)
            e[j] = h
            grad[i, j] = (loss(x[i] + e, labels[i]) - loss(x[i] - e, labels[i])) / (2 * h)
    assert np.all(np.abs(grad) > 1e-6)  # signs are well defined
    x_pert = x - eps * np.sign(grad)
    expected = -softmax(net.get_activations(x_pert, "logits") / temperature, axis=1).max(1)
    det = ODIN(temperature=temperature, eps=eps).fit(net)
    np.testing.assert_allclose(det.score(x)[0], expected, rtol=1e-10)


def test_react_clips_inside_the_forward_pass_and_is_removed() -> None:
    rng = np.random.default_rng(4)
    net = NumpyNet(rng.normal(size=(6, 3)), rng.normal(size=3), rng.normal(size=(5, 6)),
                   rng.normal(size=6))
    x = rng.normal(size=(10, 5))
    before = net.predict(x)
    ext = FeatureExtractor(net, ["hidden"], head_layer_id="logits", react_threshold=0.2)
    feats, info = ext.predict(x)
    hidden = np.tanh(x @ net.w1 + net.b1)
    np.testing.assert_allclose(feats[0], np.minimum(hidden, 0.2))
    np.testing.assert_allclose(info["logits"], np.minimum(hidden, 0.2) @ net.w2 + net.b2)
    assert net.activation_transforms == {}
    assert np.array_equal(net.predict(x), before)
    # use_react: the threshold is the quantile of the penultimate activations on the fit set
    det = Energy(use_react=True, react_quantile=0.7).fit(net, x)
    assert det.react_threshold == pytest.approx(np.quantile(hidden, 0.7))
    assert net.activation_transforms == {}


def test_one_forward_pass_per_batch_with_the_fast_path() -> None:
    rng = np.random.default_rng(5)
    args = (rng.normal(size=(6, 3)), rng.normal(size=3), rng.normal(size=(5, 6)),
            rng.normal(size=6))
    x = rng.normal(size=(10, 5))
    fast, slow = MultiNumpyNet(*args), NumpyNet(*args)
    out_fast = FeatureExtractor(fast, ["hidden", "logits"]).predict(x)
    out_slow = FeatureExtractor(slow, ["hidden", "logits"]).predict(x)
    assert fast.forward_passes == 1 and slow.forward_passes == 2  # "logits" computed once
    for a, b in zip(out_fast[0], out_slow[0], strict=True):
        assert np.array_equal(a, b)
    assert np.array_equal(out_fast[0][0], slow.get_activations(x, "hidden"))
    assert np.array_equal(out_fast[0][1], out_fast[1]["logits"])
    slow.forward_passes = 0
    Energy().fit(slow).score(x)  # the head is both feature and logits layer: one pass
    assert slow.forward_passes == 1


def test_several_layers_are_std_normalised_and_averaged() -> None:
    rng = np.random.default_rng(6)
    net = NumpyNet(rng.normal(size=(6, 3)), rng.normal(size=3), rng.normal(size=(5, 6)),
                   rng.normal(size=6))
    x_fit, q = rng.normal(size=(200, 5)), rng.normal(size=(7, 5))
    both = DKNN(nearest=5).fit(net, x_fit, feature_layers_id=["hidden", "logits"])
    one = [DKNN(nearest=5).fit(net, x_fit, feature_layers_id=[lay]) for lay in ("hidden", "logits")]
    per = np.stack([d.score(q)[0] for d in one], 1)
    stds = np.asarray(both._stds)
    np.testing.assert_allclose(both.score(q)[0], (per / stds).mean(1))


def test_vim_residual_is_zero_inside_the_principal_subspace() -> None:
    rng = np.random.default_rng(7)
    basis = np.linalg.qr(rng.normal(size=(5, 5)))[0]
    raw = rng.normal(size=(300, 5))
    q = np.linalg.qr(raw - raw.mean(0))[0]  # centred, uncorrelated columns
    coords = q * np.sqrt(300) * np.array([3.0, 2.0, 1.5, 0.02, 0.01])
    x_fit = coords @ basis.T
    net = identity_net(5, 3)
    det = VIM(princ_dims=3).fit(net, x_fit, feature_layers_id=["hidden"])
    inside = (rng.normal(size=(4, 5)) * np.array([1, 1, 1, 0, 0])) @ basis.T + x_fit.mean(0)
    scores, info = det.score(inside)
    np.testing.assert_allclose(scores, -logsumexp(info["logits"], axis=1), atol=1e-9)
    outside = inside + 2.0 * basis[:, 4]
    resid_alpha = det.score(outside)[0] + logsumexp(det.score(outside)[1]["logits"], axis=1)
    np.testing.assert_allclose(resid_alpha, det._alphas[0] * 2.0, rtol=1e-9)


def test_metrics_hand_computed() -> None:
    s_in, s_out = np.arange(100.0), np.arange(50.0, 150.0)
    assert fpr_at_tpr(s_in, s_out) == pytest.approx(0.45)
    m = bench_metrics(s_in, s_out)
    assert m["auroc"] == pytest.approx((8725 + 0.5 * 50) / 10000)  # ties count one half
    assert bench_metrics(s_in, s_in + 1000)["auroc"] == 1.0
    assert bench_metrics(s_in, s_in)["auroc"] == 0.5
    with pytest.raises(InputValueError, match="scores_out"):
        bench_metrics(s_in, np.array([np.nan]))
    with pytest.raises(InputShapeError, match="scores_in"):
        bench_metrics(np.zeros((2, 2)), s_out)


def test_typed_errors_name_the_parameter() -> None:
    net = identity_net(3, 2)
    x = np.random.default_rng(0).normal(size=(10, 3))
    with pytest.raises(ParameterError, match="feature_layers_id"):
        FeatureExtractor(net, ["nope"])
    with pytest.raises(ParameterError, match="head_layer_id"):
        FeatureExtractor(net, [0], head_layer_id=5)
    with pytest.raises(ParameterTypeError, match="feature_layers_id"):
        FeatureExtractor(net, [1.5])  # type: ignore[list-item]
    with pytest.raises(ParameterError, match="feature_layers_id"):
        DKNN().fit(net, x, feature_layers_id=["nope"])
    with pytest.raises(ParameterError, match="feature_layers_id"):
        DKNN().fit(net, x)
    with pytest.raises(NotFittedError, match="fit"):
        Energy().score(x)
    with pytest.raises(ParameterError, match="x_fit"):
        DKNN(nearest=1).fit(net, x[:1], feature_layers_id=[0])
    with pytest.raises(ParameterError, match="x_fit"):
        DKNN().fit(net, None, feature_layers_id=[0])
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(InputValueError, match="x_fit"):
        DKNN(nearest=2).fit(net, bad, feature_layers_id=[0])
    det = DKNN(nearest=2).fit(net, x, feature_layers_id=[0])
    with pytest.raises(InputValueError, match="x"):
        det.score(bad)
    with pytest.raises(ParameterError, match="nearest"):
        DKNN(nearest=11).fit(net, x, feature_layers_id=[0])
    with pytest.raises(ParameterError, match="y_fit"):
        Mahalanobis().fit(net, x, feature_layers_id=[0])
    with pytest.raises(ParameterError, match="react_quantile"):
        Energy(use_react=True, react_quantile=1.5)
    with pytest.raises(ParameterError, match="x_fit"):
        Energy(use_react=True).fit(net)
    with pytest.raises(CapabilityError, match="ActivationTransforms"):
        FeatureExtractor(_Bare(net), [0], react_threshold=1.0)
    with pytest.raises(CapabilityError, match="ClassGradients"):
        ODIN().fit(_Bare(net))


class _Bare:
    """Only the Classifier and NeuralNetwork members of a NumpyNet."""

    def __init__(self, net: NumpyNet) -> None:
        self._net = net
        self.input_shape, self.clip_values = net.input_shape, net.clip_values
        self.preprocessing, self.nb_classes = net.preprocessing, net.nb_classes
        self.channels_first, self.layer_names = net.channels_first, net.layer_names
        self.predict, self.get_activations = net.predict, net.get_activations
