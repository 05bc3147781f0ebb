"""The helper object both TensorFlow adapters compose: validation, preprocessing on the TF side,
predictions, per-sample losses, gradients, activations and the training loops.

Pipeline of every forward pass: validated input (numpy or ``tf.Tensor``, cast to the model's dtype)
-> numpy preprocessing defences (:meth:`PreprocessingChain.defend_vjp`) -> standardisation as TF ops
from constants built once -> the model. Gradients are taken with ``tf.GradientTape`` with respect
to the defended input, then pulled back through the defences in numpy, so they are with respect to
the raw input.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar, cast

import numpy as np
import tensorflow as tf
from numpy.typing import ArrayLike, NDArray

from trustml._losses import reduce_losses
from trustml.errors import InputValueError, ParameterError, ParameterTypeError
from trustml.labels import class_gradient_targets, to_index
from trustml.preprocessing import PreprocessingChain, Pullback
from trustml.protocols import Reduction
from trustml.rng import SeedLike, as_generator
from trustml.validation import (
    check_batch,
    check_batch_size,
    check_nonempty,
    check_reduction,
    check_shape,
)

from ._layers import LayerAccess
from ._losses import PerSampleLoss
from ._model import ModelCall
from ._transforms import LayerTransforms

__all__ = ["Step", "TFRuntime", "traced"]

Step = Callable[[tf.Tensor, NDArray[np.int64]], None]
"""One training step on a standardised batch and its index labels."""


def _identity(grad: NDArray[Any]) -> NDArray[Any]:
    return grad


_F = TypeVar("_F", bound=Callable[..., Any])


def traced(fn: _F) -> _F:
    """``tf.function(fn, reduce_retracing=True)``. ``fn`` goes in through a ``functools.partial``
    so that TF keys its call statistics by this adapter's function rather than by the shared code
    object: each adapter traces its kernels once, which is not the "frequent retracing" TF warns
    about when several adapters exist."""
    return cast(_F, tf.function(functools.partial(fn), reduce_retracing=True))


class TFRuntime:
    """Shared machinery of :class:`TensorFlowV2Classifier` and :class:`KerasClassifier`.

    Parameters
    ----------
    call : ModelCall
        ``(standardised batch, training) -> outputs``.
    nb_classes : int
    input_shape : tuple of int
    dtype : tf.DType
        The model's computation dtype; inputs are cast to it, gradients come back in it.
    chain : PreprocessingChain
    loss : PerSampleLoss
    layers : LayerAccess
    compiled : bool
        Whether predictions, losses and gradients run inside ``tf.function`` (see
        :func:`._model.traceable`); else eagerly.
    """

    def __init__(
        self,
        *,
        call: ModelCall,
        nb_classes: int,
        input_shape: tuple[int, ...],
        dtype: tf.DType,
        chain: PreprocessingChain,
        loss: PerSampleLoss,
        layers: LayerAccess,
        compiled: bool,
    ) -> None:
        self.call = call
        self.nb_classes = nb_classes
        self.input_shape = input_shape
        self.dtype = dtype
        self.np_dtype: np.dtype[Any] = np.dtype(dtype.as_numpy_dtype)
        self.chain = chain
        self.loss = loss
        self.layers = layers
        std = chain.standardisation
        self._std: tuple[tf.Tensor, tf.Tensor] | None = (
            None
            if std.is_identity
            else (tf.constant(std.subtrahend, dtype=dtype), tf.constant(std.divisor, dtype=dtype))
        )
        self._defended = any(d.apply_predict for d in chain.defences)
        self.compiled = compiled
        self.transforms = LayerTransforms(layers, self._probe)
        self._kernels(compiled)

    def _probe(self) -> Any:
        zeros = tf.zeros((1, *self.input_shape), dtype=self.dtype)
        return self.call(self.standardise(zeros), False)

    def set_activation_transform(self, layer: Any, transform: Any) -> None:
        """See :meth:`LayerTransforms.set`; the traced kernels are rebuilt when the set of
        transformed layers changes (values alone are variables the traces read)."""
        if self.transforms.set(layer, transform):
            self._kernels(self.compiled)

    # ------------------------------------------------------------------ inputs

    def validated(self, x: Any, name: str = "x") -> tf.Tensor | NDArray[Any]:
        """``x`` checked (shape, real numeric, finite) and cast to the model dtype: a new numpy
        array, or a ``tf.Tensor`` when ``x`` is one (kept in TF, so a caller's tape sees it)."""
        if isinstance(x, tf.Tensor):
            check_shape(tuple(x.shape), self.input_shape, name)
            if not (x.dtype.is_floating or x.dtype.is_integer or x.dtype.is_bool):
                raise InputValueError(f"{name}: expected a real numeric tensor, got {x.dtype.name}")
            t = tf.cast(x, self.dtype)
            if not bool(tf.reduce_all(tf.math.is_finite(t))):
                raise InputValueError(f"{name}: expected finite values, got NaN/inf entries")
            return t
        return check_batch(x, self.input_shape, dtype=self.np_dtype, name=name)

    def defended(self, x: tf.Tensor | NDArray[Any]) -> tuple[tf.Tensor, Pullback]:
        """Predict-time defences (numpy) with their pullback; the result as a tensor."""
        if not self._defended:
            return tf.convert_to_tensor(x), _identity
        arr = x.numpy() if isinstance(x, tf.Tensor) else x
        out, pullback = self.chain.defend_vjp(arr)
        return tf.constant(np.asarray(out, dtype=self.np_dtype)), pullback

    def standardise(self, x: tf.Tensor) -> tf.Tensor:
        """``(x - subtrahend) / divisor`` as TF ops (skipped for the identity)."""
        if self._std is None:
            return x
        return (x - self._std[0]) / self._std[1]

    def outputs(self, x: tf.Tensor) -> tf.Tensor:
        """Model outputs (inference mode) for a defended batch."""
        return tf.convert_to_tensor(self.call(self.standardise(x), False))

    def labels(self, y: ArrayLike, n: int, name: str = "y") -> NDArray[np.int64]:
        return to_index(y, self.nb_classes, n=n, name=name)

    # ------------------------------------------------------------------ inference

    def predict(self, x: Any, batch_size: int) -> NDArray[np.float32]:
        size = check_batch_size(batch_size)
        xd, _ = self.defended(self.validated(x))
        n = int(xd.shape[0] or 0)
        if n == 0:
            return np.zeros((0, self.nb_classes), dtype=np.float32)
        with self.transforms.installed():
            parts = [self._forward(xd[i : i + size]).numpy() for i in range(0, n, size)]
        preds = np.concatenate(parts).astype(np.float32, copy=False)
        return self.chain.postprocess(preds)

    def compute_loss(self, x: Any, y: ArrayLike, reduction: Reduction) -> NDArray[Any]:
        check_reduction(reduction)
        xv = self.validated(x)
        idx = self.labels(y, int(xv.shape[0] or 0))
        xd, _ = self.defended(xv)
        with self.transforms.installed():
            losses = (
                self._losses(xd, tf.constant(idx)).numpy()
                if idx.size else np.zeros(0, self.np_dtype)
            )
        return reduce_losses(losses, reduction, self.np_dtype)

    def loss_from_predictions(self, pred: Any, y: ArrayLike, reduction: Reduction) -> NDArray[Any]:
        """The per-sample loss of given outputs ``(N, nb_classes)``, optionally reduced."""
        check_reduction(reduction)
        if isinstance(pred, tf.Tensor):
            pred = pred.numpy()
        scores = check_batch(pred, (self.nb_classes,), dtype=self.np_dtype, name="pred")
        idx = self.labels(y, scores.shape[0])
        losses = (
            np.asarray(self.loss(tf.constant(scores), tf.constant(idx)))
            if idx.size else np.zeros(0, self.np_dtype)
        )
        return reduce_losses(losses, reduction, self.np_dtype)

    def loss_gradient(self, x: Any, y: ArrayLike) -> NDArray[Any]:
        xv = self.validated(x)
        idx = self.labels(y, int(xv.shape[0] or 0))
        xd, pullback = self.defended(xv)
        if not idx.size:
            return np.zeros((0, *self.input_shape), dtype=self.np_dtype)
        with self.transforms.installed():
            grad = self._loss_gradient(xd, tf.constant(idx)).numpy()
        return np.asarray(pullback(grad), dtype=self.np_dtype)

    def class_gradient(self, x: Any, label: Any) -> NDArray[Any]:
        xv = self.validated(x)
        n = int(xv.shape[0] or 0)
        rows = self._class_rows(label, n)
        xd, pullback = self.defended(xv)
        k = self.nb_classes if rows is None else 1
        if n == 0:
            return np.zeros((0, k, *self.input_shape), dtype=self.np_dtype)
        picks = [np.full(n, c, np.int64) for c in range(k)] if rows is None else [rows]
        with self.transforms.installed():
            grads = [pullback(self._picked_gradient(xd, tf.constant(r)).numpy()) for r in picks]
        return np.stack(grads, axis=1).astype(self.np_dtype, copy=False)

    # ------------------------------------------------------------------ kernels (maybe traced)

    def _kernels(self, compiled: bool) -> None:
        """The four hot paths on a defended batch, traced once with ``tf.function`` when
        ``compiled`` (shape-generic after the second batch size, ``reduce_retracing``)."""

        def forward(x: tf.Tensor) -> tf.Tensor:
            return self.outputs(x)

        def losses(x: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
            return self.loss(self.outputs(x), labels)

        def loss_gradient(x: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
            with tf.GradientTape() as tape:
                tape.watch(x)
                total = tf.reduce_sum(self.loss(self.outputs(x), labels))
            return tf.convert_to_tensor(tape.gradient(total, x))

        def picked_gradient(x: tf.Tensor, rows: tf.Tensor) -> tf.Tensor:
            """Gradient of ``sum_i outputs[i, rows[i]]``: row i is d outputs[i, rows[i]] / d x_i."""
            with tf.GradientTape() as tape:
                tape.watch(x)
                total = tf.reduce_sum(tf.gather(self.outputs(x), rows, axis=1, batch_dims=1))
            return tf.convert_to_tensor(tape.gradient(total, x))

        if compiled:
            forward = traced(forward)
            losses = traced(losses)
            loss_gradient = traced(loss_gradient)
            picked_gradient = traced(picked_gradient)
        self._forward = forward
        self._losses = losses
        self._loss_gradient = loss_gradient
        self._picked_gradient = picked_gradient

    def _class_rows(self, label: Any, n: int) -> NDArray[np.int64] | None:
        return class_gradient_targets(label, self.nb_classes, n)

    def activations(
        self, x: Any, layer: int | str, batch_size: int, framework: bool
    ) -> tf.Tensor | NDArray[Any]:
        index = self.layers.resolve(layer)
        size = check_batch_size(batch_size)
        xd, _ = self.defended(self.validated(x))
        n = int(xd.shape[0] or 0)
        with self.transforms.installed():
            if n == 0:
                probe = tf.zeros((1, *self.input_shape), dtype=self.dtype)
                out = self.layers.output(self.standardise(probe), index)[:0]
                return out if framework else out.numpy()
            parts = [
                self.layers.output(self.standardise(xd[i : i + size]), index)
                for i in range(0, n, size)
            ]
        result = parts[0] if len(parts) == 1 else tf.concat(parts, axis=0)
        return result if framework else result.numpy()

    def multi_activations(
        self, x: Any, layers: Any, batch_size: int, framework: bool
    ) -> list[Any]:
        """Several layers' outputs, one forward pass per batch (``MultiLayerActivations``)."""
        if isinstance(layers, (str, int)) or not hasattr(layers, "__iter__"):
            raise ParameterError(f"layers: expected a list of layer ids, got {layers!r}")
        indices = [self.layers.resolve(layer) for layer in layers]
        if not indices:
            raise ParameterError("layers: expected at least one layer id, got []")
        size = check_batch_size(batch_size)
        xd, _ = self.defended(self.validated(x))
        n = int(xd.shape[0] or 0)
        with self.transforms.installed():
            if n == 0:
                probe = tf.zeros((1, *self.input_shape), dtype=self.dtype)
                batches = [[o[:0] for o in self.layers.outputs(self.standardise(probe), indices)]]
            else:
                batches = [
                    self.layers.outputs(self.standardise(xd[i : i + size]), indices)
                    for i in range(0, n, size)
                ]
        results = [
            col[0] if len(col) == 1 else tf.concat(list(col), axis=0)
            for col in zip(*batches, strict=True)
        ]
        return results if framework else [r.numpy() for r in results]

    # ------------------------------------------------------------------ training

    def fit(
        self,
        x: ArrayLike,
        y: ArrayLike,
        batch_size: int,
        nb_epochs: int,
        seed: SeedLike,
        step: Step,
    ) -> None:
        """Everything is validated before the first step; batches are reshuffled every epoch with
        a generator drawn from ``seed``."""
        arr = check_batch(x, self.input_shape, dtype=self.np_dtype)
        check_nonempty(arr.shape[0])
        idx = self.labels(y, arr.shape[0])
        size = check_batch_size(batch_size)
        epochs = check_batch_size(nb_epochs, "nb_epochs")
        rng = as_generator(seed)
        pre, _ = self.chain(arr, None, fit=True)
        pre = np.asarray(pre, dtype=self.np_dtype)
        n = arr.shape[0]
        with self.transforms.fitting():
            for _ in range(epochs):
                order = rng.permutation(n)
                for i in range(0, n, size):
                    batch = order[i : i + size]
                    step(tf.constant(pre[batch]), idx[batch])

    def fit_generator(
        self, generator: Iterable[tuple[Any, Any]], nb_epochs: int, step: Step
    ) -> None:
        """Train on ``(x, y)`` batches (numpy or tensors; a ``tf.data.Dataset`` included), the
        iterable re-iterated once per epoch. Each batch is validated before its step; when a batch
        is refused after earlier steps, the model's variables (and a compiled model's optimizer
        variables) are put back as they were before the call."""
        epochs = check_batch_size(nb_epochs, "nb_epochs")
        if not isinstance(generator, Iterable):
            raise ParameterTypeError(
                f"generator: expected an iterable of (x, y) batches (e.g. a tf.data.Dataset), "
                f"got {type(generator).__name__}"
            )
        if epochs > 1 and isinstance(generator, Iterator):
            raise ParameterTypeError(
                "generator: expected a re-iterable source of batches (a tf.data.Dataset, a list) "
                f"for nb_epochs={epochs}, got a one-shot iterator ({type(generator).__name__})"
            )
        snapshot = self._snapshot()
        try:
            with self.transforms.fitting():
                self._fit_epochs(generator, epochs, step)
        except BaseException:
            for variable, value in snapshot:
                variable.assign(value)
            raise

    def _snapshot(self) -> list[tuple[Any, Any]]:
        """``(variable, copy of its value)`` for the model's variables and, for a compiled Keras
        model, its optimizer's."""
        model = self.layers.model
        variables = list(getattr(model, "variables", None) or [])
        optimizer = getattr(model, "optimizer", None)
        variables += list(getattr(optimizer, "variables", None) or [])
        return [(v, np.array(v.numpy(), copy=True)) for v in variables]

    def _fit_epochs(self, generator: Iterable[tuple[Any, Any]], epochs: int, step: Step) -> None:
        for epoch in range(epochs):
            count = 0
            for item in generator:
                try:
                    xb, yb = item
                except (TypeError, ValueError):
                    raise ParameterError(
                        f"generator: expected (x, y) pairs, got {type(item).__name__}"
                    ) from None
                xb = xb.numpy() if isinstance(xb, tf.Tensor) else xb
                yb = yb.numpy() if isinstance(yb, tf.Tensor) else yb
                arr = check_batch(xb, self.input_shape, dtype=self.np_dtype, name="generator x")
                check_nonempty(arr.shape[0], "generator x")
                idx = self.labels(yb, arr.shape[0], name="generator y")
                pre, _ = self.chain(arr, None, fit=True)
                step(tf.constant(np.asarray(pre, dtype=self.np_dtype)), idx)
                count += 1
            if count == 0:
                raise ParameterError(
                    f"generator: expected at least one batch per epoch, got none in epoch {epoch} "
                    f"(a one-shot iterator cannot be re-iterated; pass a re-iterable)"
                )
