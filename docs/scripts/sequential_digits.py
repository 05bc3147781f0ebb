"""Sequential certification (``certify_radius``) against fixed-n CERTIFY on scikit-learn's digits.

Produces the table and the curve of the "Sequential certification" section of
``docs/certification.md``::

    # the committed results (one thread; --cache keeps models and fixed-n results for reruns)
    OMP_NUM_THREADS=1 python docs/scripts/sequential_digits.py --inputs 100 --cache /tmp/seqcache
    python docs/scripts/sequential_digits.py --inputs 30 --n 10000   # quicker

The models, data and split are those of ``certify_digits.py`` (imported from it): the MLP
(scikit-learn) and the CNN (PyTorch, through its device fast path), each trained with Gaussian
augmentation at the sigma it is certified with. On the first ``--inputs`` test digits (the split
is stratified and shuffled, so these are a random subset), for each model:

- fixed-n CERTIFY (``certify(x, n)``, n0 = 100, ``--n`` = 100 000 estimation draws, alpha =
  0.001): certified accuracy at each radius of the grid (label correct and radius >= r);
- sequential (``certify_radius(x, grid, n_max=n)``, same n0 and alpha): certified accuracy at each
  radius (label correct and robust at r), and the model calls it spent (``draws``).

Both use ``seed=0``. Outputs: ``docs/certification_sequential_table.md`` (Markdown, also printed)
and ``docs/img/sequential_digits.png`` (certified accuracy versus radius for both methods, and
the distribution of draws per input).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

DOCS = Path(__file__).resolve().parents[1]
GRID = [0.0, 0.25, 0.5, 0.75, 1.0]
CHUNK = 20


def run(n: int, n0: int, alpha: float, sigma: float, inputs: int,
        cache: Path | None = None, fixed_only: bool = False) -> dict[str, Any]:
    """Train both models, certify with both methods, write the table and the figure.

    With ``cache``, the trained models and the fixed-n results (per chunk of ``CHUNK`` digits,
    keyed by the settings) are kept in that folder and reused by later runs with the same
    settings; fixed-n CERTIFY seeds every input from the input and the seed, so chunked results
    are those of one call.
    """
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from certify_digits import cnn, load, mlp  # the models of the digits results

    from trustml.certification import RandomizedSmoothing, certified_accuracy

    torch.set_num_threads(1)
    x_train, x_test, y_train, y_test = load()
    x_test, y_test = x_test[:inputs], y_test[:inputs]
    grid = np.array(GRID)
    fine = np.linspace(0, 1.0, 201)
    results: dict[str, Any] = {}
    for name, build in (("MLP (scikit-learn)", mlp), ("CNN (PyTorch)", cnn)):
        short = name.split()[0]
        start = time.perf_counter()
        model = _cached(cache, f"model_{short}_sigma{sigma:g}.pkl",
                        lambda build=build: build(x_train, y_train, sigma))
        trained = time.perf_counter() - start
        xt = x_test if name.startswith("MLP") else x_test.reshape(-1, 1, 8, 8)
        smoothed = RandomizedSmoothing(model, sigma, n0=n0, alpha=alpha, batch_size=1000)
        labels = np.empty(inputs, dtype=np.int64)
        radii = np.empty(inputs, dtype=np.float64)
        fixed_seconds = 0.0
        for lo in range(0, inputs, CHUNK):
            hi = min(inputs, lo + CHUNK)

            def fixed(lo: int = lo, hi: int = hi, smoothed: Any = smoothed,
                      xt: Any = xt) -> tuple[Any, Any, float]:
                t0 = time.perf_counter()
                lab, rad = smoothed.certify(xt[lo:hi], n, seed=0, progress=True)
                return lab, rad, time.perf_counter() - t0

            key = f"fixed_{short}_n{n}_n0{n0}_a{alpha:g}_s{sigma:g}_{lo}_{hi}.pkl"
            labels[lo:hi], radii[lo:hi], seconds = _cached(cache, key, fixed)
            fixed_seconds += seconds
        if fixed_only:
            continue
        start = time.perf_counter()
        sel, robust, draws = smoothed.certify_radius(xt, grid, n_max=n, seed=0, progress=True)
        seq_seconds = time.perf_counter() - start
        results[name] = {
            "fixed": certified_accuracy(labels, radii, y_test, grid),
            "sequential": (robust & (sel == y_test)[:, None]).mean(axis=0),
            "fixed_calls": xt.shape[0] * (n0 + n),
            "draws": draws,
            "fixed_seconds": fixed_seconds,
            "seq_seconds": seq_seconds,
            "fine": (fine, certified_accuracy(labels, radii, y_test, fine)),
            "train_seconds": trained,
            "labels": labels, "radii": radii, "selected": sel, "robust": robust, "y": y_test,
        }
        print(f"{name}: model in {trained:.0f} s, fixed {fixed_seconds:.0f} s, "
              f"sequential {seq_seconds:.0f} s", flush=True)
        _save(results, Path("/tmp") / "sequential_digits_results.pkl")
    if not fixed_only:
        _write(results, n=n, n0=n0, alpha=alpha, sigma=sigma, inputs=len(y_test))
    return results


def _cached(cache: Path | None, key: str, make: Any) -> Any:
    """``make()``, or its pickled result from an earlier run with the same key."""
    import pickle

    if cache is None:
        return make()
    path = cache / key
    if path.exists():
        with path.open("rb") as f:
            return pickle.load(f)
    value = make()
    cache.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        pickle.dump(value, f)
    return value


def _save(results: dict[str, Any], path: Path) -> None:
    """Raw results, so the table and figure can be redrawn without re-running."""
    import pickle

    with path.open("wb") as f:
        pickle.dump(results, f)


def _write(results: dict[str, Any], *, n: int, n0: int, alpha: float, sigma: float,
           inputs: int) -> None:
    lines = [
        (f"{inputs} test digits, sigma = {sigma:g}, n0 = {n0}, alpha = {alpha}, seed 0; fixed-n "
         f"CERTIFY with n = {n}, sequential `certify_radius` with n_max = {n}."),
        "",
        ("| model | radius | certified accuracy, fixed n | certified accuracy, sequential "
         "| difference |"),
        "|---|---|---|---|---|",
    ]
    for name, res in results.items():
        for r, a, b in zip(GRID, res["fixed"], res["sequential"]):
            lines.append(f"| {name} | {r:g} | {a:.3f} | {b:.3f} | {b - a:+.3f} |")
    lines += [
        "",
        ("| model | model calls, fixed n | model calls, sequential | ratio | median draws per "
         "input | seconds, fixed n | seconds, sequential |"),
        "|---|---|---|---|---|---|---|",
    ]
    for name, res in results.items():
        calls = int(res["draws"].sum())
        lines.append(
            f"| {name} | {res['fixed_calls']:,} | {calls:,} | {res['fixed_calls'] / calls:.1f}x "
            f"| {int(np.median(res['draws']))} | {res['fixed_seconds']:.0f} "
            f"| {res['seq_seconds']:.0f} |"
        )
    text = "\n".join(lines) + "\n"
    (DOCS / "certification_sequential_table.md").write_text(text, encoding="utf-8")
    print(text)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for (name, res), color in zip(results.items(), ("tab:blue", "tab:orange")):
        short = name.split()[0]
        left.plot(*res["fine"], color=color, label=f"{short}, fixed n = {n:,}")
        left.plot(GRID, res["sequential"], "o", color=color, markersize=7,
                  markerfacecolor="none", label=f"{short}, sequential (at the grid)")
        right.hist(res["draws"], bins=np.geomspace(n0 + 50, n0 + n + 1, 30), alpha=0.6,
                   color=color, label=f"{short}: {int(res['draws'].sum()):,} calls in all")
    left.set_xlabel("L2 radius (pixel units in [0, 1])")
    left.set_ylabel("certified accuracy")
    left.set_title(f"digits, sigma = {sigma:g}, alpha = {alpha}")
    left.set_ylim(0, 1.02)
    left.grid(alpha=0.3)
    left.legend(fontsize=8)
    right.axvline(n0 + n, color="k", linestyle="--", label=f"fixed n: {n0 + n:,} per input")
    right.set_xscale("log")
    right.set_xlabel("model calls per input (draws, selection included)")
    right.set_ylabel("inputs")
    right.set_title("sequential: where each input stopped")
    right.legend(fontsize=8)
    fig.tight_layout()
    out = DOCS / "img" / "sequential_digits.png"
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(f"figure in {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--n0", type=int, default=100)
    parser.add_argument("--alpha", type=float, default=0.001)
    parser.add_argument("--sigma", type=float, default=0.25)
    parser.add_argument("--inputs", type=int, default=100)
    parser.add_argument("--cache", type=Path, default=None,
                        help="folder keeping trained models and fixed-n results between runs")
    parser.add_argument("--fixed-only", action="store_true",
                        help="only train and run fixed-n CERTIFY (to fill the cache)")
    args = parser.parse_args()
    run(args.n, args.n0, args.alpha, args.sigma, args.inputs, args.cache, args.fixed_only)
