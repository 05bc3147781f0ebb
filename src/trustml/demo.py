"""``trustml demo``: the main job end to end on real data.

On scikit-learn's bundled 8x8 handwritten digits (1,797 real images; nothing is downloaded) it

1. trains a model with Gaussian noise augmentation (the base classifier of randomized smoothing
   must be accurate under noise; Cohen et al., ICML 2019, Section 4),
2. wraps it in a trustml adapter,
3. runs the conformance kit on the adapter and prints the table,
4. certifies the test set with randomized smoothing and prints the certified accuracy at several
   L2 radii (pixel intensities scaled to [0, 1], so a radius of 1.0 is a change of one full pixel
   intensity spread over the 64 pixels in L2),
5. writes the certified-accuracy curve (``curve.png``, extra ``plots``) and a markdown report
   (``report.md``) into the output folder.

The default framework is scikit-learn's ``MLPClassifier`` (a light install). ``--framework torch``,
``tensorflow`` or ``mxnet`` train a small CNN with that framework's adapter instead.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trustml.errors import ParameterError

__all__ = ["add_arguments", "run"]

FRAMEWORKS = ("sklearn", "torch", "tensorflow", "mxnet")
RADII = (0.0, 0.25, 0.5, 0.75, 1.0)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``trustml demo``."""
    parser.add_argument("--framework", choices=FRAMEWORKS, default="sklearn",
                        help="which adapter to demonstrate (default: sklearn)")
    parser.add_argument("--out", type=Path, default=Path("trustml-demo"),
                        help="output folder for curve.png and report.md (default: trustml-demo)")
    parser.add_argument("--sigma", type=float, default=0.25,
                        help="noise standard deviation, in pixel units scaled to [0, 1]")
    parser.add_argument("--n0", type=int, default=100, help="selection draws per input")
    parser.add_argument("--n", type=int, default=10_000, help="estimation draws per input")
    parser.add_argument("--alpha", type=float, default=0.001, help="failure probability")
    parser.add_argument("--batch-size", type=int, default=2_000, help="noisy copies per batch")
    parser.add_argument("--max-test", type=int, default=None,
                        help="certify only the first N test digits (default: all 450)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random step")


def _say(step: int, total: int, text: str) -> None:
    print(f"[{step}/{total}] {text}", flush=True)


def load_digits_split(seed: int) -> tuple[NDArray[np.float32], NDArray[np.int64],
                                          NDArray[np.float32], NDArray[np.int64]]:
    """Digits scaled to [0, 1], flattened ``(N, 64)``, split 75/25 stratified with ``seed``."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (np.asarray(data.data, dtype=np.float32) / 16.0)
    y = np.asarray(data.target, dtype=np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=450, stratify=y, random_state=seed
    )
    return x_train, y_train, x_test, y_test


def _noisy_copies(x: NDArray[np.float32], y: NDArray[np.int64], sigma: float, copies: int,
                  rng: np.random.Generator) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    xs = np.concatenate([x] + [x + rng.normal(0.0, sigma, x.shape).astype(np.float32)
                               for _ in range(copies)])
    return xs, np.tile(y, copies + 1)


def _train_sklearn(x: NDArray[np.float32], y: NDArray[np.int64], sigma: float, seed: int) -> Any:
    from sklearn.neural_network import MLPClassifier

    from trustml.adapters.sklearn import wrap

    rng = np.random.default_rng(seed)
    xs, ys = _noisy_copies(x, y, sigma, copies=4, rng=rng)
    model = MLPClassifier(hidden_layer_sizes=(128,), alpha=1e-3, max_iter=200,
                          early_stopping=False, random_state=seed)
    model.fit(xs, ys)
    return wrap(model, clip_values=(0.0, 1.0))


def _train_torch(x: NDArray[np.float32], y: NDArray[np.int64], sigma: float, seed: int) -> Any:
    import torch

    from trustml.adapters.torch import PyTorchClassifier

    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(16 * 4 * 4, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 10),
    )
    clf = PyTorchClassifier(
        net, loss=torch.nn.CrossEntropyLoss(), input_shape=(1, 8, 8), nb_classes=10,
        optimizer=torch.optim.Adam(net.parameters(), lr=2e-3), clip_values=(0.0, 1.0),
        preprocessing=(0.3, 0.4), device="cpu",
    )
    xs, ys = _noisy_copies(x.reshape(-1, 1, 8, 8), y, sigma, copies=4,
                           rng=np.random.default_rng(seed))
    clf.fit(xs, ys, batch_size=128, nb_epochs=8)
    return clf


def _train_tensorflow(x: NDArray[np.float32], y: NDArray[np.int64], sigma: float, seed: int) -> Any:
    import keras

    from trustml.adapters.tensorflow import KerasClassifier

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
        keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10),
    ])
    model.compile(optimizer=keras.optimizers.Adam(2e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    clf = KerasClassifier(model, use_logits=True, clip_values=(0.0, 1.0))
    xs, ys = _noisy_copies(x.reshape(-1, 8, 8, 1), y, sigma, copies=4,
                           rng=np.random.default_rng(seed))
    clf.fit(xs, ys, batch_size=128, nb_epochs=8)
    return clf


def _train_mxnet(x: NDArray[np.float32], y: NDArray[np.int64], sigma: float, seed: int) -> Any:
    import mxnet as mx
    from mxnet import gluon

    from trustml.adapters.mxnet import MXNetClassifier

    mx.random.seed(seed)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Conv2D(8, 3, padding=1, activation="relu"),
            gluon.nn.Conv2D(16, 3, padding=1, activation="relu"),
            gluon.nn.MaxPool2D(2), gluon.nn.Flatten(),
            gluon.nn.Dense(64, activation="relu"), gluon.nn.Dense(10))
    net.initialize(mx.init.Xavier())
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 2e-3})
    clf = MXNetClassifier(net, loss=gluon.loss.SoftmaxCrossEntropyLoss(), input_shape=(1, 8, 8),
                          nb_classes=10, optimizer=trainer, clip_values=(0.0, 1.0))
    xs, ys = _noisy_copies(x.reshape(-1, 1, 8, 8), y, sigma, copies=4,
                           rng=np.random.default_rng(seed))
    clf.fit(xs, ys, batch_size=128, nb_epochs=8)
    return clf


_TRAINERS: dict[str, tuple[str, Callable[..., Any]]] = {
    "sklearn": ("sklearn", _train_sklearn),
    "torch": ("torch", _train_torch),
    "tensorflow": ("tensorflow", _train_tensorflow),
    "mxnet": ("mxnet", _train_mxnet),
}


def _check_args(args: argparse.Namespace) -> None:
    if not args.sigma > 0:
        raise ParameterError(f"--sigma: expected a positive number, got {args.sigma}")
    if args.max_test is not None and args.max_test < 1:
        raise ParameterError(f"--max-test: expected a positive int, got {args.max_test}")


def run(args: argparse.Namespace) -> int:
    """Run the demo; returns the exit status (0 on success)."""
    from trustml._deps import require

    _check_args(args)
    require("sklearn", "sklearn", purpose="trustml demo (scikit-learn's bundled digits)")
    extra, train = _TRAINERS[args.framework]
    require({"sklearn": "sklearn", "torch": "torch", "tensorflow": "keras",
             "mxnet": "mxnet"}[args.framework], extra,
            purpose=f"trustml demo --framework {args.framework}")
    from trustml.certification import RandomizedSmoothing, certified_accuracy
    from trustml.conformance import check_estimator

    total = 5
    started = time.perf_counter()
    x_train, y_train, x_test, y_test = load_digits_split(args.seed)
    if args.max_test is not None:
        x_test, y_test = x_test[: args.max_test], y_test[: args.max_test]

    _say(1, total, f"training a {args.framework} model on {len(x_train)} digits "
                   f"(Gaussian augmentation, sigma={args.sigma})")
    with warnings.catch_warnings():
        # A fixed iteration budget keeps the demo short; the models are accurate regardless.
        warnings.filterwarnings("ignore", message=".*(converge|Maximum iterations).*")
        clf = train(x_train, y_train, args.sigma, args.seed)
    x_test = x_test.reshape((len(x_test), *clf.input_shape))
    clean_acc = float((clf.predict(x_test).argmax(1) == y_test).mean())
    _say(2, total, f"wrapped as {type(clf).__name__}: clean test accuracy {clean_acc:.3f}")

    _say(3, total, "running the conformance kit")
    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as tmp:
        warnings.filterwarnings("ignore", message=".*(converge|Maximum iterations).*")
        # The kit's fit checks train a deep copy; a Gluon network's copy cannot be trained, so
        # the kit trains the object itself: keep the demo model's parameters aside for that.
        snapshot = Path(tmp) / "params"
        if args.framework == "mxnet":
            clf.save(snapshot)
        report = check_estimator(clf, data=(x_test[:32], y_test[:32]), seed=args.seed)
        if args.framework == "mxnet":
            clf.load(snapshot)
    table = report.to_markdown()
    print(table, flush=True)

    _say(4, total, f"certifying {len(x_test)} test digits (n0={args.n0}, n={args.n}, "
                   f"alpha={args.alpha}, sigma={args.sigma})")
    smoothed = RandomizedSmoothing(clf, sigma=args.sigma, alpha=args.alpha)
    labels, radii = smoothed.certify(x_test, n=args.n, n0=args.n0, batch_size=args.batch_size,
                                     seed=args.seed, progress=True)
    accuracy = certified_accuracy(labels, radii, y_test, RADII)
    abstained = float((labels == -1).mean())
    lines = ["| radius | certified accuracy |", "|---|---|"]
    lines += [f"| {r:.2f} | {a:.3f} |" for r, a in zip(RADII, accuracy)]
    print("\n".join(lines), flush=True)

    _say(5, total, f"writing {args.out}/")
    args.out.mkdir(parents=True, exist_ok=True)
    curve = _plot(labels, radii, y_test, args.out / "curve.png", args)
    elapsed = time.perf_counter() - started
    report_md = "\n".join([
        "# trustml demo report", "",
        f"- data: scikit-learn digits, {len(x_train)} training and {len(x_test)} test images "
        "(8x8, scaled to [0, 1])",
        f"- model: {type(clf).__name__} ({args.framework}), clean test accuracy {clean_acc:.3f}",
        f"- randomized smoothing (Cohen et al., ICML 2019): sigma={args.sigma}, n0={args.n0}, "
        f"n={args.n}, alpha={args.alpha}, seed={args.seed}; abstained on {abstained:.1%}",
        f"- run time: {elapsed:.1f} s", "",
        "## Certified accuracy", "", *lines, "",
        *( [f"![certified accuracy curve]({curve.name})", ""] if curve else [] ),
        "## Conformance", "", table, "",
    ])
    (args.out / "report.md").write_text(report_md)
    print(f"done in {elapsed:.1f} s: {args.out / 'report.md'}"
          + (f", {curve}" if curve else " (install trustml[plots] for the curve)"), flush=True)
    return 0 if report.ok else 1


def _plot(labels: NDArray[np.int64], radii: NDArray[np.float64], y: NDArray[np.int64],
          path: Path, args: argparse.Namespace) -> Path | None:
    from trustml.certification import certified_accuracy, plot_certified_accuracy
    from trustml.errors import MissingDependencyError

    grid = np.linspace(0.0, max(1.0, float(radii.max(initial=0.0))), 101)
    curve = certified_accuracy(labels, radii, y, grid)
    try:
        figure = plot_certified_accuracy(
            {f"{args.framework}, sigma={args.sigma}": (grid, curve)}, path,
            title=f"trustml demo: digits, n={args.n}, alpha={args.alpha}",
        )
    except MissingDependencyError as exc:
        print(f"no curve: {exc}", file=sys.stderr)
        return None
    import matplotlib.pyplot as plt

    plt.close(figure)
    return path
