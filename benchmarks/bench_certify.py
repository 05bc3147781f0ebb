"""Randomized-smoothing certify: throughput against the raw-forward limit, and peak memory.

Run: ``python benchmarks/bench_certify.py [--quick]`` (CPU; ``main()`` returns the figures).

1. Throughput. ``RandomizedSmoothing(PyTorchClassifier(cnn), sigma).certify(x, n)`` on a small
   CNN over 3x32x32 inputs, against the raw-forward limit: the same number of noisy forward passes
   (``N * (n0 + n)``) in raw torch at the same batch size (``torch.randn`` noise, ``model(x +
   noise).argmax``, ``torch.bincount``), nothing else. Ratio = raw time / trustml time (throughput
   ratio; target >= 0.9). Also the generic path (the same adapter seen only through ``predict``),
   and ART's ``PyTorchRandomizedSmoothing`` when ``art`` is importable.
2. Peak memory of certify for one 3x224x224 input at batch 500, measured as the growth of the
   process's peak resident set (``ru_maxrss``) in a fresh subprocess, at two values of ``n``, for
   the adapter's fast path and for the generic path: the peak must not grow with ``n``.
   One batch of noisy copies is 500 * 3 * 224 * 224 * 4 bytes =
   301 MB; ART's approach (all n copies at once) needs n * 602 kB, 60 GB at n = 100000.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import time
from typing import Any

import numpy as np

THREADS = 1


def _cnn(torch: Any) -> Any:
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 8 * 8, 10),
    )


def _raw_limit(torch: Any, net: Any, x: Any, total_per_input: int, batch: int, sigma: float) -> Any:
    """The same noisy forward passes in raw torch: noise, forward, argmax, bincount."""
    gen = torch.Generator().manual_seed(0)
    counts = []
    with torch.no_grad():
        for i in range(x.shape[0]):
            c = torch.zeros(10, dtype=torch.int64)
            for start in range(0, total_per_input, batch):
                m = min(batch, total_per_input - start)
                noisy = x[i : i + 1] + sigma * torch.randn((m, *x.shape[1:]), generator=gen)
                c += torch.bincount(net(noisy).argmax(1), minlength=10)
            counts.append(c)
    return torch.stack(counts)


def throughput(n_inputs: int = 4, n0: int = 100, n: int = 10_000, batch: int = 1000,
               repeats: int = 5) -> dict[str, float]:
    import torch

    from trustml.adapters.torch import PyTorchClassifier
    from trustml.certification import RandomizedSmoothing

    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    net = _cnn(torch).eval()
    adapter = PyTorchClassifier(net, torch.nn.CrossEntropyLoss(), (3, 32, 32), 10, device="cpu")
    smoothed = RandomizedSmoothing(adapter, 0.25, n0=n0, batch_size=batch)

    class PredictOnly:  # the generic path: the adapter seen through predict only
        input_shape, clip_values = adapter.input_shape, adapter.clip_values
        preprocessing, nb_classes = adapter.preprocessing, adapter.nb_classes
        predict = staticmethod(adapter.predict)

    generic = RandomizedSmoothing(PredictOnly(), 0.25, n0=n0, batch_size=batch)
    x = np.random.default_rng(0).random((n_inputs, 3, 32, 32), dtype=np.float32)
    xt = torch.from_numpy(x)
    # the raw limit certifies input by input, like Cohen et al.'s loop; so does trustml here
    timings: dict[str, list[float]] = {"raw": [], "trustml": [], "generic": []}
    for _ in range(repeats):  # interleaved, best of `repeats`
        t = time.perf_counter()
        _raw_limit(torch, net, xt, n0 + n, batch, 0.25)
        timings["raw"].append(time.perf_counter() - t)
        t = time.perf_counter()
        for i in range(n_inputs):
            smoothed.certify(x[i : i + 1], n, seed=i)
        timings["trustml"].append(time.perf_counter() - t)
        t = time.perf_counter()
        for i in range(n_inputs):
            generic.certify(x[i : i + 1], n, seed=i)
        timings["generic"].append(time.perf_counter() - t)
    best = {k: min(v) for k, v in timings.items()}
    draws = n_inputs * (n0 + n)
    out = {
        "raw_draws_per_s": draws / best["raw"],
        "trustml_draws_per_s": draws / best["trustml"],
        "generic_draws_per_s": draws / best["generic"],
        "ratio_trustml_over_raw": best["raw"] / best["trustml"],
        "ratio_generic_over_raw": best["raw"] / best["generic"],
    }
    if importlib.util.find_spec("art") is not None:  # pragma: no cover - ART not a dependency
        from art.estimators.certification.randomized_smoothing import (
            PyTorchRandomizedSmoothing,
        )

        art = PyTorchRandomizedSmoothing(
            model=net, loss=torch.nn.CrossEntropyLoss(), input_shape=(3, 32, 32), nb_classes=10,
            sample_size=n0, scale=0.25, alpha=0.001, device_type="cpu",  # n0 selection draws
        )
        t = time.perf_counter()
        art.certify(x, n=n, batch_size=batch)
        out["ratio_art_over_raw"] = best["raw"] / (time.perf_counter() - t)
    return out


_MEMORY_CHILD = """
import json, resource, sys, numpy as np, torch
from trustml.adapters.torch import PyTorchClassifier
from trustml.certification import RandomizedSmoothing
torch.set_num_threads({threads})
n, batch = {n}, {batch}
net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 8, stride=8), torch.nn.ReLU(),
                          torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 10))
model = PyTorchClassifier(net, torch.nn.CrossEntropyLoss(), (3, 224, 224), 10, device="cpu")


class PredictOnly:  # the generic path: numpy noise, the adapter seen through predict only
    input_shape, clip_values = model.input_shape, model.clip_values
    preprocessing, nb_classes = model.preprocessing, model.nb_classes
    predict = staticmethod(model.predict)


smoothed = RandomizedSmoothing(PredictOnly() if {generic} else model, 0.5, n0=100, batch_size=batch)
x = np.random.default_rng(0).random((1, 3, 224, 224), dtype=np.float32)
smoothed.certify(x, 100, n0=1, batch_size=batch, seed=0)  # warm-up: allocator, kernels
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
labels, radii = smoothed.certify(x, n, batch_size=batch, seed=0)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"peak_growth_mb": (after - before) / 1024, "peak_rss_mb": after / 1024}}))
"""


def peak_memory(n: int, batch: int = 500, generic: bool = False) -> dict[str, float]:
    """Peak-RSS growth of one certify call in a fresh process (Linux ``ru_maxrss`` in kB), through
    the adapter's fast path or (``generic``) through numpy noise and ``predict``."""
    code = _MEMORY_CHILD.format(n=n, batch=batch, threads=THREADS, generic=generic)
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    result["seconds"] = time.perf_counter() - t
    return result


def main(quick: bool = False) -> dict[str, float]:
    """Run both measurements; returns the figures (ratios, draws/s, MB)."""
    figures: dict[str, float] = {}
    if quick:
        figures.update(throughput(n_inputs=2, n=2000, repeats=2))
        small, large = 2_000, 10_000
    else:
        figures.update(throughput())
        small, large = 10_000, 100_000
    one_batch_mb = 500 * 3 * 224 * 224 * 4 / 2**20
    figures["one_batch_of_noisy_copies_mb"] = one_batch_mb
    for n in (small, large):
        mem = peak_memory(n)
        figures[f"certify_224_peak_growth_mb_n{n}"] = mem["peak_growth_mb"]
        figures[f"certify_224_seconds_n{n}"] = mem["seconds"]
    for n in (2_000, 10_000):
        mem = peak_memory(n, generic=True)
        figures[f"certify_224_generic_peak_growth_mb_n{n}"] = mem["peak_growth_mb"]
    figures["all_copies_at_once_mb_n100000"] = 100_000 * 3 * 224 * 224 * 4 / 2**20
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller n, fewer repeats")
    for key, value in main(parser.parse_args().quick).items():
        print(f"{key}\t{value:.3f}")
