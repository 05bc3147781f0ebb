"""Neural Cleanse: one trigger-optimisation step over one raw forward + backward, and a full detect.

One step of :meth:`trustml.poisoning.NeuralCleanse.generate_backdoor` is one minibatch update:
blend ``x' = (1 - m) * x + m * p``, the adapter's ``loss_gradient`` at ``x'``, the chain rule back
to the tanh-space mask and pattern, Adam (:func:`trustml.poisoning.objective_gradient` plus the
update). It is compared with the floor: one raw forward + backward of the summed cross-entropy with
respect to the input of the same minibatch in the raw framework (torch autograd; a Keras model under
``tf.GradientTape``, eager and in ``tf.function``). Two models per framework: the small digits CNN /
MLP of the tests (batch 32 of 1x8x8, where fixed per-call costs dominate) and a CIFAR-sized CNN
(batch 32 of 3x32x32, channels shared by the mask).

Times are CPU time of the process (``time.process_time``), best of interleaved repetitions, one
thread per framework; on a shared machine wall time mostly measures the neighbours. The full
``detect`` (10 labels, the tests' reduced settings) on the digits CNN is reported in wall seconds.
ART's ``KerasNeuralCleanse`` is timed beside it only where ``art`` imports and runs with the
installed Keras.

Run: ``PYTHONPATH=src:tests/poisoning python benchmarks/bench_neural_cleanse.py``.
"""

# ruff: noqa: B023  (the closures in the loops are called within their own iteration)
from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from trustml.poisoning import TriggerSpace, objective_gradient
from trustml.poisoning._trigger import _Adam

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "poisoning"))
REPEATS = 100
WARMUP = 3
BATCH = 32


def _best(fns: dict[str, Callable[[], Any]]) -> dict[str, float]:
    for _ in range(WARMUP):
        for fn in fns.values():
            fn()
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    order = list(fns.items())
    for rep in range(REPEATS):
        for name, fn in order if rep % 2 == 0 else order[::-1]:
            c0 = time.process_time()
            fn()
            cpu[name].append(time.process_time() - c0)
    return {k: min(v) for k, v in cpu.items()}


def _step(clf: Any, space: TriggerSpace, x: Any, target: int) -> Callable[[], None]:
    rng = np.random.default_rng(0)
    wm = rng.normal(0, 1, space.mask_shape)
    wp = rng.normal(0, 1, space.input_shape)
    adam = _Adam(0.1, [wm.shape, wp.shape])
    y = np.full(len(x), target)

    def step() -> None:
        gm, gp, _ = objective_gradient(clf, space, x, y, wm, wp, 1e-3, 1.0)
        adam.step([wm, wp], [gm, gp])

    return step


def bench_torch() -> dict[str, float]:
    import torch

    from trustml.adapters.torch import PyTorchClassifier

    torch.set_num_threads(1)
    out: dict[str, float] = {}
    nets = {
        "digits_cnn": (torch.nn.Sequential(
            torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Flatten(), torch.nn.Linear(32 * 16, 64), torch.nn.ReLU(),
            torch.nn.Linear(64, 10)), (1, 8, 8)),
        "cifar_cnn": (torch.nn.Sequential(
            torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Flatten(), torch.nn.Linear(32 * 8 * 8, 10)), (3, 32, 32)),
    }
    for name, (net, shape) in nets.items():
        net.eval()
        clf = PyTorchClassifier(net, torch.nn.CrossEntropyLoss(), shape, 10,
                                clip_values=(0.0, 1.0))
        x = np.random.default_rng(0).random((BATCH, *shape), dtype=np.float32)
        space = TriggerSpace(shape, 0, np.zeros(shape), np.ones(shape))
        y_t = torch.zeros(BATCH, dtype=torch.long)
        loss = torch.nn.CrossEntropyLoss(reduction="sum")

        def raw() -> np.ndarray:
            xt = torch.from_numpy(x).requires_grad_(True)
            (g,) = torch.autograd.grad(loss(net(xt), y_t), xt)
            return g.numpy()

        t = _best({"raw": raw, "step": _step(clf, space, x, 0)})
        out[f"torch_{name}_step_over_raw"] = t["step"] / t["raw"]
    return out


def bench_keras() -> dict[str, float]:
    import keras
    import tensorflow as tf

    from trustml.adapters.tensorflow import KerasClassifier

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass
    out: dict[str, float] = {}
    models = {
        "digits_mlp": (keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(),
                                         keras.layers.Dense(64, activation="relu"),
                                         keras.layers.Dense(10)]), (8, 8), None),
        "cifar_cnn": (keras.Sequential([
            keras.Input((32, 32, 3)), keras.layers.Conv2D(16, 3, padding="same",
                                                          activation="relu"),
            keras.layers.MaxPooling2D(), keras.layers.Conv2D(32, 3, padding="same",
                                                             activation="relu"),
            keras.layers.MaxPooling2D(), keras.layers.Flatten(), keras.layers.Dense(10)]),
            (32, 32, 3), 2),
    }
    for name, (model, shape, axis) in models.items():
        clf = KerasClassifier(model, use_logits=True, clip_values=(0.0, 1.0))
        x = np.random.default_rng(0).random((BATCH, *shape), dtype=np.float32)
        space = TriggerSpace(shape, axis, np.zeros(shape), np.ones(shape))
        y_t = tf.zeros(BATCH, dtype=tf.int64)

        def raw() -> np.ndarray:
            xt = tf.constant(x)
            with tf.GradientTape() as tape:
                tape.watch(xt)
                loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=y_t, logits=model(xt, training=False)))
            return np.asarray(tape.gradient(loss, xt).numpy())

        @tf.function
        def traced(xt: Any) -> Any:
            with tf.GradientTape() as tape:
                tape.watch(xt)
                loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=y_t, logits=model(xt, training=False)))
            return tape.gradient(loss, xt)

        t = _best({"raw": raw, "traced": lambda: traced(tf.constant(x)).numpy(),
                   "step": _step(clf, space, x, 0)})
        out[f"keras_{name}_step_over_raw_eager"] = t["step"] / t["raw"]
        out[f"keras_{name}_step_over_raw_traced"] = t["step"] / t["traced"]
    return out


def bench_detect() -> dict[str, float]:
    import poisoning_badnets as bn

    from trustml.poisoning import NeuralCleanse

    data = bn.digits(0)
    clf = bn.torch_cnn(data, 0, epochs=20)
    nc = NeuralCleanse(clf, seed=0, steps=20, init_cost=1e-2, patience=2, batch_size=32)
    w0, c0 = time.perf_counter(), time.process_time()
    report = nc.detect(bn.shaped(clf, data.x_val), data.y_val)
    return {"torch_digits_detect_wall_s": time.perf_counter() - w0,
            "torch_digits_detect_cpu_s": time.process_time() - c0,
            "torch_digits_detect_passes": float(report.steps.sum()),
            "torch_digits_detect_flagged_0": float(report.flagged == [0])}


def bench_art() -> dict[str, float]:
    """ART's KerasNeuralCleanse beside ours on one Keras MLP (softmax output, inputs 8x8x1): wall
    seconds of ``generate_backdoor`` for one label, the same passes over the same 256 inputs."""
    import contextlib
    import io

    import keras
    from art.estimators.poison_mitigation import KerasNeuralCleanse

    from trustml.adapters.tensorflow import KerasClassifier
    from trustml.poisoning import NeuralCleanse

    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.random((256, 8, 8, 1), dtype=np.float32)
    y = np.eye(10)[rng.integers(1, 10, 256)]
    steps = 5
    ours = NeuralCleanse(KerasClassifier(model, clip_values=(0.0, 1.0)), steps=steps,
                         early_stop=False, seed=0)
    theirs = KerasNeuralCleanse(model=model, steps=steps, clip_values=(0, 1), norm=1,
                                batch_size=32)
    w0 = time.perf_counter()
    ours.generate_backdoor(x, y, 0)
    t_ours = time.perf_counter() - w0
    w0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        theirs.generate_backdoor(x, y, np.eye(10)[0])  # ART prints tensors while it runs
    t_art = time.perf_counter() - w0
    return {"keras_generate_backdoor_5_passes_ours_s": t_ours,
            "keras_generate_backdoor_5_passes_art_s": t_art}


def main() -> dict[str, float]:
    """Ratios (trustml step / raw forward + backward) and the full detect's time."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    out = bench_torch()
    out.update(bench_keras())
    out.update(bench_detect())
    try:
        import art  # noqa: F401
    except ImportError:
        out["art_keras_neural_cleanse"] = float("nan")  # not installed: not run
    else:
        out.update(bench_art())
    return out


if __name__ == "__main__":
    for key, value in main().items():
        print(f"{key}: {value:.3f}")
