"""``trustml monitor``: fit OOD detectors on an in-distribution set and score an OOD set.

::

    trustml monitor mypackage.models:build id.npz ood.npz --out DIR \\
        [--detectors MLS,Energy,DKNN,VIM] [--feature-layers NAME,...] [--head-layer -1] \\
        [--fit-fraction 0.5] [--seed 0] [--batch-size 128] [--no-plots]

``module:factory`` (importable from the current directory or ``sys.path``) or
``path/to/file.py:factory`` names a function that takes no argument and returns a trustml
classifier with the ``NeuralNetwork`` capability.
``id.npz`` holds ``x`` (in-distribution inputs) and, for Mahalanobis and RMDS, ``y`` (labels);
``ood.npz`` holds ``x``. The in-distribution set is split at random (``--seed``) into a fit part
(``--fit-fraction``) and a held-out part, so that no detector is scored on its own fit samples;
the held-out part and the OOD set are scored. Written to ``--out``: ``metrics.md`` (the table),
``metrics.json`` (the numbers and settings), ``scores.npz`` (every score), and with matplotlib
(extra ``plots``) ``roc.png`` and one ``hist_<detector>.png`` per detector.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from trustml._cli_options import (
    add_deprecated_alias,
    nonnegative_int,
    positive_int,
    unit_fraction,
)
from trustml._factory import load_factory
from trustml.errors import MissingDependencyError, ParameterError

__all__ = ["add_arguments", "run"]

DEFAULT_DETECTORS = "MLS,MSP,Energy,Entropy,GEN,Mahalanobis,RMDS,DKNN,VIM"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``trustml monitor`` on ``parser`` (each value is checked here,
    before anything is loaded)."""
    parser.add_argument("factory", metavar="MODULE:FACTORY",
                        help="zero-argument callable returning the classifier: "
                             "'package.module:make' or 'path/to/file.py:make'")
    parser.add_argument("id_data", help=".npz with x (in-distribution inputs) and optional y")
    parser.add_argument("ood_data", help=".npz with x (out-of-distribution inputs)")
    parser.add_argument("--out", required=True, help="output directory (created)")
    parser.add_argument(
        "--detectors", default=DEFAULT_DETECTORS,
        help="comma-separated detector names (ODIN also exists)",
    )
    parser.add_argument(
        "--feature-layers", default=None,
        help="comma-separated layer names or indices for the feature-based detectors "
        "(default: the layer just before the head)",
    )
    parser.add_argument("--head-layer", default="-1", help="logits layer (name or index)")
    parser.add_argument("--fit-fraction", type=unit_fraction, default=0.5,
                        help="share of the ID set used to fit, in (0, 1)")
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the ID split")
    parser.add_argument("--batch-size", type=positive_int, default=128,
                        help="samples per forward pass")
    parser.add_argument("--nearest", type=positive_int, default=50, help="DKNN's k")
    parser.add_argument("--no-plots", action="store_true", help="skip the figures")
    add_deprecated_alias(parser, "--batch", "--batch-size", "batch_size", positive_int)


def _layer(text: str) -> int | str:
    try:
        return int(text)
    except ValueError:
        return text


def _load(path: str, name: str) -> dict[str, Any]:
    if not Path(path).is_file():
        raise ParameterError(f"{name}: expected an existing .npz file, got {path!r}")
    with np.load(path, allow_pickle=False) as data:
        if "x" not in data:
            raise ParameterError(f"{name}: expected an array named 'x' in {path!r}")
        return {k: np.asarray(data[k]) for k in data.files}


def run(args: argparse.Namespace) -> int:
    """Run ``trustml monitor``; returns the exit status."""
    from trustml.ood import DETECTORS
    from trustml.ood.metrics import bench_metrics
    from trustml.rng import as_generator

    names = [n.strip() for n in args.detectors.split(",") if n.strip()]
    unknown = [n for n in names if n not in DETECTORS]
    if unknown or not names:
        raise ParameterError(
            f"--detectors: expected names among {sorted(DETECTORS)}, got {args.detectors!r}"
        )
    if not 0.0 < args.fit_fraction < 1.0:
        raise ParameterError(
            f"--fit-fraction: expected a number in (0, 1), got {args.fit_fraction}"
        )
    id_data, ood_data = _load(args.id_data, "id_data"), _load(args.ood_data, "ood_data")
    classifier = load_factory(args.factory)()
    head = _layer(args.head_layer)
    if args.feature_layers:
        layers = [_layer(t.strip()) for t in args.feature_layers.split(",") if t.strip()]
    else:
        from trustml.ood import FeatureExtractor

        index = FeatureExtractor(classifier, [head], head).find_layer(head, "--head-layer")[1]
        if index == 0:
            raise ParameterError("--feature-layers: the head is the first layer; name the layers")
        layers = [classifier.layer_names[index - 1]]

    x_id = id_data["x"]
    order = as_generator(args.seed).permutation(len(x_id))
    n_fit = round(args.fit_fraction * len(x_id))
    fit_idx, test_idx = order[:n_fit], order[n_fit:]
    y_fit = id_data["y"][fit_idx] if "y" in id_data else None

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, float]] = {}
    scores: dict[str, tuple[Any, Any]] = {}
    for name in names:
        kwargs: dict[str, Any] = {"nearest": args.nearest} if name == "DKNN" else {}
        det = DETECTORS[name](**kwargs)
        det.fit(classifier, x_id[fit_idx], y_fit, feature_layers_id=layers,
                head_layer_id=head, batch_size=args.batch_size)
        s_in = det.score(x_id[test_idx], batch_size=args.batch_size)[0]
        s_out = det.score(ood_data["x"], batch_size=args.batch_size)[0]
        scores[name] = (s_in, s_out)
        results[name] = bench_metrics(s_in, s_out)
        print(f"{name:12s} AUROC {results[name]['auroc']:.3f}  FPR95 "
              f"{results[name]['fpr95tpr']:.3f}")

    lines = ["| detector | AUROC | FPR95 | AUPR-in | AUPR-out |", "|---|---|---|---|---|"]
    for name, m in results.items():
        lines.append(f"| {name} | {m['auroc']:.3f} | {m['fpr95tpr']:.3f} | {m['aupr_in']:.3f} "
                     f"| {m['aupr_out']:.3f} |")
    (out / "metrics.md").write_text("\n".join(lines) + "\n")
    settings = {"factory": args.factory, "feature_layers_id": layers, "head_layer_id": head,
                "n_fit": int(n_fit), "n_id_scored": len(test_idx),
                "n_ood_scored": len(ood_data["x"]), "seed": args.seed}
    (out / "metrics.json").write_text(json.dumps({"settings": settings, "metrics": results},
                                                 indent=2) + "\n")
    np.savez(out / "scores.npz", **{f"{n}_in": s[0] for n, s in scores.items()},
             **{f"{n}_out": s[1] for n, s in scores.items()})
    if not args.no_plots:
        try:
            from trustml.ood.plots import plot_roc, plot_score_histogram

            plot_roc(scores, title="ROC, OOD positive", path=str(out / "roc.png"))
            for name, (s_in, s_out) in scores.items():
                plot_score_histogram(s_in, s_out, title=f"{name} scores",
                                     path=str(out / f"hist_{name}.png"))
            import matplotlib.pyplot as plt

            plt.close("all")
        except MissingDependencyError as exc:
            print(f"trustml monitor: no figures ({exc})")
    print(f"wrote {out / 'metrics.md'}, {out / 'metrics.json'}")
    return 0
