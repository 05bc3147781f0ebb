"""GPU figures for the PyTorch adapter and randomized smoothing, and the mixed-precision option.

Run: ``python benchmarks/bench_gpu.py --out DIR [--device cuda] [--quick]`` (``benchmarks/
gpu_check.sh`` runs it on a GPU machine; ``--device cpu --quick`` is a dry run anywhere).

1. Adapter overhead: ``PyTorchClassifier.predict`` and ``loss_gradient`` over raw torch on the
   device (``model(x)`` under ``no_grad``; ``autograd.grad`` of the summed cross-entropy), both
   from the same float32 numpy batch of 256 to numpy, for the small CNN of ``bench_torch.py`` and
   a CIFAR ResNet-20 (He et al., 2016). Ratio adapter / raw, target <= 1.05.
2. Certify throughput: ``RandomizedSmoothing(...).certify`` (the adapter's device fast path) over
   the raw noisy-forward limit (the same ``N * (n0 + n)`` forward passes in raw torch: noise drawn
   on the device, forward, argmax, bincount). Ratio raw time / trustml time, target >= 0.95.
3. Seconds per input at n = 100,000 (n0 = 100, batch 1,000) for a CIFAR ResNet-110, the network
   of Cohen, Rosenfeld and Kolter (ICML 2019), who report about 15 s per CIFAR-10 image on an
   NVIDIA RTX 2080 Ti; with the opt-in ``noisy_count_autocast`` (bf16, fp16) beside it.
4. Mixed precision on the digits CNN of ``trustml demo --framework torch``: throughput of noisy
   counting in fp32, bf16 and fp16 autocast, and certified accuracy at radii 0 / 0.25 / 0.5 /
   0.75 of each (sigma 0.25, alpha 0.001, n = 10,000 on the 450 test digits).

Times are wall-clock medians with ``torch.cuda.synchronize()`` around each call; every ratio
compares two measurements of the same run. Results: ``DIR/gpu_results.json`` and
``DIR/gpu_results.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from trustml.adapters.torch import PyTorchClassifier
from trustml.certification import RandomizedSmoothing, certified_accuracy
from trustml.demo._data import load_digits_split
from trustml.demo._models import train

SHAPE = (3, 32, 32)
CLASSES = 10


class _Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = (nn.Sequential() if stride == 1 and cin == cout else
                      nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                    nn.BatchNorm2d(cout)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(h)) + self.short(x))


class CifarResNet(nn.Module):
    """He et al.'s CIFAR ResNet of depth ``6k + 2`` (20, 56, 110) with widths 16 / 32 / 64."""

    def __init__(self, depth: int) -> None:
        super().__init__()
        k = (depth - 2) // 6
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU())
        blocks: list[nn.Module] = []
        cin = 16
        for cout, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(k):
                blocks.append(_Block(cin, cout, stride if i == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(64, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.stem(x))
        return self.head(F.adaptive_avg_pool2d(h, 1).flatten(1))


def small_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 8 * 8, CLASSES),
    )


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median(fns: dict[str, Callable[[], Any]], device: torch.device, repeats: int,
            warmup: int = 3) -> dict[str, float]:
    """Median wall time (s) of each function, calls interleaved (ABBA)."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    _sync(device)
    times: dict[str, list[float]] = {k: [] for k in fns}
    order = list(fns.items())
    for rep in range(repeats):
        for name, fn in order if rep % 2 == 0 else order[::-1]:
            _sync(device)
            t0 = time.perf_counter()
            fn()
            _sync(device)
            times[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def adapter_ratios(device: torch.device, name: str, net: nn.Module, repeats: int,
                   batch: int = 256) -> dict[str, float]:
    torch.manual_seed(0)
    net = net.to(device).eval()
    rng = np.random.default_rng(0)
    x = rng.random((batch, *SHAPE), dtype=np.float32)
    y = rng.integers(0, CLASSES, batch)
    y_t = torch.from_numpy(y).to(device)
    loss_sum = nn.CrossEntropyLoss(reduction="sum")
    clf = PyTorchClassifier(net, nn.CrossEntropyLoss(), SHAPE, CLASSES, device=device)

    def raw_predict() -> np.ndarray:
        with torch.no_grad():
            return net(torch.from_numpy(x).to(device)).cpu().numpy()

    def raw_gradient() -> np.ndarray:
        xt = torch.from_numpy(x).to(device).requires_grad_(True)
        (g,) = torch.autograd.grad(loss_sum(net(xt), y_t), xt)
        return g.cpu().numpy()

    np.testing.assert_allclose(clf.predict(x, batch_size=batch), raw_predict(), rtol=1e-3,
                               atol=1e-4)
    t = _median({
        "raw_predict": raw_predict,
        "predict": lambda: clf.predict(x, batch_size=batch),
        "raw_loss_gradient": raw_gradient,
        "loss_gradient": lambda: clf.loss_gradient(x, y, batch_size=batch),
    }, device, repeats)
    return {
        f"{name}.predict_ms": t["predict"] * 1e3,
        f"{name}.raw_predict_ms": t["raw_predict"] * 1e3,
        f"{name}.predict_ratio": t["predict"] / t["raw_predict"],
        f"{name}.loss_gradient_ms": t["loss_gradient"] * 1e3,
        f"{name}.raw_loss_gradient_ms": t["raw_loss_gradient"] * 1e3,
        f"{name}.loss_gradient_ratio": t["loss_gradient"] / t["raw_loss_gradient"],
    }


def _raw_noisy_limit(net: nn.Module, x: torch.Tensor, per_input: int, batch: int,
                     sigma: float) -> torch.Tensor:
    gen = torch.Generator(device=x.device).manual_seed(0)
    out = []
    with torch.no_grad():
        for i in range(x.shape[0]):
            c = torch.zeros(CLASSES, dtype=torch.int64, device=x.device)
            for start in range(0, per_input, batch):
                m = min(batch, per_input - start)
                noisy = x[i : i + 1] + sigma * torch.randn((m, *x.shape[1:]), generator=gen,
                                                           device=x.device)
                c += torch.bincount(net(noisy).argmax(1), minlength=CLASSES)
            out.append(c)
    return torch.stack(out).cpu()


def certify_ratio(device: torch.device, name: str, net: nn.Module, n: int, inputs: int,
                  repeats: int, batch: int = 1000) -> dict[str, float]:
    net = net.to(device).eval()
    x = np.random.default_rng(1).random((inputs, *SHAPE), dtype=np.float32)
    xt = torch.from_numpy(x).to(device)
    clf = PyTorchClassifier(net, nn.CrossEntropyLoss(), SHAPE, CLASSES, device=device)
    smoothed = RandomizedSmoothing(clf, sigma=0.25, alpha=0.001)
    t = _median({
        "raw": lambda: _raw_noisy_limit(net, xt, 100 + n, batch, 0.25),
        "trustml": lambda: smoothed.certify(x, n=n, n0=100, batch_size=batch, seed=0),
    }, device, repeats, warmup=1)
    return {f"{name}.certify_throughput_ratio": t["raw"] / t["trustml"],
            f"{name}.certify_s_per_input": t["trustml"] / inputs}


def seconds_per_input(device: torch.device, depth: int, n: int, repeats: int) -> dict[str, float]:
    torch.manual_seed(0)
    net = CifarResNet(depth).to(device).eval()
    x = np.random.default_rng(2).random((1, *SHAPE), dtype=np.float32)
    out: dict[str, float] = {}
    for autocast in (None, "bfloat16", "float16"):
        clf = PyTorchClassifier(net, nn.CrossEntropyLoss(), SHAPE, CLASSES, device=device,
                                noisy_count_autocast=autocast)
        smoothed = RandomizedSmoothing(clf, sigma=0.25, alpha=0.001)
        t = _median({"c": lambda s=smoothed: s.certify(x, n=n, n0=100, batch_size=1000, seed=0)},
                    device, repeats, warmup=1)
        out[f"resnet{depth}.s_per_input_n{n}.{autocast or 'float32'}"] = t["c"]
    return out


def mixed_precision_digits(device: torch.device, n: int, repeats: int) -> dict[str, float]:
    digits = load_digits_split(0)
    x_test, y_test = digits.x_test, digits.y_test
    clf = train("torch", digits.x_train, digits.y_train, sigma=0.25, seed=0)
    xs = x_test.reshape(-1, 1, 8, 8)
    out: dict[str, float] = {}
    radii_grid = (0.0, 0.25, 0.5, 0.75)
    for autocast in (None, "bfloat16", "float16"):
        clf.set_params(device=device, noisy_count_autocast=autocast)
        smoothed = RandomizedSmoothing(clf, sigma=0.25, alpha=0.001)
        tag = autocast or "float32"
        t0 = time.perf_counter()
        labels, radii = smoothed.certify(xs, n=n, n0=100, batch_size=10_000, seed=0)
        _sync(device)
        out[f"digits_cnn.{tag}.certify_s"] = time.perf_counter() - t0
        acc = certified_accuracy(labels, radii, y_test, radii_grid)
        for r, a in zip(radii_grid, acc):
            out[f"digits_cnn.{tag}.certified_accuracy@{r}"] = float(a)
        draws = xs[:50]
        t = _median({"c": lambda d=draws: clf.count_noisy_predictions(d, 0.25, n,
                                                                     batch_size=10_000, seed=0)},
                    device, repeats, 1)
        out[f"digits_cnn.{tag}.draws_per_s"] = draws.shape[0] * n / t["c"]
    for tag in ("bfloat16", "float16"):
        out[f"digits_cnn.{tag}.throughput_gain"] = (out[f"digits_cnn.{tag}.draws_per_s"]
                                                    / out["digits_cnn.float32.draws_per_s"])
    return out


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="gpu-results",
                        help="folder for gpu_results.json / .md (default: gpu-results)")
    parser.add_argument("--device", default="cuda", help="torch device (default: cuda)")
    parser.add_argument("--quick", action="store_true", help="small sizes (a dry run)")
    args = parser.parse_args([] if argv is None else argv)  # None: called by run_all.py
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ImportError("needs a CUDA device (run benchmarks/gpu_check.sh on a GPU machine)")
    if device.type == "cpu":
        torch.set_num_threads(1)
    quick = args.quick
    repeats = 3 if quick else 20
    results: dict[str, float] = {}
    for name, net in (("small_cnn", small_cnn()), ("resnet20", CifarResNet(20))):
        results.update(adapter_ratios(device, name, net, repeats))
        results.update(certify_ratio(device, name, net, n=1000 if quick else 10_000,
                                     inputs=2 if quick else 8, repeats=2 if quick else 5))
    results.update(seconds_per_input(device, 20 if quick else 110, 2000 if quick else 100_000,
                                     repeats=1 if quick else 3))
    results.update(mixed_precision_digits(device, 1000 if quick else 10_000, repeats))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
    meta = {"device": name or device.type, "torch": torch.__version__, "quick": quick}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_results.json").write_text(json.dumps({"meta": meta, "results": results},
                                                     indent=2) + "\n")
    lines = [f"# GPU figures ({meta['device']}, torch {meta['torch']}"
             f"{', quick dry run' if quick else ''})", "", "| figure | value |", "|---|---|"]
    lines += [f"| {k} | {v:.4g} |" for k, v in results.items()]
    (out / "gpu_results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
