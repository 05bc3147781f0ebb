"""Keras on its torch backend: KerasClassifier refuses it with a typed error; the model is a
torch.nn.Module there, and PyTorchClassifier wraps it (gradients checked against raw autograd).

Runs in a subprocess, because the Keras backend is fixed at import."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("torch")
pytest.importorskip("keras")

SCRIPT = textwrap.dedent(
    """
    import numpy as np, torch, keras
    assert keras.backend.backend() == "torch"
    from trustml.errors import UnsupportedModelError
    from trustml.adapters.tensorflow import KerasClassifier
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"),
                              keras.layers.Dense(3)])
    try:
        KerasClassifier(model, use_logits=True)
    except UnsupportedModelError as exc:
        assert "PyTorchClassifier" in str(exc)
    else:
        raise AssertionError("KerasClassifier accepted a torch-backend model")
    assert isinstance(model, torch.nn.Module)
    try:
        from trustml.adapters.torch import PyTorchClassifier
    except ImportError:
        print("NO-TORCH-ADAPTER")
        raise SystemExit(0)
    clf = PyTorchClassifier(model, torch.nn.CrossEntropyLoss(), (4,), 3, channels_first=False,
                            preprocessing=(0.5, 2.0), device="cpu")
    x = np.random.default_rng(0).uniform(size=(5, 4)).astype("f4")
    y = np.array([0, 1, 2, 0, 1])
    xt = torch.tensor(x, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(model((xt - 0.5) / 2.0), torch.tensor(y),
                                             reduction="sum")
    loss.backward()
    np.testing.assert_allclose(clf.loss_gradient(x, y), xt.grad.numpy(), rtol=1e-6, atol=1e-7)
    print("OK")
    """
)


def test_keras_torch_backend() -> None:
    env = dict(os.environ, KERAS_BACKEND="torch", TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] in ("OK", "NO-TORCH-ADAPTER")
