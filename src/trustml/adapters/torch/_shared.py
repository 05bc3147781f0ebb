"""Members of :class:`~trustml.adapters.torch.PyTorchClassifier` that forward to its
:class:`~trustml.adapters.torch._core.Core`: the estimator's properties, the seed's estimator
surface (``get_params``, ``set_params``, ``clone_for_refitting``), activation transforms, layer-mode
overrides, noisy counting and persistence.

:class:`CoreMembers` is a private concrete base class with no capability meaning (DESIGN.md,
"Sharing code"); capabilities stay structural. The TensorFlow and MXNet adapters have the same
layout (a ``_shared`` module holding the forwarding members, the facade class in its own module).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from typing_extensions import Self

from trustml.activations import ActivationTransform
from trustml.adapters.torch import _compute, _noise, _persistence, _transforms
from trustml.adapters.torch._core import Core
from trustml.adapters.torch._layers import execution_order
from trustml.adapters.torch._pipeline import DefenceLike
from trustml.adapters.torch._state import model_mode
from trustml.errors import ParameterError, ParameterTypeError
from trustml.preprocessing import Postprocessor, Standardisation
from trustml.rng import SeedLike
from trustml.validation import ClipValues

__all__ = ["PARAMS", "CoreMembers", "InputLike"]

InputLike = ArrayLike | torch.Tensor
"""numpy arrays (anything ``numpy.asarray`` takes) or torch tensors on any device."""

PARAMS = (
    "model", "loss", "input_shape", "nb_classes", "optimizer", "channels_first", "clip_values",
    "preprocessing_defences", "postprocessing_defences", "preprocessing", "device",
    "noisy_count_autocast",
)
"""The constructor's parameters, in its order (what ``get_params`` returns)."""

class CoreMembers:
    """The members of the PyTorch adapter that only forward to ``self._core`` (and the few
    attributes the constructor sets next to it)."""

    _core: Core
    _optimizer: torch.optim.Optimizer | None
    _channels_first: bool
    _clip_values: ClipValues | None
    _raw_clip_values: Any
    _layer_names: list[str] | None

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

    def set_params(self, **params: Any) -> Self:
        """Change constructor parameters; everything is validated as in the constructor before
        anything changes. The installed activation transforms are kept (checked against the new
        settings).

        Raises
        ------
        ParameterError
            An unknown parameter name; a kept activation transform that no longer fits its layer;
            or as the constructor.
        """
        unknown = sorted(set(params) - set(PARAMS))
        if unknown:
            raise ParameterError(
                f"set_params: expected parameters among {list(PARAMS)}, got {unknown}"
            )
        merged = {**self.get_params(), **params}
        relayout = "channels_first" in params or "input_shape" in params
        if relayout and "preprocessing" not in params:  # lay the standardisation out anew
            std = self._core.chain.standardisation
            merged["preprocessing"] = (std.subtrahend.squeeze(), std.divisor.squeeze())
        fresh: Self = _facade(self)(**merged)
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

    def clone_for_refitting(self, seed: SeedLike = None) -> Self:
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
        clone: Self = _facade(self)(**params)
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


def _facade(obj: CoreMembers) -> Any:
    """The concrete class of ``obj`` (the facade), whose constructor takes :data:`PARAMS`."""
    return type(obj)
