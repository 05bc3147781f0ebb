"""MXNetClassifier over raw mxnet: predict and loss_gradient of a small hybridized CNN, batch 256
of 3x32x32, CPU.

Raw mxnet is the floor an adapter can reach:

- predict: ``net(nd.array(x)).asnumpy()`` (autograd not recording);
- loss_gradient: ``x.attach_grad()``, ``SoftmaxCrossEntropyLoss()(net(x), y).backward()`` under
  ``autograd.record()``, then ``x.grad.asnumpy()``.

Both sides take the same float32 numpy batch and return numpy. mxnet computes on its own engine
threads, so each call is timed in wall time (``asnumpy`` waits for the result), best of
interleaved repetitions, with one OpenMP thread. The ratios (adapter / raw) are what :func:`main`
returns. Needs the mxnet environment (numpy < 1.24); elsewhere importing this module raises
``MissingDependencyError`` (an ``ImportError``), which ``run_all.py`` reports as skipped.

Run: ``python benchmarks/bench_mxnet.py``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from trustml.adapters.mxnet._environment import ensure_mxnet

ensure_mxnet()
os.environ.setdefault("OMP_NUM_THREADS", "1")

import mxnet as mx
from mxnet import autograd, gluon, nd

from trustml.adapters.mxnet import MXNetClassifier

BATCH = 256
SHAPE = (3, 32, 32)
CLASSES = 10
REPEATS = 20
WARMUP = 3


def small_cnn() -> gluon.HybridBlock:
    mx.random.seed(0)
    net = gluon.nn.HybridSequential()
    net.add(
        gluon.nn.Conv2D(16, 3, padding=1, activation="relu"), gluon.nn.MaxPool2D(2),
        gluon.nn.Conv2D(32, 3, padding=1, activation="relu"), gluon.nn.MaxPool2D(2),
        gluon.nn.Flatten(), gluon.nn.Dense(CLASSES),
    )
    net.initialize(mx.init.Xavier(), ctx=mx.cpu())
    net.hybridize(static_alloc=True)
    return net


def _best_times(fns: dict[str, Callable[[], Any]]) -> dict[str, float]:
    for _ in range(WARMUP):
        for fn in fns.values():
            fn()
    best = {k: float("inf") for k in fns}
    for _ in range(REPEATS):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def main() -> dict[str, float]:
    """Time both paths; return ``{"predict": ..., "loss_gradient": ...}`` (adapter / raw)."""
    rng = np.random.default_rng(0)
    x = rng.random((BATCH, *SHAPE), dtype=np.float32)
    y = rng.integers(0, CLASSES, size=BATCH)
    net = small_cnn()
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    clf = MXNetClassifier(net, loss, SHAPE, CLASSES, ctx=mx.cpu())
    y_nd = nd.array(y, dtype="float32")

    def raw_predict() -> np.ndarray:
        return net(nd.array(x)).asnumpy()

    def raw_gradient() -> np.ndarray:
        xb = nd.array(x)
        xb.attach_grad()
        with autograd.record(train_mode=False):
            value = loss(net(xb), y_nd)
        value.backward()
        return xb.grad.asnumpy()

    np.testing.assert_allclose(clf.predict(x, batch_size=BATCH), raw_predict(), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(clf.loss_gradient(x, y, batch_size=BATCH), raw_gradient(),
                               rtol=1e-4, atol=1e-7)
    times = _best_times({
        "raw_predict": raw_predict,
        "trustml_predict": lambda: clf.predict(x, batch_size=BATCH),
        "raw_loss_gradient": raw_gradient,
        "trustml_loss_gradient": lambda: clf.loss_gradient(x, y, batch_size=BATCH),
    })
    ratios = {
        op: times["trustml_" + op] / times["raw_" + op] for op in ("predict", "loss_gradient")
    }
    print(f"mxnet {mx.__version__}, CPU, batch {BATCH} of {SHAPE}, best of {REPEATS} (wall time)")
    for op, ratio in ratios.items():
        print(f"{op:14s} raw {times['raw_' + op] * 1e3:7.2f} ms   trustml "
              f"{times['trustml_' + op] * 1e3:7.2f} ms   ratio {ratio:.3f}")
    return ratios


if __name__ == "__main__":
    main()
