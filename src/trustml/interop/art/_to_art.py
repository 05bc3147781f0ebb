"""``to_art``: an ART estimator class composed for a trustml classifier's capabilities.

ART's attacks check an estimator's mixins (``estimator_requirements``), so the class must be a
subclass of exactly the mixins the trustml object's capabilities justify. The classes are built
with :func:`types.new_class` (so ART's ``InputFilter`` metaclass runs as for any ART class) and
cached per capability set. This is the one place in trustml that subclasses another toolkit's
classes (see DESIGN.md, "Sharing code").
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trustml.errors import CapabilityError, ParameterError
from trustml.protocols import (
    ClassGradients,
    Classifier,
    Fittable,
    LossGradients,
    NeuralNetwork,
    require,
)

__all__ = ["to_art"]

_REDUCTIONS = ("sum", "mean")
_IGNORED_FIT_KWARGS = frozenset({"verbose"})
_CLASSES: dict[tuple[bool, bool, bool], type] = {}


def _float32(a: Any) -> NDArray[np.float32]:
    return np.asarray(a, dtype=np.float32)


def _no_training_mode(training_mode: bool, member: str) -> None:
    if training_mode:
        raise ParameterError(
            f"{member}: training_mode=True is not supported (a trustml classifier computes in "
            "inference mode and restores its modes after every call), got True"
        )


# ---------------------------------------------------------------- members of every class


def _init(self: Any, classifier: Any, loss_reduction: str) -> None:
    from art.estimators.estimator import BaseEstimator

    clip = classifier.clip_values
    BaseEstimator.__init__(
        self,
        model=classifier,
        clip_values=None if clip is None else (np.asarray(clip[0]), np.asarray(clip[1])),
        preprocessing_defences=None,
        postprocessing_defences=None,
        preprocessing=None,
    )
    if clip is not None:
        # ART keeps (min, max) as one float32 array; trustml's bounds broadcast to input_shape
        shape = np.broadcast_shapes(clip[0].shape, clip[1].shape)
        self._clip_values = np.stack(
            [np.broadcast_to(clip[0], shape), np.broadcast_to(clip[1], shape)]
        ).astype(np.float32)
    self._nb_classes = int(classifier.nb_classes)
    self._trustml_classifier = classifier
    self._loss_reduction = loss_reduction
    if isinstance(classifier, NeuralNetwork):
        self._channels_first = bool(classifier.channels_first)
        self._layer_names = list(classifier.layer_names)


def _input_shape(self: Any) -> tuple[int, ...]:
    """Shape of one sample (the trustml classifier's ``input_shape``)."""
    return tuple(self._trustml_classifier.input_shape)


def _trustml_classifier(self: Any) -> Any:
    """The wrapped trustml classifier."""
    return self._trustml_classifier


def _predict(
    self: Any, x: Any, batch_size: int = 128, training_mode: bool = False, **kwargs: Any
) -> NDArray[np.float32]:
    """Class scores ``(N, nb_classes)`` float32 of the trustml classifier's ``predict``."""
    _no_training_mode(training_mode, "predict")
    return _float32(self._trustml_classifier.predict(x, batch_size=batch_size))


def _fit(
    self: Any, x: Any, y: Any, batch_size: int = 128, nb_epochs: int = 20, **kwargs: Any
) -> None:
    """Train the trustml classifier (index or one-hot ``y``).

    Raises
    ------
    CapabilityError
        The trustml classifier has no ``fit`` (ART declares ``fit`` on every estimator).
    ParameterError
        A keyword argument other than ``verbose``.
    """
    clf = self._trustml_classifier
    if not isinstance(clf, Fittable):
        raise CapabilityError(
            f"fit: expected a trustml classifier with the Fittable capability, got "
            f"{type(clf).__name__}, which lacks fit/fit_generator"
        )
    unknown = sorted(set(kwargs) - _IGNORED_FIT_KWARGS)
    if unknown:
        raise ParameterError(f"fit: expected no keyword arguments but verbose, got {unknown}")
    clf.fit(x, y, batch_size=batch_size, nb_epochs=nb_epochs)


def _clone_for_refitting(self: Any) -> Any:
    """An untrained copy (the trustml classifier's ``clone_for_refitting``), bridged again.

    Raises
    ------
    CapabilityError
        The trustml classifier has no ``clone_for_refitting``.
    """
    clone = getattr(self._trustml_classifier, "clone_for_refitting", None)
    if clone is None:
        raise CapabilityError(
            f"clone_for_refitting: expected a trustml classifier with clone_for_refitting, got "
            f"{type(self._trustml_classifier).__name__}"
        )
    return to_art(clone(),
                  loss_reduction=self._loss_reduction)


# ---------------------------------------------------------------- LossGradientsMixin


def _compute_loss(self: Any, x: Any, y: Any, reduction: str = "none", **kwargs: Any) -> Any:
    """Per-sample loss ``(N,)`` (``reduction="none"``) or its mean / sum."""
    return self._trustml_classifier.compute_loss(x, y, reduction=reduction)


def _loss_gradient(
    self: Any, x: Any, y: Any, training_mode: bool = False, **kwargs: Any
) -> NDArray[np.float32]:
    """Gradient of the loss w.r.t. the raw ``x``, float32, shape of ``x``: each sample's own
    gradient (``loss_reduction="sum"``) or that divided by N (``"mean"``)."""
    _no_training_mode(training_mode, "loss_gradient")
    grad = _float32(self._trustml_classifier.loss_gradient(x, y))
    if self._loss_reduction == "mean" and grad.shape[0] > 0:
        grad = grad / np.float32(grad.shape[0])
    return grad


# ---------------------------------------------------------------- ClassGradientsMixin


def _class_gradient(
    self: Any, x: Any, label: Any = None, training_mode: bool = False, **kwargs: Any
) -> NDArray[np.float32]:
    """Gradients of the class outputs w.r.t. the raw ``x``: ``(N, nb_classes, *input_shape)``
    for ``label=None``, else ``(N, 1, *input_shape)``; ``label`` an int, a list or an array."""
    _no_training_mode(training_mode, "class_gradient")
    if isinstance(label, (list, tuple)):
        label = np.asarray(label)
    return _float32(self._trustml_classifier.class_gradient(x, label=label))


# ---------------------------------------------------------------- NeuralNetworkMixin


def _channels_first(self: Any) -> bool:
    """Whether the channel axis is axis 1 of a batch."""
    return bool(self._channels_first)


def _layer_names(self: Any) -> list[str]:
    """The trustml classifier's layer names."""
    return list(self._layer_names)


def _get_activations(
    self: Any, x: Any, layer: int | str, batch_size: int = 128, framework: bool = False
) -> Any:
    """Output of ``layer`` for the raw ``x`` (the trustml classifier's ``get_activations``)."""
    return self._trustml_classifier.get_activations(
        x, layer, batch_size=batch_size, framework=framework
    )


def _composed_class(loss: bool, klass: bool, nn: bool) -> type:
    key = (loss, klass, nn)
    cls = _CLASSES.get(key)
    if cls is not None:
        return cls
    from art.estimators.classification.classifier import ClassGradientsMixin, ClassifierMixin
    from art.estimators.estimator import BaseEstimator, LossGradientsMixin, NeuralNetworkMixin

    # the order of ART's own composed classes (ClassifierNeuralNetwork)
    bases: list[type] = []
    if klass:
        bases.append(ClassGradientsMixin)
    bases.append(ClassifierMixin)
    if loss:
        bases.append(LossGradientsMixin)
    if nn:
        bases.append(NeuralNetworkMixin)
    bases.append(BaseEstimator)
    members: dict[str, Any] = {
        "__init__": _init,
        "__module__": __name__,
        "estimator_params": BaseEstimator.estimator_params + ClassifierMixin.estimator_params,
        "input_shape": property(_input_shape),
        "trustml_classifier": property(_trustml_classifier),
        "predict": _predict,
        "fit": _fit,
        "clone_for_refitting": _clone_for_refitting,
    }
    if loss:
        members.update(compute_loss=_compute_loss, loss_gradient=_loss_gradient)
    if klass:
        members["class_gradient"] = _class_gradient
    if nn:
        members.update(
            channels_first=property(_channels_first),
            layer_names=property(_layer_names),
            get_activations=_get_activations,
        )
    parts = [n for n, on in (("LossGradients", loss), ("ClassGradients", klass),
                             ("NeuralNetwork", nn)) if on]
    name = "ARTClassifier" + ("With" + "".join(parts) if parts else "")

    def body(ns: dict[str, Any]) -> None:
        ns.update(members)

    cls = types.new_class(name, tuple(bases), exec_body=body)
    cls.__qualname__ = name
    cls.__doc__ = (
        "An ART classifier delegating to a trustml classifier (built by "
        f"trustml.interop.art.to_art); ART mixins: {', '.join(b.__name__ for b in bases)}."
    )
    _CLASSES[key] = cls
    return cls


def to_art(classifier: Any, *, loss_reduction: str = "sum") -> Any:
    """See :func:`trustml.interop.art.to_art`."""
    require(classifier, Classifier, "classifier")
    if loss_reduction not in _REDUCTIONS:
        raise ParameterError(
            f"loss_reduction: expected 'sum' or 'mean', got {loss_reduction!r}"
        )
    cls: Callable[..., Any] = _composed_class(
        isinstance(classifier, LossGradients),
        isinstance(classifier, ClassGradients),
        isinstance(classifier, NeuralNetwork),
    )
    return cls(classifier, loss_reduction)
