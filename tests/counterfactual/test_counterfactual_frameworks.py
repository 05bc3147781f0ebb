"""PyTorch and Keras MLPs on digits and wine: validity, clip_values, masked features bit for bit,
and the same counterfactual from the same weights in both frameworks (issue 14)."""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
torch.set_num_threads(1)

from sklearn.datasets import load_digits, load_wine

from trustml.adapters.torch import PyTorchClassifier
from trustml.counterfactual import CounterfactualNotFoundError, generate_counterfactual

C_LIST = [0.1, 0.01, 0.001]


def _train_torch(x: np.ndarray, y: np.ndarray, hidden: int, nb_classes: int, sub: Any,
                 div: Any, clip: Any, epochs: int) -> PyTorchClassifier:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], hidden), torch.nn.ReLU(),
                              torch.nn.Linear(hidden, nb_classes))
    clf = PyTorchClassifier(
        net, loss=torch.nn.CrossEntropyLoss(), input_shape=(x.shape[1],), nb_classes=nb_classes,
        optimizer=torch.optim.Adam(net.parameters(), lr=1e-2), clip_values=clip,
        preprocessing=(sub, div), device="cpu",
    )
    clf.fit(x, y, batch_size=64, nb_epochs=epochs)
    return clf


@pytest.fixture(scope="module")
def digits() -> tuple[PyTorchClassifier, np.ndarray, np.ndarray]:
    x, y = load_digits(return_X_y=True)
    x = x.astype(np.float32)
    clf = _train_torch(x[:1200], y[:1200], 32, 10, 0.0, 16.0, (0.0, 16.0), 20)
    return clf, x[1200:], y[1200:]


@pytest.fixture(scope="module")
def wine() -> tuple[PyTorchClassifier, np.ndarray, np.ndarray]:
    x, y = load_wine(return_X_y=True)
    x = x.astype(np.float32)
    lo, hi = x.min(axis=0), x.max(axis=0)
    clf = _train_torch(x, y, 16, 3, x.mean(axis=0), x.std(axis=0), (lo, hi), 60)
    return clf, x, y


def _run(clf: Any, x: np.ndarray, target: np.ndarray, **kwargs: Any) -> tuple[Any, np.ndarray]:
    try:
        out = generate_counterfactual(clf, x, target, **kwargs)
        assert isinstance(out, dict)
        return out["x_cf"], np.ones(len(x), dtype=bool)
    except CounterfactualNotFoundError as exc:
        return exc.x_cf, exc.found


def _check_valid(clf: Any, x: np.ndarray, x_cf: np.ndarray, found: np.ndarray,
                 target: np.ndarray, fixed: np.ndarray | None = None) -> None:
    assert found.mean() >= 0.95, f"validity {found.mean():.2f}"
    np.testing.assert_array_equal(clf.predict(x_cf[found]).argmax(1), target[found])
    lo, hi = clf.clip_values
    assert (x_cf >= lo).all() and (x_cf <= hi).all()
    assert x_cf.dtype == x.dtype
    if fixed is not None:
        assert (x_cf[:, fixed].view(np.uint32) == x[:, fixed].view(np.uint32)).all()


def test_torch_mlp_digits_validity_clip_and_mask(digits: Any) -> None:
    clf, x, y = digits
    x, target = x[:100], (y[:100] + 1) % 10
    x_before = x.copy()
    fixed = np.zeros(64, dtype=bool)
    fixed[::3] = True  # a third of the pixels may not change
    whitelist = np.flatnonzero(~fixed).tolist()
    x_cf, found = _run(clf, x, target, C=C_LIST, features_whitelist=whitelist,
                       optimizer_args={"lr": 0.2}, max_iter=100)
    _check_valid(clf, x, x_cf, found, target, fixed)
    np.testing.assert_array_equal(x, x_before)  # the input is never mutated


def test_torch_mlp_wine_validity(wine: Any) -> None:
    clf, x, y = wine
    x, target = x[::4], (y[::4] + 1) % 3
    scale = x.std(axis=0)
    x_cf, found = _run(clf, x, target, C=C_LIST, max_iter=150,
                       optimizer_args={"lr": 0.05 * float(scale.mean())})
    _check_valid(clf, x, x_cf, found, target)


def test_torch_optimizer_class_equals_numpy_adam(digits: Any) -> None:
    clf, x, y = digits
    x, target = x[:10], (y[:10] + 3) % 10
    a, fa = _run(clf, x, target, C=0.01, optimizer="adam", optimizer_args={"lr": 0.2},
                 max_iter=40)
    b, fb = _run(clf, x, target, C=0.01, optimizer=torch.optim.Adam,
                 optimizer_args={"lr": 0.2}, max_iter=40)
    np.testing.assert_array_equal(fa, fb)
    np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.fixture(scope="module")
def keras_digits(digits: Any) -> Any:
    keras = pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    from trustml.adapters.tensorflow import KerasClassifier

    clf = digits[0]
    net = clf.model
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(10)])
    w1, b1, w2, b2 = (p.detach().cpu().numpy() for p in net.parameters())
    model.set_weights([w1.T, b1, w2.T, b2])
    return KerasClassifier(model, use_logits=True, clip_values=(0.0, 16.0),
                           preprocessing=(0.0, 16.0))


def test_keras_mlp_digits_validity_and_agreement_with_torch(digits: Any, keras_digits: Any) -> None:
    clf, x, y = digits
    x, target = x[:25], (y[:25] + 1) % 10
    kwargs: dict[str, Any] = {"C": C_LIST, "optimizer_args": {"lr": 0.2}, "max_iter": 100}
    k_cf, k_found = _run(keras_digits, x, target, **kwargs)
    _check_valid(keras_digits, x, k_cf, k_found, target)
    t_cf, t_found = _run(clf, x, target, **kwargs)
    same = (k_found == t_found) & (np.abs(k_cf - t_cf).max(axis=1) <= 1e-3)
    # the same weights give the same counterfactual, up to float32 rounding of the gradients
    # (a row may differ only where float32 rounding flips a near-tie of the decision)
    assert same.mean() >= 0.95, np.abs(k_cf - t_cf).max(axis=1)


def test_keras_optimizer_instance(digits: Any, keras_digits: Any) -> None:
    keras = pytest.importorskip("keras")
    _, x, y = digits
    x, target = x[:10], (y[:10] + 1) % 10
    opt = keras.optimizers.Adam(learning_rate=0.2)
    x_cf, found = _run(keras_digits, x, target, C=0.01, optimizer=opt, max_iter=50)
    _check_valid(keras_digits, x, x_cf, found, target)
    assert not opt.built  # the caller's optimizer is cloned, never stepped


def test_keras_mlp_wine_validity_and_agreement_with_torch(wine: Any) -> None:
    keras = pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    from trustml.adapters.tensorflow import KerasClassifier

    clf, x, y = wine
    model = keras.Sequential([keras.Input((13,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(3)])
    w1, b1, w2, b2 = (p.detach().cpu().numpy() for p in clf.model.parameters())
    model.set_weights([w1.T, b1, w2.T, b2])
    std = clf.preprocessing
    kclf = KerasClassifier(model, use_logits=True, clip_values=clf.clip_values,
                           preprocessing=(std.subtrahend, std.divisor))
    x, target = x[1::9], (y[1::9] + 1) % 3
    kwargs: dict[str, Any] = {"C": C_LIST, "max_iter": 100,
                              "optimizer_args": {"lr": 0.05 * float(x.std(axis=0).mean())}}
    k_cf, k_found = _run(kclf, x, target, **kwargs)
    _check_valid(kclf, x, k_cf, k_found, target)
    t_cf, t_found = _run(clf, x, target, **kwargs)
    scale = np.abs(x).max(axis=0)  # wine features span 0.1 to 1680: compare relative to each
    same = (k_found == t_found) & (np.abs(k_cf - t_cf) / scale <= 1e-4).all(axis=1)
    assert same.mean() >= 0.95
