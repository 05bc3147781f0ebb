"""``trustml audit``: scan a model for backdoors with Neural Cleanse.

::

    trustml audit mypackage.models:build data.npz --out audit/ [--target-labels 0 3 7] \\
        [--steps 1000] [--batch-size 32] [--seed 0] [--mitigate pruning filtering] [--progress]

``module:factory`` (importable from the current directory or ``sys.path``) or
``path/to/file.py:factory`` names a function that takes no argument and returns a trustml
classifier with ``loss_gradient``; ``data.npz`` holds
clean validation inputs ``x`` ``(N, *input_shape)`` and their labels ``y`` (index or one-hot).
``--out`` receives ``report.md`` (the table), ``report.json`` (the numbers), ``triggers.png``
(masks and triggers, extra ``plots``) and ``triggers.npz`` (masks and patterns). With
``--mitigate``, the mitigations run on a copy of the model and their summary joins the JSON.

Exit status: 0 when no label is flagged, 3 when a label is flagged (so that a CI pipeline fails),
1 on bad input.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from trustml._cli_options import (
    nonnegative_float,
    nonnegative_int,
    positive_float,
    positive_int,
)
from trustml.errors import MissingDependencyError, ParameterError

__all__ = ["FLAGGED_STATUS", "add_arguments", "run"]

FLAGGED_STATUS = 3
"""Exit status of ``trustml audit`` when a label is flagged."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``trustml audit`` on ``parser`` (each value is checked here,
    before anything is loaded)."""
    parser.add_argument("factory", metavar="MODULE:FACTORY",
                        help="zero-argument callable returning the classifier to audit: "
                             "'package.module:make' or 'path/to/file.py:make'")
    parser.add_argument("data", help=".npz file with clean inputs x and labels y")
    parser.add_argument("--out", required=True, help="directory for the report files")
    parser.add_argument("--target-labels", type=nonnegative_int, nargs="+", default=None,
                        help="labels to scan (default: every class)")
    parser.add_argument("--steps", type=positive_int, default=1000,
                        help="most passes over the data per label")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="minibatch size")
    parser.add_argument("--init-cost", type=nonnegative_float, default=1e-3,
                        help="initial mask cost")
    parser.add_argument("--learning-rate", type=positive_float, default=0.1,
                        help="Adam step size")
    parser.add_argument("--norm", default="1", choices=["1", "2", "inf"],
                        help="mask penalty norm")
    parser.add_argument("--seed", type=nonnegative_int, default=None,
                        help="seed of the search (default: fresh)")
    parser.add_argument("--channels-first", choices=["true", "false"], default=None,
                        help="channel axis of 3-D inputs (default: the classifier's)")
    parser.add_argument("--mitigate", nargs="+", default=None,
                        choices=["unlearning", "pruning", "filtering"],
                        help="mitigations to run on a copy of the model when a label is flagged")
    parser.add_argument("--progress", action="store_true",
                        help="tqdm progress bar over labels (extra progress)")


def _norm(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ParameterError(f"--norm: expected 1, 2 or inf, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    """Run ``trustml audit``; returns 0 (nothing flagged) or :data:`FLAGGED_STATUS`.

    Raises
    ------
    TrustMLError
        Any bad input (the dispatcher prints it and exits with status 1).
    """
    from trustml._factory import load_factory
    from trustml.certification.cli import _load_data
    from trustml.poisoning.neural_cleanse import NeuralCleanse

    factory = load_factory(args.factory)
    x, y = _load_data(args.data)
    classifier = factory()
    channels_first = None if args.channels_first is None else args.channels_first == "true"
    nc = NeuralCleanse(
        classifier, steps=args.steps, batch_size=args.batch_size, init_cost=args.init_cost,
        learning_rate=args.learning_rate, norm=_norm(args.norm), seed=args.seed,
        channels_first=channels_first,
    )
    report = nc.detect(x, y, labels=args.target_labels, progress=args.progress)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError(f"--out: cannot create directory {str(out)!r} ({exc})") from exc
    numbers: dict[str, Any] = report.to_dict()
    if args.mitigate and report.flagged:
        numbers["mitigation"] = nc.mitigate(x, y, args.mitigate)
    (out / "report.md").write_text(
        f"# Neural Cleanse audit\n\nmodel: `{args.factory}`, data: `{args.data}` "
        f"({len(x)} inputs)\n\n{report.table()}\n\nflagged: {report.flagged}\n"
    )
    (out / "report.json").write_text(json.dumps(numbers, indent=2) + "\n")
    np.savez_compressed(out / "triggers.npz", labels=np.asarray(report.labels),
                        masks=report.masks, patterns=report.patterns)
    try:
        import matplotlib.pyplot as plt

        fig = report.plot(out / "triggers.png")
        plt.close(fig)
    except (ImportError, MissingDependencyError):
        print("trustml audit: matplotlib missing, no figure (pip install \"trustml[plots]\")")
    print(report.table())
    if report.flagged:
        print(f"flagged labels: {report.flagged} (see {out})")
        return FLAGGED_STATUS
    print("no label flagged")
    return 0
