"""Members of :class:`~trustml.adapters.mxnet.MXNetClassifier` that forward to its
:class:`~trustml.adapters.mxnet._core.Core` or to the attributes the constructor sets: the
estimator's properties, activation transforms, the seed's estimator surface (``get_params``,
``set_params``, ``clone_for_refitting``) and persistence.

:class:`PipelineMembers` is a private concrete base class with no capability meaning (DESIGN.md,
"Sharing code"); the PyTorch and TensorFlow adapters have the same layout (a ``_shared`` module of
forwarding members, the facade class and its computations in its own module).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np
from typing_extensions import Self

from trustml.activations import ActivationTransform, check_transform
from trustml.errors import ParameterError
from trustml.preprocessing import PreprocessingChain, Standardisation
from trustml.validation import ClipValues, check_layer

if TYPE_CHECKING:
    import mxnet as mx
    from mxnet import gluon

    from trustml.adapters.mxnet._core import Core

__all__ = ["PARAMS", "PipelineMembers"]

PARAMS = (
    "model", "loss", "input_shape", "nb_classes", "optimizer", "channels_first", "clip_values",
    "preprocessing_defences", "postprocessing_defences", "preprocessing", "ctx",
)
"""The constructor's parameters, in its order (what ``get_params`` returns)."""


class PipelineMembers:
    """The members of the MXNet adapter that forward to ``self._pipe`` and the validated
    settings stored next to it."""

    _input_shape: tuple[int, ...]
    _nb_classes: int
    _channels_first: bool
    _clip_values: ClipValues | None
    _chain: PreprocessingChain
    _pipe: Core
    _blocks: dict[str, gluon.Block]
    _layer_shapes: dict[str, tuple[int, ...]]
    _trainer: gluon.Trainer | None

    # ------------------------------------------------------------------ properties

    @property
    def model(self) -> gluon.Block:
        """The wrapped Gluon network (not a copy)."""
        return self._pipe.model

    @property
    def loss(self) -> gluon.loss.Loss:
        """The per-sample loss."""
        return self._pipe.loss

    @property
    def trainer(self) -> gluon.Trainer | None:
        """The ``gluon.Trainer`` that :meth:`fit` steps; None until the first ``fit`` when no
        optimizer was given."""
        return self._trainer

    @property
    def ctx(self) -> mx.Context:
        """The mxnet context every computation runs on."""
        return self._pipe.ctx

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample."""
        return self._input_shape

    @property
    def nb_classes(self) -> int:
        """Number of classes."""
        return self._nb_classes

    @property
    def clip_values(self) -> ClipValues | None:
        """Valid input range ``(min, max)`` as float32 arrays, or None."""
        return self._clip_values

    @property
    def preprocessing(self) -> Standardisation:
        """The standardisation applied before the model."""
        return self._chain.standardisation

    @property
    def channels_first(self) -> bool:
        """Whether the channel axis is axis 1 of a batch."""
        return self._channels_first

    @property
    def layer_names(self) -> list[str]:
        """Dotted names (``"features.0"``) of every block inside the model whose output is a single
        array, in the order the forward pass computes those outputs (a container comes after its
        children; the model itself is not listed)."""
        return list(self._layer_shapes)

    @property
    def dtype(self) -> np.dtype[Any]:
        """The floating dtype the adapter computes in: that of the model's first parameter."""
        return self._pipe.dtype

    # ------------------------------------------------------------------ ActivationTransforms

    @property
    def activation_transforms(self) -> dict[str, ActivationTransform]:
        """The installed activation transforms, keyed by layer name (a new dict)."""
        return {name: transform for name, (_, transform) in self._pipe.transforms.items()}

    def set_activation_transform(
        self, layer: int | str, transform: ActivationTransform | None
    ) -> None:
        """Install ``transform`` at ``layer``'s output, replacing any there; None removes it.

        While installed, ``predict``, ``compute_loss``, ``loss_gradient``, ``class_gradient``,
        ``get_activations`` (that layer and later ones) and ``fit`` run the block's output
        through ``clip(a, clip_min, clip_max) * scale`` inside the forward pass (its ``forward``
        wrapped for the pass, then restored), recorded by autograd so gradients flow through it;
        the network's parameters, children and hybridize flags are never changed. While any
        transform is installed the network runs imperatively (a hybridized network's cached
        graph never calls its children), which is slower. A block called several times per
        forward pass is transformed at its first call. See :mod:`trustml.activations` (Neural
        Cleanse pruning, Wang et al., IEEE S&P 2019; ReAct, Sun et al., NeurIPS 2021).

        Parameters
        ----------
        layer : int or str
            An index into :attr:`layer_names` or a dotted name from it.
        transform : ActivationTransform or None
            Its ``scale`` must broadcast to one sample's output of the block (e.g. ``(units,)``,
            or ``(channels, 1, 1)`` for a channels-first convolution).

        Raises
        ------
        ParameterError
            Unknown layer, or a ``scale`` that does not broadcast to the block's output shape;
            nothing is installed.
        ParameterTypeError
            ``transform`` is not an ActivationTransform or None.
        """
        name = self._layer_name(layer)
        checked = check_transform(transform, name, self._layer_shapes[name])
        if checked is None:
            self._pipe.transforms.pop(name, None)
        else:
            self._pipe.transforms[name] = (self._blocks[name], checked)

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model's parameters with ``model.save_parameters(path)`` (mxnet's NDArray
        format: arrays only, nothing pickled)."""
        from trustml.adapters.mxnet import _persistence

        _persistence.save(self.model, path)

    def load(self, path: str | os.PathLike[str]) -> None:
        """Read parameters written by :meth:`save` (``model.load_parameters``) onto :attr:`ctx`.

        Raises
        ------
        ParameterError
            The file is missing or unreadable, or its parameter names, shapes or dtypes differ
            from the model's; the model is unchanged.
        """
        from trustml.adapters.mxnet import _persistence

        _persistence.load(self.model, path, self.ctx)

    # ------------------------------------------------------------------ layers

    def _layer_name(self, layer: Any) -> str:
        names = self.layer_names
        return names[check_layer(layer, names)]

    # ------------------------------------------------------------------ estimator surface

    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters (a new dict); ``optimizer`` is :attr:`trainer` (None
        until the first ``fit`` when none was given)."""
        chain = self._chain
        return {
            "model": self.model,
            "loss": self.loss,
            "input_shape": self._input_shape,
            "nb_classes": self._nb_classes,
            "optimizer": self._trainer,
            "channels_first": self._channels_first,
            "clip_values": self._clip_values,
            "preprocessing_defences": chain.defences or None,
            "postprocessing_defences": chain.postprocessors or None,
            "preprocessing": chain.standardisation,
            "ctx": self.ctx,
        }

    def set_params(self, **params: Any) -> Self:
        """Change constructor parameters; everything is validated as in the constructor (the
        network probed again, in inference mode) before anything changes, so on error the
        adapter is unchanged. The installed activation transforms are kept (checked against the
        new settings). A new ``model`` needs a new ``optimizer`` (the trainer belongs to the old
        model's parameters): pass ``optimizer=None`` or one for the new model.

        Returns
        -------
        The adapter itself.

        Raises
        ------
        ParameterError
            An unknown parameter name; a kept activation transform that no longer fits; or as
            the constructor.
        """
        unknown = sorted(set(params) - set(PARAMS))
        if unknown:
            raise ParameterError(
                f"set_params: expected parameters among {list(PARAMS)}, got {unknown}"
            )
        merged = {**self.get_params(), **params}
        relayout = "channels_first" in params or "input_shape" in params
        if relayout and "preprocessing" not in params:  # lay the standardisation out anew
            std = self._chain.standardisation
            merged["preprocessing"] = (std.subtrahend.squeeze(), std.divisor.squeeze())
        fresh: Self = _facade(self)(**merged)
        for name, transform in self.activation_transforms.items():  # raises before any change
            fresh.set_activation_transform(name, transform)
        self.__dict__.update(fresh.__dict__)
        return self

    def clone_for_refitting(self, init: mx.init.Initializer | None = None) -> Self:
        """An untrained copy (ART's ``clone_for_refitting``) that trains on its own.

        The network is copied block by block with fresh parameters (same names, shapes and
        dtypes) on :attr:`ctx`, each drawn by its own initialiser (zeros for biases, reset batch
        normalisation statistics) or else by ``init``; a hybridized network's cached graph is
        rebuilt on the copy's first call. The loss is copied the same way; the copy's trainer
        is built over its own parameters with a fresh optimizer of the same class and settings
        as :attr:`trainer`'s (the default Adam when there is none yet). The settings,
        preprocessing, ``clip_values`` and activation transforms are the same. Training the
        copy never changes the original.

        Parameters
        ----------
        init : mx.init.Initializer, optional
            For parameters without an initialiser of their own (the weights, as a rule). None:
            ``mx.init.Xavier()`` (Glorot and Bengio, AISTATS 2010), scaled to each layer's fan-in
            and fan-out; Gluon's own ``initialize()`` default, ``Uniform(0.07)``, leaves a
            re-initialised tanh network too flat to learn in a few epochs of plain SGD.
        """
        import mxnet as mx

        from trustml.adapters.mxnet import _persistence, _training

        fill = mx.init.Xavier() if init is None else init
        model = _persistence.clone_block(self.model, self.ctx, fill)
        loss = _persistence.clone_block(self.loss, self.ctx, fill)
        params = {**self.get_params(), "model": model, "loss": loss,
                  "optimizer": _training.optimizer_like(self._trainer)}
        clone: Self = _facade(self)(**params)
        for name, transform in self.activation_transforms.items():
            clone.set_activation_transform(name, transform)
        return clone


def _facade(obj: PipelineMembers) -> Any:
    """The concrete class of ``obj`` (the facade), whose constructor takes :data:`PARAMS`."""
    return type(obj)
