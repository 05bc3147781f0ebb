"""``TensorFlowV1Classifier``: a ``tf.compat.v1`` graph and session (TF1-era models, frozen
GraphDefs) with the full trustml contract, inside TensorFlow 2."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal, overload

import numpy as np
import tensorflow as tf
from numpy.typing import ArrayLike, NDArray
from tensorflow.compat import v1

from trustml._losses import reduce_losses
from trustml.errors import ParameterError, ParameterTypeError
from trustml.labels import to_index
from trustml.preprocessing import (
    Postprocessor,
    PreprocessingChain,
    PreprocessingLike,
    Preprocessor,
    Pullback,
    check_channels_first,
)
from trustml.protocols import Reduction
from trustml.rng import SeedLike, as_generator
from trustml.validation import (
    ClipValuesLike,
    check_batch,
    check_batch_size,
    check_clip_values,
    check_reduction,
)

from ._v1_checks import (
    as_tensor,
    check_feed_dict,
    check_labels_ph,
    check_loss,
    class_rows,
    input_shape_of,
    nb_classes_of,
)
from ._v1_graph import (
    GraphOps,
    layer_tensors,
    resolve_layer,
    run_batched,
)
from ._v1_members import V1Members

__all__ = ["TensorFlowV1Classifier"]



class TensorFlowV1Classifier(V1Members):
    """A TensorFlow 1 graph classifier (``tf.compat.v1`` graph and session) with the full trustml
    contract, running inside TensorFlow 2 without touching its global state.

    Capabilities: ``Classifier``, ``Fittable``, ``LossGradients``, ``ClassGradients``,
    ``NeuralNetwork`` (see :mod:`trustml.protocols`). Parameter names are those of ART's
    ``TensorFlowClassifier`` (ART <= 1.19). ``loss_gradient`` is the gradient of the **sum** of
    per-sample losses; ``class_gradient`` differentiates ``output`` as it is.

    Parameters
    ----------
    input_ph : tf.Tensor
        The input placeholder, ``(None or B, *input_shape)`` with a fully known sample shape;
        float32 or float64 (the dtype every result comes back in). It receives the
        **standardised** input.
    output : tf.Tensor
        The model's outputs ``(N, nb_classes)`` (logits or probabilities), computed from
        ``input_ph``; ``nb_classes`` is its last dimension.
    labels_ph : tf.Tensor, optional
        The labels placeholder that ``loss`` and ``train`` read: index labels ``(N,)`` of an integer
        dtype, or one-hot labels ``(N, nb_classes)``. Required with ``loss`` or ``train``.
    train : tf.Operation, optional
        One training step (e.g. ``optimizer.minimize(tf.reduce_mean(loss))``), run by ``fit``. None:
        ``fit`` builds (once) a ``tf.compat.v1.train.AdamOptimizer(1e-3)`` step on the mean loss
        over the graph's trainable variables.
    loss : tf.Tensor, optional
        Per-sample losses ``(N,)`` from ``output`` and ``labels_ph`` (unreduced: a scalar loss is
        refused, since per-sample losses cannot be recovered from it). None: softmax
        cross-entropy with ``output`` taken as **logits**, or, when ``output`` is a ``Softmax``
        op, with the logits that feed it.
    learning : tf.Tensor, optional
        A boolean placeholder for the training phase (dropout, batch norm): fed True by ``fit``,
        False everywhere else.
    sess : tf.compat.v1.Session, optional
        A session on the graph of ``input_ph``, with its variables initialised. None: a new session
        on that graph, whose global variables are initialised by running their initializers.
    channels_first : bool
        Whether the channel axis of images is axis 1 (for per-channel standardisation).
    clip_values : (min, max), optional
        Valid input range; never applied.
    preprocessing_defences, postprocessing_defences : optional
        Numpy defences (gradients pulled back through ``estimate_gradient``).
    preprocessing : (subtrahend, divisor) or Standardisation or None
        Standardisation, applied in numpy before feeding ``input_ph``; gradients are chained back.
    feed_dict : dict, optional
        Extra feeds of every ``sess.run`` (tensors or tensor names to values).

    Raises
    ------
    ParameterTypeError
        A tensor argument is not a graph tensor, ``train`` not an operation, ``sess`` not a
        session, ``feed_dict`` not a mapping.
    ParameterError
        Tensors of different graphs; an ``input_ph`` of unknown sample shape or non-floating
        dtype; ``output`` not ``(N, K)`` with ``K >= 2``; a scalar ``loss``; ``loss`` or ``train``
        without ``labels_ph``; a ``labels_ph`` of the wrong shape; the graph fails on a zero
        sample (e.g. uninitialised variables).

    Notes
    -----
    Every op the adapter needs (the default loss, the loss gradient, the class gradients, the
    default training step) is built in the user's graph on first use, under the ``trustml_v1``
    name scope, and cached: repeated calls never grow the graph (ART's TF1 classifier did).
    ``eval``-mode and global state are never changed: nothing here calls
    ``disable_eager_execution``, so the adapter lives in the same process as the TF2 adapters.

    References
    ----------
    Nicolae et al., "Adversarial Robustness Toolbox v1.0.0", arXiv:1807.01069 (the API names).
    """

    def __init__(
        self,
        input_ph: Any,
        output: Any,
        labels_ph: Any = None,
        train: Any = None,
        loss: Any = None,
        learning: Any = None,
        sess: Any = None,
        channels_first: bool = False,
        clip_values: ClipValuesLike | None = None,
        preprocessing_defences: Preprocessor | Sequence[Preprocessor] | None = None,
        postprocessing_defences: Postprocessor | Sequence[Postprocessor] | None = None,
        preprocessing: PreprocessingLike = (0.0, 1.0),
        feed_dict: dict[Any, Any] | None = None,
    ) -> None:
        inp: tf.Tensor = as_tensor(input_ph, None, "input_ph")
        graph = inp.graph
        out: tf.Tensor = as_tensor(output, graph, "output")
        shape = input_shape_of(inp)
        dtype = inp.dtype
        if not dtype.is_floating:
            raise ParameterError(
                f"input_ph: expected a floating placeholder (float32 or float64), got {dtype.name}"
            )
        classes = nb_classes_of(out)
        lab = None if labels_ph is None else as_tensor(labels_ph, graph, "labels_ph")
        if lab is not None:
            check_labels_ph(lab, classes)
        user_loss = None if loss is None else as_tensor(loss, graph, "loss")
        if user_loss is not None:
            check_loss(user_loss, lab)
        train_op = None if train is None else as_tensor(train, graph, "train", op=True)
        if train_op is not None and lab is None:
            raise ParameterError("train: expected labels_ph with train (the op reads the labels)")
        if isinstance(train_op, tf.Tensor):
            train_op = train_op.op
        phase = None if learning is None else as_tensor(learning, graph, "learning")
        if phase is not None and phase.dtype.name != "bool":
            raise ParameterError(
                f"learning: expected a boolean placeholder, got dtype {phase.dtype.name}"
            )
        feeds = check_feed_dict(feed_dict, graph)
        first = check_channels_first(channels_first)
        clip = check_clip_values(clip_values, shape)
        chain = PreprocessingChain(
            preprocessing,
            input_shape=shape,
            channels_first=first,
            preprocessing_defences=preprocessing_defences,
            postprocessing_defences=postprocessing_defences,
        )
        own_session = sess is None
        if own_session:
            sess = v1.Session(graph=graph)
            sess.run([v.initializer for v in graph.get_collection(v1.GraphKeys.GLOBAL_VARIABLES)])
        elif not isinstance(sess, v1.Session) or sess.graph is not graph:
            what = type(sess).__name__ if not isinstance(sess, v1.Session) else "another graph"
            raise ParameterTypeError(
                f"sess: expected a tf.compat.v1.Session on the graph of input_ph, got {what}"
            )
        self._input_ph = inp
        self._output = out
        self._labels_ph = lab
        self._train = train_op
        self._loss = user_loss
        self._learning = phase
        self._sess = sess
        self._feed_dict = feeds
        self._raw_feed_dict = feed_dict
        self._channels_first = first
        self._raw_clip_values = clip_values
        self._clip_values = clip
        self._chain = chain
        self._input_shape = shape
        self._nb_classes = classes
        self._np_dtype: np.dtype[Any] = np.dtype(dtype.as_numpy_dtype)
        self._plain = chain.standardisation.is_identity and not any(
            d.apply_predict for d in chain.defences
        )
        self._ops = GraphOps(inp, out, classes)
        self._optimizer_ready = False
        self._layers = layer_tensors(inp, out)
        self._layer_names = [t.name for t in self._layers]
        try:
            self._run(out, np.zeros((1, *shape), dtype=self._np_dtype), 1)
        except Exception as exc:  # the user's graph may fail in any way
            if own_session:
                sess.close()
            raise ParameterError(
                f"output: the graph failed on a zero sample of shape {(1, *shape)} "
                f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); are "
                f"its variables initialised in sess?"
            ) from exc

    def predict(self, x: ArrayLike, batch_size: int = 128) -> NDArray[np.float32]:
        """Outputs ``(N, nb_classes)`` float32 after the postprocessing defences; ``x`` is
        ``(N, *input_shape)``, run ``batch_size`` samples per ``sess.run``.

        Raises
        ------
        InputShapeError, InputValueError, ParameterError
        """
        size = check_batch_size(batch_size)
        xs, _ = self._prepared(self._validated(x))
        if xs.shape[0] == 0:
            return np.zeros((0, self._nb_classes), dtype=np.float32)
        preds = self._run(self._output, xs, size).astype(np.float32, copy=False)
        return self._chain.postprocess(preds)

    # ------------------------------------------------------------------ LossGradients

    def compute_loss(
        self, x: ArrayLike, y: ArrayLike, reduction: Reduction = "none"
    ) -> NDArray[Any]:
        """Loss of each sample: ``(N,)`` (``"none"``) or 0-d (``"mean"``, ``"sum"``), in the dtype
        of ``input_ph``; ``y`` index ``(N,)`` or one-hot ``(N, nb_classes)``.

        Raises
        ------
        InputShapeError, InputValueError, LabelError, ParameterError
        """
        check_reduction(reduction)
        xv = self._validated(x)
        idx = to_index(y, self._nb_classes, n=xv.shape[0], name="y")
        xs, _ = self._prepared(xv)
        loss, labels = self._loss_and_labels(idx)
        losses = (
            self._run(loss, xs, 128, labels).astype(self._np_dtype, copy=False)
            if idx.size
            else np.zeros(0, self._np_dtype)
        )
        return reduce_losses(losses, reduction, self._np_dtype)

    def compute_loss_from_predictions(
        self, pred: ArrayLike, y: ArrayLike, reduction: Reduction = "none"
    ) -> NDArray[Any]:
        """The loss of given outputs (ART's ``compute_loss_from_predictions``): the loss tensor
        evaluated with ``pred`` fed in place of ``output`` (no forward pass), so it equals
        ``compute_loss(x, y)`` on ``predict(x)`` (to float rounding) when no postprocessing
        defence changes ``predict``.

        Parameters
        ----------
        pred : array_like
            ``(N, nb_classes)`` values of ``output``, cast to its dtype.
        y : array_like
            Index labels ``(N,)`` or one-hot labels ``(N, nb_classes)``.
        reduction : {"none", "mean", "sum"}

        Returns
        -------
        numpy.ndarray
            ``(N,)`` for ``"none"``, else 0-d; in the dtype of ``input_ph``.

        Raises
        ------
        InputShapeError
            ``pred`` is not ``(N, nb_classes)``.
        ParameterError
            A bad ``reduction``; a user ``loss`` that reads ``input_ph`` other than through
            ``output`` (it cannot be evaluated from outputs alone).
        InputValueError, LabelError
        """
        check_reduction(reduction)
        out_dtype = np.dtype(self._output.dtype.as_numpy_dtype)
        scores = check_batch(pred, (self._nb_classes,), dtype=out_dtype, name="pred")
        idx = to_index(y, self._nb_classes, n=scores.shape[0], name="y")
        loss, labels = self._loss_and_labels(idx)
        losses = np.zeros(0, self._np_dtype)
        if idx.size:
            feeds = {**self._feeds(), self._output: scores, **labels}
            try:
                losses = np.asarray(self._sess.run(loss, feeds), dtype=self._np_dtype)
            except tf.errors.InvalidArgumentError as exc:
                raise ParameterError(
                    f"loss: expected a loss computed from output alone, got one that needs "
                    f"input_ph too ({exc.message.splitlines()[0]})"
                ) from exc
        return reduce_losses(losses, reduction, self._np_dtype)

    def loss_gradient(self, x: ArrayLike, y: ArrayLike) -> NDArray[Any]:
        """Gradient of the summed per-sample loss with respect to the raw ``x`` (shape of ``x``,
        dtype of ``input_ph``), chained through standardisation and defences.

        Raises
        ------
        InputShapeError, InputValueError, LabelError
        """
        xv = self._validated(x)
        idx = to_index(y, self._nb_classes, n=xv.shape[0], name="y")
        xs, pullback = self._prepared(xv)
        if not idx.size:
            return np.zeros((0, *self._input_shape), dtype=self._np_dtype)
        loss, labels = self._loss_and_labels(idx)
        grad = self._run(self._ops.loss_gradient(loss), xs, 128, labels)
        return np.asarray(pullback(grad), dtype=self._np_dtype)

    # ------------------------------------------------------------------ ClassGradients

    def class_gradient(self, x: ArrayLike, label: int | ArrayLike | None = None) -> NDArray[Any]:
        """Gradients of ``output`` with respect to the raw ``x``: ``(N, nb_classes,
        *input_shape)`` for ``label=None``, else ``(N, 1, *input_shape)``; ``label`` an int (every
        sample), index labels ``(N,)`` or one-hot labels ``(N, nb_classes)``.

        Raises
        ------
        InputShapeError, InputValueError, LabelError
        """
        xv = self._validated(x)
        n = xv.shape[0]
        rows = class_rows(label, self._nb_classes, n)
        xs, pullback = self._prepared(xv)
        k = self._nb_classes if rows is None else 1
        if n == 0:
            return np.zeros((0, k, *self._input_shape), dtype=self._np_dtype)
        if rows is None:
            grads = self._run(self._ops.class_gradients(), xs, 128)
            pulled = [pullback(grads[:, c]) for c in range(k)]
            return np.stack(pulled, axis=1).astype(self._np_dtype, copy=False)
        rows_ph, grad_t = self._ops.picked_gradient()
        grad = self._run(grad_t, xs, 128, {rows_ph: rows})
        return np.asarray(pullback(grad), dtype=self._np_dtype)[:, None]

    # ------------------------------------------------------------------ NeuralNetwork

    @property
    def layer_names(self) -> list[str]:
        """Tensor names of the layers in execution order: the output of each top-level name scope
        on the path from ``input_ph`` to ``output`` (``output`` last)."""
        return list(self._layer_names)

    @overload
    def get_activations(
        self,
        x: ArrayLike,
        layer: int | str,
        batch_size: int = 128,
        framework: Literal[False] = False,
    ) -> NDArray[Any]: ...

    @overload
    def get_activations(
        self, x: ArrayLike, layer: int | str, batch_size: int, framework: Literal[True]
    ) -> tf.Tensor: ...

    @overload
    def get_activations(
        self, x: ArrayLike, layer: int | str, *, framework: Literal[True]
    ) -> tf.Tensor: ...

    def get_activations(
        self, x: ArrayLike, layer: int | str, batch_size: int = 128, framework: bool = False
    ) -> Any:
        """Output of ``layer`` for the raw ``x``: ``(N, *layer_output_shape)`` numpy.

        ``layer`` is an index into :attr:`layer_names` (negative from the end), a name in it, or
        the name of any tensor (``"scope/op:0"``) or op (its first output) computed from
        ``input_ph``. With ``framework=True`` the layer's **graph tensor** is returned (as ART's
        TF1 classifier), to build further ops on; it is a function of ``input_ph``, which takes
        the standardised input (``x`` is validated, not run).

        Raises
        ------
        ParameterError
            Unknown layer, index out of range, or a tensor not computed from ``input_ph``.
        InputShapeError, InputValueError
        """
        tensor = resolve_layer(layer, self._layer_names, self._layers, self._input_ph)
        size = check_batch_size(batch_size)
        xs, _ = self._prepared(self._validated(x))
        if framework:
            return tensor
        if xs.shape[0] == 0:
            probe = self._run(tensor, np.zeros((1, *self._input_shape), self._np_dtype), 1)
            return probe[:0]
        return self._run(tensor, xs, size)

    # ------------------------------------------------------------------ Fittable

    def fit(
        self,
        x: ArrayLike,
        y: ArrayLike,
        batch_size: int = 128,
        nb_epochs: int = 20,
        *,
        seed: SeedLike = None,
    ) -> None:
        """Train in place: ``train`` (or the default Adam step, see the class) on batches of
        ``batch_size`` samples, reshuffled every epoch from ``seed``, with ``learning`` fed True.
        Labels go to ``labels_ph`` in its format.

        Raises
        ------
        InputShapeError, InputValueError, LabelError, ParameterError
            Before any training step; the variables are unchanged.
        """
        arr = check_batch(x, self._input_shape, dtype=self._np_dtype)
        idx = to_index(y, self._nb_classes, n=arr.shape[0], name="y")
        size = check_batch_size(batch_size)
        epochs = check_batch_size(nb_epochs, "nb_epochs")
        rng = as_generator(seed)
        step = self._train_step()
        pre, _ = self._chain(arr, None, fit=True)
        n = arr.shape[0]
        for _ in range(epochs):
            order = rng.permutation(n)
            for i in range(0, n, size):
                batch = order[i : i + size]
                step(np.asarray(pre[batch], dtype=self._np_dtype), idx[batch])

    def fit_generator(self, generator: Iterable[tuple[Any, Any]], nb_epochs: int = 20) -> None:
        """Train on ``(x, y)`` batches (numpy or tensors), the iterable re-iterated every epoch.

        Raises
        ------
        ParameterTypeError, ParameterError, InputShapeError, LabelError
            A malformed batch stops training at that batch.
        """
        epochs = check_batch_size(nb_epochs, "nb_epochs")
        if not isinstance(generator, Iterable):
            raise ParameterTypeError(
                f"generator: expected an iterable of (x, y) batches, got "
                f"{type(generator).__name__}"
            )
        step = self._train_step()
        for epoch in range(epochs):
            count = 0
            for item in generator:
                try:
                    xb, yb = item
                except (TypeError, ValueError):
                    raise ParameterError(
                        f"generator: expected (x, y) pairs, got {type(item).__name__}"
                    ) from None
                arr = check_batch(xb, self._input_shape, dtype=self._np_dtype, name="generator x")
                idx = to_index(yb, self._nb_classes, n=arr.shape[0], name="generator y")
                pre, _ = self._chain(arr, None, fit=True)
                step(np.asarray(pre, dtype=self._np_dtype), idx)
                count += 1
            if count == 0:
                raise ParameterError(
                    f"generator: expected at least one batch per epoch, got none in epoch {epoch} "
                    f"(a one-shot iterator cannot be re-iterated; pass a re-iterable)"
                )

    # ------------------------------------------------------------------ internals

    def _validated(self, x: ArrayLike) -> NDArray[Any]:
        return check_batch(x, self._input_shape, dtype=self._np_dtype)

    def _prepared(self, xv: NDArray[Any]) -> tuple[NDArray[Any], Pullback]:
        """Predict-time defences and standardisation of a validated batch (already a copy, so
        used as it is when both are identities) with the pullback to the raw input."""
        if self._plain:
            return xv, _identity
        return self._chain.vjp(xv)

    def _feeds(self, training: bool = False) -> dict[Any, Any]:
        if self._learning is None:
            return self._feed_dict
        return {**self._feed_dict, self._learning: training}

    def _run(
        self,
        fetch: Any,
        xs: NDArray[Any],
        batch_size: int,
        per_sample: dict[Any, NDArray[Any]] | None = None,
    ) -> NDArray[Any]:
        return run_batched(
            self._sess, fetch, self._input_ph, xs, batch_size, self._feeds(), per_sample
        )

    def _labels_feed(self, idx: NDArray[np.int64]) -> NDArray[Any]:
        """Index labels in the format and dtype of ``labels_ph``."""
        lab = self._labels_ph
        if lab is None:  # pragma: no cover - callers check
            return idx
        np_dtype = np.dtype(lab.dtype.as_numpy_dtype)
        if lab.shape.rank == 1:
            return idx.astype(np_dtype)
        out = np.zeros((idx.shape[0], self._nb_classes), dtype=np_dtype)
        out[np.arange(idx.shape[0]), idx] = 1
        return out

    def _loss_and_labels(
        self, idx: NDArray[np.int64]
    ) -> tuple[tf.Tensor, dict[Any, NDArray[Any]]]:
        if self._loss is not None and self._labels_ph is not None:
            return self._loss, {self._labels_ph: self._labels_feed(idx)}
        labels, loss = self._ops.cross_entropy()
        return loss, {labels: idx}

    def _train_step(self) -> Any:
        """``(standardised batch, index labels) -> None``; builds the default step on first use."""
        if self._train is not None:
            op = self._train

            def user(xb: NDArray[Any], idx: NDArray[np.int64]) -> None:
                feeds = {**self._feeds(True), self._input_ph: xb}
                if self._labels_ph is not None:
                    feeds[self._labels_ph] = self._labels_feed(idx)
                self._sess.run(op, feeds)

            return user
        loss, _ = self._loss_and_labels(np.zeros(0, np.int64))
        step, slots = self._ops.default_train(loss)
        if not self._optimizer_ready:
            self._sess.run([v.initializer for v in slots])
            self._optimizer_ready = True

        def default(xb: NDArray[Any], idx: NDArray[np.int64]) -> None:
            _, labels = self._loss_and_labels(idx)
            self._sess.run(step, {**self._feeds(True), self._input_ph: xb, **labels})

        return default


def _identity(grad: NDArray[Any]) -> NDArray[Any]:
    return grad
