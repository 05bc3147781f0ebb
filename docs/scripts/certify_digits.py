"""Certified accuracy of Gaussian-smoothed classifiers on scikit-learn's digits (CPU).

Produces the table and the curve of ``docs/certification.md``::

    python docs/scripts/certify_digits.py            # n = 10000, the committed results
    python docs/scripts/certify_digits.py --n 1000   # quicker

Data: scikit-learn's bundled digits (1797 8x8 images), pixels scaled to [0, 1] (divided by 16), a
stratified 80/20 split (seed 0); radii are L2 in those units. Models, each trained with Gaussian
data augmentation at the sigma it is certified with, through ``RandomizedSmoothing(...).fit``
(noise in raw input space, before the adapter's preprocessing):

- MLP: scikit-learn ``MLPClassifier((128, 64))`` wrapped by ``trustml.adapters.sklearn.wrap``;
  scikit-learn refits on the whole set, so the training set is tiled 10 times and every copy gets
  its own noise;
- CNN: a small PyTorch CNN (two 3x3 convolutions with 16 and 32 channels, 2x2 max-pooling after
  each, a 64-unit hidden layer) wrapped by ``PyTorchClassifier`` (certified through its device fast
  path), trained 60 epochs with fresh noise for every batch and epoch.

Certification: CERTIFY with n0 = 100, n (default 10000), alpha = 0.001, batch 1000, on the test
set; plus, for reference, each model trained *without* noise and certified at sigma = 0.25.
Outputs: ``docs/img/certified_accuracy_digits.png`` and the Markdown table on stdout and in
``docs/certification_digits_table.md``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

DOCS = Path(__file__).resolve().parents[1]
RADII = [0.0, 0.25, 0.5, 1.0]
SIGMAS = [0.25, 0.5]


def load() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=0
    )
    return x_train, x_test, y_train, y_test


def mlp(x: np.ndarray, y: np.ndarray, sigma: float | None) -> Any:
    from sklearn.neural_network import MLPClassifier

    from trustml.adapters.sklearn import wrap
    from trustml.certification import RandomizedSmoothing

    model = wrap(MLPClassifier((128, 64), max_iter=300, random_state=0), input_shape=(64,),
                 nb_classes=10)
    if sigma is None:
        model.fit(x, y)
    else:
        copies = 10
        RandomizedSmoothing(model, sigma).fit(
            np.tile(x, (copies, 1)), np.tile(y, copies), nb_epochs=1, seed=0
        )
    return model


def cnn(x: np.ndarray, y: np.ndarray, sigma: float | None) -> Any:
    import torch

    from trustml.adapters.torch import PyTorchClassifier
    from trustml.certification import RandomizedSmoothing

    torch.manual_seed(0)
    nn = torch.nn
    net = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 2 * 2, 64), nn.ReLU(), nn.Linear(64, 10),
    )
    model = PyTorchClassifier(
        net, nn.CrossEntropyLoss(), (1, 8, 8), 10,
        optimizer=torch.optim.Adam(net.parameters(), lr=1e-3), device="cpu",
    )
    images = x.reshape(-1, 1, 8, 8)
    if sigma is None:
        model.fit(images, y, batch_size=64, nb_epochs=60, seed=0)
    else:
        RandomizedSmoothing(model, sigma).fit(images, y, batch_size=64, nb_epochs=60, seed=0)
    return model


def main(n: int = 10_000, n0: int = 100, alpha: float = 0.001) -> dict[str, list[float]]:
    """Train, certify, write the curve and the table; returns certified accuracy per run."""
    import torch

    from trustml.certification import (
        RandomizedSmoothing,
        certified_accuracy,
        plot_certified_accuracy,
    )

    torch.set_num_threads(2)
    x_train, x_test, y_train, y_test = load()
    fine = np.linspace(0.0, 2.0, 201)
    table: dict[str, list[float]] = {}
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    lines = [
        "| model | trained with | sigma | clean accuracy | "
        + " | ".join(f"r = {r:g}" for r in RADII) + " | abstain | seconds |",
        "|---|---|---|---|" + "---|" * len(RADII) + "---|---|",
    ]
    runs = [(name, s, s) for s in SIGMAS for name in ("MLP (scikit-learn)", "CNN (PyTorch)")]
    runs += [(name, None, 0.25) for name in ("MLP (scikit-learn)", "CNN (PyTorch)")]
    for name, train_sigma, sigma in runs:
        build = mlp if name.startswith("MLP") else cnn
        model = build(x_train, y_train, train_sigma)
        xt = x_test if name.startswith("MLP") else x_test.reshape(-1, 1, 8, 8)
        clean = float((model.predict(xt).argmax(1) == y_test).mean())
        smoothed = RandomizedSmoothing(model, sigma, n0=n0, alpha=alpha, batch_size=1000)
        start = time.perf_counter()
        labels, radii = smoothed.certify(xt, n, seed=0)
        seconds = time.perf_counter() - start
        acc = certified_accuracy(labels, radii, y_test, RADII)
        trained = f"noise sigma = {train_sigma:g}" if train_sigma is not None else "no noise"
        key = f"{name}, {trained}, certified at sigma = {sigma:g}"
        table[key] = acc.tolist()
        lines.append(
            f"| {name} | {trained} | {sigma:g} | {clean:.3f} | "
            + " | ".join(f"{a:.3f}" for a in acc)
            + f" | {(labels == -1).mean():.3f} | {seconds:.0f} |"
        )
        print(lines[-1], flush=True)
        if train_sigma is not None:
            curves[f"{name.split()[0]}, sigma = {sigma:g}"] = (
                fine, certified_accuracy(labels, radii, y_test, fine)
            )
    header = (
        f"Test set: {len(y_test)} digits; CERTIFY with n0 = {n0}, n = {n}, alpha = {alpha}, "
        "batch 1000, seed 0.\n\n"
    )
    text = header + "\n".join(lines) + "\n"
    (DOCS / "certification_digits_table.md").write_text(text, encoding="utf-8")
    plot_certified_accuracy(
        curves, DOCS / "img" / "certified_accuracy_digits.png",
        title=f"digits, Gaussian-augmented training, n = {n}",
    )
    print(text)
    return table


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--n0", type=int, default=100)
    parser.add_argument("--alpha", type=float, default=0.001)
    args = parser.parse_args()
    main(args.n, args.n0, args.alpha)
