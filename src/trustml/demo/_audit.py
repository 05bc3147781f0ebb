"""Step ``audit``: a BadNets backdoor (Gu, Dolan-Gavitt, Garg, 2017) found by Neural Cleanse
(Wang et al., IEEE S&P 2019).

A copy of the training digits in which 10% carry a 2x2 white corner trigger relabelled
:data:`~trustml.demo._data.TARGET` trains a second model with the same recipe (no noise); Neural
Cleanse scans it and a model trained on the clean copy, with the first half of the test digits as
its clean data. The second half measures clean accuracy and attack success before and after one
mitigation (unlearning; input filtering where the adapter cannot be fine-tuned on a copy)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trustml.demo._context import Context
from trustml.demo._data import TARGET, poison, stamp, trigger_region
from trustml.demo._models import shaped, train
from trustml.demo._report import BulletList, Figure, Paragraph, Section, Table

__all__ = ["DETECT", "run"]

TITLE = "audit: Neural Cleanse on a backdoored model"
POISON_FRACTION = 0.1
DETECT: dict[str, Any] = {"steps": 20, "init_cost": 1e-2, "patience": 2, "batch_size": 32}
"""Neural Cleanse settings of the demo: few passes per label (early stopping usually ends
sooner), a higher initial cost than the paper's 1e-3 for 8x8 inputs."""


def _rates(predict: Any, x: NDArray[Any], y: NDArray[np.int64], x_trig: NDArray[Any],
           keep: NDArray[np.bool_]) -> tuple[float, float]:
    """Clean accuracy on ``x`` and attack success (triggered inputs of other labels sent to
    the target)."""
    acc = float(np.mean(predict(x) == y))
    asr = float(np.mean(predict(x_trig[keep]) == TARGET))
    return acc, asr


def run(ctx: Context) -> tuple[Section, str]:
    """Train the poisoned and the clean model, scan both, mitigate the poisoned one."""
    from trustml.poisoning import NeuralCleanse

    d, seed = ctx.data, ctx.args.seed
    xp, yp, n_poison = poison(d.x_train, d.y_train, POISON_FRACTION, seed)
    ctx.say(f"training a {ctx.framework} model on the training digits with {n_poison} "
            f"poisoned ({POISON_FRACTION:.0%}, trigger -> label {TARGET}) and one on the clean "
            "copy")
    bad = train(ctx.framework, xp, yp, seed=seed, audit=True)
    clean = train(ctx.framework, d.x_train, d.y_train, seed=seed, audit=True)
    half = len(d.x_test) // 2
    x_val, y_val = d.x_test[:half], d.y_test[:half]
    x_held, y_held = d.x_test[half:], d.y_test[half:]
    keep = y_held != TARGET

    def labels_of(model: Any) -> Any:
        return lambda x: np.argmax(model.predict(shaped(model, x)), axis=1)

    before = _rates(labels_of(bad), x_held, y_held, stamp(x_held), keep)
    clean_rates = _rates(labels_of(clean), x_held, y_held, stamp(x_held), keep)
    ctx.say(f"poisoned model: clean accuracy {before[0]:.3f}, attack success {before[1]:.3f}")

    nc = NeuralCleanse(bad, seed=seed, **DETECT)
    ctx.say(f"Neural Cleanse: reversing a trigger for each of the 10 labels ({half} clean "
            "digits)")
    report = nc.detect(shaped(bad, x_val), y_val, progress=True)
    ctx.say("Neural Cleanse on the clean model")
    clean_report = NeuralCleanse(clean, seed=seed, **DETECT).detect(
        shaped(clean, x_val), y_val, progress=True)
    mitigation = _mitigate(ctx, nc, report.flagged, x_val, y_val, x_held, y_held, keep)

    k = report.labels.index(TARGET)
    mask = np.asarray(report.masks[k], dtype=np.float64).reshape(8, 8)
    in_trigger = float(mask[trigger_region()].sum() / max(mask.sum(), 1e-12))
    numbers: dict[str, Any] = {
        "target": TARGET, "poisoned_fraction": POISON_FRACTION, "poisoned_images": n_poison,
        "flagged": list(report.flagged), "clean_model_flagged": list(clean_report.flagged),
        "anomaly_indices": [float(v) for v in report.anomaly_indices],
        "clean_model_anomaly_indices": [float(v) for v in clean_report.anomaly_indices],
        "mask_l1": [float(v) for v in report.l1_norms],
        "target_mask_mass_in_trigger": in_trigger,
        "poisoned_clean_accuracy": before[0], "poisoned_attack_success": before[1],
        "clean_model_accuracy": clean_rates[0], "clean_model_attack_success": clean_rates[1],
        "mitigation": mitigation,
    }
    table = Table(
        ["label", "mask L1 (poisoned)", "anomaly index (poisoned)", "mask L1 (clean)",
         "anomaly index (clean)"],
        [[str(lab), f"{report.l1_norms[j]:.2f}", f"{report.anomaly_indices[j]:.2f}"
          + (" **flagged**" if lab in report.flagged else ""),
          f"{clean_report.l1_norms[j]:.2f}", f"{clean_report.anomaly_indices[j]:.2f}"
          + (" **flagged**" if lab in clean_report.flagged else "")]
         for j, lab in enumerate(report.labels)],
    )
    blocks: list[Any] = [
        Paragraph(
            f"BadNets: {n_poison} training digits ({POISON_FRACTION:.0%}) got a 2x2 white square "
            f"in the bottom-right corner and the label {TARGET}. The model trained on them is as "
            f"accurate as the clean one ({before[0]:.3f} vs {clean_rates[0]:.3f} on "
            f"{len(x_held)} held-out digits) but the trigger sends {before[1]:.1%} of the "
            f"held-out digits of other labels to {TARGET} (clean model: {clean_rates[1]:.1%})."),
        Paragraph(
            "Neural Cleanse reverse-engineers, for every label, the smallest mask and pattern "
            "that send clean digits of the other labels to it; a label whose mask is abnormally "
            "small (anomaly index, the distance to the median in MAD units, above 2) is "
            f"flagged. On the poisoned model: flagged {report.flagged or 'nothing'}; on the clean "
            f"model: flagged {clean_report.flagged or 'nothing'}. {in_trigger:.0%} of the "
            f"reversed mask of label {TARGET} lies on the true trigger's 4 pixels."),
        table,
        BulletList(_mitigation_lines(before, mitigation)),
    ]
    if ctx.plots:
        path = ctx.figure_path("audit_triggers.png")
        _plot(report, clean_report, mask, k, path)
        blocks.append(Figure(path, "Left: the true trigger and the trigger Neural Cleanse "
                                   f"reversed for label {TARGET} (mask, and mask x pattern). "
                                   "Right: each label's anomaly index on the poisoned and the "
                                   "clean model, positive for a mask smaller than the median "
                                   "(the side Neural Cleanse flags); above 2 is flagged."))
    line = (f"flagged {report.flagged or 'nothing'} on the poisoned model (target {TARGET}), "
            f"{clean_report.flagged or 'nothing'} on the clean one; "
            f"{mitigation.get('kind', 'no mitigation')}: attack success {before[1]:.2f} -> "
            f"{mitigation.get('attack_success', before[1]):.2f}")
    return Section("audit", TITLE, blocks, numbers), line


def _mitigate(ctx: Context, nc: Any, flagged: list[int], x_val: NDArray[Any],
              y_val: NDArray[np.int64], x_held: NDArray[Any], y_held: NDArray[np.int64],
              keep: NDArray[np.bool_]) -> dict[str, Any]:
    """Unlearning on a copy of the poisoned model (input filtering when unlearning is not
    available); the rates on the held-out digits after it."""
    from trustml.errors import TrustMLError

    if not flagged:
        return {}
    model = nc.classifier
    sk = getattr(model, "model", None)
    if type(model).__name__ == "SklearnMLPClassifier" and sk is not None:
        # fine-tune instead of refitting from scratch (scikit-learn's warm start)
        sk.set_params(warm_start=True, max_iter=50, n_iter_no_change=50)
    xv = shaped(model, x_val)
    xh, xt = shaped(model, x_held), shaped(model, stamp(x_held))
    for kind in ("unlearning", "filtering"):
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*(converge|Maximum iterations).*")
                summary = nc.mitigate(xv, y_val, [kind])
        except (TrustMLError, RuntimeError) as exc:
            lines = [line for line in str(exc).splitlines() if line.strip()]
            ctx.say(f"mitigation by {kind} not available with this adapter "
                    f"({type(exc).__name__}: {lines[-1] if lines else ''})")
            nc.reset()
            continue
        pred = nc.predict_labels
        acc = float(np.mean(pred(xh) == y_held))
        if kind == "unlearning":
            asr = float(np.mean(pred(xt[keep]) == TARGET))
            return {"kind": kind, "clean_accuracy": acc, "attack_success": asr,
                    "samples": summary[kind]["samples"]}
        flagged_trig = float(np.mean(pred(xt[keep]) == -1))
        flagged_clean = float(np.mean(pred(xh) == -1))
        asr = float(np.mean(pred(xt[keep]) == TARGET))
        return {"kind": kind, "clean_accuracy": acc, "attack_success": asr,
                "flagged_triggered": flagged_trig, "flagged_clean": flagged_clean}
    return {}


def _mitigation_lines(before: tuple[float, float], m: dict[str, Any]) -> list[str]:
    if not m:
        return ["No mitigation ran (nothing was flagged, or the adapter supports none)."]
    lines = [(f"Mitigation: **{m['kind']}** on a copy of the poisoned model (the model itself "
              "is never changed).")]
    if m["kind"] == "unlearning":
        lines.append(f"Fine-tuned on the {int(m['samples'])} clean and reverse-triggered digits "
                     "with their true labels (Wang et al., Section VI-C).")
    else:
        lines.append(f"Inputs whose top trigger-activated units fire too strongly are refused: "
                     f"{m['flagged_triggered']:.1%} of triggered and {m['flagged_clean']:.1%} "
                     "of clean held-out digits.")
    lines.append(f"Attack success {before[1]:.3f} -> {m['attack_success']:.3f}; clean accuracy "
                 f"{before[0]:.3f} -> {m['clean_accuracy']:.3f}.")
    return lines


def _plot(report: Any, clean_report: Any, mask: NDArray[np.float64], k: int, path: Any) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(11.0, 3.8))
    grid = fig.add_gridspec(1, 4, width_ratios=[1, 1, 1, 2.2], wspace=0.45)
    true = trigger_region().astype(np.float64)
    pattern = np.asarray(report.patterns[k], dtype=np.float64).reshape(8, 8)
    images = [(true, "true trigger"), (mask, f"reversed mask\n(label {report.labels[k]})"),
              (mask * pattern, "reversed mask\nx pattern")]
    im = None
    image_axes = []
    for j, (img, title) in enumerate(images):
        ax = fig.add_subplot(grid[0, j])
        im = ax.imshow(img, cmap="gray", vmin=0.0, vmax=1.0)
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("pixel column", fontsize=7)
        ax.set_ylabel("pixel row", fontsize=7, labelpad=1)
        ax.tick_params(labelsize=6)
        image_axes.append(ax)
    if im is not None:
        fig.colorbar(im, ax=image_axes, shrink=0.8, location="bottom", pad=0.25,
                     label="mask or pixel value (0-1)")
    ax = fig.add_subplot(grid[0, 3])
    labels = np.asarray(report.labels)
    ax.bar(labels - 0.2, _signed(report), width=0.4, label="poisoned model", color="tab:red")
    ax.bar(labels + 0.2, _signed(clean_report), width=0.4, label="clean model",
           color="tab:blue")
    ax.axhline(0.0, color="black", lw=0.6)
    ax.axhline(2.0, color="grey", ls="--", lw=0.8, label="flag threshold (2)")
    ax.set_xticks(labels)
    ax.set_xlabel("label")
    ax.set_ylabel("signed anomaly index (MAD units)", fontsize=8)
    ax.set_title("Neural Cleanse anomaly index per label", fontsize=9)
    ax.legend(fontsize=7)
    fig.suptitle("Audit: BadNets trigger vs the trigger Neural Cleanse reversed", fontsize=10)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _signed(report: Any) -> NDArray[np.float64]:
    """Anomaly indices signed: positive for masks smaller than the median (the flagged side)."""
    ai = np.asarray(report.anomaly_indices, dtype=np.float64)
    return np.where(np.asarray(report.l1_norms) < report.median, ai, -ai)
