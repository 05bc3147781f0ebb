"""A third-party adapter written against trustml's protocols alone: softmax regression in numpy.

It has no trustml base class: it *is* a ``NeuralNetworkClassifier`` (Classifier, Fittable,
LossGradients, ClassGradients, NeuralNetwork) and has ``ActivationTransforms`` on its logits,
``MultiLayerActivations`` and ``Clonable`` because it has the members, with analytic gradients.
It passes the conformance kit (``trustml check conformance/examples/softmax_regression.py:make``)
and is type-checked by ``mypy --strict`` as a user's code would be.

Model: ``z = (flatten(x) - subtrahend) / divisor``, ``logits = z W + b``,
``p = softmax(logits)``; loss: per-sample cross-entropy ``-log p_y``. An activation transform
``T`` at ``"logits"`` makes every computation use ``T(z W + b)`` (gradients multiplied by
``scale`` and the clip's indicator). Everything is computed in
float64; ``predict`` returns float32 as the protocol says, the losses and gradients float64.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.activations import ActivationTransform, check_transform
from trustml.errors import ParameterError
from trustml.labels import to_index, to_one_hot
from trustml.preprocessing import Standardisation
from trustml.validation import ClipValues, check_batch, check_batch_size, check_clip_values

__all__ = ["SoftmaxRegression", "make"]

LAYERS = ["logits", "probabilities"]


def _softmax(logits: NDArray[np.float64]) -> NDArray[np.float64]:
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    out: NDArray[np.float64] = e / e.sum(axis=1, keepdims=True)
    return out


class SoftmaxRegression:
    """Multinomial logistic regression on inputs of any shape (flattened).

    Parameters
    ----------
    input_shape : tuple of int
        Shape of one sample.
    nb_classes : int
        Number of classes (>= 2).
    preprocessing : (subtrahend, divisor)
        Standardisation, scalars or arrays broadcastable to ``input_shape``.
    clip_values : (min, max), optional
        Valid input range (described, never applied).
    learning_rate : float
        Step of the mini-batch gradient descent in ``fit``.
    seed : int
        Seed of the initial weights (small Gaussian) and of the shuffling in ``fit``.
    """

    def __init__(
        self,
        input_shape: tuple[int, ...],
        nb_classes: int,
        *,
        preprocessing: tuple[ArrayLike, ArrayLike] = (0.0, 1.0),
        clip_values: tuple[ArrayLike, ArrayLike] | None = None,
        learning_rate: float = 0.5,
        seed: int = 0,
    ) -> None:
        if nb_classes < 2:
            raise ParameterError(f"nb_classes: expected an int >= 2, got {nb_classes}")
        self._input_shape = tuple(int(d) for d in input_shape)
        self._nb_classes = int(nb_classes)
        self._clip: ClipValues | None = check_clip_values(clip_values, self._input_shape)
        self._std = Standardisation.create(
            preprocessing[0], preprocessing[1], input_shape=self._input_shape, channels_first=False
        )
        self.learning_rate = float(learning_rate)
        self._settings: dict[str, Any] = {
            "preprocessing": preprocessing, "clip_values": clip_values,
            "learning_rate": learning_rate, "seed": seed,
        }
        self._rng = np.random.default_rng(seed)
        d = int(np.prod(self._input_shape))
        self.weights: NDArray[np.float64] = 0.01 * self._rng.standard_normal((d, nb_classes))
        self.bias: NDArray[np.float64] = np.zeros(nb_classes)
        self._transform: ActivationTransform | None = None

    # -- metadata -----------------------------------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, ...]:
        return self._input_shape

    @property
    def nb_classes(self) -> int:
        return self._nb_classes

    @property
    def clip_values(self) -> ClipValues | None:
        return self._clip

    @property
    def preprocessing(self) -> Standardisation:
        return self._std

    @property
    def channels_first(self) -> bool:
        return False

    @property
    def layer_names(self) -> list[str]:
        return list(LAYERS)

    # -- forward ------------------------------------------------------------------------------
    def _features(self, x: ArrayLike) -> NDArray[np.float64]:
        raw = check_batch(x, self._input_shape, dtype=np.float64)
        out: NDArray[np.float64] = self._std.apply(raw).reshape(raw.shape[0], self.weights.shape[0])
        return out

    def _raw_logits(self, z: NDArray[np.float64]) -> NDArray[np.float64]:
        out: NDArray[np.float64] = z @ self.weights + self.bias
        return out

    def _apply_transform(self, raw: NDArray[np.float64]) -> NDArray[np.float64]:
        t = self._transform
        if t is None:
            return raw
        out: NDArray[np.float64] = t.apply(raw)
        return out

    def _logits(self, z: NDArray[np.float64]) -> NDArray[np.float64]:
        """The logits, through the activation transform when one is installed."""
        return self._apply_transform(self._raw_logits(z))

    def _dlogits(self, z: NDArray[np.float64]) -> NDArray[np.float64]:
        """d transformed logit / d raw logit, elementwise ``(N, K)``: scale times the clip's
        indicator (ones without a transform)."""
        t = self._transform
        raw = self._raw_logits(z)
        d = np.ones_like(raw)
        if t is None:
            return d
        if t.clip_min is not None:
            d = d * (raw >= t.clip_min)
        if t.clip_max is not None:
            d = d * (raw <= t.clip_max)
        if t.scale is not None:
            d = d * t.scale.astype(np.float64)
        return d

    def _to_input(self, grad_z: NDArray[np.float64]) -> NDArray[np.float64]:
        """Chain a gradient w.r.t. the standardised features back to the raw input."""
        shaped = grad_z.reshape(grad_z.shape[:-1] + self._input_shape)
        out: NDArray[np.float64] = self._std.gradient(shaped)
        return out

    def predict(self, x: ArrayLike, batch_size: int = 128) -> NDArray[np.float32]:
        """Class probabilities ``(N, nb_classes)`` float32 (computed in float64)."""
        check_batch_size(batch_size)
        return _softmax(self._logits(self._features(x))).astype(np.float32)

    # -- losses -------------------------------------------------------------------------------
    def compute_loss(
        self, x: ArrayLike, y: ArrayLike, reduction: Literal["none", "mean", "sum"] = "none"
    ) -> NDArray[np.float64]:
        """Cross-entropy ``-log p_y`` per sample, ``(N,)`` float64 (0-d for mean and sum)."""
        z = self._features(x)
        idx = to_index(y, self._nb_classes, n=z.shape[0])
        logits = self._logits(z)
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        losses: NDArray[np.float64] = -log_p[np.arange(z.shape[0]), idx]
        if reduction == "none":
            return losses
        if reduction == "sum":
            return np.asarray(losses.sum())
        if reduction == "mean":
            return np.asarray(losses.mean())
        raise ParameterError(f"reduction: expected 'none', 'mean' or 'sum', got {reduction!r}")

    def loss_gradient(self, x: ArrayLike, y: ArrayLike) -> NDArray[np.float64]:
        """Gradient of the summed cross-entropy w.r.t. the raw input; shape of ``x``, float64."""
        z = self._features(x)
        onehot = to_one_hot(y, self._nb_classes, n=z.shape[0]).astype(np.float64)
        p = _softmax(self._logits(z))
        return self._to_input(((p - onehot) * self._dlogits(z)) @ self.weights.T)

    def class_gradient(
        self, x: ArrayLike, label: int | ArrayLike | None = None
    ) -> NDArray[np.float64]:
        """Gradient of the class *probabilities* (what ``predict`` returns) w.r.t. the raw input:
        ``(N, nb_classes, *input_shape)`` for ``label=None``, else ``(N, 1, *input_shape)``;
        float64."""
        z = self._features(x)
        n = z.shape[0]
        p = _softmax(self._logits(z))
        # d p_k / d z = p_k (D_k W[:, k] - sum_j p_j D_j W[:, j]), D = d logit / d raw logit
        dl = self._dlogits(z)
        mean_w = (p * dl) @ self.weights.T  # (N, d)
        cols = dl[:, :, None] * self.weights.T[None, :, :]  # (N, K, d)
        full = p[:, :, None] * (cols - mean_w[:, None, :])
        if label is None:
            return self._to_input(full)
        if isinstance(label, (int, np.integer)):
            idx = to_index(np.full(n, int(label)), self._nb_classes, name="label")
        else:
            idx = to_index(label, self._nb_classes, n=n, name="label")
        return self._to_input(full[np.arange(n), idx][:, None, :])

    # -- activations --------------------------------------------------------------------------
    def _layer_index(self, layer: int | str) -> int:
        if isinstance(layer, str):
            if layer not in LAYERS:
                raise ParameterError(f"layer: expected one of {LAYERS}, got {layer!r}")
            return LAYERS.index(layer)
        if isinstance(layer, bool) or not 0 <= layer < len(LAYERS):
            raise ParameterError(f"layer: expected an index in [0, {len(LAYERS)}), got {layer!r}")
        return int(layer)

    @overload
    def get_activations(
        self, x: ArrayLike, layer: int | str, batch_size: int = 128,
        framework: Literal[False] = False,
    ) -> NDArray[Any]: ...

    @overload
    def get_activations(
        self, x: ArrayLike, layer: int | str, batch_size: int, framework: Literal[True]
    ) -> Any: ...

    @overload
    def get_activations(
        self, x: ArrayLike, layer: int | str, *, framework: Literal[True]
    ) -> Any: ...

    def get_activations(
        self, x: ArrayLike, layer: int | str, batch_size: int = 128, framework: bool = False
    ) -> Any:
        """``logits`` (layer 0) or ``probabilities`` (layer 1), ``(N, nb_classes)`` float64. The
        framework of this model is numpy, so ``framework=True`` also returns numpy."""
        check_batch_size(batch_size)
        index = self._layer_index(layer)
        logits = self._logits(self._features(x))
        return logits if index == 0 else _softmax(logits)

    def get_multi_activations(
        self, x: ArrayLike, layers: list[int | str], batch_size: int = 128,
        framework: bool = False,
    ) -> list[Any]:
        """Several layers from one forward pass (``MultiLayerActivations``): each entry equals
        ``get_activations(x, layer)``."""
        check_batch_size(batch_size)
        if not layers:
            raise ParameterError("layers: expected a non-empty list of layers, got []")
        indices = [self._layer_index(layer) for layer in layers]
        logits = self._logits(self._features(x))
        outputs = [logits, _softmax(logits)]
        return [outputs[i] for i in indices]

    # -- activation transforms ----------------------------------------------------------------
    @property
    def activation_transforms(self) -> dict[str, ActivationTransform]:
        """``{"logits": transform}`` when one is installed, else empty."""
        return {} if self._transform is None else {"logits": self._transform}

    def set_activation_transform(
        self, layer: int | str, transform: ActivationTransform | None
    ) -> None:
        """Install (or, with None, remove) a transform of the logits; the probabilities are the
        loss's own output and take none (ParameterError)."""
        if self._layer_index(layer) != 0:
            raise ParameterError(f"layer: expected 'logits' (index 0), got {layer!r}")
        self._transform = check_transform(transform, "logits", (self._nb_classes,))

    # -- refitting ------------------------------------------------------------------------------
    def clone_for_refitting(self) -> SoftmaxRegression:
        """A new, untrained model of the same class with the same constructor settings
        (``Clonable``); it shares no array with this one."""
        return type(self)(self._input_shape, self._nb_classes, **self._settings)

    # -- training -----------------------------------------------------------------------------
    def _step(self, x: ArrayLike, y: ArrayLike) -> None:
        z = self._features(x)
        onehot = to_one_hot(y, self._nb_classes, n=z.shape[0]).astype(np.float64)
        err = (_softmax(self._logits(z)) - onehot) * self._dlogits(z) / max(1, z.shape[0])
        self.weights = self.weights - self.learning_rate * (z.T @ err)
        self.bias = self.bias - self.learning_rate * err.sum(axis=0)

    def fit(self, x: ArrayLike, y: ArrayLike, batch_size: int = 128, nb_epochs: int = 20) -> None:
        """Mini-batch gradient descent on the mean cross-entropy, shuffled with the seeded
        generator of the constructor."""
        xs = check_batch(x, self._input_shape, dtype=np.float64)
        idx = to_index(y, self._nb_classes, n=xs.shape[0])
        check_batch_size(batch_size)
        for _ in range(nb_epochs):
            order = self._rng.permutation(xs.shape[0])
            for start in range(0, xs.shape[0], batch_size):
                sel = order[start:start + batch_size]
                self._step(xs[sel], idx[sel])

    def fit_generator(self, generator: Iterable[tuple[Any, Any]], nb_epochs: int = 20) -> None:
        """Gradient descent over the ``(x, y)`` batches of ``generator`` (re-iterated per epoch)."""
        for _ in range(nb_epochs):
            for xb, yb in generator:
                self._step(xb, yb)


def make() -> SoftmaxRegression:
    """Factory for ``trustml check``: 1x4x4 inputs in [0, 1], 3 classes, non-trivial
    standardisation, fitted briefly on a seeded toy problem."""
    model = SoftmaxRegression(
        (1, 4, 4), 3, preprocessing=(0.5, 0.25), clip_values=(0.0, 1.0), seed=0
    )
    rng = np.random.default_rng(0)
    model.weights = rng.standard_normal(model.weights.shape) * 0.3
    model.bias = rng.standard_normal(3) * 0.1
    return model


if TYPE_CHECKING:
    from trustml.protocols import NeuralNetworkClassifier

    _check: NeuralNetworkClassifier = SoftmaxRegression((4,), 2)
