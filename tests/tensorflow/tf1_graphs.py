"""TF1 graphs for the TensorFlowV1Classifier tests: the CNN of ``conftest.sequential_cnn`` written
with raw ``tf.compat.v1`` ops (name scopes named like the Keras layers), from given weights."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf
from conftest import SHAPE

v1 = tf.compat.v1


@dataclass
class Graph:
    graph: Any
    sess: Any
    x: Any
    y: Any
    logits: Any
    output: Any
    loss: Any
    train: Any


def random_weights(classes: int = 4, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 0.5, (3, 3, 3, 4)), rng.normal(0, 0.1, 4),
            rng.normal(0, 0.5, (16, classes)), rng.normal(0, 0.1, classes)]


def cnn(weights: list[np.ndarray], dtype: Any = tf.float32, *, softmax: bool = False,
        one_hot: bool = False, batch: int | None = None, lr: float = 0.05) -> Graph:
    """conv(3x3, tanh) -> avg pool 2 -> flatten -> dense; loss per sample; Adam train op."""
    np_dtype = dtype.as_numpy_dtype
    classes = weights[3].shape[0]
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(dtype, (batch, *SHAPE), name="x")
        y = (v1.placeholder(dtype, (None, classes), name="y") if one_hot
             else v1.placeholder(tf.int64, (None,), name="y"))
        with tf.name_scope("conv"):
            k = tf.Variable(weights[0].astype(np_dtype), name="kernel")
            b = tf.Variable(weights[1].astype(np_dtype), name="bias")
            h = tf.tanh(tf.nn.bias_add(tf.nn.conv2d(x, k, 1, "VALID"), b))
        with tf.name_scope("pool"):
            h = tf.nn.avg_pool2d(h, 2, 2, "VALID")
        with tf.name_scope("flat"):
            h = tf.reshape(h, (-1, 16))
        with tf.name_scope("logits"):
            w = tf.Variable(weights[2].astype(np_dtype), name="kernel")
            c = tf.Variable(weights[3].astype(np_dtype), name="bias")
            logits = tf.matmul(h, w) + c
        output = tf.nn.softmax(logits, name="probs") if softmax else logits
        loss = (tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits) if one_hot
                else tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        train = v1.train.AdamOptimizer(lr).minimize(tf.reduce_mean(loss))
        init = v1.global_variables_initializer()
    sess = v1.Session(graph=graph)
    sess.run(init)
    return Graph(graph, sess, x, y, logits, output, loss, train)


def op_count(g: Graph) -> int:
    return len(g.graph.get_operations())
