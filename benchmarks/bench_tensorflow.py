"""KerasClassifier over raw TensorFlow: predict and loss_gradient of a small CNN, batch 256 of
32x32x3 (channels last), CPU — the CNN and batch of ``bench_torch.py``.

Raw TensorFlow is the floor an adapter can reach:

- predict: ``model(tf.constant(x), training=False).numpy()`` (a direct eager call);
- loss_gradient: ``tape.gradient(reduce_sum(sparse_softmax_cross_entropy_with_logits(...)), x)``
  under a ``tf.GradientTape`` watching ``x``, then ``.numpy()``.

KerasClassifier traces Keras models with ``tf.function`` (as Keras' own ``predict`` does), so it
is also compared with the same raw computations inside ``tf.function`` (keys ``*_vs_traced``).

Both sides take the same float32 numpy batch and return numpy; TensorFlow runs with one intra-op
and one inter-op thread. TF computes on its own pool threads, so each call is timed in CPU time of
the whole process (``time.process_time``), the best of interleaved repetitions: on a shared machine
wall time mostly measures the neighbours (it is printed too). The ratios (adapter / raw; target
<= 1.10) are what :func:`main` returns; ART's TensorFlowV2Classifier is timed beside them when
``art`` is importable.

Run: ``python benchmarks/bench_tensorflow.py``.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import time
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from trustml.adapters.tensorflow import KerasClassifier

BATCH = 256
SHAPE = (32, 32, 3)
CLASSES = 10
REPEATS = 20
WARMUP = 3


def small_cnn() -> Any:
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input(SHAPE),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(CLASSES),
        ]
    )


def _best_times(fns: dict[str, Callable[[], Any]]) -> tuple[dict[str, float], dict[str, float]]:
    """Best process-CPU time and best wall time of each function (seconds), calls interleaved."""
    for _ in range(WARMUP):
        for fn in fns.values():
            fn()
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    wall: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(REPEATS):
        for name, fn in fns.items():
            c0, w0 = time.process_time(), time.perf_counter()
            fn()
            cpu[name].append(time.process_time() - c0)
            wall[name].append(time.perf_counter() - w0)
    return {k: min(v) for k, v in cpu.items()}, {k: min(v) for k, v in wall.items()}


def main() -> dict[str, float]:
    """Time both paths and return the ratios ``{"predict": ..., "loss_gradient": ...}``
    (adapter time / raw TF time; ART's ratios are added as ``art_*`` when ART is installed)."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialised by the caller: keep its setting
        pass
    rng = np.random.default_rng(0)
    x = rng.random((BATCH, *SHAPE), dtype=np.float32)
    y = rng.integers(0, CLASSES, size=BATCH)
    model = small_cnn()
    clf = KerasClassifier(model, use_logits=True)
    y_t = tf.constant(y)

    def raw_predict() -> np.ndarray:
        return np.asarray(model(tf.constant(x), training=False).numpy())

    def raw_gradient() -> np.ndarray:
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=y_t, logits=model(xt, training=False)))
        return np.asarray(tape.gradient(loss, xt).numpy())

    traced_forward = tf.function(lambda t: model(t, training=False))

    @tf.function
    def traced_gradient(xt: Any, labels: Any) -> Any:
        with tf.GradientTape() as tape:
            tape.watch(xt)
            loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=labels, logits=model(xt, training=False)))
        return tape.gradient(loss, xt)

    np.testing.assert_allclose(clf.predict(x, batch_size=BATCH), raw_predict(), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(clf.loss_gradient(x, y), raw_gradient(), rtol=1e-4, atol=1e-7)
    fns: dict[str, Callable[[], Any]] = {
        "raw_predict": raw_predict,
        "trustml_predict": lambda: clf.predict(x, batch_size=BATCH),
        "raw_loss_gradient": raw_gradient,
        "trustml_loss_gradient": lambda: clf.loss_gradient(x, y),
        "traced_predict": lambda: traced_forward(tf.constant(x)).numpy(),
        "traced_loss_gradient": lambda: traced_gradient(tf.constant(x), y_t).numpy(),
    }
    try:
        from art.estimators.classification import TensorFlowV2Classifier as ArtClassifier
    except ImportError:
        art = None
    else:
        art = ArtClassifier(model=model, nb_classes=CLASSES, input_shape=SHAPE,
                            loss_object=keras.losses.SparseCategoricalCrossentropy(
                                from_logits=True))
        fns["art_predict"] = lambda: art.predict(x, batch_size=BATCH)
        fns["art_loss_gradient"] = lambda: art.loss_gradient(x, y)
    times, walls = _best_times(fns)
    ratios = {
        "predict": times["trustml_predict"] / times["raw_predict"],
        "loss_gradient": times["trustml_loss_gradient"] / times["raw_loss_gradient"],
        "predict_vs_traced": times["trustml_predict"] / times["traced_predict"],
        "loss_gradient_vs_traced": times["trustml_loss_gradient"] / times["traced_loss_gradient"],
    }
    if art is not None:
        ratios["art_predict"] = times["art_predict"] / times["raw_predict"]
        ratios["art_loss_gradient"] = times["art_loss_gradient"] / times["raw_loss_gradient"]
    print(f"tensorflow {tf.__version__}, keras {keras.__version__}, CPU, 1 thread, batch {BATCH} "
          f"of {SHAPE}, best of {REPEATS} (process CPU time; wall time in brackets)")
    for op in ("predict", "loss_gradient"):
        wall_ratio = walls["trustml_" + op] / walls["raw_" + op]
        print(f"{op:14s} raw {times['raw_' + op] * 1e3:7.2f} ms   trustml "
              f"{times['trustml_' + op] * 1e3:7.2f} ms   ratio {ratios[op]:.3f} "
              f"[wall {wall_ratio:.3f}] (target <= 1.10)")
        print(f"{'':14s} raw in tf.function {times['traced_' + op] * 1e3:7.2f} ms   ratio "
              f"{ratios[op + '_vs_traced']:.3f}")
        if art is not None:
            print(f"{'':14s} ART {times['art_' + op] * 1e3:7.2f} ms   ratio "
                  f"{ratios['art_' + op]:.3f}")
    return ratios


if __name__ == "__main__":
    main()
