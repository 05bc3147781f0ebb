"""``PyTorchClassifier``: a ``torch.nn.Module`` classifier behind trustml's capabilities.

The class validates its arguments, keeps the validated state in a
:class:`~trustml.adapters.torch._core.Core` and delegates each operation to a module of its own
(``_compute``, ``_noise``, ``_training``, ``_persistence``); this file is the public surface and its
documentation.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Sequence
from typing import Any, Literal, overload

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from trustml.activations import ActivationTransform
from trustml.adapters.torch import _compute, _noise, _persistence, _training, _transforms
from trustml.adapters.torch._core import Core
from trustml.adapters.torch._device import check_autocast_dtype, resolve_device
from trustml.adapters.torch._layers import execution_order
from trustml.adapters.torch._pipeline import DefenceLike, Pipeline
from trustml.adapters.torch._state import model_mode
from trustml.errors import ParameterError, ParameterTypeError, UnsupportedModelError
from trustml.labels import check_nb_classes
from trustml.preprocessing import (
    Postprocessor,
    PreprocessingChain,
    PreprocessingLike,
    Standardisation,
    check_channels_first,
)
from trustml.protocols import Reduction
from trustml.rng import SeedLike
from trustml.validation import ClipValues, check_clip_values, check_input_shape

__all__ = ["InputLike", "PyTorchClassifier"]

InputLike = ArrayLike | torch.Tensor
"""numpy arrays (anything ``numpy.asarray`` takes) or torch tensors on any device."""

_PARAMS = (
    "model", "loss", "input_shape", "nb_classes", "optimizer", "channels_first", "clip_values",
    "preprocessing_defences", "postprocessing_defences", "preprocessing", "device",
    "noisy_count_autocast",
)


def _check_loss(loss: Any) -> torch.nn.Module:
    if isinstance(loss, type):
        raise ParameterTypeError(
            f"loss: expected a loss instance such as torch.nn.CrossEntropyLoss(), got the class "
            f"{loss.__name__} (call it)"
        )
    if not isinstance(loss, torch.nn.Module) or not isinstance(
        getattr(loss, "reduction", None), str
    ):
        raise ParameterTypeError(
            "loss: expected a torch.nn.Module loss with a 'reduction' attribute (e.g. "
            f"torch.nn.CrossEntropyLoss()), got {type(loss).__name__}"
        )
    if loss.reduction not in ("none", "mean", "sum"):
        raise ParameterError(
            f"loss: expected reduction 'none', 'mean' or 'sum', got {loss.reduction!r}"
        )
    return loss


class PyTorchClassifier:
    """A PyTorch classifier with trustml's capabilities.

    Capabilities: :class:`~trustml.protocols.Classifier`, :class:`~trustml.protocols.Fittable`,
    :class:`~trustml.protocols.LossGradients`, :class:`~trustml.protocols.ClassGradients`,
    :class:`~trustml.protocols.NeuralNetwork`, :class:`~trustml.protocols.ActivationTransforms`
    and the randomized-smoothing fast path :class:`~trustml.protocols.NoisyCounter` (Cohen, Rosenfeld, Kolter, "Certified Adversarial
    Robustness via Randomized Smoothing", ICML 2019). Names follow IBM's Adversarial Robustness
    Toolbox (ART); the differences from ART are listed in ``docs/adapters/torch.md``.

    Parameters
    ----------
    model : torch.nn.Module
        Maps a standardised batch ``(N, *input_shape)`` to scores ``(N, nb_classes)`` (logits, as
        a rule). Moved (in place, ``model.to``) to ``device``; its parameters' dtype (float32,
        float64, float16 or bfloat16) is the dtype computations run in.
    loss : torch.nn.Module
        A loss with a ``reduction`` attribute, called as
        ``loss(scores (N, nb_classes), int64 labels (N,))``, e.g.
        ``torch.nn.CrossEntropyLoss()``. ``compute_loss`` and ``loss_gradient`` evaluate it per
        sample (``reduction`` set to ``"none"`` for the call, then restored); ``fit`` uses it as
        configured (its ``"none"`` output is averaged).
    input_shape : tuple of int
        Shape of one sample, e.g. ``(3, 32, 32)``.
    nb_classes : int
        Number of classes, >= 2.
    optimizer : torch.optim.Optimizer, optional
        Used by ``fit``. None: ``fit`` creates ``torch.optim.Adam(model.parameters(), lr=1e-3)`` on
        its first call and keeps it.
    channels_first : bool
        Channel axis of image inputs: axis 1 of a batch (True) or the last axis.
    clip_values : (min, max), optional
        Valid input range, scalars or arrays broadcastable to ``input_shape``; stored, never
        applied.
    preprocessing_defences : defence or sequence of defences, optional
        :class:`trustml.adapters.torch.TorchPreprocessor` (torch, on the device, inside autograd)
        and :class:`trustml.preprocessing.Preprocessor` (numpy, gradients by their
        ``estimate_gradient``), in any order and mix.
    postprocessing_defences : Postprocessor or sequence of them, optional
        Applied to ``predict``'s scores (numpy, on the host).
    preprocessing : (subtrahend, divisor) or Standardisation or None
        Standardisation ``(x - subtrahend) / divisor``, per channel on the axis ``channels_first``
        names; run in torch on the device.
    device : "auto", "cpu", "cuda", "cuda:N", "mps" or torch.device
        ``"auto"``: CUDA when available, else CPU.
    noisy_count_autocast : "bfloat16", "float16", torch.bfloat16, torch.float16 or None
        Mixed precision for :meth:`count_noisy_predictions` only (randomized smoothing's fast
        path): the noisy forward passes run under ``torch.autocast`` with this dtype on
        :attr:`device`. Opt-in; None (the default) keeps the model's own precision. A certificate
        computed with it is a certificate of the smoothed *autocast* classifier, the one that
        actually ran: valid for it, not for the full-precision model (see
        ``docs/certification.md``). ``predict``, the losses and the gradients never use it.

    Raises
    ------
    UnsupportedModelError
        ``model`` is not a ``torch.nn.Module``.
    ParameterTypeError
        ``loss`` is not a loss module with ``reduction``; ``optimizer`` is not a
        ``torch.optim.Optimizer``; a defence satisfies neither protocol; ``channels_first`` is not a
        bool.
    ParameterError
        Bad ``input_shape``, ``nb_classes``, ``clip_values``, ``preprocessing`` or
        ``noisy_count_autocast``.
    DeviceError
        ``device`` malformed or not available (e.g. ``"cuda:7"`` on a machine without it).

    Notes
    -----
    ``class_gradient`` differentiates the model's output (the logits for a usual classifier), as
    ART does; ``predict`` returns that output after the postprocessing defences.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        loss: torch.nn.Module,
        input_shape: tuple[int, ...],
        nb_classes: int,
        optimizer: torch.optim.Optimizer | None = None,
        channels_first: bool = True,
        clip_values: tuple[ArrayLike, ArrayLike] | None = None,
        preprocessing_defences: DefenceLike | Sequence[DefenceLike] | None = None,
        postprocessing_defences: Postprocessor | Sequence[Postprocessor] | None = None,
        preprocessing: PreprocessingLike = (0.0, 1.0),
        device: str | torch.device = "auto",
        noisy_count_autocast: str | torch.dtype | None = None,
    ) -> None:
        # validate everything first: nothing is moved or stored when an argument is bad
        if not isinstance(model, torch.nn.Module):
            raise UnsupportedModelError(
                f"model: expected a torch.nn.Module, got {type(model).__name__}"
            )
        loss = _check_loss(loss)
        shape = check_input_shape(input_shape)
        classes = check_nb_classes(nb_classes)
        if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
            raise ParameterTypeError(
                "optimizer: expected a torch.optim.Optimizer or None, got "
                f"{type(optimizer).__name__}"
            )
        cf = check_channels_first(channels_first)
        clip = check_clip_values(clip_values, shape)
        chain = PreprocessingChain(
            preprocessing, input_shape=shape, channels_first=cf,
            postprocessing_defences=postprocessing_defences,
        )
        pipeline = Pipeline(chain, preprocessing_defences, input_shape=shape, channels_first=cf)
        dev = resolve_device(device)
        autocast = check_autocast_dtype(noisy_count_autocast, "noisy_count_autocast")

        self._core = Core(model.to(dev), loss.to(dev), shape, classes, dev, chain, pipeline)
        self._core.count_autocast = autocast
        self._optimizer = optimizer
        self._channels_first = cf
        self._clip_values = clip
        self._raw_clip_values = clip_values
        self._layer_names: list[str] | None = None

    # ------------------------------------------------------------------ properties

    @property
    def model(self) -> torch.nn.Module:
        """The wrapped ``torch.nn.Module`` (on :attr:`device`)."""
        return self._core.model

    @property
    def loss(self) -> torch.nn.Module:
        """The loss module."""
        return self._core.loss

    @property
    def optimizer(self) -> torch.optim.Optimizer | None:
        """The optimizer ``fit`` uses (None until ``fit`` creates the default one)."""
        return self._optimizer

    @property
    def device(self) -> torch.device:
        """The device the model, the batches and the noise live on."""
        return self._core.device

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample, without the batch axis."""
        return self._core.input_shape

    @property
    def nb_classes(self) -> int:
        """Number of classes."""
        return self._core.nb_classes

    @property
    def clip_values(self) -> ClipValues | None:
        """Valid input range ``(min, max)`` as float32 arrays, or None; never applied."""
        return self._clip_values

    @property
    def preprocessing(self) -> Standardisation:
        """The standardisation ``(x - subtrahend) / divisor`` applied before the model."""
        return self._core.chain.standardisation

    @property
    def preprocessing_defences(self) -> tuple[DefenceLike, ...]:
        """The preprocessing defences, in the order they run."""
        return self._core.pipeline.defences

    @property
    def postprocessing_defences(self) -> tuple[Postprocessor, ...]:
        """The postprocessing defences, in the order they run."""
        return self._core.chain.postprocessors

    @property
    def channels_first(self) -> bool:
        """Whether the channel axis of a batch is axis 1 (else the last)."""
        return self._channels_first

    @property
    def layer_names(self) -> list[str]:
        """Dotted names of every submodule the forward pass calls, at any depth, in the order their
        outputs are produced (found once by a forward pass on a zero batch, then cached; a
        container comes after its children). A copy: changing it changes nothing."""
        if self._layer_names is None:
            core = self._core
            zeros = torch.zeros((1, *core.input_shape), device=core.device, dtype=core.dtype)
            with model_mode(core.model, False, {}), torch.no_grad():
                self._layer_names = execution_order(
                    core.model, lambda: core.model(core.pipeline.standardise(zeros))
                )
        return list(self._layer_names)

    def __repr__(self) -> str:
        core = self._core
        return (
            f"PyTorchClassifier(model={type(core.model).__name__}, loss={core.loss!r}, "
            f"input_shape={core.input_shape}, nb_classes={core.nb_classes}, "
            f"channels_first={self._channels_first}, device={str(core.device)!r})"
        )

    # ------------------------------------------------------------------ Classifier

    @overload
    def predict(
        self, x: InputLike, batch_size: int = 128, *, training_mode: bool = False,
        framework: Literal[False] = False,
    ) -> NDArray[np.float32]: ...

    @overload
    def predict(
        self, x: InputLike, batch_size: int = 128, *, training_mode: bool = False,
        framework: Literal[True],
    ) -> torch.Tensor: ...

    def predict(
        self, x: InputLike, batch_size: int = 128, *, training_mode: bool = False,
        framework: bool = False,
    ) -> NDArray[np.float32] | torch.Tensor:
        """Class scores of the raw input ``x``.

        Parameters
        ----------
        x : array_like or torch.Tensor
            ``(N, *input_shape)`` raw input, any real dtype, on any device; ``N = 0`` allowed.
            float64 is cast to the model's dtype. Never modified.
        batch_size : int
            Samples per forward pass; the result does not depend on it (in eval mode).
        training_mode : bool
            Run the model in train mode (dropout, batch statistics); its previous mode is restored.
        framework : bool
            Return a tensor on :attr:`device` instead of numpy; when ``x`` is a tensor that
            requires grad, the result stays connected to it.

        Returns
        -------
        numpy.ndarray or torch.Tensor
            ``(N, nb_classes)``: the model's output (logits for most models) after the
            postprocessing defences; numpy float32, or a tensor in the model's dtype.

        Raises
        ------
        InputShapeError, InputValueError, ParameterError, ParameterTypeError
        UnsupportedModelError
            The model's output is not ``(N, nb_classes)``.
        """
        result: NDArray[np.float32] | torch.Tensor = _compute.predict(
            self._core, x, batch_size, training_mode, framework
        )
        return result

    # ------------------------------------------------------------------ LossGradients

    @overload
    def compute_loss(
        self, x: InputLike, y: Any, reduction: Reduction = "none", *, batch_size: int = 128,
        training_mode: bool = False, framework: Literal[False] = False,
    ) -> NDArray[Any]: ...

    @overload
    def compute_loss(
        self, x: InputLike, y: Any, reduction: Reduction = "none", *, batch_size: int = 128,
        training_mode: bool = False, framework: Literal[True],
    ) -> torch.Tensor: ...

    def compute_loss(
        self, x: InputLike, y: Any, reduction: Reduction = "none", *, batch_size: int = 128,
        training_mode: bool = False, framework: bool = False,
    ) -> NDArray[Any] | torch.Tensor:
        """Loss of each sample (the user's loss with ``reduction="none"``), optionally reduced.

        Parameters
        ----------
        x : array_like or torch.Tensor
            ``(N, *input_shape)`` raw input.
        y : array_like or torch.Tensor
            Index labels ``(N,)`` or one-hot labels ``(N, nb_classes)``.
        reduction : {"none", "mean", "sum"}
            Applied by trustml over the per-sample losses, whatever the loss's own setting.

        Returns
        -------
        numpy.ndarray or torch.Tensor
            ``(N,)`` for ``"none"``, 0-d otherwise; float64 for float64 models, else float32.

        Raises
        ------
        InputShapeError, InputValueError, LabelError, ParameterError
        """
        result: NDArray[Any] | torch.Tensor = _compute.compute_loss(
            self._core, x, y, reduction, batch_size, training_mode, framework
        )
        return result

    @overload
    def loss_gradient(
        self, x: InputLike, y: Any, *, batch_size: int = 128, training_mode: bool = False,
        framework: Literal[False] = False,
    ) -> NDArray[Any]: ...

    @overload
    def loss_gradient(
        self, x: InputLike, y: Any, *, batch_size: int = 128, training_mode: bool = False,
        framework: Literal[True],
    ) -> torch.Tensor: ...

    def loss_gradient(
        self, x: InputLike, y: Any, *, batch_size: int = 128, training_mode: bool = False,
        framework: bool = False,
    ) -> NDArray[Any] | torch.Tensor:
        """Gradient of the **sum** of per-sample losses with respect to the raw input ``x``.

        Row ``i`` is the gradient of sample ``i``'s own loss, whatever else is in its batch (in
        eval mode), chained back through the standardisation and the defences. The parameters'
        ``.grad`` are left untouched.

        Parameters
        ----------
        x : array_like or torch.Tensor
            ``(N, *input_shape)`` raw input.
        y : array_like or torch.Tensor
            Index labels ``(N,)`` or one-hot labels ``(N, nb_classes)``.

        Returns
        -------
        numpy.ndarray or torch.Tensor
            Shape of ``x``; float64 for float64 models, else float32 (numpy), or a tensor on
            :attr:`device` in the model's dtype.

        Raises
        ------
        InputShapeError, InputValueError, LabelError, ParameterError
        """
        result: NDArray[Any] | torch.Tensor = _compute.loss_gradient(
            self._core, x, y, batch_size, training_mode, framework
        )
        return result

    # ------------------------------------------------------------------ ClassGradients

    @overload
    def class_gradient(
        self, x: InputLike, label: int | ArrayLike | None = None, *, batch_size: int = 128,
        training_mode: bool = False, framework: Literal[False] = False,
    ) -> NDArray[Any]: ...

    @overload
    def class_gradient(
        self, x: InputLike, label: int | ArrayLike | None = None, *, batch_size: int = 128,
        training_mode: bool = False, framework: Literal[True],
    ) -> torch.Tensor: ...

    def class_gradient(
        self, x: InputLike, label: int | ArrayLike | None = None, *, batch_size: int = 128,
        training_mode: bool = False, framework: bool = False,
    ) -> NDArray[Any] | torch.Tensor:
        """Gradient of the model's output (the logits, as ART) with respect to the raw input.

        Parameters
        ----------
        x : array_like or torch.Tensor
            ``(N, *input_shape)`` raw input.
        label : None, int, or array_like of int ``(N,)``
            None: every class; int: that class for every sample; array: one class per sample
            (index or one-hot labels).

        Returns
        -------
        numpy.ndarray or torch.Tensor
            ``(N, nb_classes, *input_shape)`` for ``label=None``, else ``(N, 1, *input_shape)``;
            float64 for float64 models, else float32 (numpy).

        Raises
        ------
        InputShapeError, InputValueError, ParameterError
        LabelError
            ``label`` out of ``[0, nb_classes)`` or not one per sample.
        """
        result: NDArray[Any] | torch.Tensor = _compute.class_gradient(
            self._core, x, label, batch_size, training_mode, framework
        )
        return result


    # ------------------------------------------------------------------ NeuralNetwork

    @overload
    def get_activations(
        self, x: InputLike, layer: int | str, batch_size: int = 128,
        framework: Literal[False] = False, *, training_mode: bool = False,
    ) -> NDArray[Any]: ...

    @overload
    def get_activations(
        self, x: InputLike, layer: int | str, batch_size: int, framework: Literal[True],
        *, training_mode: bool = False,
    ) -> torch.Tensor: ...

    @overload
    def get_activations(
        self, x: InputLike, layer: int | str, *, framework: Literal[True],
        training_mode: bool = False,
    ) -> torch.Tensor: ...

    def get_activations(
        self, x: InputLike, layer: int | str, batch_size: int = 128, framework: bool = False,
        *, training_mode: bool = False,
    ) -> Any:
        """Output of ``layer`` for the raw input ``x``, preprocessed exactly as in ``predict``.

        Only the forward pass up to the layer runs; the hook that reads the output is removed
        before returning.

        Parameters
        ----------
        x : array_like or torch.Tensor
            ``(N, *input_shape)`` raw input.
        layer : int or str
            An index into :attr:`layer_names` (negative counts from the end) or a dotted name.
        framework : bool
            Return a tensor on :attr:`device` (connected to ``x`` when ``x`` requires grad).

        Returns
        -------
        numpy.ndarray or torch.Tensor
            ``(N, *layer_output_shape)``; numpy float64 for float64 models, else float32 (integer
            outputs keep their dtype). A layer returning a tuple gives its first element.

        Raises
        ------
        ParameterError
            Unknown layer name or index out of range.
        ParameterTypeError
            ``layer`` is neither an int nor a str.
        InputShapeError, InputValueError
        """
        return _compute.activations(
            self._core, self.layer_names, x, layer, batch_size, framework, training_mode
        )

    def get_multi_activations(
        self, x: InputLike, layers: Sequence[int | str], batch_size: int = 128,
        framework: bool = False,
    ) -> list[Any]:
        """Outputs of several ``layers`` from ONE forward pass per batch (the
        ``MultiLayerActivations`` fast path), each equal to ``get_activations(x, layer,
        batch_size, framework)``; the pass of each batch stops once every layer has run.

        Raises
        ------
        ParameterError
            Unknown layer, or an empty ``layers``.
        InputShapeError, InputValueError
        """
        from trustml.adapters.torch._multi import multi_activations

        return multi_activations(self._core, self.layer_names, x, layers, batch_size, framework)

    # ------------------------------------------------------------------ ActivationTransforms

    @property
    def activation_transforms(self) -> dict[str, ActivationTransform]:
        """The installed activation transforms, keyed by layer name (a new dict)."""
        return dict(self._core.transforms)

    def set_activation_transform(
        self, layer: int | str, transform: ActivationTransform | None
    ) -> None:
        """Install ``transform`` at ``layer``'s output, replacing any there; None removes it.

        While installed, every call (``predict``, ``compute_loss``, ``loss_gradient``,
        ``class_gradient``, ``get_activations`` of that layer and later ones, ``fit``,
        ``count_noisy_predictions``) runs the layer's output through
        ``clamp(a, clip_min, clip_max) * scale`` inside the forward pass, through a forward hook
        registered for the call and removed after it; gradients flow through it. The module
        itself is never changed. A module called several times per forward pass is transformed
        at its first call (the one :meth:`get_activations` returns); a layer returning a tuple
        has its first element transformed. Serves Neural Cleanse pruning (Wang et al., IEEE S&P
        2019) and ReAct (Sun et al., NeurIPS 2021); see :mod:`trustml.activations`.

        Parameters
        ----------
        layer : int or str
            An index into :attr:`layer_names` or a dotted name.
        transform : ActivationTransform or None
            Its ``scale`` must broadcast to one sample's output of the layer (e.g. ``(units,)``,
            or ``(channels, 1, 1)`` for a channels-first convolution).

        Raises
        ------
        ParameterError
            Unknown layer, a layer whose output is not a floating tensor, or a ``scale`` that
            does not broadcast to its output shape; nothing is installed.
        ParameterTypeError
            ``transform`` is not an ActivationTransform or None; ``layer`` neither int nor str.
        """
        name, module = _compute.resolve_layer(self._core, self.layer_names, layer)
        checked = _transforms.validated(self._core, name, module, transform)
        if checked is None:
            self._core.transforms.pop(name, None)
        else:
            self._core.transforms[name] = checked

    # ------------------------------------------------------------------ layer-mode overrides

    def set_dropout(self, train: bool | None) -> None:
        """Run every dropout layer in train (True) or eval (False) mode in later calls, whatever
        ``training_mode`` says; None removes the override. The model itself is not changed
        between calls."""
        self._set_override("dropout", train)

    def set_batchnorm(self, train: bool | None) -> None:
        """As :meth:`set_dropout`, for batch-normalisation layers (``_BatchNorm`` subclasses)."""
        self._set_override("batchnorm", train)

    def set_multihead_attention(self, train: bool | None) -> None:
        """As :meth:`set_dropout`, for ``torch.nn.MultiheadAttention`` layers."""
        self._set_override("multihead_attention", train)

    def _set_override(self, kind: str, train: bool | None) -> None:
        if train is None:
            self._core.overrides.pop(kind, None)
            return
        if not isinstance(train, (bool, np.bool_)):
            raise ParameterTypeError(f"train: expected a bool or None, got {train!r}")
        self._core.overrides[kind] = bool(train)

    # ------------------------------------------------------------------ NoisyCounter

    def count_noisy_predictions(
        self, x: InputLike, sigma: float, n: int, *, batch_size: int, seed: SeedLike = None
    ) -> NDArray[np.int64]:
        """Count the predicted classes of ``n`` Gaussian-noised copies of each input.

        The fast path of randomized smoothing (Cohen, Rosenfeld, Kolter, ICML 2019): noise of
        standard deviation ``sigma`` is added in raw input space (before the defences and the
        standardisation), drawn on :attr:`device` by a ``torch.Generator`` seeded from ``seed``;
        the noisy copies go through the whole predict path in chunks of at most ``batch_size``
        (a chunk may hold copies of several inputs; under ``torch.autocast`` when the
        constructor's ``noisy_count_autocast`` is set), their argmax labels are counted with
        ``torch.bincount`` on the device, and the counts come back to the host once.

        Parameters
        ----------
        x : array_like or torch.Tensor
            ``(N, *input_shape)`` raw input.
        sigma : float
            Noise standard deviation (raw input units), > 0.
        n : int
            Noisy copies per input, >= 1.
        batch_size : int
            Most noisy copies that exist at once.
        seed : int, numpy.random.Generator or None
            The same seed, ``batch_size``, device and inputs give the same counts.

        Returns
        -------
        numpy.ndarray
            ``(N, nb_classes)`` int64; each row sums to ``n``.

        Raises
        ------
        ParameterError
            ``sigma`` not a positive finite number, ``n`` or ``batch_size`` not a positive int.
        InputShapeError, InputValueError, ParameterTypeError
        """
        return _noise.count_noisy_predictions(self._core, x, sigma, n, batch_size, seed)

    # ------------------------------------------------------------------ Fittable

    def _ensure_optimizer(self) -> torch.optim.Optimizer:
        if self._optimizer is None:
            self._optimizer = torch.optim.Adam(self._core.model.parameters(), lr=1e-3)
        return self._optimizer

    def fit(
        self,
        x: InputLike,
        y: Any,
        batch_size: int = 128,
        nb_epochs: int = 20,
        *,
        seed: SeedLike = None,
        training_mode: bool = True,
        drop_last: bool = False,
    ) -> None:
        """Train the model in place on ``x`` and labels ``y`` with the optimizer.

        Each epoch visits the samples in a fresh order drawn from ``seed``; torch's own randomness
        (dropout) is seeded from it too, without touching torch's global random state, so a fixed
        seed on a fixed device gives the same weights. The defences flagged ``apply_fit`` and the
        standardisation run on each batch. The model's previous mode is restored afterwards.

        Parameters
        ----------
        x : array_like or torch.Tensor
            ``(N, *input_shape)`` raw training input.
        y : array_like or torch.Tensor
            Index labels ``(N,)`` or one-hot labels ``(N, nb_classes)``.
        batch_size, nb_epochs : int
            Positive ints.
        seed : int, numpy.random.Generator or None
        training_mode : bool
            Mode the model trains in (True: dropout and batch statistics active).
        drop_last : bool
            Skip each epoch's last batch when it is smaller than ``batch_size``.

        Raises
        ------
        InputShapeError, InputValueError, LabelError, ParameterError
            Raised before any training step: the model is unchanged. ``x`` with no samples is a
            ``ParameterError`` (as on every adapter).
        DeviceError
            ``x`` or ``y`` on the ``meta`` device.
        """
        _training.fit(
            self._core, self._ensure_optimizer, x, y, batch_size, nb_epochs, seed, training_mode,
            drop_last,
        )

    def fit_generator(
        self,
        generator: Iterable[tuple[Any, Any]],
        nb_epochs: int = 20,
        *,
        seed: SeedLike = None,
        training_mode: bool = True,
    ) -> None:
        """Train on an iterable of ``(x, y)`` batches (a ``torch.utils.data.DataLoader``, a list,
        ...), iterated once per epoch.

        Each batch is validated as in :meth:`fit` when it arrives; a batch refused late in the
        stream (or an epoch with no batch) raises after the weights and the optimizer's state are
        put back as they were before the call (a copy of them is kept while training). torch's
        randomness during training, including a ``DataLoader``'s shuffling, is seeded from
        ``seed``.

        Raises
        ------
        ParameterTypeError
            ``generator`` is not iterable, a one-shot iterator is given with ``nb_epochs > 1``, or
            a batch is not an ``(x, y)`` pair.
        InputShapeError, InputValueError, LabelError, ParameterError
            A bad batch, an empty batch, or an epoch without batches; the model is unchanged.
        DeviceError
            A batch on the ``meta`` device.
        """
        _training.fit_generator(
            self._core, self._ensure_optimizer, generator, nb_epochs, seed, training_mode
        )

    # ------------------------------------------------------------------ parameters and state

    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters (the current optimizer included)."""
        core = self._core
        return {
            "model": core.model,
            "loss": core.loss,
            "input_shape": core.input_shape,
            "nb_classes": core.nb_classes,
            "optimizer": self._optimizer,
            "channels_first": self._channels_first,
            "clip_values": self._raw_clip_values,
            "preprocessing_defences": core.pipeline.defences or None,
            "postprocessing_defences": core.chain.postprocessors or None,
            "preprocessing": core.chain.standardisation,
            "device": core.device,
            "noisy_count_autocast": core.count_autocast,
        }

    def set_params(self, **params: Any) -> PyTorchClassifier:
        """Change constructor parameters; everything is validated as in the constructor before
        anything changes. The installed activation transforms are kept (checked against the new
        settings).

        Raises
        ------
        ParameterError
            An unknown parameter name; a kept activation transform that no longer fits its layer;
            or as the constructor.
        """
        unknown = sorted(set(params) - set(_PARAMS))
        if unknown:
            raise ParameterError(
                f"set_params: expected parameters among {list(_PARAMS)}, got {unknown}"
            )
        merged = {**self.get_params(), **params}
        relayout = "channels_first" in params or "input_shape" in params
        if relayout and "preprocessing" not in params:  # lay the standardisation out anew
            std = self._core.chain.standardisation
            merged["preprocessing"] = (std.subtrahend.squeeze(), std.divisor.squeeze())
        fresh = PyTorchClassifier(**merged)
        fresh._core.overrides = self._core.overrides
        for name, transform in self._core.transforms.items():  # raises before any change
            fresh.set_activation_transform(name, transform)
        self.__dict__.update(fresh.__dict__)
        return self

    def reset(self, seed: SeedLike = None) -> None:
        """Re-initialise the model's weights in place (every submodule's ``reset_parameters``,
        which covers torch's layers) with torch's generator seeded from ``seed``, and clear the
        optimizer's state (momenta). Submodules without ``reset_parameters`` keep their weights."""
        core = self._core
        _persistence.reinitialise(core.model, self._optimizer, core.device, seed)

    def clone_for_refitting(self, seed: SeedLike = None) -> PyTorchClassifier:
        """A new classifier with a deep copy of the model, re-initialised (:meth:`reset`), and a
        fresh optimizer of the same class and parameter-group settings over the copy's parameters;
        the activation transforms and layer-mode overrides are kept. The original is
        unchanged."""
        model = copy.deepcopy(self._core.model)
        optimizer = None
        if self._optimizer is not None:
            optimizer = _persistence.optimizer_like(self._optimizer, self._core.model, model)
        params = {**self.get_params(), "model": model, "loss": copy.deepcopy(self._core.loss),
                  "optimizer": optimizer}
        clone = PyTorchClassifier(**params)
        clone._core.overrides = dict(self._core.overrides)
        clone._core.transforms = dict(self._core.transforms)  # same architecture, same names
        clone.reset(seed)
        return clone

    def save(self, path: str | os.PathLike[str]) -> None:
        """Save the model's ``state_dict`` (and the optimizer's, when there is one) to ``path``
        with ``torch.save``. Only tensors and plain containers are written."""
        _persistence.save(path, self._core.model, self._optimizer)

    def load(self, path: str | os.PathLike[str]) -> None:
        """Load weights saved by :meth:`save` into the wrapped model (and optimizer).

        The file is read with ``torch.load(..., weights_only=True)``: arbitrary pickled objects are
        refused, never executed. Keys and shapes are checked before anything is copied.

        Raises
        ------
        FileNotFoundError
            No file at ``path``.
        ParameterError
            The file is not a trustml checkpoint, holds objects other than tensors and plain
            containers, or its keys or shapes do not match the model.
        """
        _persistence.load(path, self._core.model, self._optimizer, self._core.device)
