"""What every scikit-learn adapter shares, held by composition (each adapter owns one
``SklearnCore``).

The input path of every call::

    raw x (N, *input_shape) --check_batch (float64)--> defences --> standardisation
        --flatten--> (N, F) "model input" (what the wrapped model / pipeline receives)
        --pipeline scalers--> (N, F) "final input" (what the final classifier receives)

and its pullback, which takes a gradient w.r.t. the final input back to the raw input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from math import prod
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.adapters.sklearn._model import (
    Affine,
    classes_of,
    final_estimator,
    fitted_scalers,
    is_fitted,
    require_fitted,
    scaler_steps,
)
from trustml.errors import LabelError, NotFittedError, ParameterError, ParameterTypeError
from trustml.labels import check_nb_classes, class_gradient_targets, to_index
from trustml.preprocessing import (
    Postprocessor,
    PreprocessingChain,
    PreprocessingLike,
    Preprocessor,
    Pullback,
    Standardisation,
)
from trustml.validation import (
    ClipValues,
    ClipValuesLike,
    check_batch,
    check_batch_size,
    check_clip_values,
    check_input_shape,
    check_nonempty,
)

__all__ = ["SklearnCore", "build_core"]


class SklearnCore:
    """Input path, classes, fitting and batching shared by the scikit-learn adapters.

    Parameters
    ----------
    model : sklearn classifier or Pipeline
        Already checked by the factory.
    input_shape : tuple of int
        Shape of one raw sample; ``prod(input_shape)`` features reach the model.
    nb_classes : int or None
        Class count declared for an unfitted model (None: read ``classes_`` once fitted).
    clip_values, preprocessing, preprocessing_defences, postprocessing_defences
        As :func:`trustml.adapters.sklearn.wrap`.
    """

    def __init__(
        self,
        model: Any,
        *,
        input_shape: tuple[int, ...],
        nb_classes: int | None,
        clip_values: ClipValuesLike | None,
        preprocessing: PreprocessingLike,
        preprocessing_defences: Preprocessor | Sequence[Preprocessor] | None,
        postprocessing_defences: Postprocessor | Sequence[Postprocessor] | None,
    ) -> None:
        self.model = model
        self.input_shape = input_shape
        self.n_features = prod(input_shape)
        self.clip_values: ClipValues | None = check_clip_values(clip_values, input_shape)
        self.chain = PreprocessingChain(
            preprocessing,
            input_shape=input_shape,
            channels_first=False,
            preprocessing_defences=preprocessing_defences,
            postprocessing_defences=postprocessing_defences,
        )
        self._declared_classes = None if nb_classes is None else check_nb_classes(nb_classes)
        if is_fitted(model):
            require_fitted(model, self.n_features, "model")
            fitted = len(classes_of(final_estimator(model)))
            if self._declared_classes is not None and self._declared_classes != fitted:
                raise ParameterError(
                    f"nb_classes: expected {fitted} (the fitted model's classes_), got "
                    f"{self._declared_classes}"
                )

    # ----------------------------------------------------------------- properties
    @property
    def preprocessing(self) -> Standardisation:
        return self.chain.standardisation

    @property
    def final(self) -> Any:
        return final_estimator(self.model)

    @property
    def nb_classes(self) -> int:
        if is_fitted(self.model):
            return len(classes_of(self.final))
        if self._declared_classes is None:
            raise NotFittedError(
                f"nb_classes: the wrapped {type(self.model).__name__} is not fitted and no "
                f"nb_classes was given to wrap; fit it first"
            )
        return self._declared_classes

    # ----------------------------------------------------------------- input path
    def check(self, x: ArrayLike, what: str) -> NDArray[np.float64]:
        """Fitted model and a valid batch: ``x`` as a new float64 ``(N, *input_shape)`` array."""
        require_fitted(self.model, self.n_features, what)
        classes_of(self.final)
        return self.batch(x)

    def batch(self, x: ArrayLike, name: str = "x") -> NDArray[np.float64]:
        """``x`` as a new float64 ``(N, *input_shape)`` array whose values are also finite in
        float32: scikit-learn's trees compute in float32, and liblinear (LinearSVC) never returns
        on values near float64's limit."""
        return check_batch(x, self.input_shape, dtype=np.float64, name=name, finite_as=np.float32)

    def model_input(self, xb: NDArray[np.float64]) -> NDArray[np.float64]:
        """Defences and standardisation, flattened: what the wrapped model receives."""
        z, _ = self.chain(xb)
        return np.asarray(z, dtype=np.float64).reshape(len(xb), self.n_features)

    def scalers(self) -> Affine | None:
        return fitted_scalers(self.model, self.n_features)

    def final_input(self, xb: NDArray[np.float64]) -> NDArray[np.float64]:
        """What the final classifier receives (after the pipeline scalers)."""
        z = self.model_input(xb)
        affine = self.scalers()
        return z if affine is None else affine.apply(z)

    def final_input_vjp(
        self, xb: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], Callable[[NDArray[np.float64]], NDArray[np.float64]]]:
        """Final input and the pullback of a gradient ``(N, F)`` to the raw
        ``(N, *input_shape)``."""
        z, chain_pullback = self.chain.vjp(xb)
        z = np.asarray(z, dtype=np.float64).reshape(len(xb), self.n_features)
        affine = self.scalers()
        if affine is not None:
            z = affine.apply(z)

        def pullback(grad: NDArray[np.float64]) -> NDArray[np.float64]:
            g = grad if affine is None else affine.gradient(grad)
            return _as_float64(chain_pullback, g.reshape(xb.shape))

        return z, pullback

    # ----------------------------------------------------------------- predictions
    def predict(
        self,
        x: ArrayLike,
        batch_size: int,
        score: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    ) -> NDArray[np.float32]:
        """Validate, run ``score`` (raw float64 batch -> ``(n, nb_classes)``) per batch,
        postprocess, float32."""
        batch_size = check_batch_size(batch_size)
        xb = self.check(x, "predict")
        nb_classes = self.nb_classes
        out = np.empty((len(xb), nb_classes), dtype=np.float32)
        for start in range(0, len(xb), batch_size):
            out[start : start + batch_size] = score(xb[start : start + batch_size])
        return self.chain.postprocess(out)

    def model_scores(self, xb: NDArray[np.float64]) -> NDArray[np.float64]:
        """The wrapped model's ``predict_proba`` on a checked raw batch, or the one-hot of its
        ``predict`` where it has no ``predict_proba``: ``(n, nb_classes)`` float64."""
        z = self.model_input(xb)
        if len(z) == 0:
            return np.zeros((0, self.nb_classes))
        if hasattr(self.model, "predict_proba"):
            return np.asarray(self.model.predict_proba(z), dtype=np.float64)
        return self.one_hot_predictions(z)

    def one_hot_predictions(self, z: NDArray[np.float64]) -> NDArray[np.float64]:
        """One-hot ``(n, nb_classes)`` of the model's ``predict`` on model input ``z``."""
        classes = classes_of(self.final)
        predicted = np.asarray(self.model.predict(z))
        idx = np.searchsorted(classes, predicted)
        out = np.zeros((len(z), len(classes)))
        out[np.arange(len(z)), idx] = 1.0
        return out

    # ----------------------------------------------------------------- labels, losses
    def labels(self, y: ArrayLike, n: int) -> NDArray[np.int64]:
        return to_index(y, self.nb_classes, n=n)

    def class_labels(self, label: Any, n: int) -> NDArray[np.int64] | None:
        """``label`` of ``class_gradient``: None, an int for every sample, or ``(N,)`` indices."""
        return class_gradient_targets(label, self.nb_classes, n)

    @staticmethod
    def pull_columns(
        pullback: Callable[[NDArray[np.float64]], NDArray[np.float64]],
        grads: NDArray[np.float64],
        input_shape: tuple[int, ...],
    ) -> NDArray[np.float64]:
        """Pull back ``(N, C, F)`` column gradients to ``(N, C, *input_shape)``."""
        n, c = grads.shape[:2]
        out = np.empty((n, c, *input_shape), dtype=np.float64)
        for k in range(c):
            out[:, k] = pullback(np.ascontiguousarray(grads[:, k]))
        return out

    # ----------------------------------------------------------------- fitting
    def fit(
        self, x: ArrayLike, y: ArrayLike, batch_size: int, nb_epochs: int, **kwargs: Any
    ) -> None:
        """Refit the wrapped model on the defended, standardised ``x``.

        ``batch_size`` and ``nb_epochs`` are validated and otherwise unused: scikit-learn fits on
        the whole set with its own iteration settings. Labels reach the model as its own class
        values (``classes_[index]``) when it is fitted, as indices otherwise; every class must be
        present, since scikit-learn learns its classes from the labels. numpy's global RNG state is
        restored afterwards (models with ``random_state=None`` draw from it).
        """
        check_batch_size(batch_size)
        check_batch_size(nb_epochs, "nb_epochs")
        xb = self.batch(x)
        check_nonempty(len(xb))
        fitted = is_fitted(self.model)
        if fitted or self._declared_classes is not None:
            nb_classes = self.nb_classes
            idx = to_index(y, nb_classes, n=len(xb))
            missing = np.setdiff1d(np.arange(nb_classes), idx)
            if missing.size:
                raise LabelError(
                    f"y: expected every one of the {nb_classes} classes at least once "
                    f"(scikit-learn learns its classes from the labels), got none of class(es) "
                    f"{missing.tolist()}"
                )
            targets: NDArray[Any] = classes_of(self.final)[idx] if fitted else idx
        else:
            targets = _first_fit_labels(y, len(xb))
        defended, _ = self.chain.defend(xb, None, fit=True)
        z = self.chain.standardisation.apply(np.asarray(defended, dtype=np.float64))
        # scikit-learn models with random_state=None draw from numpy's global RNG; restore it so
        # that fit has no side effect beyond the model (set random_state for varied fits).
        global_state = np.random.get_state()
        try:
            self.model.fit(z.reshape(len(xb), self.n_features), targets, **kwargs)
        finally:
            np.random.set_state(global_state)

    def fit_generator(
        self, generator: Iterable[tuple[Any, Any]], nb_epochs: int, **kwargs: Any
    ) -> None:
        """Concatenate every ``(x, y)`` batch of one pass, then :meth:`fit` once (every batch is
        validated before the model is touched)."""
        check_batch_size(nb_epochs, "nb_epochs")
        if not isinstance(generator, Iterable):
            raise ParameterTypeError(
                f"generator: expected an iterable of (x, y) batches, got {type(generator).__name__}"
            )
        xs: list[NDArray[np.float64]] = []
        ys: list[NDArray[Any]] = []
        for i, batch in enumerate(generator):
            try:
                xi, yi = batch
            except (TypeError, ValueError):
                raise ParameterError(
                    f"generator: expected (x, y) pairs, got {type(batch).__name__} at batch {i}"
                ) from None
            xs.append(self.batch(xi, f"x (batch {i})"))
            check_nonempty(len(xs[-1]), f"x (batch {i})")
            ys.append(_batch_labels(yi, len(xs[-1]), self._known_classes(), f"y (batch {i})"))
        if not xs:
            raise ParameterError("generator: expected at least one (x, y) batch, got none")
        if len({y.ndim for y in ys}) > 1 or len({y.shape[1:] for y in ys}) > 1:
            raise LabelError(
                "y: expected every batch's labels in one format (index or one-hot of one width), "
                f"got shapes {sorted({y.shape[1:] for y in ys})}"
            )
        self.fit(np.concatenate(xs), np.concatenate(ys), 128, nb_epochs, **kwargs)

    def _known_classes(self) -> int | None:
        if is_fitted(self.model):
            return len(classes_of(self.final))
        return self._declared_classes


def _batch_labels(y: Any, n: int, nb_classes: int | None, name: str) -> NDArray[Any]:
    """One generator batch's labels: index labels once the classes are known, else numeric
    ``(n,)`` or ``(n, C)`` labels that :meth:`SklearnCore.fit` checks as a whole."""
    if nb_classes is not None:
        return to_index(y, nb_classes, n=n, name=name)
    try:
        arr = np.asarray(y)
    except ValueError:
        raise LabelError(
            f"{name}: expected index or one-hot labels, got a ragged sequence"
        ) from None
    if arr.dtype.kind not in "iuf" or arr.ndim not in (1, 2) or len(arr) != n:
        raise LabelError(
            f"{name}: expected {n} index labels (N,) or one-hot labels (N, C), got "
            f"{type(y).__name__} of dtype {arr.dtype} and shape {arr.shape}"
        )
    return arr


def _first_fit_labels(y: ArrayLike, n: int) -> NDArray[np.int64]:
    """Labels for a first fit with no known class count: index labels ``0..C-1``, or one-hot of
    width C; every class must be present."""
    arr = np.asarray(y)
    if arr.ndim == 2:
        nb_classes = arr.shape[1]
    elif arr.ndim == 1 and arr.size and np.issubdtype(arr.dtype, np.number):
        nb_classes = int(np.max(arr)) + 1
    else:
        nb_classes = 2  # to_index reports what is wrong with y
    nb_classes = max(nb_classes, 2)
    idx = to_index(arr, nb_classes, n=n)
    missing = np.setdiff1d(np.arange(nb_classes), idx)
    if missing.size:
        raise LabelError(
            f"y: expected every class 0..{nb_classes - 1} at least once (scikit-learn learns its "
            f"classes from the labels), got none of class(es) {missing.tolist()}"
        )
    return idx


def _as_float64(pullback: Pullback, grad: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(pullback(grad), dtype=np.float64)


def build_core(
    model: Any,
    *,
    input_shape: Any,
    nb_classes: int | None,
    clip_values: ClipValuesLike | None,
    preprocessing: PreprocessingLike,
    preprocessing_defences: Preprocessor | Sequence[Preprocessor] | None,
    postprocessing_defences: Postprocessor | Sequence[Postprocessor] | None,
) -> SklearnCore:
    """Check ``model`` (a classifier, or a Pipeline of scalers ending in one), resolve
    ``input_shape`` and build the shared core.

    Raises
    ------
    UnsupportedModelError
        Not a scikit-learn classifier; a pipeline step that is not a supported scaler; a
        multi-output model.
    ParameterError
        Unfitted model without ``input_shape``; ``input_shape`` that does not hold the fitted
        model's feature count; bad ``clip_values``, ``preprocessing`` or ``nb_classes``.
    """
    final_estimator(model)
    scaler_steps(model)
    fitted = is_fitted(model)
    if input_shape is None:
        if not fitted:
            raise ParameterError(
                f"input_shape: expected the shape of one sample (e.g. (n_features,)) for an "
                f"unfitted {type(model).__name__}, got None; it is read from n_features_in_ only "
                f"once the model is fitted"
            )
        shape: tuple[int, ...] = (int(model.n_features_in_),)
    else:
        shape = check_input_shape(input_shape)
        if fitted and prod(shape) != int(model.n_features_in_):
            raise ParameterError(
                f"input_shape: expected a shape holding the fitted model's "
                f"{int(model.n_features_in_)} features, got {shape} ({prod(shape)} features)"
            )
    return SklearnCore(
        model,
        input_shape=shape,
        nb_classes=nb_classes,
        clip_values=clip_values,
        preprocessing=preprocessing,
        preprocessing_defences=preprocessing_defences,
        postprocessing_defences=postprocessing_defences,
    )
