"""``trustml certify ... --sequential --radius R1,R2,...``: sequential decisions at given radii.

::

    trustml certify mypackage.models:build data.npz --sigma 0.25 --radius 0.25,0.5 \\
        --sequential --n 100000 --n0 100 --alpha 0.001 --batch-size 1000 --seed 0 \\
        --out decisions.tsv

Calls :meth:`~trustml.certification.SmoothedClassifier.certify_radius` on the selected inputs
with ``n_max = --n``, and writes one line per input to ``--out``: ``idx label predict draws
robust@R1 robust@R2 ... correct`` (``predict`` is the selected label, ``robust@R`` is 1 where the
input is certified robust at radius ``R``, ``draws`` the model evaluations spent on it, selection
included; ``correct`` is 1 where ``predict`` is the true label). It prints the certified accuracy
at each radius (robust and correct) and the total number of draws.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from trustml.errors import InputShapeError, ParameterError

__all__ = ["add_sequential_arguments", "run_sequential"]


def add_sequential_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``--sequential`` and ``--radius`` on the ``trustml certify`` parser."""
    parser.add_argument(
        "--sequential", action="store_true",
        help="decide robustness at --radius with anytime-valid confidence sequences "
        "(--n is then the most estimation draws per input)",
    )
    parser.add_argument(
        "--radius", default=None, help="comma-separated radii decided by --sequential"
    )


def _radii(text: str | None) -> np.ndarray[Any, np.dtype[np.float64]]:
    if text is None:
        raise ParameterError("--radius: expected comma-separated radii with --sequential, got none")
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ParameterError(f"--radius: expected comma-separated numbers, got {text!r}") from None
    if not values:
        raise ParameterError(f"--radius: expected at least one radius, got {text!r}")
    return np.array(values, dtype=np.float64)


def run_sequential(args: argparse.Namespace) -> int:
    """Run ``trustml certify --sequential``; returns the exit status (0).

    Raises
    ------
    TrustMLError
        Any bad input (the dispatcher prints it and exits with status 1); nothing is written.
    """
    from trustml.certification.cli import _load_data, load_factory
    from trustml.certification.randomized_smoothing import RandomizedSmoothing
    from trustml.labels import to_index

    radii = _radii(args.radius)
    if args.skip < 1 or (args.max is not None and args.max < 0):
        raise ParameterError("--skip: expected >= 1 and --max: expected >= 0")
    classifier = load_factory(args.factory)()
    smoothed = RandomizedSmoothing(
        classifier, args.sigma, alpha=args.alpha, n0=args.n0, batch_size=args.batch
    )
    x, y_raw = _load_data(args.data)
    if x.ndim < 2:
        raise InputShapeError(f"data x: expected shape (N, *input_shape), got {x.shape}")
    y = to_index(y_raw, smoothed.nb_classes, n=x.shape[0])
    indices = np.arange(0, x.shape[0], args.skip)[: args.max]
    # validate everything (radii, n, shapes) before drawing or writing
    smoothed.certify_radius(x[:0], radii, n_max=args.n, batch_size=args.batch)
    labels, robust, draws = smoothed.certify_radius(
        x[indices], radii, n_max=args.n, batch_size=args.batch, seed=args.seed,
        progress=bool(args.progress),
    )
    correct = labels == y[indices]
    out = Path(args.out)
    with out.open("w", encoding="utf-8") as f:
        columns = [f"robust@{r:g}" for r in radii]
        print("\t".join(["idx", "label", "predict", "draws", *columns, "correct"]), file=f)
        for k, i in enumerate(indices):
            flags = [str(int(v)) for v in robust[k]]
            print("\t".join([str(i), str(y[i]), str(labels[k]), str(draws[k]), *flags,
                             str(int(correct[k]))]), file=f)
    print(f"decided {indices.shape[0]} inputs sequentially, sigma={args.sigma}, n0={args.n0}, "
          f"n_max={args.n}, alpha={args.alpha}; {int(draws.sum())} draws in all "
          f"(fixed-n CERTIFY: {indices.shape[0] * (args.n0 + args.n)}); results in {out}")
    print("radius\tcertified_accuracy")
    accuracy = (robust & correct[:, None]).mean(axis=0) if indices.size else np.zeros(len(radii))
    for r, a in zip(radii, accuracy):
        print(f"{r:g}\t{a:.4f}")
    return 0
