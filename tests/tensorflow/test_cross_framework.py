"""Keras and PyTorch agree on copied weights: predictions, per-sample losses, loss gradients and
class gradients, to 1e-5 (float32), through per-channel standardisation on each framework's own
channel axis."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import keras

from trustml.adapters.tensorflow import KerasClassifier, TensorFlowV2Classifier

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

SUB, DIV = np.array([0.4, 0.5, 0.6], "f4"), np.array([0.2, 0.25, 0.3], "f4")
TOL = {"rtol": 1e-5, "atol": 1e-5}


def torch_mlp() -> Any:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 4))


def keras_mlp(t: Any, softmax: bool = False) -> Any:
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="tanh"),
                              keras.layers.Dense(4, activation="softmax" if softmax else None)])
    w1, b1, w2, b2 = (p.detach().numpy() for p in t.parameters())
    model.set_weights([w1.T, b1, w2.T, b2])
    return model


def torch_cnn() -> Any:
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Tanh(), torch.nn.Flatten(),
                               torch.nn.Linear(4 * 4 * 4, 5))


def keras_cnn(t: Any, softmax: bool = False) -> Any:
    model = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Conv2D(4, 3, activation="tanh"),
                              keras.layers.Flatten(),
                              keras.layers.Dense(5, activation="softmax" if softmax else None)])
    wc, bc, wd, bd = (p.detach().numpy() for p in t.parameters())
    # conv (out, in, kh, kw) -> (kh, kw, in, out); dense inputs flattened (c, h, w) -> (h, w, c)
    dense = wd.reshape(5, 4, 4, 4).transpose(2, 3, 1, 0).reshape(64, 5)
    model.set_weights([wc.transpose(2, 3, 1, 0), bc, dense, bd])
    return model


CASES = {
    "mlp": (torch_mlp, keras_mlp, (6,), (6,)),
    "cnn": (torch_cnn, keras_cnn, (3, 6, 6), (6, 6, 3)),
}


def to_torch_layout(a: np.ndarray) -> np.ndarray:
    """NHWC-like trailing (H, W, C) -> (C, H, W); 1-D samples unchanged."""
    if a.ndim >= 4 and a.shape[-1] == 3:
        order = list(range(a.ndim - 3)) + [a.ndim - 1, a.ndim - 3, a.ndim - 2]
        return a.transpose(order)
    return a


def data(tshape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x_t = rng.uniform(0, 1, size=(7, *tshape)).astype(np.float32)
    return x_t, rng.integers(0, 4, size=7)


def keras_input(x_t: np.ndarray) -> np.ndarray:
    return x_t if x_t.ndim == 2 else x_t.transpose(0, 2, 3, 1)


def raw_torch(model: Any, x_t: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Plain torch autograd, independent of any adapter."""
    shape = (1, 3, 1, 1) if x_t.ndim == 4 else (1, -1)
    sub = torch.tensor(SUB if x_t.ndim == 4 else np.resize(SUB, 6)).reshape(shape)
    div = torch.tensor(DIV if x_t.ndim == 4 else np.resize(DIV, 6)).reshape(shape)
    x = torch.tensor(x_t, requires_grad=True)
    logits = model((x - sub) / div)
    losses = torch.nn.functional.cross_entropy(logits, torch.tensor(y), reduction="none")
    (grad,) = torch.autograd.grad(losses.sum(), x, retain_graph=True)
    rows = [torch.autograd.grad(logits[:, k].sum(), x, retain_graph=True)[0]
            for k in range(logits.shape[1])]
    return {"predict": logits.detach().numpy(), "loss": losses.detach().numpy(),
            "grad": grad.numpy(), "class": torch.stack(rows, 1).numpy()}


def standardisation(tshape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    return (SUB, DIV) if len(tshape) == 3 else (np.resize(SUB, 6), np.resize(DIV, 6))


@pytest.mark.parametrize("case", sorted(CASES))
def test_keras_matches_raw_torch(case: str) -> None:
    make_t, make_k, tshape, kshape = CASES[case]
    t = make_t().eval()
    x_t, y = data(tshape)
    y = y % (5 if case == "cnn" else 4)
    ref = raw_torch(t, x_t, y)
    clf = KerasClassifier(make_k(t), use_logits=True, preprocessing=standardisation(tshape))
    xk = keras_input(x_t)
    np.testing.assert_allclose(clf.predict(xk), ref["predict"], **TOL)
    np.testing.assert_allclose(clf.compute_loss(xk, y), ref["loss"], **TOL)
    np.testing.assert_allclose(to_torch_layout(clf.loss_gradient(xk, y)), ref["grad"], **TOL)
    np.testing.assert_allclose(to_torch_layout(clf.class_gradient(xk)), ref["class"], **TOL)
    # probabilities model (softmax head) with use_logits=False: same loss and loss gradient
    probs = KerasClassifier(make_k(t, softmax=True), preprocessing=standardisation(tshape))
    np.testing.assert_allclose(probs.compute_loss(xk, y), ref["loss"], **TOL)
    np.testing.assert_allclose(to_torch_layout(probs.loss_gradient(xk, y)), ref["grad"], **TOL)
    tf2 = TensorFlowV2Classifier(clf.model, ref["predict"].shape[1], kshape,
                                 preprocessing=standardisation(tshape))
    np.testing.assert_allclose(to_torch_layout(tf2.loss_gradient(xk, y)), ref["grad"], **TOL)


@pytest.mark.parametrize("case", sorted(CASES))
def test_keras_adapter_matches_pytorch_adapter(case: str) -> None:
    adapters = pytest.importorskip("trustml.adapters.torch")
    make_t, make_k, tshape, _ = CASES[case]
    t = make_t()
    x_t, y = data(tshape)
    y = y % (5 if case == "cnn" else 4)
    nb = 5 if case == "cnn" else 4
    tclf = adapters.PyTorchClassifier(t, torch.nn.CrossEntropyLoss(), tshape, nb,
                                      channels_first=True, preprocessing=standardisation(tshape),
                                      device="cpu")
    kclf = KerasClassifier(make_k(t), use_logits=True, preprocessing=standardisation(tshape))
    xk = keras_input(x_t)
    np.testing.assert_allclose(kclf.predict(xk), tclf.predict(x_t), **TOL)
    np.testing.assert_allclose(kclf.compute_loss(xk, y), tclf.compute_loss(x_t, y), **TOL)
    np.testing.assert_allclose(to_torch_layout(kclf.loss_gradient(xk, y)),
                               tclf.loss_gradient(x_t, y), **TOL)
    np.testing.assert_allclose(to_torch_layout(kclf.class_gradient(xk)), tclf.class_gradient(x_t),
                               **TOL)
    np.testing.assert_allclose(to_torch_layout(kclf.class_gradient(xk, label=y)),
                               tclf.class_gradient(x_t, label=y), **TOL)
