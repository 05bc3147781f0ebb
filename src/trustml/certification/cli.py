"""``trustml certify``: certify a model on a dataset with randomized smoothing.

::

    trustml certify mypackage.models:build data.npz --sigma 0.25 --n0 100 --n 100000 \\
        --alpha 0.001 --batch 1000 --seed 0 --out results.tsv [--plot curve.png]

``module:factory`` names a function (importable from the current directory or ``sys.path``)
that takes no argument and returns a trustml Classifier (the base classifier); ``data.npz``
holds ``x`` ``(N, *input_shape)`` and ``y`` (index or one-hot labels). One line per input is
written to ``--out`` with the columns of Cohen et al.'s ``certify.py``: ``idx label predict radius
correct time``; the certified accuracy on a grid of radii is printed, and ``--plot`` draws the
certified-accuracy-versus-radius curve (extra ``plots``).
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from trustml.certification.cli_sequential import add_sequential_arguments, run_sequential
from trustml.errors import InputShapeError, ParameterError

__all__ = ["add_arguments", "load_factory", "run"]

DEFAULT_GRID = "0,0.25,0.5,0.75,1.0,1.5,2.0"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``trustml certify`` on ``parser``."""
    parser.add_argument("factory", help="module:function returning the base Classifier")
    parser.add_argument("data", help=".npz file with arrays x (inputs) and y (labels)")
    parser.add_argument("--sigma", type=float, required=True, help="noise std (raw input units)")
    parser.add_argument("--n0", type=int, default=100, help="selection draws (default 100)")
    parser.add_argument("--n", type=int, default=100_000, help="estimation draws (default 100000)")
    parser.add_argument("--alpha", type=float, default=0.001, help="failure probability")
    parser.add_argument("--batch", type=int, default=1000, help="noisy copies per forward pass")
    parser.add_argument("--seed", type=int, default=None, help="seed of the noise")
    parser.add_argument("--out", required=True, help="TSV file written (Cohen et al.'s columns)")
    parser.add_argument("--plot", default=None, help="PNG of certified accuracy vs radius")
    parser.add_argument("--skip", type=int, default=1, help="certify every SKIP-th input")
    parser.add_argument("--max", type=int, default=None, help="certify at most MAX inputs")
    parser.add_argument(
        "--radii", default=DEFAULT_GRID, help=f"comma-separated radii (default {DEFAULT_GRID})"
    )
    parser.add_argument(
        "--progress", action="store_true", help="tqdm progress bar (extra progress)"
    )
    add_sequential_arguments(parser)


def load_factory(spec: str) -> Any:
    """Import ``module:function`` (the current directory first on ``sys.path``).

    Raises
    ------
    ParameterError
        ``spec`` is not ``module:function``, the module cannot be imported, or it has no such
        callable.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ParameterError(f"factory: expected 'module:function', got {spec!r}")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ParameterError(f"factory: cannot import module {module_name!r} ({exc})") from exc
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ParameterError(f"factory: module {module_name!r} has no callable {attr!r}")
    return factory


def _load_data(path: str) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    try:
        with np.load(path, allow_pickle=False) as data:
            if "x" not in data or "y" not in data:
                raise ParameterError(
                    f"data: expected an .npz with arrays 'x' and 'y', got {sorted(data.files)}"
                )
            return np.asarray(data["x"]), np.asarray(data["y"])
    except (OSError, ValueError) as exc:
        if isinstance(exc, ParameterError):
            raise
        raise ParameterError(f"data: cannot read {path!r} as .npz ({exc})") from exc


def _grid(text: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    try:
        return np.array([float(v) for v in text.split(",") if v.strip()], dtype=np.float64)
    except ValueError:
        raise ParameterError(f"--radii: expected comma-separated numbers, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    """Run ``trustml certify``; returns the exit status (0).

    Raises
    ------
    TrustMLError
        Any bad input (the dispatcher prints it and exits with status 1).
    """
    from trustml.certification.metrics import certified_accuracy
    from trustml.certification.randomized_smoothing import RandomizedSmoothing
    from trustml.labels import to_index
    from trustml.rng import as_generator

    if getattr(args, "sequential", False):
        return run_sequential(args)
    if getattr(args, "radius", None) is not None:
        raise ParameterError("--radius: only with --sequential (fixed-n CERTIFY takes --radii)")
    grid = _grid(args.radii)
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
    rng = as_generator(args.seed)
    rows = _progress(indices, args.progress)
    labels = np.full(indices.shape[0], -1, dtype=np.int64)
    radii = np.zeros(indices.shape[0], dtype=np.float64)
    # validate the whole set (shapes, n, alpha, batch) before writing anything
    smoothed.certify(x[:0], args.n, n0=args.n0, batch_size=args.batch)
    out = Path(args.out)
    with out.open("w", encoding="utf-8") as f:
        print("idx\tlabel\tpredict\tradius\tcorrect\ttime", file=f, flush=True)
        for k, i in enumerate(rows):
            start = time.perf_counter()
            lab, rad = smoothed.certify(x[i : i + 1], args.n, batch_size=args.batch, seed=rng)
            elapsed = datetime.timedelta(seconds=round(time.perf_counter() - start, 6))
            labels[k], radii[k] = lab[0], rad[0]
            correct = int(lab[0] == y[i])
            print(f"{i}\t{y[i]}\t{lab[0]}\t{rad[0]:.3f}\t{correct}\t{elapsed}", file=f, flush=True)
    accuracy = certified_accuracy(labels, radii, y[indices], grid)
    print(f"certified {indices.shape[0]} inputs, sigma={args.sigma}, n0={args.n0}, n={args.n}, "
          f"alpha={args.alpha}; results in {out}")
    print("radius\tcertified_accuracy")
    for r, a in zip(grid, accuracy):
        print(f"{r:g}\t{a:.4f}")
    if args.plot:
        from trustml.certification.plots import plot_certified_accuracy

        top = max(float(grid.max(initial=0.0)), float(radii.max(initial=0.0)))
        fine = np.linspace(0.0, top * 1.05 if top > 0 else 1.0, 200)
        curve = certified_accuracy(labels, radii, y[indices], fine)
        plot_certified_accuracy({f"sigma = {args.sigma:g}": (fine, curve)}, args.plot)
        print(f"curve in {args.plot}")
    return 0


def _progress(indices: np.ndarray[Any, Any], enabled: bool) -> Any:
    if not enabled:
        return indices
    try:
        tqdm = importlib.import_module("tqdm").tqdm
    except ImportError:
        return indices
    return tqdm(indices, unit="input", desc="certify")

