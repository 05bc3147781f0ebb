"""``SklearnMLPClassifier``: MLPClassifier with analytic backpropagation and layer activations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.neural_network import MLPClassifier

from trustml.adapters.sklearn import _mlp_math as mm
from trustml.adapters.sklearn._core import SklearnCore, build_core
from trustml.adapters.sklearn._generic import SklearnClassifier
from trustml.errors import ParameterError, ParameterTypeError, UnsupportedModelError
from trustml.preprocessing import Postprocessor, PreprocessingLike, Preprocessor
from trustml.protocols import Reduction
from trustml.validation import check_batch_size

__all__ = ["SklearnMLPClassifier"]


class SklearnMLPClassifier:
    """``MLPClassifier`` (relu, tanh, logistic or identity hidden activations; binary or multiclass),
    alone or at the end of a Pipeline of scalers.

    Capabilities: Classifier, Fittable, LossGradients, ClassGradients, NeuralNetwork (a
    :class:`~trustml.protocols.NeuralNetworkClassifier`).

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
        clip_values: Any = None,
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

    # Members shared with every scikit-learn adapter (see SklearnClassifier).
    __repr__ = SklearnClassifier.__repr__
    model = SklearnClassifier.model
    input_shape = SklearnClassifier.input_shape
    clip_values = SklearnClassifier.clip_values
    preprocessing = SklearnClassifier.preprocessing
    nb_classes = SklearnClassifier.nb_classes
    predict = SklearnClassifier.predict
    fit = SklearnClassifier.fit
    fit_generator = SklearnClassifier.fit_generator

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
        reduction = SklearnCore.check_reduction(reduction)
        xb = self._core.check(x, "compute_loss")
        idx = self._core.labels(y, len(xb))
        loss, _ = mm.loss_and_gradient(self._final(), self._core.final_input(xb), idx)
        return SklearnCore.reduce(loss, reduction)

    def loss_gradient(self, x: ArrayLike, y: ArrayLike) -> NDArray[np.float64]:
        """Gradient of the summed log-loss w.r.t. the raw input: float64, shape of ``x``.

        Raises
        ------
        NotFittedError, InputShapeError, InputValueError, LabelError
        """
        xb = self._core.check(x, "loss_gradient")
        idx = self._core.labels(y, len(xb))
        z, pullback = self._core.final_input_vjp(xb)
        _, grad = mm.loss_and_gradient(self._final(), z, idx)
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
        grads = mm.class_gradient(self._final(), z, chosen)
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
        names = self.layer_names
        if isinstance(layer, str):
            if layer not in names:
                raise ParameterError(f"layer: expected one of {names}, got {layer!r}")
            return names.index(layer)
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)):
            raise ParameterTypeError(
                f"layer: expected a layer name or index, got {type(layer).__name__}"
            )
        if not 0 <= int(layer) < len(names):
            raise ParameterError(
                f"layer: expected an index in [0, {len(names)}) or a name in {names}, got {layer}"
            )
        return int(layer)

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
        width = int(np.shape(final.coefs_[index])[1])
        out = np.empty((len(xb), width), dtype=np.float64)
        for start in range(0, len(xb), batch_size):
            z = self._core.final_input(xb[start : start + batch_size])
            out[start : start + batch_size] = mm.activations(final, z)[index]
        return out
