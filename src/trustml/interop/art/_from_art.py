"""``from_art``: a trustml classifier over an ART classifier, with ART's contract differences
normalised at the boundary.

The object's class is composed (and cached) from small private member classes, one per
capability, so it has exactly the capabilities the ART estimator supports; nothing here inherits
from ART.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.errors import LabelError, ParameterError, UnsupportedModelError
from trustml.labels import class_gradient_targets, check_nb_classes, to_index
from trustml.preprocessing import Standardisation
from trustml.protocols import Reduction
from trustml.validation import (
    ClipValues,
    check_batch,
    check_batch_size,
    check_clip_values,
    check_input_shape,
    check_reduction,
)

__all__ = ["from_art"]

_REDUCTIONS = ("auto", "none", "mean", "sum")
_CLASSES: dict[tuple[bool, bool, bool], type] = {}


def _torch_modules(estimator: Any) -> list[Any]:
    """Every torch module the ART estimator holds (its wrapper and the user's model)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return []
    found: list[Any] = []
    for attr in ("_model", "model"):
        try:
            value = getattr(estimator, attr, None)
        except Exception:  # noqa: BLE001 - a property that raises holds no module
            value = None
        if isinstance(value, torch.nn.Module):
            found.extend(value.modules())
    return found


@contextmanager
def _modes_restored(estimator: Any) -> Iterator[None]:
    """Restore every torch submodule's train/eval flag after the call (ART's ``predict`` leaves
    the model in eval mode, its ``fit`` in train mode)."""
    flags = [(m, m.training) for m in _torch_modules(estimator)]
    try:
        yield
    finally:
        for module, training in flags:
            module.training = training


def _standardisation(estimator: Any, input_shape: tuple[int, ...]) -> Standardisation:
    prep = getattr(estimator, "preprocessing", None)
    if prep is None:
        return Standardisation.create(0.0, 1.0, input_shape=input_shape, channels_first=True)
    mean, std = getattr(prep, "mean", None), getattr(prep, "std", None)
    if mean is None or std is None:
        raise UnsupportedModelError(
            "estimator: expected ART preprocessing None or a (mean, std) standardisation, got "
            f"{type(prep).__name__}; trustml can only describe a standardisation"
        )
    mean = np.asarray(mean, dtype=np.float64)
    std = np.asarray(std, dtype=np.float64)
    # ART's rule (broadcastable_mean_std): a vector as long as the last axis broadcasts there,
    # any other vector sits on axis 1 of a batch
    channels_first = not (mean.ndim == 1 and mean.shape[0] == input_shape[-1])
    return Standardisation.create(
        mean, std, input_shape=input_shape, channels_first=channels_first,
        name="estimator.preprocessing",
    )


def _is_art_logistic_regression(estimator: Any) -> bool:
    from art.estimators.classification.scikitlearn import ScikitlearnLogisticRegression

    return isinstance(estimator, ScikitlearnLogisticRegression)


def _is_art_svc(estimator: Any) -> bool:
    from art.estimators.classification.scikitlearn import ScikitlearnSVC

    return isinstance(estimator, ScikitlearnSVC)


def _has_own_compute_loss(estimator: Any) -> bool:
    from art.estimators.estimator import BaseEstimator

    return getattr(type(estimator), "compute_loss", None) is not BaseEstimator.compute_loss


def _read_reduction(estimator: Any) -> str:
    from art.estimators.scikitlearn import ScikitlearnEstimator

    if isinstance(estimator, ScikitlearnEstimator):
        return "sum"
    loss = getattr(estimator, "_loss", None)  # PyTorchClassifier
    if loss is None:
        loss = getattr(estimator, "_loss_object", None)  # TensorFlowV2Classifier
    reduction = getattr(loss, "reduction", None)
    if reduction in ("mean", "sum_over_batch_size", "auto"):
        return "mean"
    if reduction in ("sum", "none", None) and loss is not None:
        return "sum"
    raise ParameterError(
        "loss_reduction: 'auto' cannot read how "
        f"{type(estimator).__name__}.loss_gradient reduces the batch (no loss with a "
        "'reduction' attribute); pass loss_reduction='mean' or 'sum'"
    )


# ---------------------------------------------------------------- members of every class


class _Base:
    """Members every bridged classifier has (the Classifier capability)."""

    _capabilities: ClassVar[tuple[str, ...]] = ("Classifier",)

    def __init__(self, estimator: Any, gradient_scale: str, class_count_factor: float) -> None:
        shape = check_input_shape(tuple(estimator.input_shape), "estimator.input_shape")
        self._estimator = estimator
        self._input_shape = shape
        self._nb_classes = check_nb_classes(int(estimator.nb_classes), "estimator.nb_classes")
        clip = estimator.clip_values
        self._clip_values = check_clip_values(
            None if clip is None else (clip[0], clip[1]), shape, "estimator.clip_values"
        )
        self._preprocessing = _standardisation(estimator, shape)
        self._gradient_scale = gradient_scale
        self._class_count_factor = class_count_factor
        # ART's multinomial logistic regression: class_gradient is that of log p_c
        self._log_probability_class_gradient = class_count_factor > 1.0

    @property
    def art_estimator(self) -> Any:
        """The wrapped ART estimator."""
        return self._estimator

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample (the ART estimator's ``input_shape``)."""
        return self._input_shape

    @property
    def nb_classes(self) -> int:
        """Number of classes."""
        return self._nb_classes

    @property
    def clip_values(self) -> ClipValues | None:
        """ART's ``clip_values`` as float32 ``(min, max)``, or None."""
        return self._clip_values

    @property
    def preprocessing(self) -> Standardisation:
        """ART's ``(mean, std)`` standardisation (applied by ART inside the estimator)."""
        return self._preprocessing

    def __repr__(self) -> str:
        return f"{type(self).__name__}({type(self._estimator).__name__})"

    def _x(self, x: ArrayLike) -> NDArray[np.float32]:
        return check_batch(x, self._input_shape)

    def _one_hot(self, y: ArrayLike, n: int) -> NDArray[np.float32]:
        idx = to_index(y, self._nb_classes, n=n)
        return np.eye(self._nb_classes, dtype=np.float32)[idx]

    def predict(self, x: ArrayLike, batch_size: int = 128) -> NDArray[np.float32]:
        """Class scores ``(N, nb_classes)`` float32: the ART estimator's ``predict``.

        Raises
        ------
        InputShapeError, InputValueError, ParameterError
        """
        xb = self._x(x)
        bs = check_batch_size(batch_size)
        if xb.shape[0] == 0:
            return np.zeros((0, self._nb_classes), np.float32)
        with _modes_restored(self._estimator):
            out = self._estimator.predict(xb, batch_size=bs)
        return np.asarray(out, dtype=np.float32)


class _LossMembers(_Base):
    """The LossGradients capability."""

    def compute_loss(
        self, x: ArrayLike, y: ArrayLike, reduction: Reduction = "none"
    ) -> NDArray[Any]:
        """Per-sample loss ``(N,)`` float32 (``reduction="none"``), or its mean / sum (0-d).

        ART's own ``compute_loss(reduction="none")`` where it has one; for ART's scikit-learn
        logistic regression (which has none), the cross-entropy ``-log p_y`` of ``predict``'s
        probabilities, the loss its ``loss_gradient`` differentiates.

        Raises
        ------
        InputShapeError, InputValueError, LabelError, ParameterError
        """
        xb = self._x(x)
        onehot = self._one_hot(y, xb.shape[0])
        check_reduction(reduction)
        if xb.shape[0] == 0:
            per = np.zeros(0, np.float32)
        elif _has_own_compute_loss(self._estimator):
            with _modes_restored(self._estimator):
                out = self._estimator.compute_loss(xb, onehot, reduction="none")
            per = np.asarray(out, dtype=np.float32).reshape(xb.shape[0])
        else:
            proba = self.predict(xb)
            picked = proba[np.arange(xb.shape[0]), onehot.argmax(axis=1)]
            per = -np.log(np.maximum(picked, np.finfo(np.float32).tiny)).astype(np.float32)
        if reduction == "mean":
            return np.asarray(per.mean(dtype=np.float32) if per.size else np.float32(0.0))
        if reduction == "sum":
            return np.asarray(per.sum(dtype=np.float32))
        return per

    def loss_gradient(self, x: ArrayLike, y: ArrayLike) -> NDArray[np.float32]:
        """Gradient of the **summed** per-sample loss w.r.t. the raw ``x``, float32, shape of
        ``x``: ART's ``loss_gradient`` rescaled (times N for a mean-reduced loss; times the class
        count for scikit-learn's multinomial logistic regression, where ART divides by it).

        Raises
        ------
        InputShapeError, InputValueError, LabelError
        """
        xb = self._x(x)
        onehot = self._one_hot(y, xb.shape[0])
        if xb.shape[0] == 0:
            return np.zeros_like(xb)
        with _modes_restored(self._estimator):
            grad = np.asarray(self._estimator.loss_gradient(xb, onehot), dtype=np.float32)
        scale = self._class_count_factor
        if self._gradient_scale == "mean":
            scale *= xb.shape[0]
        return grad if scale == 1.0 else grad * np.float32(scale)


class _ClassGradientMembers(_Base):
    """The ClassGradients capability."""

    def class_gradient(
        self, x: ArrayLike, label: int | ArrayLike | None = None
    ) -> NDArray[np.float32]:
        """Gradients of ``predict``'s outputs w.r.t. the raw ``x``, float32:
        ``(N, nb_classes, *input_shape)`` for ``label=None``, else ``(N, 1, *input_shape)``.

        Raises
        ------
        InputShapeError, InputValueError
        LabelError
            ``label`` outside ``[0, nb_classes)``, or not index ``(N,)`` / one-hot labels.
        """
        xb = self._x(x)
        n, k = xb.shape[0], self._nb_classes
        art_label: Any
        if label is None:
            art_label, rows = None, k
        elif isinstance(label, (int, np.integer)) and not isinstance(label, bool):
            if not 0 <= int(label) < k:
                raise LabelError(f"label: expected a class index in [0, {k}), got {label}")
            art_label, rows = int(label), 1
        else:  # index or one-hot labels, one class per sample (trustml.labels)
            art_label, rows = class_gradient_targets(label, k, n), 1
        if n == 0:
            return np.zeros((0, rows, *self._input_shape), np.float32)
        with _modes_restored(self._estimator):
            grad = self._estimator.class_gradient(xb, label=art_label)
        out = np.asarray(grad, dtype=np.float32).reshape(n, rows, *self._input_shape)
        if self._log_probability_class_gradient:
            # ART differentiates log p_c here; d p_c = p_c * d log p_c
            proba = self.predict(xb)
            if art_label is None:
                picked = proba
            elif isinstance(art_label, int):
                picked = proba[:, [art_label]]
            else:
                picked = proba[np.arange(n), art_label][:, None]
            out = out * picked.reshape(n, rows, *([1] * len(self._input_shape)))
        return out


class _FitMembers(_Base):
    """The Fittable capability (ART neural-network estimators with an optimizer)."""

    def fit(self, x: ArrayLike, y: ArrayLike, batch_size: int = 128, nb_epochs: int = 20) -> None:
        """Train the ART estimator on ``x`` and index or one-hot ``y``; model modes restored.

        Raises
        ------
        InputShapeError, InputValueError, LabelError, ParameterError
            Before any training.
        """
        xb = self._x(x)
        onehot = self._one_hot(y, xb.shape[0])
        bs = check_batch_size(batch_size)
        epochs = check_batch_size(nb_epochs, "nb_epochs")
        with _modes_restored(self._estimator):
            self._estimator.fit(xb, onehot, batch_size=bs, nb_epochs=epochs)

    def fit_generator(self, generator: Iterable[tuple[Any, Any]], nb_epochs: int = 20) -> None:
        """Train on an iterable of ``(x, y)`` batches, re-iterated once per epoch (each batch is
        one ART ``fit`` step of one epoch)."""
        epochs = check_batch_size(nb_epochs, "nb_epochs")
        for _ in range(epochs):
            for xb, yb in generator:
                x32 = self._x(xb)
                self.fit(x32, yb, batch_size=max(1, x32.shape[0]), nb_epochs=1)


def _composed_class(loss: bool, klass: bool, fit: bool) -> type:
    key = (loss, klass, fit)
    cls = _CLASSES.get(key)
    if cls is None:
        bases: list[type] = []
        parts: list[str] = []
        for on, base, part in ((loss, _LossMembers, "LossGradients"),
                               (klass, _ClassGradientMembers, "ClassGradients"),
                               (fit, _FitMembers, "Fittable")):
            if on:
                bases.append(base)
                parts.append(part)
        name = "FromARTClassifier" + ("With" + "".join(parts) if parts else "")
        cls = type(name, tuple(bases) or (_Base,), {
            "__module__": __name__,
            "__doc__": "A trustml classifier over an ART classifier (built by "
                       "trustml.interop.art.from_art); capabilities: Classifier"
                       + "".join(", " + p for p in parts) + ".",
            "_capabilities": ("Classifier", *parts),
        })
        _CLASSES[key] = cls
    return cls


def from_art(estimator: Any, *, loss_reduction: str = "auto") -> Any:
    """See :func:`trustml.interop.art.from_art`."""
    from art.estimators.classification.classifier import ClassGradientsMixin, ClassifierMixin
    from art.estimators.estimator import BaseEstimator, LossGradientsMixin, NeuralNetworkMixin

    if not (isinstance(estimator, ClassifierMixin) and isinstance(estimator, BaseEstimator)):
        raise UnsupportedModelError(
            "estimator: expected an ART classifier (art.estimators.classification."
            f"ClassifierMixin and BaseEstimator), got {type(estimator).__name__}"
        )
    if loss_reduction not in _REDUCTIONS:
        raise ParameterError(
            f"loss_reduction: expected one of {_REDUCTIONS}, got {loss_reduction!r}"
        )
    logistic = _is_art_logistic_regression(estimator)
    loss = isinstance(estimator, LossGradientsMixin) and (
        _has_own_compute_loss(estimator) or logistic
    )
    klass = isinstance(estimator, ClassGradientsMixin)
    if type(estimator).__name__ == "KerasClassifier" and type(estimator).__module__.startswith(
        "art."
    ):
        # ART 1.20.1's KerasClassifier on Keras 3: loss_gradient is neither the gradient of its
        # compute_loss nor independent of the batch (docs/interop-art.md, the kit's table)
        loss = False
    if _is_art_svc(estimator):
        # ART's SVC predicts one-hot labels (piecewise constant) while its class_gradient is that
        # of the decision function: no gradient of what predict returns to bridge
        loss = klass = False
    if logistic and not _standardisation(
        estimator, tuple(estimator.input_shape)
    ).is_identity:
        # ART 1.20.1's logistic-regression gradients are wrong under a standardisation
        # (loss_gradient standardises x twice, class_gradient misses the chain rule): nothing
        # correct to bridge
        loss = klass = False
    scale = "sum"
    factor = 1.0
    if loss:
        scale = _read_reduction(estimator) if loss_reduction == "auto" else loss_reduction
        if _is_art_logistic_regression(estimator) and int(estimator.nb_classes) > 2:
            factor = float(estimator.nb_classes)  # ART divides the gradient by the class count
    fit = isinstance(estimator, NeuralNetworkMixin) and (
        getattr(estimator, "_optimizer", None) is not None
    )
    cls = _composed_class(loss, klass, fit)
    return cls(estimator, scale, factor)
