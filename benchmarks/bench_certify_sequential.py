"""Sequential certification against fixed-n CERTIFY: wall time on the digits CNN at a radius grid.

Run: ``python benchmarks/bench_certify_sequential.py [--quick] [--inputs 20] [--repeats 2]
[--model-cache cnn.pkl]`` (CPU; ``main()`` returns the figures; ``--model-cache`` keeps the trained
CNN in a pickle so a second run skips the training).

The CNN of ``docs/scripts/certify_digits.py`` (two 3x3 convolutions, PyTorch, certified through
the adapter's device fast path), trained with Gaussian augmentation at sigma = 0.25, on the first
``inputs`` test digits of scikit-learn's digits. Both methods answer the same question, the
certified accuracy at the grid 0, 0.25, 0.5, 0.75, 1.0:

- fixed: ``certify(x, n)`` (n0 = 100, n = 100 000, alpha = 0.001), then the grid;
- sequential: ``certify_radius(x, grid, n_max=100_000)`` (same n0 and alpha).

Reported: seconds of each (best of ``repeats``, interleaved), the time ratio fixed / sequential,
and the model-call ratio. Training time is not counted.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import numpy as np

GRID = [0.0, 0.25, 0.5, 0.75, 1.0]
ROOT = Path(__file__).resolve().parents[1]


def main(quick: bool = False, inputs: int = 20, n: int = 100_000,
         repeats: int = 2, model_cache: Path | None = None) -> dict[str, float]:
    import torch

    sys.path.insert(0, str(ROOT / "docs" / "scripts"))
    from certify_digits import cnn, load

    from trustml.certification import RandomizedSmoothing, certified_accuracy

    if quick:
        inputs, n, repeats = 8, 10_000, 1
    torch.set_num_threads(1)
    x_train, x_test, y_train, y_test = load()
    if model_cache is not None and model_cache.exists():
        with model_cache.open("rb") as f:
            model = pickle.load(f)
    else:
        model = cnn(x_train, y_train, 0.25)
        if model_cache is not None:
            with model_cache.open("wb") as f:
                pickle.dump(model, f)
    xt = x_test[:inputs].reshape(-1, 1, 8, 8)
    y = y_test[:inputs]
    smoothed = RandomizedSmoothing(model, 0.25, n0=100, alpha=0.001, batch_size=1000)
    fixed_times, seq_times = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        labels, radii = smoothed.certify(xt, n, seed=0)
        fixed_acc = certified_accuracy(labels, radii, y, GRID)
        fixed_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        sel, robust, draws = smoothed.certify_radius(xt, GRID, n_max=n, seed=0)
        seq_acc = (robust & (sel == y)[:, None]).mean(axis=0)
        seq_times.append(time.perf_counter() - start)
    figures = {
        "inputs": float(inputs),
        "n": float(n),
        "fixed_seconds": min(fixed_times),
        "sequential_seconds": min(seq_times),
        "time_ratio_fixed_over_sequential": min(fixed_times) / min(seq_times),
        "call_ratio_fixed_over_sequential": inputs * (100 + n) / float(draws.sum()),
        "max_accuracy_gap_fixed_minus_sequential": float(np.max(fixed_acc - seq_acc)),
    }
    for key, value in figures.items():
        print(f"{key}: {value:.4g}")
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--inputs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--model-cache", type=Path, default=None)
    args = parser.parse_args()
    main(args.quick, inputs=args.inputs, repeats=args.repeats, model_cache=args.model_cache)
