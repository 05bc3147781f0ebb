"""``KerasClassifier``: a Keras 3 model (Sequential, Functional or subclassed) on the TF backend."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Sequence
from typing import Any, Literal, overload

import keras
import numpy as np
import tensorflow as tf
from numpy.typing import ArrayLike, NDArray

from trustml.errors import ParameterError, ParameterTypeError, UnsupportedModelError
from trustml.preprocessing import (
    Postprocessor,
    PreprocessingChain,
    PreprocessingLike,
    Preprocessor,
    Standardisation,
    check_channels_first,
)
from trustml.protocols import Reduction
from trustml.rng import SeedLike
from trustml.validation import (
    ClipValues,
    ClipValuesLike,
    check_clip_values,
    check_input_shape,
)

from ._io import load_keras, save_keras
from ._layers import LayerAccess
from ._losses import cross_entropy
from ._model import check_keras_backend, model_call, model_dtype, probe_outputs, traceable
from ._runtime import Step, TFRuntime
from ._shared import RuntimeMembers
from ._training import compiled_step, is_compiled, optimizer_step

__all__ = ["KerasClassifier"]


class KerasClassifier(RuntimeMembers):
    """A Keras 3 classifier (TensorFlow backend) with the full trustml contract.

    Capabilities: ``Classifier``, ``Fittable``, ``LossGradients``, ``ClassGradients``,
    ``NeuralNetwork``, ``ActivationTransforms`` (see :mod:`trustml.protocols`). The loss is the
    categorical cross-entropy of each sample, on logits (``use_logits=True``) or on probabilities
    (``use_logits=False``, computed stably: see
    :func:`trustml.adapters.tensorflow._losses.cross_entropy`); ``loss_gradient`` is the gradient of
    the **sum** of per-sample losses (``tf.GradientTape``), and ``class_gradient`` differentiates
    the model's outputs as they are (logits or probabilities).

    Parameters
    ----------
    model : keras.Model
        Sequential, Functional or subclassed, built or buildable on ``(1, *input_shape)``. Never
        modified (no swapped activation, no rebuilt head); float32 or float64.
    use_logits : bool
        Whether the model outputs logits (True) or probabilities (False, the default, as ART).
    channels_first : bool
        Whether the channel axis of images is axis 1 (for per-channel standardisation); never
        guessed.
    clip_values : (min, max), optional
        Valid input range, scalars or arrays broadcastable to ``input_shape``; never applied.
    preprocessing_defences, postprocessing_defences : optional
        Numpy defences (:class:`trustml.preprocessing.Preprocessor` / ``Postprocessor``).
    preprocessing : (subtrahend, divisor) or Standardisation or None
        Standardisation ``(x - subtrahend) / divisor``, run as TF ops inside the tape.
    input_shape : tuple of int, optional (keyword-only)
        Shape of one sample. Read from ``model.inputs`` when None; required for a subclassed model,
        which does not declare it.

    Raises
    ------
    UnsupportedModelError
        ``model`` is not a ``keras.Model``, or Keras does not run on its TensorFlow backend.
    ParameterError, ParameterTypeError
        Malformed parameters; an input shape the model fails on; outputs not ``(N, K)``, K >= 2.

    Notes
    -----
    Differences from ART's ``KerasClassifier``: Keras 3 and every model kind (ART: Keras 2,
    Sequential activations only); ``predict`` honours ``batch_size``; losses are per sample; the
    probability loss is not clipped at ``epsilon``; the model is never modified.

    References
    ----------
    Nicolae et al., "Adversarial Robustness Toolbox v1.0.0", arXiv:1807.01069 (the API names).
    """

    def __init__(
        self,
        model: Any,
        use_logits: bool = False,
        channels_first: bool = False,
        clip_values: ClipValuesLike | None = None,
        preprocessing_defences: Preprocessor | Sequence[Preprocessor] | None = None,
        postprocessing_defences: Postprocessor | Sequence[Postprocessor] | None = None,
        preprocessing: PreprocessingLike = (0.0, 1.0),
        *,
        input_shape: tuple[int, ...] | None = None,
    ) -> None:
        check_keras_backend()
        if not isinstance(model, keras.Model):
            raise UnsupportedModelError(
                f"model: expected a keras.Model (use TensorFlowV2Classifier for other callables), "
                f"got {type(model).__name__}"
            )
        if not isinstance(use_logits, (bool, np.bool_)):
            raise ParameterTypeError(f"use_logits: expected a bool, got {use_logits!r}")
        first = check_channels_first(channels_first)
        shape = (
            _declared_input_shape(model) if input_shape is None else check_input_shape(input_shape)
        )
        clip = check_clip_values(clip_values, shape)
        chain = PreprocessingChain(
            preprocessing,
            input_shape=shape,
            channels_first=first,
            preprocessing_defences=preprocessing_defences,
            postprocessing_defences=postprocessing_defences,
        )
        dtype = model_dtype(model)
        call = model_call(model)
        nb_classes = int(probe_outputs(call, shape, dtype, None).shape[1] or 0)
        self._model = model
        self._init: dict[str, Any] = {
            "use_logits": bool(use_logits),
            "channels_first": first,
            "clip_values": clip,
            "preprocessing_defences": chain.defences,
            "postprocessing_defences": chain.postprocessors,
            "preprocessing": chain.standardisation,
            "input_shape": shape,
        }
        self._use_logits = bool(use_logits)
        self._channels_first = first
        self._clip_values = clip
        self._optimizer: Any = None
        self._rt = TFRuntime(
            call=call,
            nb_classes=nb_classes,
            input_shape=shape,
            dtype=dtype,
            chain=chain,
            loss=cross_entropy(from_logits=self._use_logits),
            layers=LayerAccess(model, shape, dtype),
            compiled=traceable(model),
        )

    # ------------------------------------------------------------------ Estimator / Classifier

    @property
    def model(self) -> Any:
        """The wrapped Keras model (the user's object itself)."""
        return self._model

    @property
    def use_logits(self) -> bool:
        """Whether the model outputs logits."""
        return self._use_logits

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
        """Class scores ``(N, nb_classes)`` float32 (logits or probabilities, as the model gives),
        after the postprocessing defences; ``x`` is ``(N, *input_shape)`` (numpy or tf.Tensor).

        Raises
        ------
        InputShapeError, InputValueError, ParameterError
        """
        return self._rt.predict(x, batch_size)

    # ------------------------------------------------------------------ LossGradients

    def compute_loss(
        self, x: ArrayLike, y: ArrayLike, reduction: Reduction = "none"
    ) -> NDArray[Any]:
        """Cross-entropy of each sample: ``(N,)`` (``"none"``) or 0-d (``"mean"``, ``"sum"``), in
        the model's dtype; ``y`` index ``(N,)`` or one-hot ``(N, nb_classes)``.

        Raises
        ------
        InputShapeError, InputValueError, LabelError, ParameterError
        """
        return self._rt.compute_loss(x, y, reduction)

    def loss_gradient(self, x: ArrayLike, y: ArrayLike) -> NDArray[Any]:
        """Gradient of the summed per-sample cross-entropy with respect to the raw ``x``: shape of
        ``x``, model dtype; chained through standardisation and defences.

        Raises
        ------
        InputShapeError, InputValueError, LabelError
        """
        return self._rt.loss_gradient(x, y)

    # ------------------------------------------------------------------ ClassGradients

    def class_gradient(self, x: ArrayLike, label: int | ArrayLike | None = None) -> NDArray[Any]:
        """Gradients of the model outputs (logits or probabilities, as the model gives) with
        respect to the raw ``x``: ``(N, nb_classes, *input_shape)`` for ``label=None``, else
        ``(N, 1, *input_shape)``; ``label`` an int or ``(N,)`` class indices.

        Raises
        ------
        InputShapeError, InputValueError, LabelError
        """
        return self._rt.class_gradient(x, label)

    # ------------------------------------------------------------------ NeuralNetwork

    @property
    def layer_names(self) -> list[str]:
        """Layer names in execution order (the input layer excluded); for a subclassed model, the
        direct sub-layers its forward pass calls."""
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
            Unknown layer name or index out of range.
        InputShapeError, InputValueError
        """
        return self._rt.activations(x, layer, batch_size, framework)

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
        """Train in place: through ``model.train_on_batch`` when the model is compiled (its loss,
        optimizer and metrics), else minimising the mean cross-entropy with a Keras ``Adam``
        (created on first use, kept across calls). Batches are shuffled per epoch from ``seed``;
        fit-time defences and standardisation are applied to ``x``.

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

    def _step(self) -> Step:
        if is_compiled(self._model):
            return compiled_step(self._model, self.nb_classes, self._rt.dtype)
        if self._optimizer is None:
            self._optimizer = keras.optimizers.Adam()
        return optimizer_step(self._model, self._rt.call, self._rt.loss, self._optimizer,
                              compiled=self._rt.compiled)

    # ------------------------------------------------------------------ persistence

    def __deepcopy__(self, memo: dict[int, Any]) -> KerasClassifier:
        """An independent adapter around a deep copy of the model (Keras copies a model through
        its serialisation, so a subclassed model must be registered serialisable); the default
        optimizer of the copy starts afresh; the activation transforms are installed on the copy
        too."""
        clone = type(self)(copy.deepcopy(self._model, memo), **copy.deepcopy(self._init, memo))
        for name, transform in self.activation_transforms.items():
            clone.set_activation_transform(name, transform)
        return clone

    def save(self, filename: str, path: str | os.PathLike[str] | None = None) -> str:
        """Save the model in the ``.keras`` format to ``path/filename``; returns the file path.

        Raises
        ------
        ParameterError
            ``filename`` does not end in ``.keras``.
        """
        return save_keras(self._model, filename, path)

    @classmethod
    def load(
        cls,
        filepath: str | os.PathLike[str],
        *,
        custom_objects: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> KerasClassifier:
        """Load a ``.keras`` file and wrap it; ``kwargs`` go to the constructor.

        Raises
        ------
        ParameterError
            The file does not exist or is not a ``.keras`` file.
        """
        return cls(load_keras(filepath, custom_objects), **kwargs)


def _declared_input_shape(model: Any) -> tuple[int, ...]:
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if inputs and len(inputs) == 1:
        dims = tuple(inputs[0].shape[1:])
        if all(isinstance(d, int) and d > 0 for d in dims):
            return tuple(int(d) for d in dims)
    raise ParameterError(
        f"input_shape: the model ({type(model).__name__}) does not declare one fixed input shape; "
        f"pass input_shape=(...) (the shape of one sample)"
    )

