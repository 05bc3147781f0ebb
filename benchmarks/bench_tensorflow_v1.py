"""TensorFlowV1Classifier over a raw ``sess.run``: predict and loss_gradient of a small CNN written
as a ``tf.compat.v1`` graph, batch 256 of 32x32x3 (channels last), CPU — the CNN and batch of
``bench_tensorflow.py``.

Raw TensorFlow 1 is the floor the adapter can reach: the same session runs the same kind of
tensors,

- predict: ``sess.run(logits, {x: batch})``;
- loss_gradient: ``sess.run(tf.gradients(reduce_sum(sparse_softmax_cross_entropy_with_logits),
  x), {x: batch, y: labels})``, a gradient tensor built once beside the adapter's own.

Both sides take the same float32 numpy batch and return numpy; TensorFlow runs with one intra-op
and one inter-op thread. Each call is timed in CPU time of the whole process
(``time.process_time``), the best of interleaved repetitions (wall time is printed too). The
ratios (adapter / raw; target <= 1.05) are what :func:`main` returns.

Run: ``python benchmarks/bench_tensorflow_v1.py``.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf
from tensorflow.compat import v1

from trustml.adapters.tensorflow import TensorFlowV1Classifier

BATCH = 256
SHAPE = (32, 32, 3)
CLASSES = 10
REPEATS = 20
WARMUP = 3


def small_cnn_graph() -> tuple[Any, Any, Any, Any, Any]:
    """``(session, x, y, logits, per-sample loss)`` of conv16-pool-conv32-pool-dense10 (ReLU)."""
    rng = np.random.default_rng(0)

    def weight(*shape: int) -> Any:
        fan_in = int(np.prod(shape[:-1]))
        return tf.Variable(rng.normal(0, np.sqrt(2 / fan_in), shape).astype("f4"))

    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, (None, *SHAPE), name="x")
        y = v1.placeholder(tf.int64, (None,), name="y")
        h = tf.nn.relu(tf.nn.conv2d(x, weight(3, 3, 3, 16), 1, "SAME"))
        h = tf.nn.max_pool2d(h, 2, 2, "VALID")
        h = tf.nn.relu(tf.nn.conv2d(h, weight(3, 3, 16, 32), 1, "SAME"))
        h = tf.nn.max_pool2d(h, 2, 2, "VALID")
        logits = tf.matmul(tf.reshape(h, (-1, 8 * 8 * 32)), weight(8 * 8 * 32, CLASSES))
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        init = v1.global_variables_initializer()
    config = v1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
    sess = v1.Session(graph=graph, config=config)
    sess.run(init)
    return sess, x, y, logits, loss


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
    (adapter time / raw ``sess.run`` time)."""
    rng = np.random.default_rng(0)
    xs = rng.random((BATCH, *SHAPE), dtype=np.float32)
    ys = rng.integers(0, CLASSES, size=BATCH)
    sess, x, y, logits, loss = small_cnn_graph()
    clf = TensorFlowV1Classifier(x, logits, labels_ph=y, loss=loss, sess=sess)
    with sess.graph.as_default():
        raw_grad = tf.gradients(tf.reduce_sum(loss), x)[0]

    def raw_predict() -> np.ndarray:
        return np.asarray(sess.run(logits, {x: xs}))

    def raw_gradient() -> np.ndarray:
        return np.asarray(sess.run(raw_grad, {x: xs, y: ys}))

    np.testing.assert_allclose(clf.predict(xs, batch_size=BATCH), raw_predict(), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(clf.loss_gradient(xs, ys), raw_gradient(), rtol=1e-4, atol=1e-7)
    fns: dict[str, Callable[[], Any]] = {
        "raw_predict": raw_predict,
        "trustml_predict": lambda: clf.predict(xs, batch_size=BATCH),
        "raw_loss_gradient": raw_gradient,
        "trustml_loss_gradient": lambda: clf.loss_gradient(xs, ys),
    }
    times, walls = _best_times(fns)
    ratios = {
        "predict": times["trustml_predict"] / times["raw_predict"],
        "loss_gradient": times["trustml_loss_gradient"] / times["raw_loss_gradient"],
    }
    print(f"tensorflow {tf.__version__} (tf.compat.v1 graph and session), CPU, 1 thread, batch "
          f"{BATCH} of {SHAPE}, best of {REPEATS} (process CPU time; wall time in brackets)")
    for op in ("predict", "loss_gradient"):
        wall_ratio = walls["trustml_" + op] / walls["raw_" + op]
        print(f"{op:14s} raw sess.run {times['raw_' + op] * 1e3:7.2f} ms   trustml "
              f"{times['trustml_' + op] * 1e3:7.2f} ms   ratio {ratios[op]:.3f} "
              f"[wall {wall_ratio:.3f}] (target <= 1.05)")
    sess.close()
    return ratios


if __name__ == "__main__":
    main()
