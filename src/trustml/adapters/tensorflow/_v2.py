"""``TensorFlowV2Classifier``: any TensorFlow 2 callable (Keras model, ``tf.Module``, function)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from trustml.errors import ParameterError, ParameterTypeError
from trustml.labels import check_nb_classes
from trustml.preprocessing import (
    Postprocessor,
    PreprocessingChain,
    PreprocessingLike,
    Preprocessor,
    check_channels_first,
)
from trustml.validation import ClipValuesLike, check_clip_values, check_input_shape

from ._io import clone_keras
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
    ``predict`` returns the model's outputs as they are; ``compute_loss`` and
    ``compute_loss_from_predictions`` evaluate ``loss_object`` on them. The estimator surface of
    ART's ``BaseEstimator``: :attr:`model`, :meth:`get_params`, :meth:`set_params`,
    :meth:`compute_loss_from_predictions`, and :meth:`clone_for_refitting` for Keras models.
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

    # ------------------------------------------------------------------ settings

    @property
    def loss_object(self) -> Any:
        """The loss given to the constructor (None: softmax cross-entropy on logits)."""
        return self._loss_object

    @property
    def optimizer(self) -> Any:
        """The optimizer ``fit`` uses (the one given, or the default Adam once created)."""
        return self._optimizer

    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters (``model`` first; ``optimizer`` the one ``fit`` uses:
        the one given, or the default Adam once created), as validated; a new dict."""
        return {**super().get_params(), "optimizer": self._optimizer}

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

    def clone_for_refitting(self) -> TensorFlowV2Classifier:
        """An untrained copy of a Keras model's adapter (ART's ``clone_for_refitting``): the same
        settings around ``keras.models.clone_model(model)`` (layers rebuilt from their configs,
        weights drawn afresh by their initialisers; compiled like the model when it is), a fresh
        optimizer of the same configuration as the given one; ``loss_object`` and
        ``train_step`` are shared (``train_step`` must train the ``model`` it is given, not a
        model it closes over); the activation transforms are installed on it too. Training the
        copy never changes the original.

        Raises
        ------
        UnsupportedModelError
            The model is not a Keras model (a ``tf.Module`` or a function has no architecture
            TensorFlow can rebuild with fresh weights), or Keras cannot clone it (a subclassed
            model without ``get_config``).
        """
        kwargs = {k: v for k, v in self._init.items() if k != "train_step"}
        clone = type(self)(
            clone_keras(self._model),
            optimizer=fresh_optimizer(self._init_optimizer),
            train_step=self._train_step,
            **kwargs,
        )
        for name, transform in self.activation_transforms.items():
            clone.set_activation_transform(name, transform)
        return clone
