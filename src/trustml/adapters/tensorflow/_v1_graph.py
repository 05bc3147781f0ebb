"""The ``tf.compat.v1`` graph side of :class:`TensorFlowV1Classifier`: checks of the user's graph
tensors, layer discovery, the ops the adapter adds (built once per quantity, cached), batched
``sess.run`` calls, and frozen GraphDefs.

Nothing here touches TensorFlow's global state: every op is created under
``with graph.as_default()`` of the user's own ``tf.Graph`` (eager execution stays on for the rest
of the process), and every run goes through the user's ``tf.compat.v1.Session``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf
from numpy.typing import NDArray
from tensorflow.compat import v1

from trustml.errors import ParameterError, ParameterTypeError

__all__ = [
    "GraphOps",
    "copy_graph",
    "freeze",
    "layer_tensors",
    "load_graph_def",
    "resolve_layer",
    "run_batched",
]

_SCOPE = "trustml_v1"


# ---------------------------------------------------------------------------------- layers


def path_ops(input_ph: tf.Tensor, output: tf.Tensor) -> list[tf.Operation]:
    """The ops that depend on ``input_ph`` and that ``output`` depends on, in creation order (a
    topological order of the graph: an op is created after its inputs)."""
    graph = output.graph
    ancestors: set[str] = set()
    stack = [output.op]
    while stack:
        op = stack.pop()
        if op.name in ancestors:
            continue
        ancestors.add(op.name)
        stack.extend(t.op for t in op.inputs)
    descendants: set[str] = {input_ph.op.name}
    ordered: list[tf.Operation] = []
    for op in graph.get_operations():
        if op.name not in ancestors or op.name == input_ph.op.name:
            continue
        if any(t.op.name in descendants for t in op.inputs):
            descendants.add(op.name)
            ordered.append(op)
    return ordered


def layer_tensors(input_ph: tf.Tensor, output: tf.Tensor) -> list[tf.Tensor]:
    """One tensor per layer, in execution order.

    A layer of a TF1 graph is a top-level name scope (``conv1/...``, ``dense/...``); its output is
    the first output of the last op of that scope on the path from ``input_ph`` to ``output``.
    Only tensors with a batch axis (rank >= 2, leading dimension that of ``input_ph``) count, as in
    ART's TF1 classifier. ``output`` is always the last layer.
    """
    batch = input_ph.shape[0]
    candidates: list[tf.Tensor] = []
    for op in path_ops(input_ph, output):
        if not op.outputs:
            continue
        t = op.outputs[0]
        rank = t.shape.rank
        if rank is None or rank < 2 or t.shape[0] != batch:
            continue
        candidates.append(t)
    layers: list[tf.Tensor] = []
    for i, t in enumerate(candidates):
        scope = t.op.name.split("/")[0]
        following = candidates[i + 1].op.name.split("/")[0] if i + 1 < len(candidates) else None
        if scope != following and t is not output:
            layers.append(t)
    layers.append(output)
    return layers


def resolve_layer(
    layer: Any, names: Sequence[str], tensors: Sequence[tf.Tensor], input_ph: tf.Tensor
) -> tf.Tensor:
    """The tensor a ``layer`` argument names: an index into ``names`` (negative counts from the
    end), a name in ``names``, or the name of any tensor or op of the graph computed from
    ``input_ph`` (an op stands for its first output).

    Raises
    ------
    ParameterError
        Index out of range, unknown name, or a tensor that does not depend on ``input_ph``.
    ParameterTypeError
        ``layer`` is neither an int nor a str.
    """
    if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
        k = len(names)
        if not -k <= int(layer) < k:
            raise ParameterError(
                f"layer: expected an index in [{-k}, {k}) into layer_names, got {layer}"
            )
        return tensors[int(layer)]
    if not isinstance(layer, str):
        raise ParameterTypeError(
            f"layer: expected an int index into layer_names or a tensor / op name, got "
            f"{type(layer).__name__}"
        )
    if layer in names:
        return tensors[list(names).index(layer)]
    graph = input_ph.graph
    try:
        found = graph.get_tensor_by_name(layer) if ":" in layer else None
        if found is None:
            op = graph.get_operation_by_name(layer)
            if not op.outputs:
                raise KeyError(layer)
            found = op.outputs[0]
    except (KeyError, ValueError):
        raise ParameterError(
            f"layer: expected a name in layer_names {list(names)} or a tensor / op name of the "
            f"graph, got {layer!r}"
        ) from None
    if not _depends_on(found, input_ph):
        raise ParameterError(f"layer: expected a tensor computed from input_ph, got {layer!r}")
    return found


def _depends_on(tensor: tf.Tensor, source: tf.Tensor) -> bool:
    seen: set[str] = set()
    stack = [tensor.op]
    while stack:
        op = stack.pop()
        if op.name == source.op.name:
            return True
        if op.name in seen:
            continue
        seen.add(op.name)
        stack.extend(t.op for t in op.inputs)
    return False


# ---------------------------------------------------------------------------------- added ops


class GraphOps:
    """The ops the adapter adds to the user's graph, each built on first use and cached.

    Every builder runs under ``graph.as_default()`` and the ``trustml_v1`` name scope; a second
    request for the same quantity returns the cached tensors, so the graph never grows per call.

    Parameters
    ----------
    input_ph, output : tf.Tensor
        The model's input placeholder and its outputs ``(N, K)``.
    nb_classes : int
    """

    def __init__(self, input_ph: tf.Tensor, output: tf.Tensor, nb_classes: int) -> None:
        self.input_ph = input_ph
        self.output = output
        self.nb_classes = nb_classes
        self.graph: tf.Graph = input_ph.graph
        self._cache: dict[tuple[Any, ...], Any] = {}

    def _cached(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        if key not in self._cache:
            with self.graph.as_default(), self.graph.name_scope(f"{_SCOPE}/"):
                self._cache[key] = build()
        return self._cache[key]

    def cross_entropy(self) -> tuple[tf.Tensor, tf.Tensor]:
        """``(index labels placeholder (N,) int64, per-sample cross-entropy (N,))`` on the outputs
        taken as logits, or on the logits feeding them when ``output`` is a ``Softmax`` op."""

        def build() -> tuple[tf.Tensor, tf.Tensor]:
            labels = v1.placeholder(tf.int64, (None,), name="labels")
            logits = self.output.op.inputs[0] if self.output.op.type == "Softmax" else self.output
            return labels, tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=labels, logits=logits
            )

        pair: tuple[tf.Tensor, tf.Tensor] = self._cached(("xent",), build)
        return pair

    def loss_gradient(self, loss: tf.Tensor) -> tf.Tensor:
        """``d sum(loss) / d input_ph``."""

        def build() -> tf.Tensor:
            return tf.gradients(tf.reduce_sum(loss), self.input_ph)[0]

        grad: tf.Tensor = self._cached(("loss_gradient", loss.name), build)
        return grad

    def picked_gradient(self) -> tuple[tf.Tensor, tf.Tensor]:
        """``(rows placeholder (N,) int64, d sum_i output[i, rows[i]] / d input_ph)``: row ``i`` is
        the gradient of sample ``i``'s output ``rows[i]``."""

        def build() -> tuple[tf.Tensor, tf.Tensor]:
            rows = v1.placeholder(tf.int64, (None,), name="rows")
            picked = tf.gather(self.output, rows, axis=1, batch_dims=1)
            return rows, tf.gradients(tf.reduce_sum(picked), self.input_ph)[0]

        pair: tuple[tf.Tensor, tf.Tensor] = self._cached(("picked",), build)
        return pair

    def class_gradients(self) -> tf.Tensor:
        """``(N, nb_classes, *input_shape)``: the gradient of every output column, one tensor."""

        def build() -> tf.Tensor:
            grads = [
                tf.gradients(tf.reduce_sum(self.output[:, k]), self.input_ph)[0]
                for k in range(self.nb_classes)
            ]
            return tf.stack(grads, axis=1)

        stacked: tf.Tensor = self._cached(("class_gradients",), build)
        return stacked

    def default_train(self, loss: tf.Tensor) -> tuple[tf.Operation, list[tf.Variable]]:
        """A ``tf.compat.v1.train.AdamOptimizer`` (learning rate 1e-3) step minimising the mean of
        ``loss`` over the graph's trainable variables, and the optimizer's own variables (to be
        initialised once).

        Raises
        ------
        ParameterError
            The graph has no trainable variables that ``loss`` depends on (e.g. a frozen graph).
        """

        def build() -> tuple[tf.Operation, list[tf.Variable]]:
            variables = list(self.graph.get_collection(v1.GraphKeys.TRAINABLE_VARIABLES))
            grads = tf.gradients(tf.reduce_mean(loss), variables) if variables else []
            pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
            if not pairs:
                raise ParameterError(
                    "train: fit needs a train op or trainable variables that the loss depends on; "
                    "the graph has none (a frozen GraphDef holds constants)"
                )
            optimizer = v1.train.AdamOptimizer(1e-3)
            step = optimizer.apply_gradients(pairs)
            return step, list(optimizer.variables())

        built: tuple[tf.Operation, list[tf.Variable]] = self._cached(
            ("default_train", loss.name), build
        )
        return built


# ---------------------------------------------------------------------------------- running


def run_batched(
    sess: Any,
    fetch: Any,
    input_ph: tf.Tensor,
    x: NDArray[Any],
    batch_size: int,
    feeds: Mapping[Any, Any],
    per_sample: Mapping[Any, NDArray[Any]] | None = None,
) -> NDArray[Any]:
    """``sess.run(fetch)`` over ``x`` in batches, concatenated on axis 0.

    ``per_sample`` feeds are sliced like ``x``. When ``input_ph`` has a fixed batch size, every
    run gets exactly that many rows: ``batch_size`` is replaced by it and the last batch is padded
    with zeros (their outputs dropped; samples never interact, so the kept rows are unchanged).
    """
    fixed = input_ph.shape[0]
    size = int(fixed) if fixed is not None else batch_size
    n = x.shape[0]
    extra = dict(per_sample or {})
    parts: list[NDArray[Any]] = []
    for i in range(0, n, size):
        xb = x[i : i + size]
        m = xb.shape[0]
        rows = {k: v[i : i + size] for k, v in extra.items()}
        if fixed is not None and m < size:
            xb = _pad(xb, size)
            rows = {k: _pad(v, size) for k, v in rows.items()}
        out = np.asarray(sess.run(fetch, {**feeds, input_ph: xb, **rows}))
        parts.append(out[:m])
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def _pad(arr: NDArray[Any], size: int) -> NDArray[Any]:
    pad = np.zeros((size - arr.shape[0], *arr.shape[1:]), dtype=arr.dtype)
    return np.concatenate([arr, pad])


# ---------------------------------------------------------------------------------- GraphDefs


def freeze(sess: Any, tensors: Sequence[tf.Tensor], full: str) -> None:
    """Write the subgraph that computes ``tensors`` to ``full`` as a frozen binary GraphDef
    (variables replaced by constants holding the session's current values)."""
    graph = tensors[0].graph
    names = [t.op.name for t in tensors]
    with graph.as_default():
        frozen = v1.graph_util.convert_variables_to_constants(sess, graph.as_graph_def(), names)
    parent = os.path.dirname(full)
    if parent:
        os.makedirs(parent, exist_ok=True)
    with open(full, "wb") as fh:
        fh.write(frozen.SerializeToString())


def load_graph_def(path: str | os.PathLike[str]) -> tf.Graph:
    """A new ``tf.Graph`` holding the binary GraphDef at ``path`` (imported with the names it
    has, no prefix).

    Raises
    ------
    ParameterError
        No such file, or the file is not a binary GraphDef.
    """
    full = os.fspath(path)
    if not os.path.isfile(full):
        raise ParameterError(f"path: expected an existing frozen GraphDef (.pb) file, got {full!r}")
    graph_def = v1.GraphDef()
    try:
        with open(full, "rb") as fh:
            graph_def.ParseFromString(fh.read())
    except Exception as exc:  # protobuf's DecodeError, or anything a corrupt file raises
        raise ParameterError(
            f"path: expected a binary GraphDef, could not parse {full!r} ({type(exc).__name__})"
        ) from exc
    graph = tf.Graph()
    with graph.as_default():
        v1.import_graph_def(graph_def, name="")
    return graph


def copy_graph(sess: Any, graph: tf.Graph) -> tuple[tf.Graph, Any]:
    """A copy of ``graph`` (its meta graph, collections included) in a new graph, and a new
    session on it holding the current value of every global variable that ``sess`` has
    initialised (the others stay uninitialised). Nothing is added to ``graph``."""
    with graph.as_default():
        meta = v1.train.export_meta_graph(graph=graph)
    variables = list(graph.get_collection(v1.GraphKeys.GLOBAL_VARIABLES))
    try:
        values = list(sess.run(variables))
    except tf.errors.OpError:  # some are uninitialised: read them one by one
        values = []
        for var in variables:
            try:
                values.append(sess.run(var))
            except tf.errors.OpError:
                values.append(None)
    new = tf.Graph()
    with new.as_default():
        v1.train.import_meta_graph(meta)
        copies = {v.name: v for v in new.get_collection(v1.GraphKeys.GLOBAL_VARIABLES)}
        pairs = [(copies[v.name], val) for v, val in zip(variables, values)
                 if val is not None and v.name in copies]
        feeds = {var.initial_value: val for var, val in pairs}
    new_sess = v1.Session(graph=new)
    new_sess.run([var.initializer for var, _ in pairs], feeds)
    return new, new_sess
