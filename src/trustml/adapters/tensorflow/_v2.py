"""``TensorFlowV2Classifier``: any TensorFlow 2 callable (Keras model, ``tf.Module``, function)."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, overload

import keras
import numpy as np
import tensorflow as tf
from numpy.typing import ArrayLike, NDArray

from trustml.errors import ParameterError, ParameterTypeError
from trustml.labels import check_nb_classes
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
from ._losses import cross_entropy, from_loss_object, wants_index_labels
from ._model import check_keras_backend, model_call, model_dtype, probe_outputs, traceable
from ._runtime import Step, TFRuntime
from ._shared import RuntimeMembers
from ._training import compiled_step, fresh_optimizer, is_compiled, optimizer_step, user_step

__all__ = ["TensorFlowV2Classifier"]


class TensorFlowV2Classifier(RuntimeMembers):
    """A TensorFlow 2 classifier (eager) with the full trustml contract.

    Capabilities: ``Classifier``, ``Fittable``, ``LossGradients``, ``ClassGradients``,
    ``NeuralNetwork``, ``ActivationTransforms`` (see :mod:`trustml.protocols`). ``loss_gradient`` is
    the gradient of the **sum** of per-sample losses (``tf.GradientTape``); ``class_gradient``
    differentiates the model's outputs as they are (as ART).

    Parameters
    ----------
    model : callable
        A Keras model, a ``tf.Module`` or a function mapping a ``(N, *input_shape)`` tensor to
        ``(N, nb_classes)`` outputs; called with ``training=`` when it accepts it. Never modified.
    nb_classes : int
        Number of classes (>= 2); checked against the model's output.
    input_shape : tuple of int
        Shape of one sample.
    loss_object : keras.losses.Loss or callable, optional
        The loss. A Keras loss object is evaluated unreduced through its ``call`` (its
        ``reduction`` is never changed); a callable ``(y_true, y_pred)`` must return per-sample
        losses ``(N,)``. Sparse losses get index labels, others one-hot. None: softmax
        cross-entropy with the outputs taken as **logits**.
    optimizer : keras optimizer, optional
        Used by ``fit`` with ``loss_object`` (mean over the batch).
    train_step : callable, optional
        ``train_step(model, images, labels)`` (ART's signature); takes precedence over
        ``optimizer``. ``images`` are standardised; ``labels`` in the loss' format.
    channels_first : bool
        Whether the channel axis of images is axis 1 (for per-channel standardisation).
    clip_values : (min, max), optional
        Valid input range; never applied.
    preprocessing_defences, postprocessing_defences : optional
        Numpy defences.
    preprocessing : (subtrahend, divisor) or Standardisation or None
        Standardisation, run as TF ops inside the tape.

    Raises
    ------
    UnsupportedModelError
        ``model`` is not callable, or is a Keras model while Keras is not on its TF backend.
    ParameterError, ParameterTypeError
        Malformed parameters; the model fails on ``(1, *input_shape)``, its output is not
        ``(N, nb_classes)``, or ``loss_object`` does not give per-sample losses.

    Notes
    -----
    ``fit`` uses, in order: ``train_step``; ``optimizer`` with the loss; the compiled Keras
    model's ``train_on_batch``; a Keras ``Adam`` created on first use. Layers (``layer_names``,
    ``get_activations``) exist for Keras models only; other callables have none.

    References
    ----------
    Nicolae et al., "Adversarial Robustness Toolbox v1.0.0", arXiv:1807.01069 (the API names).
    """

    def __init__(
        self,
        model: Any,
        nb_classes: int,
        input_shape: tuple[int, ...],
        loss_object: Any = None,
        optimizer: Any = None,
        train_step: Callable[[Any, tf.Tensor, tf.Tensor], Any] | None = None,
        channels_first: bool = False,
        clip_values: ClipValuesLike | None = None,
        preprocessing_defences: Preprocessor | Sequence[Preprocessor] | None = None,
        postprocessing_defences: Postprocessor | Sequence[Postprocessor] | None = None,
        preprocessing: PreprocessingLike = (0.0, 1.0),
    ) -> None:
        if isinstance(model, keras.layers.Layer):
            check_keras_backend()
        call = model_call(model)
        classes = check_nb_classes(nb_classes)
        shape = check_input_shape(input_shape)
        first = check_channels_first(channels_first)
        if train_step is not None and not callable(train_step):
            raise ParameterTypeError(
                f"train_step: expected a callable (model, images, labels), got "
                f"{type(train_step).__name__}"
            )
        if optimizer is not None and not callable(getattr(optimizer, "apply_gradients", None)):
            raise ParameterTypeError(
                f"optimizer: expected an optimizer with apply_gradients (e.g. "
                f"keras.optimizers.Adam()), got {type(optimizer).__name__}"
            )
        clip = check_clip_values(clip_values, shape)
        chain = PreprocessingChain(
            preprocessing,
            input_shape=shape,
            channels_first=first,
            preprocessing_defences=preprocessing_defences,
            postprocessing_defences=postprocessing_defences,
        )
        loss = (
            cross_entropy(from_logits=True)
            if loss_object is None
            else from_loss_object(loss_object, classes)
        )
        dtype = model_dtype(model)
        out = probe_outputs(call, shape, dtype, classes)
        try:
            loss(out, np.zeros(1, dtype=np.int64))
        except ParameterError:
            raise
        except Exception as exc:  # a user's loss may raise anything
            raise ParameterError(
                f"loss_object: expected a loss of (y_true, y_pred), it failed on outputs of shape "
                f"{tuple(out.shape)} ({type(exc).__name__}: {exc})"
            ) from exc
        self._model = model
        self._init: dict[str, Any] = {
            "nb_classes": classes,
            "input_shape": shape,
            "loss_object": loss_object,
            "train_step": train_step,
            "channels_first": first,
            "clip_values": clip,
            "preprocessing_defences": chain.defences,
            "postprocessing_defences": chain.postprocessors,
            "preprocessing": chain.standardisation,
        }
        self._loss_object = loss_object
        self._optimizer = optimizer
        self._init_optimizer = optimizer
        self._train_step = train_step
        self._channels_first = first
        self._clip_values = clip
        self._rt = TFRuntime(
            call=call,
            nb_classes=classes,
            input_shape=shape,
            dtype=dtype,
            chain=chain,
            loss=loss,
            layers=LayerAccess(model, shape, dtype),
            compiled=traceable(model),
        )

    # ------------------------------------------------------------------ Estimator / Classifier

    @property
    def model(self) -> Any:
        """The wrapped model (the user's object itself)."""
        return self._model

    @property
    def loss_object(self) -> Any:
        """The loss given to the constructor (None: softmax cross-entropy on logits)."""
        return self._loss_object

    @property
    def optimizer(self) -> Any:
        """The optimizer ``fit`` uses (the one given, or the default Adam once created)."""
        return self._optimizer

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample."""
        return self._rt.input_shape

    @property
    def nb_classes(self) -> int:
        """Number of classes."""
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
        """Model outputs ``(N, nb_classes)`` float32 after the postprocessing defences; ``x`` is
        ``(N, *input_shape)`` (numpy or tf.Tensor), processed ``batch_size`` samples at a time.

        Raises
        ------
        InputShapeError, InputValueError, ParameterError
        """
        return self._rt.predict(x, batch_size)

    # ------------------------------------------------------------------ LossGradients

    def compute_loss(
        self, x: ArrayLike, y: ArrayLike, reduction: Reduction = "none"
    ) -> NDArray[Any]:
        """Loss of each sample: ``(N,)`` (``"none"``) or 0-d (``"mean"``, ``"sum"``), model dtype;
        ``y`` index ``(N,)`` or one-hot ``(N, nb_classes)``.

        Raises
        ------
        InputShapeError, InputValueError, LabelError, ParameterError
        """
        return self._rt.compute_loss(x, y, reduction)

    def loss_gradient(self, x: ArrayLike, y: ArrayLike) -> NDArray[Any]:
        """Gradient of the summed per-sample loss with respect to the raw ``x`` (shape of ``x``,
        model dtype), chained through standardisation and defences.

        Raises
        ------
        InputShapeError, InputValueError, LabelError
        """
        return self._rt.loss_gradient(x, y)

    # ------------------------------------------------------------------ ClassGradients

    def class_gradient(self, x: ArrayLike, label: int | ArrayLike | None = None) -> NDArray[Any]:
        """Gradients of the model outputs with respect to the raw ``x``:
        ``(N, nb_classes, *input_shape)`` for ``label=None``, else ``(N, 1, *input_shape)``.

        Raises
        ------
        InputShapeError, InputValueError, LabelError
        """
        return self._rt.class_gradient(x, label)

    # ------------------------------------------------------------------ NeuralNetwork

    @property
    def layer_names(self) -> list[str]:
        """Layer names in execution order for Keras models; empty for other callables."""
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
        """Output of ``layer`` (index into :attr:`layer_names` or name) for the raw ``x``:
        ``(N, *layer_output_shape)``, numpy or (``framework=True``) a ``tf.Tensor``.

        Raises
        ------
        ParameterError
            Unknown layer, index out of range, or a model without layers.
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
        """Train in place (see Notes of the class for the step used); batches shuffled per epoch
        from ``seed``.

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
        rt = self._rt
        if self._train_step is not None:
            index = self._loss_object is None or wants_index_labels(self._loss_object)
            return user_step(
                self._model, self._train_step, index_labels=index, nb_classes=rt.nb_classes,
                dtype=rt.dtype,
            )
        if self._optimizer is None and is_compiled(self._model):
            return compiled_step(self._model, rt.nb_classes, rt.dtype)
        if self._optimizer is None:
            self._optimizer = keras.optimizers.Adam()
        return optimizer_step(self._model, rt.call, rt.loss, self._optimizer,
                              compiled=self._rt.compiled)

    # ------------------------------------------------------------------ persistence

    def __deepcopy__(self, memo: dict[int, Any]) -> TensorFlowV2Classifier:
        """An independent adapter around a deep copy of the model; a given optimizer is replaced
        by a fresh one of the same configuration (its slots belong to the original variables),
        ``train_step`` is shared; the activation transforms are installed on the copy too."""
        kwargs = {k: v for k, v in self._init.items() if k != "train_step"}
        clone = type(self)(
            copy.deepcopy(self._model, memo),
            optimizer=fresh_optimizer(self._init_optimizer),
            train_step=self._train_step,
            **copy.deepcopy(kwargs, memo),
        )
        for name, transform in self.activation_transforms.items():
            clone.set_activation_transform(name, transform)
        return clone

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
    ) -> TensorFlowV2Classifier:
        """Load a ``.keras`` file and wrap it; ``kwargs`` (``nb_classes``, ``input_shape``, ...)
        go to the constructor.

        Raises
        ------
        ParameterError
            The file does not exist or is not a ``.keras`` file.
        """
        return cls(load_keras(filepath, custom_objects), **kwargs)
