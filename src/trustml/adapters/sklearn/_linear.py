"""``SklearnLinearClassifier``: LogisticRegression, LinearSVC and SVC(kernel="linear") with
analytic loss and class gradients."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC, LinearSVC

from trustml._losses import reduce_losses
from trustml.adapters.sklearn import _linear_math as lm
from trustml.adapters.sklearn._core import SklearnCore, build_core
from trustml.adapters.sklearn._model import require_fitted
from trustml.adapters.sklearn._shared import SklearnMembers
from trustml.errors import UnsupportedModelError
from trustml.preprocessing import Postprocessor, PreprocessingLike, Preprocessor
from trustml.protocols import Reduction
from trustml.validation import ClipValuesLike, check_reduction

__all__ = ["LINEAR_MODELS", "SklearnLinearClassifier"]

LINEAR_MODELS = (LogisticRegression, LinearSVC, SVC)

F64 = NDArray[np.float64]


class SklearnLinearClassifier(SklearnMembers):
    """LogisticRegression (binary, multinomial), LinearSVC and SVC(kernel="linear"), alone or at
    the end of a Pipeline of scalers.

    Capabilities: Classifier, Fittable, LossGradients, ClassGradients (so it is a
    :class:`~trustml.protocols.WhiteBoxClassifier`).

    What is differentiated (every gradient is exact and with respect to the raw input, through the
    defences, the standardisation and the pipeline scalers; float64):

    - LogisticRegression: ``class_gradient`` differentiates the probabilities (``predict``);
      ``compute_loss`` is the log-loss ``-log p_y`` (scikit-learn's ``log_loss`` per sample).
    - LinearSVC, SVC(kernel="linear"): ``class_gradient`` differentiates decision-function scores:
      ``(-f, f)`` for binary models (``f = decision_function``; the argmax is ``predict``), the
      one-vs-rest ``decision_function`` for multiclass LinearSVC, and for multiclass SVC the
      ``decision_function_shape="ovr"`` scores (votes plus a confidence term; the votes are
      piecewise constant). ``predict`` is ``predict_proba`` for ``SVC(probability=True)``, else the
      one-hot of ``predict``. ``compute_loss`` is the hinge loss the sample contributes to the
      model's own training objective: binary ``h(t f)``; one-vs-rest ``sum_k h(t_k f_k)``;
      Crammer-Singer ``max(0, 1 + max_{j != y} f_j - f_y)``; one-vs-one SVC
      ``sum_{j != y} h(d_yj)``, with ``h(m) = max(0, 1 - m)``, squared for
      ``LinearSVC(loss="squared_hinge")``.

    Parameters are those of :class:`~trustml.adapters.sklearn.SklearnClassifier`.

    Raises
    ------
    UnsupportedModelError
        Not one of these models (an SVC with another kernel, a legacy one-vs-rest multiclass
        LogisticRegression), or a pipeline step that is not a supported scaler.
    ParameterError, ParameterTypeError
        As :class:`~trustml.adapters.sklearn.SklearnClassifier`.

    References
    ----------
    Cortes and Vapnik, "Support-vector networks", Machine Learning 1995 (hinge loss); Crammer and
    Singer, "On the algorithmic implementation of multiclass kernel-based vector machines", JMLR
    2001.
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
        if not isinstance(core.final, LINEAR_MODELS):
            raise UnsupportedModelError(
                f"model: expected LogisticRegression, LinearSVC or SVC(kernel='linear'), got "
                f"{type(core.final).__name__}"
            )
        lm.check_linear(core.final)
        self._core: SklearnCore = core

    # ----------------------------------------------------------------- Fittable
    def fit(
        self, x: ArrayLike, y: ArrayLike, batch_size: int = 128, nb_epochs: int = 20, **kwargs: Any
    ) -> None:
        """Refit in place; see :meth:`SklearnClassifier.fit`."""
        self._core.fit(x, y, batch_size, nb_epochs, **kwargs)
        lm.check_linear(self._core.final)

    @property
    def class_gradient_output(self) -> str:
        """The method whose ``(N, nb_classes)`` outputs :meth:`class_gradient` differentiates:
        ``"predict"`` for LogisticRegression, ``"decision_function"`` for SVMs (read by the
        conformance kit's finite-difference check)."""
        return "predict" if isinstance(self._core.final, LogisticRegression) else (
            "decision_function"
        )

    def decision_function(self, x: ArrayLike) -> NDArray[np.float64]:
        """The scores :meth:`class_gradient` differentiates, from the raw input.

        Parameters
        ----------
        x : array_like
            ``(N, *input_shape)`` raw input.

        Returns
        -------
        numpy.ndarray
            float64 ``(N, nb_classes)``: the probabilities for LogisticRegression; for SVMs the
            decision scores of the class docstring (``(-f, f)`` for binary models).

        Raises
        ------
        NotFittedError, InputShapeError, InputValueError
        """
        xb = self._core.check(x, "decision_function")
        final = self._core.final
        lm.check_linear(final)
        z = self._core.final_input(xb)
        if isinstance(final, LogisticRegression):
            return np.asarray(final.predict_proba(z), dtype=np.float64)
        return lm.svm_scores(final, z)[0]

    # ----------------------------------------------------------------- structure
    def linear_decision(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The model's decision function as an affine map of the raw input.

        ``f(x) = x.reshape(N, -1) @ coef.T + intercept`` equals the final estimator's
        ``decision_function`` on the standardised, scaled input (up to float64 rounding), so that
        the predicted class is ``f > 0`` for binary models (one column) and ``argmax f`` (lowest
        index on ties) for multiclass LogisticRegression and LinearSVC. Exact counterfactual solvers
        (:mod:`trustml.counterfactual`) read it.

        Returns
        -------
        coef : numpy.ndarray
            ``(R, F)`` float64, ``F = prod(input_shape)``; ``R = 1`` for binary models, else
            ``nb_classes``.
        intercept : numpy.ndarray
            ``(R,)`` float64.

        Raises
        ------
        NotFittedError
            The model is not fitted.
        UnsupportedModelError
            Preprocessing or postprocessing defences are set (the map is then not affine, or the
            prediction not its argmax), or the model is a multiclass SVC (one-vs-one votes).
        """
        core = self._core
        require_fitted(core.model, core.n_features, "linear_decision")
        final = core.final
        lm.check_linear(final)
        if core.chain.defences or core.chain.postprocessors:
            raise UnsupportedModelError(
                "linear_decision: the adapter has preprocessing or postprocessing defences, so "
                "its prediction is not an affine decision function of the raw input"
            )
        if isinstance(final, SVC) and len(final.classes_) > 2:
            raise UnsupportedModelError(
                "linear_decision: a multiclass SVC predicts by one-vs-one votes, not by the argmax "
                "of an affine map; use LinearSVC or LogisticRegression"
            )
        w = np.asarray(final.coef_, dtype=np.float64)
        b = np.asarray(final.intercept_, dtype=np.float64).reshape(-1)
        # raw -> final input is elementwise affine (standardisation, then per-feature scalers):
        # z = x * a + c with c = z(0) and a = the pullback of ones
        zero = np.zeros((1, *core.input_shape))
        c, pullback = core.final_input_vjp(zero)
        a = pullback(np.ones((1, core.n_features))).reshape(-1)
        coef = w * a
        intercept = c.reshape(-1) @ w.T + b
        return coef, intercept

    # ----------------------------------------------------------------- gradients
    def _loss_fn(self) -> Callable[[Any, F64, NDArray[np.int64]], tuple[F64, F64]]:
        final = self._core.final
        lm.check_linear(final)
        return lm.logistic_loss if isinstance(final, LogisticRegression) else lm.svm_loss

    def compute_loss(
        self, x: ArrayLike, y: ArrayLike, reduction: Reduction = "none"
    ) -> NDArray[np.float64]:
        """Per-sample loss (log-loss, or hinge for SVMs; see the class docstring).

        Parameters
        ----------
        x : array_like
            ``(N, *input_shape)`` raw input.
        y : array_like
            Index ``(N,)`` or one-hot ``(N, nb_classes)`` labels.
        reduction : {"none", "mean", "sum"}

        Returns
        -------
        numpy.ndarray
            float64 ``(N,)``, or 0-d for "mean" (NaN when N = 0) and "sum".

        Raises
        ------
        NotFittedError, InputShapeError, InputValueError, LabelError, ParameterError
        """
        reduction = check_reduction(reduction)
        xb = self._core.check(x, "compute_loss")
        idx = self._core.labels(y, len(xb))
        z = self._core.final_input(xb)
        loss, _ = self._loss_fn()(self._core.final, z, idx)
        return reduce_losses(loss, reduction, np.float64)

    def loss_gradient(self, x: ArrayLike, y: ArrayLike) -> NDArray[np.float64]:
        """Gradient of the summed per-sample loss w.r.t. the raw input: float64, shape of ``x``.

        Raises
        ------
        NotFittedError, InputShapeError, InputValueError, LabelError
        """
        xb = self._core.check(x, "loss_gradient")
        idx = self._core.labels(y, len(xb))
        z, pullback = self._core.final_input_vjp(xb)
        _, grad = self._loss_fn()(self._core.final, z, idx)
        return pullback(grad)

    def class_gradient(
        self, x: ArrayLike, label: int | ArrayLike | None = None
    ) -> NDArray[np.float64]:
        """Gradient of the class outputs (probabilities for LogisticRegression, decision scores
        for SVMs; see the class docstring) w.r.t. the raw input.

        Parameters
        ----------
        x : array_like
            ``(N, *input_shape)`` raw input.
        label : None, int or array_like of int ``(N,)``
            None: every class; int: that class; array: one class per sample.

        Returns
        -------
        numpy.ndarray
            float64 ``(N, nb_classes, *input_shape)`` for ``label=None``, else
            ``(N, 1, *input_shape)``.

        Raises
        ------
        NotFittedError, InputShapeError, InputValueError, LabelError
        """
        xb = self._core.check(x, "class_gradient")
        chosen = self._core.class_labels(label, len(xb))
        final = self._core.final
        lm.check_linear(final)
        z, pullback = self._core.final_input_vjp(xb)
        if isinstance(final, LogisticRegression):
            grads = lm.logistic_class_gradient(final, z)
        else:
            grads = lm.svm_class_gradient(final, z)
        if chosen is not None:
            grads = grads[np.arange(len(z)), chosen][:, None]
        return SklearnCore.pull_columns(pullback, grads, self.input_shape)
