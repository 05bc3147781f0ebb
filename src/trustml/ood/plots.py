"""ROC curves and score histograms (extra ``plots``: matplotlib, imported only here)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from trustml._deps import require
from trustml.ood.metrics import bench_metrics, ood_labels_and_scores

__all__ = ["plot_roc", "plot_score_histogram"]


def _pyplot() -> Any:
    require("matplotlib", "plots", purpose="trustml.ood.plots")
    return require("matplotlib.pyplot", "plots", purpose="trustml.ood.plots")


def plot_roc(
    scores: Mapping[str, tuple[ArrayLike, ArrayLike]], title: str = "ROC, OOD positive",
    path: str | None = None,
) -> Any:
    """ROC curves, one per detector: ``{name: (scores_in, scores_out)}``; returns the Figure
    (saved to ``path`` when given)."""
    roc_curve = require("sklearn.metrics", "ood", purpose="plot_roc").roc_curve
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for i, (name, (s_in, s_out)) in enumerate(scores.items()):
        labels, s = ood_labels_and_scores(s_in, s_out)
        fpr, tpr, _ = roc_curve(labels, s)
        auroc = bench_metrics(s_in, s_out)["auroc"]
        # ten colours, then the same colours dashed, dash-dotted, ...
        style = ("-", "--", "-.", ":")[(i // 10) % 4]
        ax.plot(fpr, tpr, ls=style, label=f"{name} (AUROC {auroc:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":")
    ax.axhline(0.95, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("false-positive rate (ID flagged as OOD)")
    ax.set_ylabel("true-positive rate (OOD detected)")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def plot_score_histogram(
    scores_in: ArrayLike, scores_out: ArrayLike, title: str = "OOD scores",
    path: str | None = None, bins: int = 40,
) -> Any:
    """Histograms of the ID and OOD scores of one detector; returns the Figure."""
    plt = _pyplot()
    s_in = np.asarray(scores_in, dtype=np.float64)
    s_out = np.asarray(scores_out, dtype=np.float64)
    edges = np.histogram_bin_edges(np.concatenate([s_in, s_out]), bins=bins)
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    ax.hist(s_in, bins=edges, alpha=0.6, label=f"in-distribution (n={len(s_in)})")
    ax.hist(s_out, bins=edges, alpha=0.6, label=f"out-of-distribution (n={len(s_out)})")
    ax.set_xlabel("score (higher = more OOD, detector units)")
    ax.set_ylabel("samples")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
