"""Step ``certify``: randomized smoothing (Cohen, Rosenfeld, Kolter, ICML 2019) on the test
digits: certified accuracy at several L2 radii and the curve."""

from __future__ import annotations

import numpy as np

from trustml.demo._context import Context
from trustml.demo._models import shaped
from trustml.demo._report import Block, Figure, Paragraph, Section, Table, close_figure

__all__ = ["RADII", "run"]

TITLE = "certify: randomized smoothing"
RADII = (0.0, 0.25, 0.5, 0.75, 1.0)


def run(ctx: Context) -> tuple[Section, str]:
    """CERTIFY every selected test digit; the certified accuracy at :data:`RADII`."""
    from trustml.certification import RandomizedSmoothing, certified_accuracy

    a = ctx.args
    clf = ctx.model()
    x, y = ctx.data.x_test[: a.max_inputs], ctx.data.y_test[: a.max_inputs]
    ctx.say(f"certifying {len(x)} test digits (n0={a.n0}, n={a.n}, alpha={a.alpha}, "
            f"sigma={a.sigma})")
    smoothed = RandomizedSmoothing(clf, sigma=a.sigma, alpha=a.alpha)
    labels, radii = smoothed.certify(shaped(clf, x), n=a.n, n0=a.n0, batch_size=a.batch_size,
                                     seed=a.seed, progress=True)
    accuracy = certified_accuracy(labels, radii, y, RADII)
    abstained = float((labels == -1).mean())
    blocks: list[Block] = [
        Paragraph(
            f"The smoothed classifier `g(x) = argmax_c P(f(x + e) = c)`, `e ~ N(0, {a.sigma}^2 I)` "
            f"of the model above, certified on {len(x)} test digits with CERTIFY (n0={a.n0} "
            f"selection draws, n={a.n} estimation draws, failure probability alpha={a.alpha}, "
            f"seed {a.seed}). A digit counts at radius r when g is right and its certified L2 "
            f"radius is at least r; pixel intensities lie in [0, 1], so a radius of 1.0 is one "
            f"full intensity spread over the 64 pixels in L2. g abstained on {abstained:.1%} of "
            "them."),
        Table(["L2 radius", "certified accuracy"],
              [[f"{r:.2f}", f"{v:.3f}"] for r, v in zip(RADII, accuracy)]),
    ]
    if ctx.plots:
        from trustml.certification import plot_certified_accuracy

        path = ctx.figure_path("certify_curve.png")
        grid = np.linspace(0.0, max(1.0, float(radii.max(initial=0.0)) * 1.05), 201)
        fig = plot_certified_accuracy(
            {f"{ctx.framework}, sigma={a.sigma}": (grid, certified_accuracy(labels, radii, y,
                                                                            grid))},
            path, title=f"Certified accuracy, {len(x)} digits, n={a.n}",
        )
        close_figure(fig)
        blocks.append(Figure(path, "Certified accuracy against the L2 radius (pixel units in "
                                   "[0, 1]): the fraction of test digits certified correct at "
                                   "least that far."))
    numbers = {"inputs": len(x), "radii": list(RADII), "certified_accuracy": accuracy.tolist(),
               "abstained": abstained, "sigma": a.sigma, "n0": a.n0, "n": a.n, "alpha": a.alpha}
    line = ", ".join(f"{v:.2f} at r={r:g}" for r, v in zip(RADII, accuracy) if r in (0.0, 0.5,
                                                                                     1.0))
    return Section("certify", TITLE, blocks, numbers), f"certified accuracy {line}"
