"""``MXNetClassifier``: a Gluon network behind the trustml capabilities."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml._losses import reduce_losses
from trustml.adapters.mxnet._environment import ensure_mxnet, model_parameters, resolve_ctx
from trustml.adapters.mxnet._shared import PipelineMembers
from trustml.errors import ParameterError, ParameterTypeError
from trustml.labels import check_nb_classes, class_gradient_targets, to_index, to_one_hot
from trustml.preprocessing import (
    Postprocessor,
    PreprocessingChain,
    PreprocessingLike,
    Preprocessor,
    check_channels_first,
)
from trustml.protocols import Reduction
from trustml.rng import SeedLike, as_generator
from trustml.validation import (
    ClipValuesLike,
    check_batch,
    check_batch_size,
    check_clip_values,
    check_input_shape,
    check_nonempty,
    check_reduction,
)

if TYPE_CHECKING:
    import mxnet as mx
    from mxnet import gluon, nd

    from trustml.adapters.mxnet._core import Core

__all__ = ["MXNetClassifier"]


class MXNetClassifier(PipelineMembers):
    """A Gluon network as a trustml classifier with gradients, activations and training.

    Capabilities: :class:`~trustml.protocols.Classifier`, :class:`~trustml.protocols.Fittable`,
    :class:`~trustml.protocols.LossGradients`, :class:`~trustml.protocols.ClassGradients`,
    :class:`~trustml.protocols.NeuralNetwork` (together,
    :class:`~trustml.protocols.NeuralNetworkClassifier`) and
    :class:`~trustml.protocols.ActivationTransforms`. Needs the ``mxnet`` extra, which lives in
    its own environment (mxnet 1.9.1 imports only with numpy < 1.24).

    Parameters
    ----------
    model : mxnet.gluon.Block
        Sequential, HybridSequential, nested or custom blocks, hybridized or not; parameters
        initialised (deferred initialisation is completed by a probe pass at construction). The
        network maps a standardised batch ``(N, *input_shape)`` to scores ``(N, nb_classes)``
        (logits or probabilities: whatever it outputs is what ``predict`` returns and what
        ``class_gradient`` differentiates). The adapter computes in the dtype of the model's first
        parameter (cast the network, e.g. ``model.cast("float64")``, before wrapping).
    loss : mxnet.gluon.loss.Loss
        Per-sample loss ``loss(scores, labels) -> (N,)``, e.g.
        ``gluon.loss.SoftmaxCrossEntropyLoss()``. A loss with ``sparse_label=True`` (the
        SoftmaxCrossEntropyLoss default) receives class indices; any other loss receives one-hot
        labels ``(N, nb_classes)`` in the model's dtype.
    input_shape : tuple of int
        Shape of one sample, e.g. ``(3, 32, 32)``.
    nb_classes : int
        Number of classes (>= 2); must match the model's output width.
    optimizer : gluon.Trainer, mx.optimizer.Optimizer, str, (str, dict) or None
        What :meth:`fit` steps: a ``gluon.Trainer`` over the model's parameters (used as is), or an
        optimizer instance, name (``"sgd"``, ``"adam"``, ...) or ``(name, optimizer_params)`` pair
        such as ``("sgd", {"learning_rate": 0.1, "momentum": 0.9})``, from which the adapter builds
        ``gluon.Trainer(model.collect_params(), name, optimizer_params)`` once. None: Adam with
        learning rate 1e-3 (as the PyTorch and Keras adapters), built on the first ``fit``.
    channels_first : bool
        Whether the channel axis is axis 1 of a batch (Gluon's NCHW default) or the last axis.
    clip_values : (min, max), optional
        Valid input range; scalars or arrays broadcastable to ``input_shape``. Stored, never
        applied.
    preprocessing_defences : Preprocessor or sequence of Preprocessor, optional
        numpy defences applied before standardisation; gradients pass through their
        ``estimate_gradient``.
    postprocessing_defences : Postprocessor or sequence of Postprocessor, optional
        Applied to ``predict``'s scores (not to gradients).
    preprocessing : (subtrahend, divisor), Standardisation or None
        Standardisation ``(x - subtrahend) / divisor`` (per channel on the ``channels_first``
        axis), run in mxnet inside autograd.
    ctx : mx.Context, optional
        Where to compute: ``mx.cpu()`` or ``mx.gpu(i)``. The model's parameters must already be
        initialised there. None: the context of the model's parameters.

    Raises
    ------
    MissingDependencyError
        mxnet is not installed, or numpy >= 1.24 (with which mxnet 1.9.1 cannot be imported).
    UnsupportedModelError
        ``model`` is not a ``gluon.Block``.
    NotFittedError
        The model's parameters were never initialised.
    ParameterError, ParameterTypeError
        A malformed parameter; a model that fails on ``(1, *input_shape)`` or does not output
        ``(N, nb_classes)``; a loss that does not return per-sample values.
    DeviceError
        ``ctx`` is unavailable or does not hold the model's parameters.

    Notes
    -----
    Gradients are taken with ``mxnet.autograd.record(train_mode=False)``, predictions under
    ``autograd.pause(train_mode=False)``: dropout is off and batch normalisation uses its running
    statistics, without touching any state of the model. Training uses ``train_mode=True``.
    MXNet support was removed from IBM's Adversarial Robustness Toolbox (ART) in 1.20; names and
    parameters follow ART's former ``MXClassifier``, except that :meth:`get_activations` runs the
    whole network up to the named block on the *preprocessed* input (ART ran the block alone on
    the raw input).
    """

    def __init__(
        self,
        model: gluon.Block,
        loss: gluon.loss.Loss,
        input_shape: tuple[int, ...],
        nb_classes: int,
        optimizer: Any = None,
        channels_first: bool = True,
        clip_values: ClipValuesLike | None = None,
        preprocessing_defences: Preprocessor | Sequence[Preprocessor] | None = None,
        postprocessing_defences: Postprocessor | Sequence[Postprocessor] | None = None,
        preprocessing: PreprocessingLike = (0.0, 1.0),
        ctx: mx.Context | None = None,
    ) -> None:
        ensure_mxnet()
        from mxnet import gluon

        from trustml.adapters.mxnet import _layers, _training
        from trustml.adapters.mxnet._core import Core

        params = model_parameters(model)
        if not isinstance(loss, gluon.loss.Loss):
            raise ParameterTypeError(
                f"loss: expected a mxnet.gluon.loss.Loss such as "
                f"gluon.loss.SoftmaxCrossEntropyLoss(), got {type(loss).__name__}"
            )
        self._input_shape = check_input_shape(input_shape)
        self._nb_classes = check_nb_classes(nb_classes)
        self._channels_first = check_channels_first(channels_first)
        self._clip_values = check_clip_values(clip_values, self._input_shape)
        self._chain = PreprocessingChain(
            preprocessing,
            input_shape=self._input_shape,
            channels_first=self._channels_first,
            preprocessing_defences=preprocessing_defences,
            postprocessing_defences=postprocessing_defences,
        )
        self._pipe: Core = Core(
            model, loss, resolve_ctx(ctx, params), self._chain.standardisation,
            self._nb_classes, params,
        )
        self._blocks = _layers.named_blocks(model)
        self._layer_shapes = self._pipe.probe(self._input_shape, self._blocks)
        # Checked (and built) now, so that a bad optimizer fails here; with None, the default
        # trainer is built on the first fit.
        self._trainer = None if optimizer is None else _training.make_trainer(optimizer, model)

    def __repr__(self) -> str:
        return (
            f"MXNetClassifier(model={type(self.model).__name__}, input_shape={self._input_shape}, "
            f"nb_classes={self._nb_classes}, ctx={self.ctx}, dtype={self.dtype})"
        )

    # ------------------------------------------------------------------ Classifier

    def predict(self, x: ArrayLike, batch_size: int = 128) -> NDArray[np.float32]:
        """Class scores of the model's output, after postprocessing defences.

        Parameters
        ----------
        x : array_like or mx.nd.NDArray
            ``(N, *input_shape)``, raw input; ``N = 0`` allowed. Never modified.
        batch_size : int
            Samples per forward pass; the result does not depend on it.

        Returns
        -------
        numpy.ndarray
            ``(N, nb_classes)`` float32.

        Raises
        ------
        InputShapeError, InputValueError, ParameterError
        """
        size = check_batch_size(batch_size)
        arr = self._as_batch(x)
        defended, _ = self._chain.defend(arr)
        out = np.empty((arr.shape[0], self._nb_classes), dtype=np.float32)
        for s in _batches(arr.shape[0], size):
            out[s] = self._pipe.predict(defended[s])
        return self._chain.postprocess(out)

    # ------------------------------------------------------------------ LossGradients

    def compute_loss(
        self, x: ArrayLike, y: ArrayLike, reduction: Reduction = "none", batch_size: int = 128
    ) -> NDArray[Any]:
        """Loss of each sample (preprocessing defences and standardisation applied).

        Parameters
        ----------
        x : array_like or mx.nd.NDArray
            ``(N, *input_shape)``, raw input.
        y : array_like
            Index labels ``(N,)`` or one-hot labels ``(N, nb_classes)``.
        reduction : {"none", "mean", "sum"}
        batch_size : int

        Returns
        -------
        numpy.ndarray
            ``(N,)`` for ``"none"``, else 0-d; in the model's dtype.

        Raises
        ------
        InputShapeError, InputValueError, LabelError, ParameterError
        """
        check_reduction(reduction)
        size = check_batch_size(batch_size)
        arr = self._as_batch(x)
        labels = to_index(y, self._nb_classes, n=arr.shape[0])
        defended, _ = self._chain.defend(arr)
        losses = np.empty(arr.shape[0], dtype=self.dtype)
        for s in _batches(arr.shape[0], size):
            losses[s] = self._pipe.losses(defended[s], labels[s])
        return reduce_losses(losses, reduction, self.dtype)

    def compute_loss_from_predictions(
        self, pred: ArrayLike, y: ArrayLike, reduction: Reduction = "none"
    ) -> NDArray[Any]:
        """The loss of given model outputs (ART's ``compute_loss_from_predictions``), without a
        forward pass: ``compute_loss_from_predictions(predict(x), y)`` equals
        ``compute_loss(x, y)`` (exactly for a float32 model) when no postprocessing defence
        changes ``predict``'s scores.

        Parameters
        ----------
        pred : array_like or mx.nd.NDArray
            ``(N, nb_classes)`` model outputs, cast to the model's dtype.
        y : array_like
            Index labels ``(N,)`` or one-hot labels ``(N, nb_classes)``.
        reduction : {"none", "mean", "sum"}

        Returns
        -------
        numpy.ndarray
            ``(N,)`` for ``"none"``, else 0-d; in the model's dtype.

        Raises
        ------
        InputShapeError
            ``pred`` is not ``(N, nb_classes)``.
        InputValueError, LabelError, ParameterError
        """
        check_reduction(reduction)
        scores = check_batch(_to_host(pred), (self._nb_classes,), dtype=self.dtype, name="pred")
        labels = to_index(y, self._nb_classes, n=scores.shape[0])
        losses = (
            self._pipe.losses_of_scores(scores, labels) if len(labels)
            else np.zeros(0, dtype=self.dtype)
        )
        return reduce_losses(losses, reduction, self.dtype)

    def loss_gradient(self, x: ArrayLike, y: ArrayLike, batch_size: int = 128) -> NDArray[Any]:
        """Gradient of the **summed** per-sample loss with respect to the raw input.

        Row ``i`` is the gradient of sample ``i``'s own loss, whatever else is in the batch.

        Parameters
        ----------
        x : array_like or mx.nd.NDArray
            ``(N, *input_shape)``, raw input.
        y : array_like
            Index labels ``(N,)`` or one-hot labels ``(N, nb_classes)``.
        batch_size : int

        Returns
        -------
        numpy.ndarray
            Shape of ``x``, in the model's dtype.

        Raises
        ------
        InputShapeError, InputValueError, LabelError, ParameterError
        """
        size = check_batch_size(batch_size)
        arr = self._as_batch(x)
        labels = to_index(y, self._nb_classes, n=arr.shape[0])
        defended, pullback = self._chain.defend_vjp(arr)
        grads = np.empty(arr.shape, dtype=self.dtype)
        for s in _batches(arr.shape[0], size):
            grads[s] = self._pipe.loss_gradient(defended[s], labels[s])
        return np.asarray(pullback(grads), dtype=self.dtype)

    # ------------------------------------------------------------------ ClassGradients

    def class_gradient(
        self, x: ArrayLike, label: int | ArrayLike | None = None, batch_size: int = 128
    ) -> NDArray[Any]:
        """Gradient of the model's output scores (what ``predict`` returns before postprocessing:
        logits for a network ending in a Dense layer) with respect to the raw input.

        Parameters
        ----------
        x : array_like or mx.nd.NDArray
            ``(N, *input_shape)``, raw input.
        label : None, int, or array_like of int ``(N,)``
            None: every class; int: that class for every sample; array: one class per sample
            (index or one-hot).
        batch_size : int

        Returns
        -------
        numpy.ndarray
            ``(N, nb_classes, *input_shape)`` for ``label=None``, else ``(N, 1, *input_shape)``;
            the model's dtype.

        Raises
        ------
        InputShapeError, InputValueError, LabelError, ParameterError
        """
        size = check_batch_size(batch_size)
        arr = self._as_batch(x)
        n = arr.shape[0]
        targets = self._class_targets(label, n)
        defended, pullback = self._chain.defend_vjp(arr)
        width = self._nb_classes if targets is None else 1
        grads = np.empty((n, width, *self._input_shape), dtype=self.dtype)
        for s in _batches(n, size):
            grads[s] = self._pipe.class_gradient(
                defended[s], None if targets is None else targets[s]
            )
        for k in range(width):  # the defences' pullback maps one (N, *input_shape) gradient
            grads[:, k] = pullback(grads[:, k])
        return grads

    # ------------------------------------------------------------------ NeuralNetwork

    @overload
    def get_activations(
        self, x: ArrayLike, layer: int | str, batch_size: int = 128,
        framework: Literal[False] = False,
    ) -> NDArray[Any]: ...

    @overload
    def get_activations(
        self, x: ArrayLike, layer: int | str, batch_size: int, framework: Literal[True]
    ) -> nd.NDArray: ...

    @overload
    def get_activations(
        self, x: ArrayLike, layer: int | str, *, framework: Literal[True]
    ) -> nd.NDArray: ...

    def get_activations(
        self, x: ArrayLike, layer: int | str, batch_size: int = 128, framework: bool = False
    ) -> Any:
        """Output of a block inside the network for the raw input ``x``, preprocessed as in
        :meth:`predict` (defences, standardisation), the network run up to that block.

        Parameters
        ----------
        x : array_like or mx.nd.NDArray
            ``(N, *input_shape)``, raw input.
        layer : int or str
            Index into :attr:`layer_names` or a dotted name from it.
        batch_size : int
        framework : bool
            Return an ``mx.nd.NDArray`` on :attr:`ctx` instead of numpy (computed outside
            autograd, like every activation here).

        Returns
        -------
        numpy.ndarray or mx.nd.NDArray
            ``(N, *layer_output_shape)`` in the model's dtype; the block's first call in the
            forward pass when it is called several times.

        Raises
        ------
        ParameterError
            Unknown layer name, or index out of range.
        InputShapeError, InputValueError
        """
        from mxnet import nd

        name = self._layer_name(layer)
        size = check_batch_size(batch_size)
        arr = self._as_batch(x)
        defended, _ = self._chain.defend(arr)
        parts: list[nd.NDArray] = []
        for s in _batches(arr.shape[0], size):
            out = self._pipe.activation(defended[s], self._blocks[name])
            if out is None:
                raise ParameterError(f"layer: the forward pass did not call {name!r} on this input")
            parts.append(out)
        if not parts:
            shape = (0, *self._layer_shapes[name])
            return self._pipe.empty(shape) if framework else np.zeros(shape, dtype=self.dtype)
        if framework:
            return parts[0] if len(parts) == 1 else nd.concat(*parts, dim=0)
        return np.concatenate([p.asnumpy() for p in parts], axis=0)

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
        """Train the model in place with :attr:`trainer` (``autograd.record(train_mode=True)``).

        Each epoch visits the samples in a fresh random order drawn from ``seed``; each step
        back-propagates the sum of per-sample losses and calls ``trainer.step(len(batch))``, so
        the update uses the batch mean. Preprocessing defences flagged ``apply_fit`` run once on
        the whole of ``x`` (with one-hot labels) before training.

        Parameters
        ----------
        x : array_like or mx.nd.NDArray
            ``(N, *input_shape)``, raw input, ``N >= 1`` (as on every adapter).
        y : array_like
            Index labels ``(N,)`` or one-hot labels ``(N, nb_classes)``.
        batch_size, nb_epochs : int
            Positive.
        seed : int, numpy.random.Generator or None
            Shuffling.

        Raises
        ------
        ParameterError
            Bad ``batch_size`` or ``nb_epochs``.
        InputShapeError, InputValueError, LabelError
            Malformed ``x`` or ``y``; the model is unchanged.
        """
        size = check_batch_size(batch_size)
        epochs = check_batch_size(nb_epochs, "nb_epochs")
        arr = self._as_batch(x)
        check_nonempty(arr.shape[0])
        rng = as_generator(seed)
        defended, targets = self._training_batch(arr, y)
        trainer = self._trainer_or_default()
        for _ in range(epochs):
            order = rng.permutation(arr.shape[0])
            for s in _batches(arr.shape[0], size):
                rows = order[s]
                self._pipe.train_step(trainer, defended[rows], targets[rows])

    def fit_generator(self, generator: Iterable[tuple[Any, Any]], nb_epochs: int = 20) -> None:
        """Train on an iterable of ``(x, y)`` batches (a ``gluon.data.DataLoader``, a list, ...),
        iterated once per epoch.

        Each batch is validated (and preprocessing defences flagged ``apply_fit`` applied) just
        before its step; when a batch is refused after earlier steps, the model's parameters are
        put back as they were before the call (the trainer's own state, such as Adam's moments,
        is not).

        Raises
        ------
        ParameterError
            Bad ``nb_epochs``; an empty batch, or an epoch without batches.
        ParameterTypeError
            ``generator`` is not iterable, or is a one-shot iterator with ``nb_epochs > 1``.
        InputShapeError, InputValueError, LabelError
            A malformed batch.
        """
        epochs = check_batch_size(nb_epochs, "nb_epochs")
        try:
            first = iter(generator)
        except TypeError:
            raise ParameterTypeError(
                f"generator: expected an iterable of (x, y) batches, got {type(generator).__name__}"
            ) from None
        if first is generator and epochs > 1:
            raise ParameterTypeError(
                f"generator: expected an iterable that can be iterated once per epoch (a "
                f"DataLoader or a list), got a one-shot iterator with nb_epochs={epochs}"
            )
        trainer = self._trainer_or_default()
        params = list(self.model.collect_params().values())
        saved = [p.data().copy() for p in params]
        try:
            self._fit_epochs(generator, first, epochs, trainer)
        except BaseException:
            for p, value in zip(params, saved):
                p.set_data(value)
            raise

    def _fit_epochs(self, generator: Any, first: Any, epochs: int, trainer: Any) -> None:
        for epoch in range(epochs):
            count = 0
            for i, item in enumerate(first if epoch == 0 else iter(generator)):
                try:
                    xb, yb = item
                except (TypeError, ValueError):
                    raise ParameterError(
                        f"generator: expected (x, y) pairs, got {type(item).__name__} at batch {i}"
                    ) from None
                arr = self._as_batch(xb, name=f"x of batch {i}")
                check_nonempty(arr.shape[0], f"x of batch {i}")
                defended, targets = self._training_batch(arr, yb, f" of batch {i}")
                self._pipe.train_step(trainer, defended, targets)
                count += 1
            if count == 0:
                raise ParameterError(
                    f"generator: expected at least one (x, y) batch per epoch, got none in epoch "
                    f"{epoch}"
                )

    # ------------------------------------------------------------------ internals

    def _as_batch(self, x: Any, name: str = "x") -> NDArray[Any]:
        """A validated numpy copy of ``x`` in the model's dtype (NDArrays are copied to host)."""
        return check_batch(_to_host(x), self._input_shape, dtype=self.dtype, name=name)

    def _class_targets(self, label: Any, n: int) -> NDArray[np.int64] | None:
        return class_gradient_targets(
            None if label is None else _to_host(label), self._nb_classes, n
        )

    def _training_batch(
        self, arr: NDArray[Any], y: Any, where: str = ""
    ) -> tuple[NDArray[Any], NDArray[Any]]:
        """Validated one-hot labels and the fit-time defences applied to ``(arr, labels)``."""
        one_hot = to_one_hot(_to_host(y), self._nb_classes, n=arr.shape[0], name=f"y{where}")
        defended, targets = self._chain.defend(arr, one_hot, fit=True)
        if targets is None:
            raise ParameterTypeError(
                "preprocessing_defences: expected fit-time defences to return labels, got None"
            )
        return defended, targets

    def _trainer_or_default(self) -> gluon.Trainer:
        if self._trainer is None:
            from trustml.adapters.mxnet import _training

            self._trainer = _training.make_trainer(None, self.model)
        return self._trainer


def _batches(n: int, size: int) -> Iterable[slice]:
    return (slice(start, min(start + size, n)) for start in range(0, n, size))


def _to_host(value: Any) -> Any:
    """An ``mx.nd.NDArray`` copied to a numpy array; anything else unchanged."""
    from mxnet import nd

    return value.asnumpy() if isinstance(value, nd.NDArray) else value
