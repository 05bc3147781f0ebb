"""``KerasClassifier``: a Keras 3 model (Sequential, Functional or subclassed) on the TF backend."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from trustml.errors import ParameterError, ParameterTypeError, UnsupportedModelError
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
    ``predict`` returns the model's outputs (logits or probabilities, as the model gives);
    ``compute_loss`` and ``compute_loss_from_predictions`` are the cross-entropy above. ``fit``
    trains through ``model.train_on_batch`` when the model is compiled (its loss, optimizer and
    metrics), else minimises the mean cross-entropy with a Keras ``Adam`` (created on first use,
    kept across calls). The estimator surface of ART's ``BaseEstimator`` is complete:
    :attr:`model`, :meth:`get_params`, :meth:`set_params`, :meth:`clone_for_refitting`,
    :meth:`compute_loss_from_predictions`.

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

    # ------------------------------------------------------------------ settings

    @property
    def use_logits(self) -> bool:
        """Whether the model outputs logits."""
        return self._use_logits

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

    def clone_for_refitting(self) -> KerasClassifier:
        """An untrained copy (ART's ``clone_for_refitting``): a new adapter with the same settings
        around ``keras.models.clone_model(model)``, whose layers are rebuilt from their configs
        with weights drawn afresh by their initialisers, compiled like the model (a fresh
        optimizer of the same configuration) when the model is compiled; the activation
        transforms are installed on it too. It shares no variable with the original, so training
        it never changes the original; the defences are shared (they hold no weights).

        Raises
        ------
        UnsupportedModelError
            Keras cannot clone the model (a subclassed model without ``get_config``).
        """
        clone = type(self)(clone_keras(self._model), **self._init)
        for name, transform in self.activation_transforms.items():
            clone.set_activation_transform(name, transform)
        return clone


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

