"""``PyTorchClassifier``: a ``torch.nn.Module`` classifier behind trustml's capabilities.

The class validates its arguments, keeps the validated state in a
:class:`~trustml.adapters.torch._core.Core` and delegates each operation to a module of its own
(``_compute``, ``_noise``, ``_training``, ``_persistence``); this file is the public surface and its
documentation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal, overload

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from trustml.adapters.torch import _compute, _training
from trustml.adapters.torch._core import Core, probe_input_shape
from trustml.adapters.torch._device import check_autocast_dtype, resolve_device
from trustml.adapters.torch._pipeline import DefenceLike, Pipeline
from trustml.adapters.torch._shared import CoreMembers, InputLike
from trustml.errors import ParameterError, ParameterTypeError, UnsupportedModelError
from trustml.labels import check_nb_classes
from trustml.preprocessing import (
    Postprocessor,
    PreprocessingChain,
    PreprocessingLike,
    check_channels_first,
)
from trustml.protocols import Reduction
from trustml.rng import SeedLike
from trustml.validation import check_clip_values, check_input_shape

__all__ = ["InputLike", "PyTorchClassifier"]


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


class PyTorchClassifier(CoreMembers):
    """A PyTorch classifier with trustml's capabilities.

    Capabilities: :class:`~trustml.protocols.Classifier`, :class:`~trustml.protocols.Fittable`,
    :class:`~trustml.protocols.LossGradients`, :class:`~trustml.protocols.ClassGradients`,
    :class:`~trustml.protocols.NeuralNetwork`, :class:`~trustml.protocols.ActivationTransforms`
    and the randomized-smoothing fast path :class:`~trustml.protocols.NoisyCounter` (Cohen,
    Rosenfeld, Kolter, "Certified Adversarial Robustness via Randomized Smoothing", ICML 2019).
    Names follow IBM's Adversarial Robustness Toolbox (ART); the differences from ART are listed in
    ``docs/adapters/torch.md``.

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
        ``noisy_count_autocast``; a model that fails on a zero batch ``(1, *input_shape)``
        (probed once at construction, in eval mode, without autograd: its first layer does not
        take ``input_shape``).
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
        probe_input_shape(model, pipeline, shape)  # before the model moves: nothing moves on error

        self._core = Core(model.to(dev), loss.to(dev), shape, classes, dev, chain, pipeline)
        self._core.count_autocast = autocast
        self._optimizer = optimizer
        self._channels_first = cf
        self._clip_values = clip
        self._raw_clip_values = clip_values
        self._layer_names: list[str] | None = None

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

    def compute_loss_from_predictions(
        self, pred: InputLike, y: Any, reduction: Reduction = "none", *, framework: bool = False
    ) -> Any:
        """The loss of given model outputs (ART's ``compute_loss_from_predictions``): the user's
        loss with ``reduction="none"`` on ``pred``, optionally reduced, without a forward pass.

        ``compute_loss_from_predictions(predict(x), y)`` equals ``compute_loss(x, y)`` when no
        postprocessing defence changes ``predict``'s scores (bit for bit for a float32 model;
        ``predict`` rounds other dtypes to float32).

        Parameters
        ----------
        pred : array_like or torch.Tensor
            ``(N, nb_classes)`` model outputs (logits for most models), cast to the model's dtype.
        y : array_like or torch.Tensor
            Index labels ``(N,)`` or one-hot labels ``(N, nb_classes)``.
        reduction : {"none", "mean", "sum"}
        framework : bool
            Return a tensor on :attr:`device` (connected to ``pred`` when it requires grad).

        Returns
        -------
        numpy.ndarray or torch.Tensor
            ``(N,)`` for ``"none"``, 0-d otherwise; float64 for float64 models, else float32.

        Raises
        ------
        InputShapeError
            ``pred`` is not ``(N, nb_classes)``.
        InputValueError, LabelError, ParameterError
        """
        return _compute.loss_from_predictions(self._core, pred, y, reduction, framework)

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
