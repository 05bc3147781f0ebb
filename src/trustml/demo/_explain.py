"""Step ``explain``: counterfactual explanations (Wachter, Mittelstadt, Russell, Harvard JOLT
2018; CEML's cost functions) for test digits: the smallest L1 change that makes the model
predict the digit's runner-up class."""

from __future__ import annotations

from typing import Any

import numpy as np

from trustml.demo._context import Context
from trustml.demo._models import shaped
from trustml.demo._report import Figure, Paragraph, Section, Table

__all__ = ["run"]

TITLE = "explain: counterfactual explanations"
EXPLAINED = 20
SHOWN = 4


def run(ctx: Context) -> tuple[Section, str]:
    """Counterfactuals of :data:`EXPLAINED` test digits towards their runner-up class."""
    from trustml.counterfactual import generate_counterfactual
    from trustml.counterfactual.metrics import summary
    from trustml.errors import CounterfactualNotFoundError

    clf = ctx.model()
    x = shaped(clf, ctx.data.x_test[:EXPLAINED])
    scores = clf.predict(x)
    pred = np.argmax(scores, axis=1)
    target = np.argsort(scores, axis=1)[:, -2]  # the runner-up class of each digit
    ctx.say(f"counterfactuals for {len(x)} test digits towards their runner-up class")
    try:
        result: Any = generate_counterfactual(clf, x, target, regularization="l1",
                                              C=[0.1, 0.01, 0.001], max_iter=300)
        x_cf = result["x_cf"]
    except CounterfactualNotFoundError as exc:
        x_cf = exc.x_cf
    stats = summary(clf, x, x_cf, target)
    y_cf = np.argmax(clf.predict(x_cf), axis=1)
    blocks: list[Any] = [
        Paragraph(
            f"For each of the first {len(x)} test digits, `generate_counterfactual` looked for "
            "the closest image (L1 distance, pixel intensities in [0, 1]) that the model assigns "
            "to the digit's runner-up class, trying the regularisation strengths C = 0.1, 0.01, "
            "0.001 in order. Validity is the share of counterfactuals that reach their target; "
            "proximity is the mean distance to the original; sparsity counts changed pixels."),
        Table(["inputs", "validity", "L1 (mean)", "L2 (mean)", "changed pixels (mean, of 64)"],
              [[str(stats["n"]), f"{stats['validity']:.3f}", f"{stats['l1']:.3f}",
                f"{stats['l2']:.3f}", f"{stats['sparsity']:.1f}"]]),
    ]
    if ctx.plots:
        from trustml.counterfactual.plots import plot_counterfactuals

        path = ctx.figure_path("explain_counterfactuals.png")
        k = min(SHOWN, len(x))
        fig = plot_counterfactuals(
            ctx.data.x_test[:k], x_cf[:k].reshape(k, 8, 8), path, labels=pred[:k].tolist(),
            labels_cf=y_cf[:k].tolist(), value_range=(0.0, 1.0),
            title="Counterfactuals: input, counterfactual, change (pixel intensity in [0, 1])",
        )
        del fig
        blocks.append(Figure(path, "Before, after and the difference (red: brighter, blue: "
                                   "darker) for the first test digits, with the predicted "
                                   "classes."))
    numbers = {"inputs": int(stats["n"]), "validity": float(stats["validity"]),
               "l1": float(stats["l1"]), "l2": float(stats["l2"]),
               "sparsity": float(stats["sparsity"]), "targets": target.tolist()}
    line = (f"validity {stats['validity']:.2f}, mean L1 change {stats['l1']:.2f} over "
            f"{len(x)} digits")
    return Section("explain", TITLE, blocks, numbers), line
