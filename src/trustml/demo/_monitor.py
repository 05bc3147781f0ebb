"""Step ``monitor``: out-of-distribution detection in the style of oodeel. A model trained on
digits 0-4 only; detectors fitted on its training digits score held-out test digits 0-4
(in-distribution) against test digits 5-9 (out-of-distribution)."""

from __future__ import annotations

from typing import Any

import numpy as np

from trustml.demo._context import Context
from trustml.demo._models import shaped, train
from trustml.demo._report import Figure, Paragraph, Section, Table, close_figure

__all__ = ["DETECTORS", "run"]

TITLE = "monitor: out-of-distribution detection"
DETECTORS: dict[str, dict[str, Any]] = {
    "MLS": {}, "Energy": {}, "Mahalanobis": {}, "DKNN": {"nearest": 10}, "VIM": {},
}
"""The detectors of the demo and their settings (oodeel's defaults; DKNN's k = 10 for a fit set
of about 670 digits)."""
PROBABILITY_DETECTORS: dict[str, dict[str, Any]] = {
    "MLS": {}, "Mahalanobis": {}, "RMDS": {}, "DKNN": {"nearest": 10},
}
"""The detectors for a model whose last layer outputs probabilities (scikit-learn's MLP ends in
a softmax): MLS then reads the probabilities (it is MSP, Hendrycks & Gimpel, ICLR 2017); the
detectors that need logits (Energy, VIM's virtual logit) or apply a softmax of their own (MSP,
Entropy, GEN) are left out."""


def run(ctx: Context) -> tuple[Section, str]:
    """Train on digits 0-4, fit the detectors, score the test digits 0-9."""
    from trustml.ood import DETECTORS as ALL
    from trustml.ood.metrics import bench_metrics

    d = ctx.data
    fit = d.y_train < 5
    ctx.say(f"training a {ctx.framework} model on the {int(fit.sum())} training digits 0-4")
    clf = train(ctx.framework, d.x_train[fit], d.y_train[fit], nb_classes=5, seed=ctx.args.seed)
    x_fit, y_fit = shaped(clf, d.x_train[fit]), d.y_train[fit]
    x_in = shaped(clf, d.x_test[d.y_test < 5])
    x_out = shaped(clf, d.x_test[d.y_test >= 5])
    accuracy = float(np.mean(np.argmax(clf.predict(x_in), axis=1) == d.y_test[d.y_test < 5]))
    names = clf.layer_names
    head, feature = names[-1], names[-2]
    # scikit-learn's MLP has no logit layer: its last layer is the softmax
    detectors = PROBABILITY_DETECTORS if ctx.framework == "sklearn" else DETECTORS
    results: dict[str, dict[str, float]] = {}
    scores: dict[str, tuple[Any, Any]] = {}
    for name in ctx.bar(detectors, len(detectors), "detectors"):
        det = ALL[name](**detectors[name])
        det.fit(clf, x_fit, y_fit, feature_layers_id=[feature], head_layer_id=head)
        s_in, s_out = det.score(x_in)[0], det.score(x_out)[0]
        scores[name] = (s_in, s_out)
        results[name] = bench_metrics(s_in, s_out)
    best = max(results, key=lambda n: results[n]["auroc"])
    blocks: list[Any] = [
        Paragraph(
            f"A {ctx.framework} model trained on the {int(fit.sum())} training digits 0-4 only "
            f"(accuracy {accuracy:.3f} on the {len(x_in)} test digits 0-4). Each detector is "
            f"fitted on those training digits (feature-based ones on the layer `{feature}`, "
            f"output-based ones on `{head}`) and scores the {len(x_in)} test digits 0-4 "
            f"(in-distribution) and the {len(x_out)} test digits 5-9 (out-of-distribution); a "
            "higher score means more out-of-distribution. AUROC: the probability that an OOD "
            "digit scores above an ID one; FPR95: the share of ID digits flagged when 95% of "
            "OOD digits are."
            + (" scikit-learn's MLP ends in a softmax, so MLS reads its probabilities there "
               "(it is MSP)." if ctx.framework == "sklearn" else "")),
        Table(["detector", "AUROC", "FPR95", "AUPR-in", "AUPR-out"],
              [[n + (" (best)" if n == best else ""), f"{m['auroc']:.3f}", f"{m['fpr95tpr']:.3f}",
                f"{m['aupr_in']:.3f}", f"{m['aupr_out']:.3f}"] for n, m in results.items()]),
    ]
    if ctx.plots:
        from trustml.ood.plots import plot_roc

        path = ctx.figure_path("monitor_histograms.png")
        _histograms(scores, results, path)
        blocks.append(Figure(path, "Scores of each detector on ID test digits (0-4) and OOD "
                                   "test digits (5-9); scores beyond the 1st and 99th "
                                   "percentiles are drawn at the edges."))
        roc = ctx.figure_path("monitor_roc.png")
        fig = plot_roc(scores, title="ROC of the OOD detectors (digits 5-9 positive)",
                       path=str(roc))
        close_figure(fig)
        blocks.append(Figure(roc, "ROC curves; the dashed line marks 95% true-positive rate, "
                                  "where FPR95 is read."))
    numbers = {"id_accuracy": accuracy, "feature_layer": feature, "head_layer": head,
               "n_id": len(x_in), "n_ood": len(x_out), "metrics": results, "best": best}
    line = (f"best detector {best}: AUROC {results[best]['auroc']:.3f}, FPR95 "
            f"{results[best]['fpr95tpr']:.3f} ({len(results)} detectors)")
    return Section("monitor", TITLE, blocks, numbers), line


def _histograms(scores: dict[str, tuple[Any, Any]], results: dict[str, dict[str, float]],
                path: Any) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    n = len(scores)
    fig, axes = plt.subplots(1, n, figsize=(3.0 * n, 2.9), squeeze=False)
    for ax, (name, (s_in, s_out)) in zip(axes[0], scores.items()):
        both = np.concatenate([s_in, s_out])
        lo, hi = np.quantile(both, [0.01, 0.99])
        if not hi > lo:
            lo, hi = float(both.min()), float(both.max()) + 1e-12
        edges = np.linspace(lo, hi, 31)
        ax.hist(np.clip(s_in, lo, hi), bins=edges, alpha=0.6, label="ID (0-4)")
        ax.hist(np.clip(s_out, lo, hi), bins=edges, alpha=0.6, label="OOD (5-9)")
        ax.set_title(f"{name}: AUROC {results[name]['auroc']:.3f}", fontsize=9)
        ax.set_xlabel("score (detector units; higher = OOD)", fontsize=7)
        ax.tick_params(labelsize=6)
    axes[0, 0].set_ylabel("test digits")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("OOD detector scores: in-distribution vs out-of-distribution test digits",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
