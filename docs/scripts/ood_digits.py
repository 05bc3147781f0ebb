"""Out-of-distribution detection on scikit-learn's digits: classes 0-4 in, 5-9 out (CPU).

Produces the table and the figures of ``docs/ood.md``::

    python docs/scripts/ood_digits.py              # 3 seeds, the committed results
    python docs/scripts/ood_digits.py --seeds 1    # quicker

Data: scikit-learn's bundled digits (1797 8x8 images), pixels scaled to [0, 1] (divided by 16).
In-distribution: the 901 images of digits 0-4, split at random per seed into 60 % (fit: training
the classifier and fitting the detectors) and 40 % (scored as ID). Out-of-distribution: the 896
images of digits 5-9 (all scored).

Models, trained per seed with Adam on the fit part:

- a PyTorch CNN (two 3x3 convolutions, 16 and 32 channels, ReLU and 2x2 max-pooling after each, a
  64-unit ReLU hidden layer, 5 logits), 30 epochs, wrapped by ``PyTorchClassifier``;
- a Keras MLP (128 and 64 ReLU units, 5 logits), 60 epochs (Adam at its default rate), wrapped by
``KerasClassifier``.

Detectors: every one of ``trustml.ood`` at its defaults (oodeel's), with the feature-based ones on
the penultimate layer (the 64-unit hidden layer); DKNN with ``nearest=10`` (its default 50 is large
for a 540-sample fit set); ODIN with ``eps=0.002`` on inputs in [0, 1]; Mahalanobis and RMDS
without input perturbation; plus Energy with ReAct (``use_react=True``, 0.9 quantile) where the
adapter has the ActivationTransforms capability, and Energy with ASH and with SCALE (oodeel's
default percentiles, 0.90 and 0.85). Outputs: the Markdown table on stdout and in
``docs/ood_digits_table.md``, ``docs/img/ood_roc_digits.png`` and
``docs/img/ood_hist_digits.png`` (first seed).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from trustml.ood import DETECTORS, Energy
from trustml.ood.metrics import bench_metrics
from trustml.protocols import ActivationTransforms

ROOT = Path(__file__).resolve().parents[2]

# oodeel's own published MNIST 0-4 vs 5-9 numbers (AUROC, FPR95): the first experiment of each
# of its PyTorch demo notebooks (deel-ai/oodeel, docs/notebooks/torch/demo_<method>_torch.ipynb,
# commit 12ae997), a toy CNN trained on MNIST 0-4; Energy+ReAct from demo_react_torch.ipynb
# (its own react_quantile). ASH and SCALE are demonstrated on CIFAR-10 vs SVHN only.
OODEEL_MNIST = {
    "MLS": (0.897, 0.515), "MSP": (0.907, 0.616), "Energy": (0.914, 0.428),
    "Entropy": (0.908, 0.617), "GEN": (0.908, 0.446), "ODIN": (0.786, 0.632),
    "Mahalanobis": (0.865, 0.528), "RMDS": (0.880, 0.493), "DKNN": (0.974, 0.100),
    "VIM": (0.964, 0.145), "Energy+ReAct": (0.937, 0.309),
}
KWARGS: dict[str, dict[str, Any]] = {"DKNN": {"nearest": 10}, "ODIN": {"eps": 0.002}}


def data(seed: int) -> dict[str, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = (d.data / 16.0).astype(np.float32), d.target
    idx = np.random.default_rng(seed).permutation(np.flatnonzero(y < 5))
    n_fit = int(0.6 * len(idx))
    return {"x_fit": x[idx[:n_fit]], "y_fit": y[idx[:n_fit]], "x_in": x[idx[n_fit:]],
            "y_in": y[idx[n_fit:]], "x_out": x[y >= 5]}


def torch_cnn(d: dict[str, np.ndarray], seed: int) -> tuple[Any, Any, Any]:
    import torch

    from trustml.adapters.torch import PyTorchClassifier

    torch.manual_seed(seed)
    nn = torch.nn
    model = nn.Sequential(
        nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 5),
    )
    clf = PyTorchClassifier(model, nn.CrossEntropyLoss(), (64,), 5,
                            optimizer=torch.optim.Adam(model.parameters(), 3e-3))
    clf.fit(d["x_fit"], d["y_fit"], batch_size=32, nb_epochs=30, seed=seed)
    return clf, "9", "10"


def keras_mlp(d: dict[str, np.ndarray], seed: int) -> tuple[Any, Any, Any]:
    import keras

    from trustml.adapters.tensorflow import KerasClassifier

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(64, activation="relu"), keras.layers.Dense(5)])
    clf = KerasClassifier(model, use_logits=True)
    clf.fit(d["x_fit"], d["y_fit"], batch_size=32, nb_epochs=60)
    return clf, 1, 2


def evaluate(clf: Any, layer: Any, head: Any, d: dict[str, np.ndarray]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    dets: dict[str, Any] = {n: cls(**KWARGS.get(n, {})) for n, cls in DETECTORS.items()}
    if isinstance(clf, ActivationTransforms):
        dets["Energy+ReAct"] = Energy(use_react=True, react_quantile=0.9)
    dets["Energy+ASH"] = Energy(use_ash=True)  # ash_percentile 0.90, oodeel's default
    dets["Energy+SCALE"] = Energy(use_scale=True)  # scale_percentile 0.85
    for name, det in dets.items():
        det.fit(clf, d["x_fit"], d["y_fit"], feature_layers_id=[layer], head_layer_id=head)
        s_in, s_out = det.score(d["x_in"])[0], det.score(d["x_out"])[0]
        out[name] = {"metrics": bench_metrics(s_in, s_out), "scores": (s_in, s_out)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    models = {"PyTorch CNN": torch_cnn, "Keras MLP": keras_mlp}
    table: dict[str, dict[str, list[tuple[float, float]]]] = {m: {} for m in models}
    accuracy: dict[str, list[float]] = {m: [] for m in models}
    first: dict[str, Any] = {}
    t0 = time.perf_counter()
    for seed in range(args.seeds):
        d = data(seed)
        for mname, build in models.items():
            clf, layer, head = build(d, seed)
            accuracy[mname].append(float((clf.predict(d["x_in"]).argmax(1) == d["y_in"]).mean()))
            res = evaluate(clf, layer, head, d)
            for det, r in res.items():
                m = r["metrics"]
                table[mname].setdefault(det, []).append((m["auroc"], m["fpr95tpr"]))
            if seed == 0:
                first[mname] = res
            print(f"seed {seed} {mname}: acc {accuracy[mname][-1]:.3f} "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)

    dets = list(next(iter(table.values())))
    dets += [n for n in table["Keras MLP"] if n not in dets]
    lines = [
        f"ID: digits 0-4 (held-out 40 %, {len(d['x_in'])} images); OOD: digits 5-9 "
        f"({len(d['x_out'])} images); mean ± std over {args.seeds} seeds (model, split). "
        "Test accuracy on ID: " + ", ".join(
            f"{m} {np.mean(a):.3f}" for m, a in accuracy.items()) + ".",
        "",
        "| detector | " + " | ".join(f"{m} AUROC | {m} FPR95" for m in models)
        + " | oodeel MNIST AUROC / FPR95 |",
        "|---|" + "---|---|" * len(models) + "---|",
    ]
    for det in dets:
        cells = []
        for m in models:
            vals = np.array(table[m].get(det, []))
            if len(vals) == 0:
                cells += ["—", "—"]
                continue
            sd = vals.std(axis=0)
            cells += [f"{vals[:, 0].mean():.3f} ± {sd[0]:.3f}",
                      f"{vals[:, 1].mean():.3f} ± {sd[1]:.3f}"]
        ref = OODEEL_MNIST.get(det)
        cells.append(f"{ref[0]:.3f} / {ref[1]:.3f}" if ref else "—")
        lines.append(f"| {det} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    (ROOT / "docs" / "ood_digits_table.md").write_text(text)

    from trustml.ood.plots import plot_roc, plot_score_histogram

    scores = {n: r["scores"] for n, r in first["PyTorch CNN"].items()}
    plot_roc(scores, title="digits 0-4 (ID) vs 5-9 (OOD), PyTorch CNN, seed 0",
             path=str(ROOT / "docs" / "img" / "ood_roc_digits.png"))
    s_in, s_out = first["PyTorch CNN"]["DKNN"]["scores"]
    plot_score_histogram(s_in, s_out, title="DKNN (k=10) scores, PyTorch CNN, seed 0",
                         path=str(ROOT / "docs" / "img" / "ood_hist_digits.png"))


if __name__ == "__main__":
    main()
