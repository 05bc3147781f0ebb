"""Members KerasClassifier and TensorFlowV2Classifier share: each forwards to the adapter's
:class:`~trustml.adapters.tensorflow._runtime.TFRuntime`, written once in a private concrete base
class with no capability meaning (see DESIGN.md "Sharing code"). What differs between the two
classes (the constructor, the training step, copying) stays in each; what each class's model
outputs and which loss it uses is documented in its class docstring."""

from __future__ import annotations

import os
from abc import abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any, Literal, overload

import numpy as np
import tensorflow as tf
from numpy.typing import ArrayLike, NDArray
from typing_extensions import Self

from trustml.activations import ActivationTransform
from trustml.errors import ParameterError
from trustml.preprocessing import Postprocessor, Preprocessor, Standardisation
from trustml.protocols import Reduction
from trustml.rng import SeedLike
from trustml.validation import ClipValues

from ._io import load_keras, save_keras
from ._runtime import Step, TFRuntime

__all__ = ["RuntimeMembers"]


class RuntimeMembers:
    """The estimator's properties, predictions, losses, gradients, activations, training loops,
    activation transforms, the seed's estimator surface and persistence, forwarded to ``self._rt``.

    A subclass sets ``_rt``, ``_model``, ``_init`` (its constructor's parameters other than
    ``model``), ``_channels_first`` and ``_clip_values``, and provides ``_step``.
    """

    _rt: TFRuntime
    _model: Any
    _init: dict[str, Any]
    _channels_first: bool
    _clip_values: ClipValues | None
    _optimizer: Any

    @abstractmethod
    def _step(self) -> Step:
        """The training step ``fit`` uses (see the class's Notes)."""

    # ------------------------------------------------------------------ Estimator / Classifier

    @property
    def model(self) -> Any:
        """The wrapped model (the user's object itself, not a copy); read-only."""
        return self._model

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample."""
        return self._rt.input_shape

    @property
    def nb_classes(self) -> int:
        """Number of classes (the model's output width)."""
        return self._rt.nb_classes

    @property
    def clip_values(self) -> ClipValues | None:
        """Valid input range ``(min, max)`` as float32 arrays, or None; never applied."""
        return self._clip_values

    @property
    def preprocessing(self) -> Standardisation:
        """The standardisation applied before the model."""
        return self._rt.chain.standardisation

    @property
    def preprocessing_defences(self) -> tuple[Preprocessor, ...]:
        """The preprocessing defences, in order."""
        return self._rt.chain.defences

    @property
    def postprocessing_defences(self) -> tuple[Postprocessor, ...]:
        """The postprocessing defences, in order."""
        return self._rt.chain.postprocessors

    @property
    def channels_first(self) -> bool:
        """Whether the channel axis is axis 1 of a batch."""
        return self._channels_first

    def predict(self, x: ArrayLike, batch_size: int = 128) -> NDArray[np.float32]:
        """Model outputs ``(N, nb_classes)`` float32 (logits or probabilities, as the model gives)
        after the postprocessing defences; ``x`` is ``(N, *input_shape)`` (numpy or tf.Tensor),
        processed ``batch_size`` samples at a time.

        Raises
        ------
        InputShapeError, InputValueError, ParameterError
        """
        return self._rt.predict(x, batch_size)

    # ------------------------------------------------------------------ LossGradients

    def compute_loss(
        self, x: ArrayLike, y: ArrayLike, reduction: Reduction = "none"
    ) -> NDArray[Any]:
        """Loss of each sample (the class's loss: see its docstring): ``(N,)`` (``"none"``) or
        0-d (``"mean"``, ``"sum"``), in the model's dtype; ``y`` index ``(N,)`` or one-hot
        ``(N, nb_classes)``.

        Raises
        ------
        InputShapeError, InputValueError, LabelError, ParameterError
        """
        return self._rt.compute_loss(x, y, reduction)

    def compute_loss_from_predictions(
        self, pred: ArrayLike, y: ArrayLike, reduction: Reduction = "none"
    ) -> NDArray[Any]:
        """The loss of given model outputs (ART's ``compute_loss_from_predictions``), without a
        forward pass: ``compute_loss_from_predictions(predict(x), y)`` equals
        ``compute_loss(x, y)`` (to float rounding) when no postprocessing defence changes
        ``predict``'s outputs.

        Parameters
        ----------
        pred : array_like or tf.Tensor
            ``(N, nb_classes)`` model outputs (logits or probabilities, as the model gives), cast
            to the model's dtype.
        y : array_like
            Index labels ``(N,)`` or one-hot labels ``(N, nb_classes)``.
        reduction : {"none", "mean", "sum"}

        Returns
        -------
        numpy.ndarray
            ``(N,)`` for ``"none"``, 0-d otherwise, in the model's dtype.

        Raises
        ------
        InputShapeError
            ``pred`` is not ``(N, nb_classes)``.
        InputValueError, LabelError, ParameterError
        """
        return self._rt.loss_from_predictions(pred, y, reduction)

    def loss_gradient(self, x: ArrayLike, y: ArrayLike) -> NDArray[Any]:
        """Gradient of the summed per-sample loss with respect to the raw ``x`` (shape of ``x``,
        model dtype; ``tf.GradientTape``), chained through standardisation and defences.

        Raises
        ------
        InputShapeError, InputValueError, LabelError
        """
        return self._rt.loss_gradient(x, y)

    # ------------------------------------------------------------------ ClassGradients

    def class_gradient(self, x: ArrayLike, label: int | ArrayLike | None = None) -> NDArray[Any]:
        """Gradients of the model outputs (logits or probabilities, as the model gives) with
        respect to the raw ``x``: ``(N, nb_classes, *input_shape)`` for ``label=None``, else
        ``(N, 1, *input_shape)``; ``label`` an int, index labels ``(N,)`` or one-hot labels.

        Raises
        ------
        InputShapeError, InputValueError, LabelError
        """
        return self._rt.class_gradient(x, label)

    # ------------------------------------------------------------------ NeuralNetwork

    @property
    def layer_names(self) -> list[str]:
        """Layer names in execution order (the input layer excluded); for a subclassed Keras
        model, the direct sub-layers its forward pass calls; empty for a callable that is not a
        Keras model."""
        return self._rt.layers.names

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
        """Output of ``layer`` (index into :attr:`layer_names` or name) for the raw ``x``,
        preprocessed as in ``predict``: ``(N, *layer_output_shape)``, numpy or (``framework=True``)
        a ``tf.Tensor``, which a caller's ``GradientTape`` sees when ``x`` is a watched tensor and
        no numpy defence is active.

        Raises
        ------
        ParameterError
            Unknown layer name, index out of range, or a model without layers.
        InputShapeError, InputValueError
        """
        return self._rt.activations(x, layer, batch_size, framework)

    def get_multi_activations(
        self, x: Any, layers: Sequence[int | str], batch_size: int = 128,
        framework: bool = False,
    ) -> list[Any]:
        """Outputs of several ``layers`` from ONE forward pass per batch (the
        ``MultiLayerActivations`` fast path), each equal to ``get_activations(x, layer,
        batch_size, framework)``; a Sequential model runs no further than the last of them.

        Raises
        ------
        ParameterError
            Unknown layer, or an empty ``layers``.
        InputShapeError, InputValueError
        """
        return self._rt.multi_activations(x, layers, batch_size, framework)

    # ------------------------------------------------------------------ ActivationTransforms

    @property
    def activation_transforms(self) -> dict[str, ActivationTransform]:
        """The installed activation transforms, keyed by layer name (a new dict)."""
        return self._rt.transforms.transforms

    def set_activation_transform(
        self, layer: int | str, transform: ActivationTransform | None
    ) -> None:
        """Install ``transform`` at ``layer``'s output, replacing any there; None removes it.

        While installed, ``predict``, ``compute_loss``, ``loss_gradient``, ``class_gradient``,
        ``get_activations`` (that layer and later ones) and ``fit`` run the layer's output through
        ``clip_by_value(a, clip_min, clip_max) * scale`` inside the forward pass (the layer's
        ``call`` is wrapped for the duration of each call, then restored), so gradients flow
        through it; the model's weights and structure are never changed. Works for Sequential,
        Functional and subclassed Keras models (for a subclassed one, on the direct sub-layers
        that ``layer_names`` lists); see :mod:`trustml.activations` (Neural Cleanse pruning,
        Wang et al., IEEE S&P 2019; ReAct, Sun et al., NeurIPS 2021).

        Parameters
        ----------
        layer : int or str
            An index into :attr:`layer_names` or a layer name.
        transform : ActivationTransform or None
            Its ``scale`` must broadcast to one sample's output of the layer (e.g. ``(units,)``,
            or ``(channels,)`` for a channels-last convolution).

        Raises
        ------
        ParameterError
            Unknown layer (every layer of a model without Keras layers); a layer the forward pass
            calls more than once (shared) or whose output is not one floating tensor; a
            ``scale`` that does not broadcast to its output shape. Nothing is installed.
        ParameterTypeError
            ``transform`` is not an ActivationTransform or None.

        Notes
        -----
        A user's ``train_step`` that is a ``tf.function`` traced before the transform was
        installed runs its own cached graph, which does not see it.
        """
        self._rt.set_activation_transform(layer, transform)

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
        """Train in place with the class's training step (see its Notes); batches shuffled per
        epoch from ``seed``; fit-time defences and standardisation applied to ``x``.

        Raises
        ------
        InputShapeError, InputValueError, LabelError, ParameterError
            Before any training step; the model is unchanged.
        """
        self._rt.fit(x, y, batch_size, nb_epochs, seed, self._step())

    def fit_generator(self, generator: Iterable[tuple[Any, Any]], nb_epochs: int = 20) -> None:
        """Train on ``(x, y)`` batches (e.g. a ``tf.data.Dataset``), re-iterated every epoch.

        Raises
        ------
        ParameterTypeError, ParameterError, InputShapeError, LabelError
            A malformed batch stops training at that batch.
        """
        self._rt.fit_generator(generator, nb_epochs, self._step())

    # ------------------------------------------------------------------ estimator surface

    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters (``model`` first), as validated; a new dict."""
        return {"model": self._model, **self._init}

    def set_params(self, **params: Any) -> Self:
        """Change constructor parameters; everything is validated as in the constructor (the
        model probed again) before anything changes, so on error the adapter is unchanged. The
        installed activation transforms are kept (checked against the new settings); the
        default optimizer ``fit`` created is kept while the model stays the same.

        Returns
        -------
        The adapter itself.

        Raises
        ------
        ParameterError
            An unknown parameter name; a kept activation transform that no longer fits; or as
            the constructor.
        """
        current = self.get_params()
        unknown = sorted(set(params) - set(current))
        if unknown:
            raise ParameterError(
                f"set_params: expected parameters among {list(current)}, got {unknown}"
            )
        merged = {**current, **params}
        relayout = "channels_first" in params or "input_shape" in params
        if relayout and "preprocessing" not in params:  # lay the standardisation out anew
            std = self.preprocessing
            merged["preprocessing"] = (std.subtrahend.squeeze(), std.divisor.squeeze())
        fresh: Self = _facade(self)(**merged)
        for name, transform in self.activation_transforms.items():  # raises before any change
            fresh.set_activation_transform(name, transform)
        if fresh._model is self._model and fresh._optimizer is None:
            fresh._optimizer = self._optimizer
        self.__dict__.update(fresh.__dict__)
        return self

    # ------------------------------------------------------------------ persistence

    def save(self, filename: str, path: str | os.PathLike[str] | None = None) -> str:
        """Save a Keras model in the ``.keras`` format to ``path/filename``; returns the path.

        Raises
        ------
        ParameterError
            ``filename`` does not end in ``.keras``.
        UnsupportedModelError
            The model is not a Keras model.
        """
        return save_keras(self._model, filename, path)

    @classmethod
    def load(
        cls,
        filepath: str | os.PathLike[str],
        *,
        custom_objects: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Self:
        """Load a ``.keras`` file and wrap it; ``kwargs`` go to the constructor (for
        :class:`TensorFlowV2Classifier`: ``nb_classes``, ``input_shape``, ...).

        Raises
        ------
        ParameterError
            The file does not exist or is not a ``.keras`` file.
        """
        facade: Any = cls
        loaded: Self = facade(load_keras(filepath, custom_objects), **kwargs)
        return loaded


def _facade(obj: RuntimeMembers) -> Any:
    """The concrete class of ``obj`` (the facade), whose constructor takes ``get_params()``."""
    return type(obj)
