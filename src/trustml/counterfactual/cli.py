"""``trustml explain``: counterfactual explanations for the rows of a dataset.

::

    trustml explain mypackage.models:build data.npz --target next --out explanations/ \\
        [--regularization l1] [--C 1,0.1,0.01] [--optimizer auto] [--max-iter 300] [--lr 0.1] \\
        [--whitelist 0,5,7] [--max-inputs 100] [--batch-size 100] [--plot] [--progress]

``module:factory`` (importable from the current directory or ``sys.path``) or
``path/to/file.py:factory`` names a function that takes no argument and returns a trustml
Classifier; ``data.npz`` holds ``x``
``(N, *input_shape)`` (``y`` is ignored). ``--target`` is a class index for every row, or
``next`` (the class after the predicted one, modulo ``nb_classes``). ``DIR`` receives
``counterfactuals.npz`` (``x``, ``x_cf``, ``y_target``, ``y_cf``, ``found``), ``metrics.md`` (a
table of validity, L1 / L2 proximity and sparsity) and, with ``--plot`` (extra ``plots``), the
side-by-side figure ``counterfactuals.png`` of the first rows (images, or flat square vectors such
as the digits' 64 pixels).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, cast

import numpy as np

from trustml._progress import iterate
from trustml._cli_options import (
    add_deprecated_alias,
    comma_floats,
    nonnegative_int,
    positive_float,
    positive_int,
)
from trustml._factory import load_factory
from trustml.errors import CounterfactualNotFoundError, ParameterError

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``trustml explain`` on ``parser`` (each value is checked here,
    before anything is loaded)."""
    parser.add_argument("factory", metavar="MODULE:FACTORY",
                        help="zero-argument callable returning the Classifier: "
                             "'package.module:make' or 'path/to/file.py:make'")
    parser.add_argument("data", help=".npz file with an array x (inputs)")
    parser.add_argument("--target", required=True, type=_target,
                        help="target class index for every row, or 'next' (predicted + 1)")
    parser.add_argument("--out", required=True, help="output directory (created)")
    parser.add_argument("--regularization", default="l1", choices=["l1", "l2", "linf", "none"],
                        help="distance to the input")
    parser.add_argument("--C", default="1.0", type=_strengths,
                        help="comma-separated strengths > 0, tried in order")
    parser.add_argument("--optimizer", default="auto",
                        help="auto, exact, adam, nelder-mead, powell, bfgs, cg or l-bfgs-b")
    parser.add_argument("--max-iter", type=positive_int, default=None,
                        help="optimiser steps (default: the optimiser's)")
    parser.add_argument("--lr", type=positive_float, default=None,
                        help="learning rate of 'adam' (default: 0.1)")
    parser.add_argument("--whitelist", default=None,
                        help="comma-separated flat feature indices (default: all features)")
    parser.add_argument("--max-inputs", type=nonnegative_int, default=None,
                        help="explain at most MAX_INPUTS rows (default: all)")
    parser.add_argument("--batch-size", type=positive_int, default=100, help="rows per call")
    parser.add_argument("--plot", action="store_true", help="side-by-side figure (extra plots)")
    parser.add_argument("--plot-rows", type=positive_int, default=6, help="rows in the figure")
    parser.add_argument("--progress", action="store_true", help="tqdm progress bar")
    add_deprecated_alias(parser, "--batch", "--batch-size", "batch_size", positive_int)
    add_deprecated_alias(parser, "--max", "--max-inputs", "max_inputs", nonnegative_int)


def _target(text: str) -> str:
    if text != "next":
        try:
            if int(text) < 0:
                raise ValueError
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a class index >= 0 or 'next', got {text!r}") from None
    return text


def _strengths(text: str) -> list[float]:
    values = comma_floats(text)
    if any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers > 0, got {text!r}")
    return values


def _floats(text: str, name: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ParameterError(f"{name}: expected comma-separated numbers, got {text!r}") from None


def _load_x(path: str) -> np.ndarray[Any, Any]:
    try:
        with np.load(path, allow_pickle=False) as data:
            if "x" not in data:
                raise ParameterError(
                    f"data: expected an .npz with an array 'x', got {sorted(data.files)}"
                )
            return np.asarray(data["x"])
    except (OSError, ValueError) as exc:
        if isinstance(exc, ParameterError):
            raise
        raise ParameterError(f"data: cannot read {path!r} as .npz ({exc})") from exc


def run(args: argparse.Namespace) -> int:
    """Run ``trustml explain``; returns the exit status (0).

    Raises
    ------
    TrustMLError
        Any bad input (the dispatcher prints it and exits with status 1).
    """
    from trustml.counterfactual.generate import generate_counterfactual
    from trustml.counterfactual.metrics import summary

    factory = load_factory(args.factory)
    x = _load_x(args.data)[: args.max_inputs]
    whitelist = None
    if args.whitelist is not None:
        whitelist = [int(v) for v in _floats(args.whitelist, "--whitelist")]
    classifier = factory()
    if args.target == "next":
        target = (np.argmax(classifier.predict(x), axis=1) + 1) % classifier.nb_classes
    else:
        try:
            target = np.full(len(x), int(args.target), dtype=np.int64)
        except ValueError:
            raise ParameterError(
                f"--target: expected a class index or 'next', got {args.target!r}"
            ) from None
    options: dict[str, Any] = {
        "regularization": None if args.regularization == "none" else args.regularization,
        "C": args.C,
        "optimizer": args.optimizer,
        "optimizer_args": {"lr": args.lr} if args.lr is not None else None,
        "features_whitelist": whitelist,
        "max_iter": args.max_iter,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    x_cf = np.empty_like(x, dtype=np.result_type(x.dtype, np.float32))
    found = np.zeros(len(x), dtype=bool)
    starts = range(0, len(x), args.batch_size)
    for start in _progress(starts, args.progress):
        rows = slice(start, start + args.batch_size)
        try:
            result = cast("dict[str, Any]",  # a dict, as the options ask for
                          generate_counterfactual(classifier, x[rows], target[rows], **options))
            x_cf[rows], found[rows] = result["x_cf"], True
        except CounterfactualNotFoundError as exc:
            x_cf[rows], found[rows] = exc.x_cf, exc.found
    y_cf = np.argmax(classifier.predict(x_cf), axis=1) if len(x) else np.zeros(0, np.int64)
    np.savez(out / "counterfactuals.npz", x=x, x_cf=x_cf, y_target=target, y_cf=y_cf,
             found=found)
    stats = summary(classifier, x, x_cf, target)
    table = (
        "| inputs | validity | L1 (mean) | L2 (mean) | changed features (mean) |\n"
        "|---:|---:|---:|---:|---:|\n"
        f"| {stats['n']} | {stats['validity']:.3f} | {stats['l1']:.4g} | {stats['l2']:.4g} | "
        f"{stats['sparsity']:.2f} |\n"
    )
    (out / "metrics.md").write_text(table, encoding="utf-8")
    print(f"explained {len(x)} inputs; results in {out}")
    print(table, end="")
    if args.plot and len(x):
        from trustml.counterfactual.plots import plot_counterfactuals

        k = max(1, min(args.plot_rows, len(x)))
        clip = classifier.clip_values
        value_range = None if clip is None else (float(np.min(clip[0])), float(np.max(clip[1])))
        pred = np.argmax(classifier.predict(x[:k]), axis=1)
        plot_counterfactuals(
            x[:k], x_cf[:k], out / "counterfactuals.png", labels=pred.tolist(),
            labels_cf=y_cf[:k].tolist(), value_range=value_range,
            channels_first=bool(getattr(classifier, "channels_first", False)),
        )
        print(f"figure in {out / 'counterfactuals.png'}")
    return 0


def _progress(items: range, enabled: bool) -> Any:
    return iterate(items, enabled, total=len(items), desc="explain", unit="batch", leave=True)
