"""How far apart can sequential and fixed-n certified accuracy fall by chance? A simulation.

Reads the fixed-n CERTIFY results that ``sequential_digits.py --cache DIR`` kept, recovers each
correctly classified digit's ``pA`` from its certified radius (the count ``nA`` whose
Clopper-Pearson bound at n gives that radius; misclassified or abstained digits get ``pA`` =
0.3), then repeats, ``--reps`` times, both methods on binomial draws with those ``pA``:

- fixed-n: ``nA ~ Binomial(n, pA)``, robust at r when the Clopper-Pearson bound at ``alpha``
  reaches ``Phi(r / sigma)``;
- sequential: the library's own ``certify_radius`` code, run on a stand-in whose counts are
  binomial draws with those ``pA`` (so the schedule, the levels and the futility rule are
  exactly the library's).

Prints, per model, the expected certified accuracy of each method at the grid, the share of
repetitions where the sequential one is within ``--tolerance`` of the fixed-n one at every
radius, and the expected model-call ratio::

    python docs/scripts/sequential_simulation.py --cache /tmp/seqcache --inputs 100 --reps 400
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path
from typing import Any

import numpy as np

GRID = np.array([0.0, 0.25, 0.5, 0.75, 1.0])


class BinomialStandIn:
    """Stands in for the smoothed classifier: input ``i`` (its first feature) has class 0 with
    probability ``p[i]`` under noise, class 1 otherwise."""

    def __init__(self, p: np.ndarray, sigma: float, alpha: float, n0: int) -> None:
        self.p, self.sigma, self.alpha, self.n0, self.batch_size = p, sigma, alpha, n0, 1000

    def check_x(self, x: Any) -> np.ndarray:
        return np.asarray(x, dtype=np.float32)

    def generator(self, seed: Any) -> np.random.Generator:
        return np.random.default_rng(seed)

    def counts(self, xs: np.ndarray, n: int, *, batch_size: int, rng: np.random.Generator,
               advance: Any = None) -> np.ndarray:
        hits = rng.binomial(n, self.p[xs[:, 0].astype(np.int64)])
        return np.stack([hits, n - hits], axis=1).astype(np.int64)


def p_from_radius(radius: float, sigma: float, n: int, alpha: float) -> float:
    """The ``nA / n`` whose Clopper-Pearson bound at ``alpha`` gives ``radius`` (bisection)."""
    from scipy.stats import beta, norm

    target = norm.cdf(radius / sigma)
    lo, hi = 1, n
    while lo < hi:
        mid = (lo + hi) // 2
        if beta.ppf(alpha, mid, n - mid + 1) < target:
            lo = mid + 1
        else:
            hi = mid
    return lo / n


def simulate(p: np.ndarray, *, reps: int, n: int, n0: int, alpha: float, sigma: float,
             seed: int = 0) -> dict[str, Any]:
    from scipy.stats import beta, norm

    from trustml.certification import _sequential

    m = p.size
    big = np.tile(p, reps)
    x = np.stack([np.arange(big.size), np.random.default_rng(seed).random(big.size)], axis=1)
    stand_in: Any = BinomialStandIn(big, sigma, alpha, n0)
    labels, robust, draws = _sequential.certify_radius(
        stand_in, x, GRID, alpha=None, n_max=n, n0=None, batch_size=None, seed=seed,
        bound="clopper-pearson", progress=False,
    )
    seq = (robust & (labels == 0)[:, None]).reshape(reps, m, -1).sum(axis=1)
    n_a = np.maximum(np.random.default_rng(seed + 1).binomial(n, big), 1)
    lower = beta.ppf(alpha, n_a, n - n_a + 1)
    fixed = (lower[:, None] >= norm.cdf(GRID / sigma)[None, :]).reshape(reps, m, -1).sum(axis=1)
    return {"seq": seq / m, "fixed": fixed / m,
            "ratio": m * (n0 + n) / draws.reshape(reps, m).sum(axis=1).mean()}


def main() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from certify_digits import load

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--inputs", type=int, default=100)
    parser.add_argument("--reps", type=int, default=400)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--n0", type=int, default=100)
    parser.add_argument("--alpha", type=float, default=0.001)
    parser.add_argument("--sigma", type=float, default=0.25)
    parser.add_argument("--tolerance", type=float, default=0.01)
    args = parser.parse_args()
    y = load()[3][: args.inputs]
    for short in ("MLP", "CNN"):
        labels, radii = [], []
        for lo in range(0, args.inputs, 20):
            key = (f"fixed_{short}_n{args.n}_n0{args.n0}_a{args.alpha:g}_s{args.sigma:g}_{lo}_"
                   f"{min(args.inputs, lo + 20)}.pkl")
            with (args.cache / key).open("rb") as f:
                lab, rad, _ = pickle.load(f)
            labels.append(lab)
            radii.append(rad)
        lab, rad = np.concatenate(labels), np.concatenate(radii)
        p = np.array([p_from_radius(r, args.sigma, args.n, args.alpha) if ok else 0.3
                      for r, ok in zip(rad, (lab == y) & (lab >= 0))])
        out = simulate(p, reps=args.reps, n=args.n, n0=args.n0, alpha=args.alpha,
                       sigma=args.sigma)
        diff = out["seq"] - out["fixed"]
        within = float((diff >= -args.tolerance - 1e-9).all(axis=1).mean())
        print(f"{short}: expected certified accuracy, fixed {np.round(out['fixed'].mean(0), 4)}, "
              f"sequential {np.round(out['seq'].mean(0), 4)}; expected difference "
              f"{np.round(diff.mean(0), 4)}, its sd {np.round(diff.std(0), 4)}; sequential "
              f"within {args.tolerance} of fixed at every radius in {within:.1%} of "
              f"{args.reps} repetitions; calls ratio {out['ratio']:.1f}x", flush=True)


if __name__ == "__main__":
    main()
