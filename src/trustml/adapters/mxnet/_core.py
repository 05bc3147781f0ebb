"""The mxnet side of one batch: standardisation, the network and the loss, inside autograd (the
role ``_core.Core`` has in the PyTorch adapter: the validated model, loss and device, and the
checked forward pass).

:class:`Core` takes batches that are already validated and defended in numpy (by
``MXNetClassifier``) and returns numpy. Modes are explicit: predictions and activations run under
``autograd.pause(train_mode=False)``, gradients under ``autograd.record(train_mode=False)`` (dropout
off, batch normalisation on its running statistics), training steps under
``autograd.record(train_mode=True)``. No state of the network is changed outside ``train_step``.

This module imports mxnet: import it only after :func:`~._environment.ensure_mxnet`.
"""

from __future__ import annotations

from typing import Any

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon, nd
from numpy.typing import NDArray

from trustml.adapters.mxnet import _layers, _transforms
from trustml.errors import ParameterError
from trustml.preprocessing import Standardisation

__all__ = ["Core"]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Core:
    """Standardisation, network and per-sample loss of one ``MXNetClassifier`` on one context.

    Parameters
    ----------
    model : gluon.Block
    loss : gluon.loss.Loss
        Called as ``loss(scores, labels)``; receives class indices when it has
        ``sparse_label=True``, else one-hot labels in the model's dtype.
    ctx : mx.Context
    standardisation : Standardisation
        Run in mxnet, so that autograd differentiates through it.
    nb_classes : int
    params : list of gluon.Parameter
        The model's parameters; the first one fixes the computation dtype.
    """

    def __init__(
        self,
        model: gluon.Block,
        loss: gluon.loss.Loss,
        ctx: mx.Context,
        standardisation: Standardisation,
        nb_classes: int,
        params: list[gluon.Parameter],
    ) -> None:
        self.model = model
        self.loss = loss
        self.ctx = ctx
        self.nb_classes = nb_classes
        self._standardisation = standardisation
        self._sparse_labels = bool(getattr(loss, "_sparse_label", False))
        self._first_param = params[0] if params else None
        self._std_cache: dict[np.dtype[Any], tuple[nd.NDArray, nd.NDArray]] = {}
        self.transforms: dict[str, _transforms.Slot] = {}
        """Activation transforms: layer name -> (block, transform), applied in :meth:`scores`."""

    @property
    def dtype(self) -> np.dtype[Any]:
        """The dtype of the model's first parameter (float32 for a model without parameters);
        read on every call, so a network cast after wrapping is followed."""
        if self._first_param is None:
            return np.dtype(np.float32)
        return np.dtype(self._first_param.dtype)

    # ------------------------------------------------------------------ building blocks

    def to_nd(self, arr: NDArray[Any]) -> nd.NDArray:
        """A numpy batch as an NDArray on the context, in the model's dtype."""
        return nd.array(arr, ctx=self.ctx, dtype=self.dtype)

    def standardise(self, xb: nd.NDArray) -> nd.NDArray:
        """``(x - subtrahend) / divisor`` in mxnet; the identity is skipped."""
        std = self._standardisation
        if std.is_identity:
            return xb
        pair = self._std_cache.get(self.dtype)
        if pair is None:
            # Standardisation arrays broadcast against (N, *input_shape) from the right; mxnet's
            # broadcast ops want equal ranks.
            sub, div = (
                self.to_nd(a.reshape((1,) * (xb.ndim - a.ndim) + a.shape))
                for a in (std.subtrahend, std.divisor)
            )
            pair = self._std_cache[self.dtype] = (sub, div)
        return nd.broadcast_div(nd.broadcast_sub(xb, pair[0]), pair[1])

    def scores(self, xb: nd.NDArray) -> nd.NDArray:
        """The network's output on a raw (defended) batch, with the activation transforms
        inside the forward pass (see :mod:`._transforms`)."""
        inputs = self.standardise(xb)
        with _transforms.installed(self.model, self.transforms):
            out: nd.NDArray = self.model(inputs)
        return out

    def labels(self, targets: NDArray[Any]) -> nd.NDArray:
        """Labels for the loss from one-hot (or soft) targets ``(B, nb_classes)``."""
        if self._sparse_labels:
            return nd.array(np.argmax(targets, axis=1), ctx=self.ctx, dtype=self.dtype)
        return nd.array(targets, ctx=self.ctx, dtype=self.dtype)

    def _one_hot(self, index: NDArray[np.int64]) -> NDArray[Any]:
        return np.eye(self.nb_classes, dtype=self.dtype)[index]

    # ------------------------------------------------------------------ one batch each

    def predict(self, batch: NDArray[Any]) -> NDArray[np.float32]:
        """Scores ``(B, nb_classes)`` float32."""
        with autograd.pause(train_mode=False):
            return self.scores(self.to_nd(batch)).asnumpy().astype(np.float32, copy=False)

    def losses(self, batch: NDArray[Any], index: NDArray[np.int64]) -> NDArray[Any]:
        """Per-sample losses ``(B,)`` in the model's dtype."""
        with autograd.pause(train_mode=False):
            out = self.loss(self.scores(self.to_nd(batch)), self.labels(self._one_hot(index)))
            return np.asarray(out.asnumpy(), dtype=self.dtype)

    def losses_of_scores(self, scores: NDArray[Any], index: NDArray[np.int64]) -> NDArray[Any]:
        """Per-sample losses ``(B,)`` of given scores ``(B, nb_classes)`` (no forward pass), in
        the model's dtype."""
        with autograd.pause(train_mode=False):
            out = self.loss(self.to_nd(scores), self.labels(self._one_hot(index)))
            return np.asarray(out.asnumpy(), dtype=self.dtype)

    def loss_gradient(self, batch: NDArray[Any], index: NDArray[np.int64]) -> NDArray[Any]:
        """Gradient of the summed per-sample losses w.r.t. the (defended) batch."""
        xb = self.to_nd(batch)
        xb.attach_grad()
        with autograd.record(train_mode=False):
            losses = self.loss(self.scores(xb), self.labels(self._one_hot(index)))
        losses.backward(train_mode=False)  # a head gradient of ones: the gradient of the sum
        return xb.grad.asnumpy()

    def class_gradient(
        self, batch: NDArray[Any], index: NDArray[np.int64] | None
    ) -> NDArray[Any]:
        """``(B, nb_classes, ...)`` gradients of every score (``index`` None), else
        ``(B, 1, ...)`` of the score ``index[i]`` of each sample; one forward pass either way."""
        xb = self.to_nd(batch)
        xb.attach_grad()
        with autograd.record(train_mode=False):
            scores = self.scores(xb)
        if index is not None:
            scores.backward(self.to_nd(self._one_hot(index)), train_mode=False)
            return xb.grad.asnumpy()[:, None]
        rows = []
        for k in range(self.nb_classes):
            head = self.to_nd(self._one_hot(np.full(batch.shape[0], k, dtype=np.int64)))
            (grad,) = autograd.grad(
                scores, [xb], head_grads=head, retain_graph=k + 1 < self.nb_classes,
                train_mode=False,
            )
            rows.append(grad.asnumpy())
        return np.stack(rows, axis=1)

    def activation(self, batch: NDArray[Any], block: gluon.Block) -> nd.NDArray | None:
        """Output of ``block`` with the network run up to it (None if it was not called)."""
        xb = self.to_nd(batch)
        with autograd.pause(train_mode=False):
            return _layers.capture_output(self.model, block, lambda: self.scores(xb))

    def empty(self, shape: tuple[int, ...]) -> nd.NDArray:
        """A zero-size NDArray (mxnet 1.x needs numpy shape semantics to make one)."""
        with mx.util.np_shape(True):
            return nd.zeros(shape, ctx=self.ctx, dtype=self.dtype)

    def train_step(
        self, trainer: gluon.Trainer, batch: NDArray[Any], targets: NDArray[Any]
    ) -> None:
        """Back-propagate the summed loss in training mode; ``trainer.step(B)`` takes the mean."""
        xb = self.to_nd(batch)
        labels = self.labels(targets)
        with autograd.record(train_mode=True):
            losses = self.loss(self.scores(xb), labels)
        losses.backward()
        trainer.step(batch.shape[0])

    # ------------------------------------------------------------------ construction check

    def probe(
        self, input_shape: tuple[int, ...], blocks: dict[str, gluon.Block]
    ) -> dict[str, tuple[int, ...]]:
        """One imperative pass on ``(1, *input_shape)`` zeros.

        Checks the model against ``input_shape`` and ``nb_classes`` and the loss's output,
        completes deferred initialisation, and returns the layers (dotted name -> output shape
        without the batch axis) in the order their outputs are computed.

        Raises
        ------
        ParameterError
            The model fails on the batch or does not output ``(1, nb_classes)``; the loss does not
            return one value per sample.
        """
        zeros = np.zeros((1, *input_shape))
        try:
            with autograd.pause(train_mode=False):
                out, order = _layers.trace_outputs(
                    self.model, blocks, lambda: self.scores(self.to_nd(zeros))
                )
        except mx.base.MXNetError as exc:
            raise ParameterError(
                f"input_shape: the model failed on a batch of shape {zeros.shape} "
                f"({_first_line(exc)})"
            ) from None
        if not isinstance(out, nd.NDArray) or tuple(out.shape) != (1, self.nb_classes):
            got = tuple(out.shape) if isinstance(out, nd.NDArray) else type(out).__name__
            raise ParameterError(
                f"nb_classes: expected the model to output (N, {self.nb_classes}) scores, got "
                f"{got} for a batch of one"
            )
        with autograd.pause(train_mode=False):
            losses = self.loss(out, self.labels(self._one_hot(np.zeros(1, dtype=np.int64))))
        if not isinstance(losses, nd.NDArray) or tuple(losses.shape) != (1,):
            got = tuple(losses.shape) if isinstance(losses, nd.NDArray) else type(losses).__name__
            raise ParameterError(
                f"loss: expected per-sample losses of shape (N,), got {got} for a batch of one"
            )
        return dict(order)
