"""``SklearnMLPClassifier``: MLPClassifier with analytic backpropagation and layer activations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal, cast, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.neural_network import MLPClassifier

from trustml._losses import reduce_losses
from trustml.activations import ActivationTransform, check_transform
from trustml.adapters.sklearn import _mlp_math as mm
from trustml.adapters.sklearn._core import SklearnCore, build_core
from trustml.adapters.sklearn._shared import SklearnMembers
from trustml.errors import ParameterError, UnsupportedModelError
from trustml.preprocessing import Postprocessor, PreprocessingLike, Preprocessor
from trustml.protocols import Reduction
from trustml.validation import (
    ClipValuesLike,
    check_batch,
    check_batch_size,
    check_layer,
    check_reduction,
)

__all__ = ["SklearnMLPClassifier"]


class SklearnMLPClassifier(SklearnMembers):
    """``MLPClassifier`` (relu, tanh, logistic or identity hidden activations; binary or
    multiclass), alone or at the end of a Pipeline of scalers.

    Capabilities: Classifier, Fittable, LossGradients, ClassGradients, NeuralNetwork (a
    :class:`~trustml.protocols.NeuralNetworkClassifier`), and ActivationTransforms on the hidden
    layers (:meth:`set_activation_transform`).

    - ``predict``: ``predict_proba`` (``(N, nb_classes)``; for binary models
      ``[1 - p, p]`` with ``p`` the logistic output unit), float32.
    - ``compute_loss``: the model's log-loss per sample, ``-log p_y`` (scikit-learn's ``log_loss``
      per sample, without its clipping), float64.
    - ``loss_gradient`` / ``class_gradient``: analytic backpropagation through ``coefs_`` and
      ``intercepts_`` in float64; ``class_gradient`` differentiates the probabilities of
      ``predict`` (before postprocessing defences). Both are with respect to the raw input, through
      defences, standardisation and pipeline scalers. At a relu kink the derivative taken is 0,
      as scikit-learn's own backpropagation does.
    - ``layer_names``: ``["hidden_0", ..., "hidden_{L-2}", "output"]``; ``get_activations`` of a
      hidden layer is its post-activation output ``(N, units)``, of ``"output"`` the output
      activation (``(N, 1)`` logistic for binary models, ``(N, nb_classes)`` softmax otherwise);
      float64 numpy arrays, which are also the native type returned for ``framework=True``.

    Parameters are those of :class:`~trustml.adapters.sklearn.SklearnClassifier`.

    Raises
    ------
    UnsupportedModelError
        Not an MLPClassifier, an unknown activation, a multi-label model, or a pipeline step that
        is not a supported scaler.

    References
    ----------
    Rumelhart, Hinton, Williams, "Learning representations by back-propagating errors", Nature 1986.
    """

    def __init__(
        self,
        model: Any,
        *,
        clip_values: ClipValuesLike | None = None,
        preprocessing: PreprocessingLike = (0.0, 1.0),
        preprocessing_defences: Preprocessor | Sequence[Preprocessor] | None = None,
        postprocessing_defences: Postprocessor | Sequence[Postprocessor] | None = None,
        input_shape: tuple[int, ...] | None = None,
        nb_classes: int | None = None,
    ) -> None:
        core = build_core(
            model,
            input_shape=input_shape,
            nb_classes=nb_classes,
            clip_values=clip_values,
            preprocessing=preprocessing,
            preprocessing_defences=preprocessing_defences,
            postprocessing_defences=postprocessing_defences,
        )
        if not isinstance(core.final, MLPClassifier):
            raise UnsupportedModelError(
                f"model: expected an MLPClassifier, got {type(core.final).__name__}"
            )
        mm.check_mlp(core.final)
        self._core: SklearnCore = core
        self._transforms: dict[str, ActivationTransform] = {}

    def predict(self, x: ArrayLike, batch_size: int = 128) -> NDArray[np.float32]:
        """``model.predict_proba`` then the postprocessing defences: ``(N, nb_classes)``
        float32. With activation transforms installed, the probabilities come from trustml's
        own float64 forward pass (:mod:`._mlp_math`) with the transforms inside.

        Raises
        ------
        NotFittedError, InputShapeError, InputValueError, ParameterError
        """
        if not self._transforms:
            return super().predict(x, batch_size)
        core = self._core

        def score(xb: NDArray[np.float64]) -> NDArray[np.float64]:
            return mm.proba(self._final(), core.final_input(xb), self._by_index())

        return core.predict(x, batch_size, score)

    def fit(
        self, x: ArrayLike, y: ArrayLike, batch_size: int = 128, nb_epochs: int = 20,
        **kwargs: Any,
    ) -> None:
        """As :meth:`SklearnClassifier.fit`.

        Raises
        ------
        ParameterError
            An activation transform is installed: scikit-learn trains with its own forward pass,
            which trustml cannot change (remove the transforms, or train with another adapter).
        InputShapeError, InputValueError, LabelError
        """
        self._no_transforms("fit")
        super().fit(x, y, batch_size, nb_epochs, **kwargs)

    def fit_generator(
        self, generator: Iterable[tuple[Any, Any]], nb_epochs: int = 20, **kwargs: Any
    ) -> None:
        """As :meth:`SklearnClassifier.fit_generator`; refused like :meth:`fit` while an
        activation transform is installed."""
        self._no_transforms("fit_generator")
        super().fit_generator(generator, nb_epochs, **kwargs)

    def _no_transforms(self, what: str) -> None:
        if self._transforms:
            raise ParameterError(
                f"{what}: expected no activation transform installed (scikit-learn trains "
                f"MLPClassifier with its own forward pass, which cannot apply them), got "
                f"transforms at {sorted(self._transforms)}; remove them first"
            )

    # ----------------------------------------------------------------- gradients
    def _final(self) -> Any:
        final = self._core.final
        mm.check_mlp(final)
        return final

    def compute_loss(
        self, x: ArrayLike, y: ArrayLike, reduction: Reduction = "none"
    ) -> NDArray[np.float64]:
        """Per-sample log-loss ``-log p_y``: float64 ``(N,)``, or 0-d for "mean" (NaN when N = 0)
        and "sum". Labels index ``(N,)`` or one-hot.

        Raises
        ------
        NotFittedError, InputShapeError, InputValueError, LabelError, ParameterError
        """
        reduction = check_reduction(reduction)
        xb = self._core.check(x, "compute_loss")
        idx = self._core.labels(y, len(xb))
        loss, _ = mm.loss_and_gradient(
            self._final(), self._core.final_input(xb), idx, self._by_index()
        )
        return reduce_losses(loss, reduction, np.float64)

    def compute_loss_from_predictions(
        self, pred: ArrayLike, y: ArrayLike, reduction: Reduction = "none"
    ) -> NDArray[np.float64]:
        """The log-loss ``-log p_y`` of given probabilities (ART's
        ``compute_loss_from_predictions``), without a forward pass:
        ``compute_loss_from_predictions(predict(x), y)`` equals ``compute_loss(x, y)`` up to
        ``predict``'s float32 rounding, when no postprocessing defence changes ``predict``.

        Parameters
        ----------
        pred : array_like
            ``(N, nb_classes)`` class probabilities (``predict``'s output), computed in float64.
        y : array_like
            Index labels ``(N,)`` or one-hot labels ``(N, nb_classes)``.
        reduction : {"none", "mean", "sum"}

        Returns
        -------
        numpy.ndarray
            float64 ``(N,)``, or 0-d for "mean" (NaN when N = 0) and "sum"; ``inf`` where
            ``p_y = 0`` (no clipping).

        Raises
        ------
        NotFittedError
            Unfitted model wrapped without ``nb_classes``.
        InputShapeError
            ``pred`` is not ``(N, nb_classes)``.
        InputValueError, LabelError, ParameterError
        """
        reduction = check_reduction(reduction)
        p = check_batch(pred, (self.nb_classes,), dtype=np.float64, name="pred")
        idx = self._core.labels(y, len(p))
        with np.errstate(divide="ignore"):
            loss = -np.log(p[np.arange(len(p)), idx])
        return reduce_losses(loss, reduction, np.float64)

    def loss_gradient(self, x: ArrayLike, y: ArrayLike) -> NDArray[np.float64]:
        """Gradient of the summed log-loss w.r.t. the raw input: float64, shape of ``x``.

        Raises
        ------
        NotFittedError, InputShapeError, InputValueError, LabelError
        """
        xb = self._core.check(x, "loss_gradient")
        idx = self._core.labels(y, len(xb))
        z, pullback = self._core.final_input_vjp(xb)
        _, grad = mm.loss_and_gradient(self._final(), z, idx, self._by_index())
        return pullback(grad)

    def class_gradient(
        self, x: ArrayLike, label: int | ArrayLike | None = None
    ) -> NDArray[np.float64]:
        """Gradient of the ``predict_proba`` columns w.r.t. the raw input: float64
        ``(N, nb_classes, *input_shape)`` for ``label=None``, else ``(N, 1, *input_shape)``.

        Raises
        ------
        NotFittedError, InputShapeError, InputValueError, LabelError
        """
        xb = self._core.check(x, "class_gradient")
        chosen = self._core.class_labels(label, len(xb))
        z, pullback = self._core.final_input_vjp(xb)
        grads = mm.class_gradient(self._final(), z, chosen, self._by_index())
        return SklearnCore.pull_columns(pullback, grads, self.input_shape)

    # ----------------------------------------------------------------- NeuralNetwork
    @property
    def channels_first(self) -> bool:
        """False: inputs are feature vectors (or channels-last arrays) flattened in C order."""
        return False

    @property
    def layer_names(self) -> list[str]:
        """``["hidden_0", ..., "output"]`` (from ``hidden_layer_sizes`` while unfitted)."""
        final = self._core.final
        if hasattr(final, "coefs_"):
            n_hidden = len(final.coefs_) - 1
        else:
            sizes = final.hidden_layer_sizes
            n_hidden = len(sizes) if hasattr(sizes, "__len__") else 1
        return [f"hidden_{i}" for i in range(n_hidden)] + ["output"]

    def _layer_index(self, layer: Any) -> int:
        return check_layer(layer, self.layer_names)

    @overload
    def get_activations(
        self,
        x: ArrayLike,
        layer: int | str,
        batch_size: int = 128,
        framework: Literal[False] = False,
    ) -> NDArray[np.float64]: ...

    @overload
    def get_activations(
        self, x: ArrayLike, layer: int | str, batch_size: int, framework: Literal[True]
    ) -> NDArray[np.float64]: ...

    @overload
    def get_activations(
        self, x: ArrayLike, layer: int | str, *, framework: Literal[True]
    ) -> NDArray[np.float64]: ...

    def get_activations(
        self, x: ArrayLike, layer: int | str, batch_size: int = 128, framework: bool = False
    ) -> NDArray[np.float64]:
        """Output of ``layer`` (index into :attr:`layer_names`, or a name) for raw ``x``,
        preprocessed as in :meth:`predict`, computed ``batch_size`` samples at a time.

        Returns
        -------
        numpy.ndarray
            float64 ``(N, units)``; numpy is scikit-learn's native type, so ``framework=True``
            returns the same.

        Raises
        ------
        NotFittedError, InputShapeError, InputValueError, ParameterError, ParameterTypeError
        """
        batch_size = check_batch_size(batch_size)
        index = self._layer_index(layer)
        xb = self._core.check(x, "get_activations")
        final = self._final()
        transforms = self._by_index()
        width = int(np.shape(final.coefs_[index])[1])
        out = np.empty((len(xb), width), dtype=np.float64)
        for start in range(0, len(xb), batch_size):
            z = self._core.final_input(xb[start : start + batch_size])
            out[start : start + batch_size] = mm.activations(final, z, transforms)[index]
        return out

    # ----------------------------------------------------------------- ActivationTransforms
    @property
    def activation_transforms(self) -> dict[str, ActivationTransform]:
        """The installed activation transforms, keyed by layer name (a new dict)."""
        return dict(self._transforms)

    def set_activation_transform(
        self, layer: int | str, transform: ActivationTransform | None
    ) -> None:
        """Install ``transform`` at a hidden layer's output (after its activation), replacing any
        there; None removes it.

        While installed, ``predict`` (through trustml's own float64 forward pass instead of
        ``predict_proba``), ``compute_loss``, ``loss_gradient``, ``class_gradient`` and
        ``get_activations`` (that layer and later ones) use ``clip(a, clip_min, clip_max) *
        scale``, with exact analytic gradients through the clip (indicator of the bounds,
        included) and the scale; ``fit`` is refused (scikit-learn trains with its own forward
        pass). The model itself is never changed. See :mod:`trustml.activations` (Neural Cleanse
        pruning, Wang et al., IEEE S&P 2019; ReAct, Sun et al., NeurIPS 2021).

        Parameters
        ----------
        layer : int or str
            A hidden layer: ``"hidden_i"`` or its index in :attr:`layer_names`.
        transform : ActivationTransform or None
            Its ``scale`` must broadcast to ``(units,)``.

        Raises
        ------
        ParameterError
            Unknown layer, the ``"output"`` layer, or a ``scale`` that does not broadcast to the
            layer's ``(units,)``; nothing is installed.
        ParameterTypeError
            ``transform`` is not an ActivationTransform or None; ``layer`` neither int nor str.
        """
        index = self._layer_index(layer)
        name = self.layer_names[index]
        if name == "output":
            raise ParameterError(
                "layer: expected a hidden layer (the output activation belongs to the loss), got "
                f"{layer!r}"
            )
        if transform is None:
            self._transforms.pop(name, None)
            return
        self._transforms[name] = self._checked(name, index, transform)

    def _keep_state(self, fresh: SklearnMLPClassifier) -> None:
        """``set_params`` keeps the activation transforms (checked against the new settings)."""
        for name, transform in self._transforms.items():
            fresh.set_activation_transform(name, transform)

    def _width(self, index: int) -> int:
        final = self._core.final
        if hasattr(final, "coefs_"):
            return int(np.shape(final.coefs_[index])[1])
        sizes = final.hidden_layer_sizes
        return int(sizes[index] if hasattr(sizes, "__len__") else sizes)

    def _checked(self, name: str, index: int, transform: Any) -> ActivationTransform:
        # check_transform returns None only for None, which callers handle first
        return cast(ActivationTransform, check_transform(transform, name, (self._width(index),)))

    def _by_index(self) -> mm.Transforms:
        """Hidden index -> transform, each re-checked against the model's current widths (the
        model may have been refitted with other layer sizes since)."""
        names = self.layer_names
        out: dict[int, ActivationTransform] = {}
        for name, transform in self._transforms.items():
            if name not in names or name == "output":
                raise ParameterError(
                    f"layer: the activation transform at {name!r} no longer matches the model's "
                    f"layers {names}; remove it"
                )
            index = names.index(name)
            out[index] = self._checked(name, index, transform)
        return out
