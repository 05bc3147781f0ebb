"""PyTorchClassifier over raw torch: predict and loss_gradient of a small CNN, CPU.

Batch 256 of 3x32x32 float32.

Raw torch is the floor an adapter can reach:

- predict: ``model(torch.from_numpy(x))`` under ``torch.no_grad()``, then ``.numpy()``;
- loss_gradient: ``torch.autograd.grad(CrossEntropyLoss(reduction="sum")(model(x), y), x)`` (the
  input gradient only, as the adapter computes it), then ``.numpy()``.

Both sides take the same float32 numpy batch and return numpy. torch runs on one thread, and each
call is timed in CPU time of that thread (``time.thread_time``), the median of interleaved
repetitions: on a shared machine, wall time mostly measures the neighbours (it is printed too).
The ratios (adapter / raw; target <= 1.05) are what :func:`main` returns; ART's
PyTorchClassifier is timed beside them when ``art`` is importable.

Run: ``python benchmarks/bench_torch.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from timing import median_times

from trustml.adapters.torch import PyTorchClassifier

BATCH = 256
SHAPE = (3, 32, 32)
CLASSES = 10
REPEATS = 40
WARMUP = 3


def small_cnn() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(32 * 8 * 8, CLASSES),
    )


def main() -> dict[str, float]:
    """Time both paths and return the ratios ``{"predict": ..., "loss_gradient": ...}``
    (adapter time / raw torch time; ART's ratios are added as ``art_*`` when ART is installed)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rng = np.random.default_rng(0)
        x = rng.random((BATCH, *SHAPE), dtype=np.float32)
        y = rng.integers(0, CLASSES, size=BATCH)
        model = small_cnn().eval()
        loss_sum = torch.nn.CrossEntropyLoss(reduction="sum")
        clf = PyTorchClassifier(model, torch.nn.CrossEntropyLoss(), SHAPE, CLASSES, device="cpu")
        y_t = torch.from_numpy(y)

        def raw_predict() -> np.ndarray:
            with torch.no_grad():
                return model(torch.from_numpy(x)).numpy()

        def raw_gradient() -> np.ndarray:
            xt = torch.from_numpy(x).requires_grad_(True)
            (g,) = torch.autograd.grad(loss_sum(model(xt), y_t), xt)
            return g.numpy()

        np.testing.assert_allclose(clf.predict(x, batch_size=BATCH), raw_predict(), rtol=1e-5,
                                   atol=1e-6)
        np.testing.assert_allclose(clf.loss_gradient(x, y, batch_size=BATCH), raw_gradient(),
                                   rtol=1e-4, atol=1e-7)
        fns: dict[str, Callable[[], Any]] = {
            "raw_predict": raw_predict,
            "trustml_predict": lambda: clf.predict(x, batch_size=BATCH),
            "raw_loss_gradient": raw_gradient,
            "trustml_loss_gradient": lambda: clf.loss_gradient(x, y, batch_size=BATCH),
        }
        try:
            from art.estimators.classification import PyTorchClassifier as ArtClassifier
        except ImportError:
            art = None
        else:
            art = ArtClassifier(model=model, loss=torch.nn.CrossEntropyLoss(), input_shape=SHAPE,
                                nb_classes=CLASSES, device_type="cpu")
            onehot = np.eye(CLASSES, dtype=np.float32)[y]
            fns["art_predict"] = lambda: art.predict(x, batch_size=BATCH)
            fns["art_loss_gradient"] = lambda: art.loss_gradient(x, onehot)
        times, walls = median_times(fns, REPEATS, WARMUP)
    finally:
        torch.set_num_threads(threads)
    ratios = {
        "predict": times["trustml_predict"] / times["raw_predict"],
        "loss_gradient": times["trustml_loss_gradient"] / times["raw_loss_gradient"],
    }
    if art is not None:
        ratios["art_predict"] = times["art_predict"] / times["raw_predict"]
        ratios["art_loss_gradient"] = times["art_loss_gradient"] / times["raw_loss_gradient"]
    print(f"torch {torch.__version__}, CPU, 1 thread, batch {BATCH} of {SHAPE}, "
          f"median of {REPEATS} (thread CPU time; wall time in brackets)")
    for op in ("predict", "loss_gradient"):
        wall_ratio = walls["trustml_" + op] / walls["raw_" + op]
        line = (f"{op:14s} raw {times['raw_' + op] * 1e3:7.2f} ms   trustml "
                f"{times['trustml_' + op] * 1e3:7.2f} ms   ratio {ratios[op]:.3f} "
                f"[wall {wall_ratio:.3f}] (target <= 1.05)")
        if art is not None:
            line += f"   ART ratio {ratios['art_' + op]:.3f}"
        print(line)
    if art is None:
        print("ART not installed: its ratios are not measured here")
    return ratios


if __name__ == "__main__":
    main()
