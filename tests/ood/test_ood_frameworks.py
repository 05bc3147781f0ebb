"""trustml.ood over the PyTorch and Keras adapters on scikit-learn's digits (0-4 in, 5-9 out):
the same weights copied into both frameworks give the same scores for every detector; features
equal get_activations; the user's model is bit-identical afterwards; real detection quality."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from typing import Any

import numpy as np
import pytest

from trustml.ood import DETECTORS, DKNN, MLS, Energy, FeatureExtractor, Mahalanobis
from trustml.ood.metrics import bench_metrics
from trustml.protocols import ActivationTransforms, MultiLayerActivations

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
torch.set_num_threads(1)

KW: dict[str, dict[str, Any]] = {"DKNN": {"nearest": 10}, "ODIN": {"eps": 0.002}}


@pytest.fixture(scope="module")
def digits() -> dict[str, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = (d.data / 16.0).astype(np.float32), d.target
    rng = np.random.default_rng(0)
    idx_in = rng.permutation(np.flatnonzero(y < 5))
    x_in, y_in = x[idx_in], y[idx_in]
    return {"x_fit": x_in[:500], "y_fit": y_in[:500], "x_in": x_in[500:800],
            "x_out": x[y >= 5][:300]}


@pytest.fixture(scope="module")
def torch_mlp(digits: dict[str, np.ndarray]) -> Any:
    from trustml.adapters.torch import PyTorchClassifier

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 5))
    clf = PyTorchClassifier(model, torch.nn.CrossEntropyLoss(), (64,), 5,
                            optimizer=torch.optim.Adam(model.parameters(), 1e-2))
    clf.fit(digits["x_fit"], digits["y_fit"], batch_size=64, nb_epochs=30, seed=0)
    return clf


def keras_copy(clf: Any) -> Any:
    keras = pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    from trustml.adapters.tensorflow import KerasClassifier

    w1, b1, w2, b2 = (p.detach().numpy() for p in clf.model.parameters())
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(5)])
    model.set_weights([w1.T, b1, w2.T, b2])
    return KerasClassifier(model, use_logits=True)


def test_real_digits_detection(torch_mlp: Any, digits: dict[str, np.ndarray]) -> None:
    acc = (torch_mlp.predict(digits["x_in"]).argmax(1) < 5).mean()
    assert acc == 1.0
    results = {}
    for det in (MLS(), DKNN(nearest=10), Mahalanobis()):
        det.fit(torch_mlp, digits["x_fit"], digits["y_fit"], feature_layers_id=["1"])
        results[type(det).__name__] = bench_metrics(det.score(digits["x_in"])[0],
                                                    det.score(digits["x_out"])[0])
    # oodeel's published MNIST 0-4 vs 5-9: MLS 0.897, DKNN 0.974; far above chance here too
    assert results["MLS"]["auroc"] > 0.85 and results["DKNN"]["auroc"] > 0.9
    assert all(0.0 <= r["fpr95tpr"] < 0.8 for r in results.values())


def test_torch_and_keras_agree_on_copied_weights(
    torch_mlp: Any, digits: dict[str, np.ndarray]
) -> None:
    kclf = keras_copy(torch_mlp)
    x_q = np.concatenate([digits["x_in"][:60], digits["x_out"][:60]])
    for name, cls in DETECTORS.items():
        scores = []
        for clf, layer in ((torch_mlp, "1"), (kclf, 0)):
            det = cls(**KW.get(name, {}))
            det.fit(clf, digits["x_fit"], digits["y_fit"], feature_layers_id=[layer])
            scores.append(det.score(x_q)[0])
        scale = np.abs(scores[0]).max()
        np.testing.assert_allclose(scores[1], scores[0], rtol=2e-4, atol=2e-5 * scale,
                                   err_msg=name)
    # ReAct: the same quantile threshold, the clip inside each framework's forward pass
    assert isinstance(torch_mlp, ActivationTransforms) and isinstance(kclf, ActivationTransforms)
    react = [Energy(use_react=True, react_quantile=0.7).fit(clf, digits["x_fit"])
             for clf in (torch_mlp, kclf)]
    assert react[0].react_threshold == pytest.approx(react[1].react_threshold, rel=1e-5)
    s_t, s_k = (r.score(x_q)[0] for r in react)
    np.testing.assert_allclose(s_k, s_t, rtol=2e-4, atol=1e-5)
    assert not np.allclose(s_t, Energy().fit(torch_mlp).score(x_q)[0], rtol=1e-3)
    # SCALE / ASH: the head computed from get_weights, whose layout is the same in both
    for kw in ({"use_scale": True}, {"use_ash": True, "ash_percentile": 0.6}):
        s_t, s_k = (Energy(**kw).fit(clf).score(x_q)[0] for clf in (torch_mlp, kclf))
        np.testing.assert_allclose(s_k, s_t, rtol=2e-4, atol=1e-5, err_msg=str(kw))


def test_features_equal_get_activations_and_model_untouched(
    torch_mlp: Any, digits: dict[str, np.ndarray]
) -> None:
    x = digits["x_in"][:50]
    state = {k: v.clone() for k, v in torch_mlp.model.state_dict().items()}
    acts = [torch_mlp.get_activations(x, layer) for layer in torch_mlp.layer_names]
    assert isinstance(torch_mlp, MultiLayerActivations)
    ext = FeatureExtractor(torch_mlp, ["0", "1", "2"], head_layer_id="2")
    feats, info = ext.predict(x)
    for f, a in zip(feats, acts, strict=True):
        assert np.array_equal(f, a)
    assert np.array_equal(info["logits"], acts[2])
    tensors, logits = ext.predict_tensor(torch.from_numpy(x))
    assert torch.equal(logits, torch.from_numpy(acts[2]))
    assert all(torch.equal(t, torch.from_numpy(a)) for t, a in zip(tensors, acts, strict=True))
    if isinstance(torch_mlp, ActivationTransforms):
        clipped, info_r = FeatureExtractor(torch_mlp, ["1"], react_threshold=0.5).predict(x)
        assert np.array_equal(clipped[0], np.minimum(acts[1], np.float32(0.5)))
        w2, b2 = (p.detach().numpy() for p in torch_mlp.model[2].parameters())
        np.testing.assert_allclose(info_r["logits"], clipped[0] @ w2.T + b2, atol=1e-5)
        assert torch_mlp.activation_transforms == {}
    for k, v in torch_mlp.model.state_dict().items():
        assert torch.equal(v, state[k])
    for layer, a in zip(torch_mlp.layer_names, acts, strict=True):
        assert np.array_equal(torch_mlp.get_activations(x, layer), a)
    assert not torch_mlp.model._forward_hooks
    assert all(not m._forward_hooks for m in torch_mlp.model.modules())

    kclf = keras_copy(torch_mlp)
    weights = [w.copy() for w in kclf.model.get_weights()]
    k_acts = [kclf.get_activations(x, i) for i in range(len(kclf.layer_names))]
    k_feats, k_info = FeatureExtractor(kclf, [0, 1]).predict(x)
    assert np.array_equal(k_feats[0], k_acts[0]) and np.array_equal(k_info["logits"], k_acts[1])
    if isinstance(kclf, ActivationTransforms):
        FeatureExtractor(kclf, [0], react_threshold=0.5).predict(x)
        assert kclf.activation_transforms == {}
    assert all(np.array_equal(a, b) for a, b in zip(kclf.model.get_weights(), weights,
                                                     strict=True))
    assert all(np.array_equal(kclf.get_activations(x, i), a) for i, a in enumerate(k_acts))


@pytest.mark.parametrize("kind", ["sequential", "functional", "subclassed"])
def test_keras_multi_layer_fast_path_equals_get_activations(kind: str) -> None:
    keras = pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    from trustml.activations import ActivationTransform
    from trustml.adapters.tensorflow import KerasClassifier

    keras.utils.set_random_seed(0)
    if kind == "sequential":
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dense(7, activation="tanh"), keras.layers.Dense(3)])
    elif kind == "functional":
        inp = keras.Input((6,))
        h = keras.layers.Dense(8, activation="relu")(inp)
        h = keras.layers.Dense(7, activation="tanh")(h)
        model = keras.Model(inp, keras.layers.Dense(3)(h))
    else:
        class Net(keras.Model):  # type: ignore[misc]
            def __init__(self) -> None:
                super().__init__()
                self.a = keras.layers.Dense(8, activation="relu")
                self.b = keras.layers.Dense(7, activation="tanh")
                self.c = keras.layers.Dense(3)

            def call(self, x: Any) -> Any:
                return self.c(self.b(self.a(x)))

        model = Net()
        model(np.zeros((1, 6), np.float32))
    clf = KerasClassifier(model, use_logits=True, input_shape=(6,))
    assert isinstance(clf, MultiLayerActivations)
    x = np.random.default_rng(0).normal(size=(9, 6)).astype(np.float32)
    layers: list[int | str] = [2, 0, clf.layer_names[1]]
    for transform in (None, ActivationTransform(clip_max=0.3)):
        clf.set_activation_transform(0, transform)
        many = clf.get_multi_activations(x, layers, batch_size=4)
        for layer, out in zip(layers, many, strict=True):
            np.testing.assert_array_equal(out, clf.get_activations(x, layer, batch_size=4))
    clf.set_activation_transform(0, None)
    assert [o.shape for o in clf.get_multi_activations(x[:0], [0, 2])] == [(0, 8), (0, 3)]
