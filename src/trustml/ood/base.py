"""The detector base classes: fitting, scoring, ReAct calibration, ODIN input perturbation.

Conventions follow oodeel (deel-ai/oodeel 0.4): ``fit(classifier, x_fit, feature_layers_id=...)``
builds a :class:`~trustml.ood.FeatureExtractor` and calibrates the detector on in-distribution
data; ``score(x)`` returns ``(scores, info)`` with **higher scores meaning more
out-of-distribution**.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import softmax

from trustml.errors import NotFittedError, ParameterError, ParameterTypeError
from trustml.labels import to_index
from trustml.ood.feature_extractor import (
    FeatureExtractor,
    LayeredClassifier,
    LayerId,
    global_average_pool,
)
from trustml.protocols import ClassGradients, require
from trustml.validation import check_batch, check_batch_size

__all__ = ["FeatureBasedDetector", "OODBaseDetector"]

F64 = NDArray[np.float64]


def _check_real(value: Any, name: str, low: float | None = None, high: float | None = None,
                low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterTypeError(f"{name}: expected a real number, got {type(value).__name__}")
    out = float(value)
    bad = not math.isfinite(out)
    bad = bad or (low is not None and (out <= low if low_open else out < low))
    bad = bad or (high is not None and out > high)
    if bad:
        lo = "" if low is None else f"{'>' if low_open else '>='} {low}"
        hi = "" if high is None else f"<= {high}"
        rng = " and ".join(s for s in (lo, hi) if s) or "finite"
        raise ParameterError(f"{name}: expected a number {rng}, got {value!r}")
    return out


class OODBaseDetector:
    """Base of every detector: fit on in-distribution data, then score (higher = more OOD).

    Parameters
    ----------
    use_react : bool
        ReAct (Sun, Guo, Li, NeurIPS 2021): clip the penultimate activations at the
        ``react_quantile`` quantile of their values on the fit set, inside the forward pass.
    react_quantile : float
        In ``(0, 1]``; default 0.8 (oodeel's).
    use_scale, use_ash : bool
        SCALE (Xu et al., ICLR 2024) / ASH-S (Djurisic et al., ICLR 2023): rescale each
        sample's penultimate activations at ``scale_percentile`` / ``ash_percentile`` of its
        own values before the head (see :class:`~trustml.ood.FeatureExtractor`; the head must
        be a dense layer). At most one of ``use_react``, ``use_scale``, ``use_ash``; not with
        ``eps > 0`` (the input perturbation's gradient would not see the rescaling).
    scale_percentile, ash_percentile : float
        In ``[0, 1)``; defaults 0.85 and 0.90 (oodeel's).
    eps : float
        ODIN input perturbation (Liang, Li, Srikant, ICLR 2018): score
        ``x - eps * sign(grad_x CE(logits(x) / temperature, argmax logits(x)))`` instead of
        ``x``, in raw input units. 0 (default) turns it off; > 0 needs the
        :class:`~trustml.protocols.ClassGradients` capability, whose differentiated output must
        be the head's logits.
    temperature : float
        Softmax temperature of the perturbation's loss, > 0.

    Raises
    ------
    ParameterError, ParameterTypeError
        A parameter out of range or of the wrong type.
    """

    requires_to_fit_dataset: bool = False
    requires_internal_features: bool = False

    def __init__(
        self,
        use_react: bool = False,
        react_quantile: float = 0.8,
        eps: float = 0.0,
        temperature: float = 1000.0,
        use_scale: bool = False,
        use_ash: bool = False,
        scale_percentile: float = 0.85,
        ash_percentile: float = 0.90,
    ) -> None:
        flags = {"use_react": use_react, "use_scale": use_scale, "use_ash": use_ash}
        for name, flag in flags.items():
            if not isinstance(flag, (bool, np.bool_)):
                raise ParameterTypeError(f"{name}: expected a bool, got {flag!r}")
        on = [name for name, flag in flags.items() if flag]
        if len(on) > 1:
            raise ParameterError(
                f"{on[1]}: expected False when {on[0]} is True (ReAct, SCALE and ASH exclude "
                "each other, as in oodeel), got True"
            )
        self.use_react: bool = bool(use_react)
        self.use_scale: bool = bool(use_scale)
        self.use_ash: bool = bool(use_ash)
        self.scale_percentile: float = _check_real(scale_percentile, "scale_percentile", 0.0, 1.0)
        self.ash_percentile: float = _check_real(ash_percentile, "ash_percentile", 0.0, 1.0)
        for name, value in (("scale_percentile", self.scale_percentile),
                            ("ash_percentile", self.ash_percentile)):
            if value >= 1.0:
                raise ParameterError(f"{name}: expected a number in [0, 1), got {value!r}")
        self.react_quantile: float = _check_real(react_quantile, "react_quantile", 0.0, 1.0, True)
        self.eps: float = _check_real(eps, "eps", 0.0)
        self.temperature: float = _check_real(temperature, "temperature", 0.0, low_open=True)
        if self.eps > 0 and (self.use_scale or self.use_ash):
            raise ParameterError(
                f"eps: expected 0 with use_scale / use_ash (the input perturbation's gradient "
                f"is that of the model without the rescaling), got {self.eps}"
            )
        self.react_threshold: float | None = None
        self.feature_extractor: FeatureExtractor | None = None
        self.postproc_fns: list[Callable[[NDArray[Any]], NDArray[Any]] | None] | None = None

    # ------------------------------------------------------------------ fit

    def fit(
        self,
        classifier: LayeredClassifier,
        x_fit: ArrayLike | None = None,
        y_fit: ArrayLike | None = None,
        feature_layers_id: Sequence[LayerId] = (),
        postproc_fns: Sequence[Callable[[NDArray[Any]], NDArray[Any]] | None] | None = None,
        head_layer_id: LayerId = -1,
        input_layer_id: LayerId | None = None,
        batch_size: int = 128,
    ) -> OODBaseDetector:
        """Build the feature extractor and calibrate on in-distribution data.

        Parameters
        ----------
        classifier : LayeredClassifier
            Any adapter with the ``Classifier`` and ``NeuralNetwork`` capabilities.
        x_fit : array_like or None
            ``(N, *input_shape)`` in-distribution inputs, ``N >= 2``; required by the
            feature-based detectors and by ``use_react``.
        y_fit : array_like or None
            Labels of ``x_fit`` (index ``(N,)`` or one-hot); required by the class-conditional
            detectors (Mahalanobis, RMDS).
        feature_layers_id : sequence of int or str
            Layers the feature-based detectors read (required by them; ignored by the
            logit-based ones). Several layers: their scores are divided by their standard
            deviation on the fit set and averaged (oodeel's ``StdNormalizedAggregator``).
        postproc_fns : sequence of callable or None
            One per feature layer; default: global average pooling of spatial features
            (:func:`~trustml.ood.feature_extractor.global_average_pool`), flattening otherwise.
        head_layer_id : int or str
            The logits layer (``-2`` when a softmax layer ends the model).
        input_layer_id : int, str or None
            Start the model at this layer (see :class:`~trustml.ood.FeatureExtractor`):
            ``x_fit`` and the inputs of :meth:`score` are then that layer's inputs.
        batch_size : int
            Samples per forward pass.

        Returns
        -------
        self

        Raises
        ------
        ParameterError
            A missing ``x_fit``/``y_fit``/``feature_layers_id`` the detector needs, fewer than
            two fit samples, an unknown layer.
        InputShapeError, InputValueError, LabelError
            Malformed ``x_fit`` (NaN included) or ``y_fit``.
        CapabilityError
            The classifier lacks a capability the settings need.
        """
        require(classifier, LayeredClassifier, "classifier")
        size = check_batch_size(batch_size)
        net = classifier  # the classifier whose inputs x_fit are: the cropped one, if cropped
        if input_layer_id is not None:
            net = FeatureExtractor(classifier, [head_layer_id], head_layer_id,
                                   input_layer_id).classifier
        x_arr: NDArray[Any] | None = None
        if x_fit is not None:
            x_arr = check_batch(x_fit, net.input_shape, dtype=np.float64, name="x_fit")
            if x_arr.shape[0] < 2:
                raise ParameterError(
                    f"x_fit: expected at least 2 in-distribution samples, got {x_arr.shape[0]}"
                )
        elif self.requires_to_fit_dataset or self.use_react:
            need = "this detector" if self.requires_to_fit_dataset else "use_react"
            raise ParameterError(f"x_fit: expected in-distribution inputs ({need}), got None")
        y_idx = None
        if y_fit is not None:
            if x_arr is None:
                raise ParameterError("y_fit: expected None when x_fit is None, got labels")
            y_idx = to_index(y_fit, net.nb_classes, n=x_arr.shape[0], name="y_fit")
        layers = list(feature_layers_id) if self.requires_internal_features else [head_layer_id]
        if self.requires_internal_features and not layers:
            raise ParameterError(
                "feature_layers_id: expected at least one layer id for this feature-based "
                "detector (an index into classifier.layer_names or a name), got []"
            )
        if self.eps > 0:
            require(classifier, ClassGradients, "classifier (eps > 0)")
        threshold = None
        if self.use_react:
            x_arr = cast(NDArray[Any], x_arr)  # checked above: ReAct needs x_fit
            probe = FeatureExtractor(net, [head_layer_id], head_layer_id)
            pen = net.layer_names[probe.find_layer(head_layer_id, "head_layer_id")[1] - 1]
            acts = np.asarray(net.get_activations(x_arr, pen, size))
            threshold = float(np.quantile(acts, self.react_quantile))
        extractor = FeatureExtractor(
            classifier, layers, head_layer_id, input_layer_id, threshold,
            scale_percentile=self.scale_percentile if self.use_scale else None,
            ash_percentile=self.ash_percentile if self.use_ash else None,
        )
        fns = extractor._postproc(postproc_fns)
        if postproc_fns is None and self.requires_internal_features:
            cf = bool(net.channels_first)
            fns = [lambda a, cf=cf: global_average_pool(a, cf)] * len(layers)
        self.react_threshold = threshold
        self.feature_extractor = extractor
        self.postproc_fns = fns
        self._fit(x_arr, y_idx, size)
        return self

    def _fit(self, x: NDArray[Any] | None, y: NDArray[np.int64] | None, batch_size: int) -> None:
        """Calibration on the fit set (the extractor is in place)."""

    # ------------------------------------------------------------------ score

    def _extractor(self) -> FeatureExtractor:
        if self.feature_extractor is None:
            raise NotFittedError(
                f"{type(self).__name__}: call fit(classifier, x_fit, ...) before score"
            )
        return self.feature_extractor

    def _features(
        self, x: ArrayLike, batch_size: int, name: str = "x"
    ) -> tuple[list[F64], F64, NDArray[Any]]:
        """Post-processed features (float64, flattened to ``(N, D)``), logits (float64) and the
        validated (and, with ``eps > 0``, perturbed) input."""
        ext = self._extractor()
        arr = check_batch(x, ext.classifier.input_shape, dtype=np.float64, name=name)
        if self.eps > 0:
            arr = self._input_perturbation(arr, batch_size)
        feats, info = ext.predict(arr, batch_size, self.postproc_fns)
        flat = [np.asarray(f, dtype=np.float64).reshape(f.shape[0], -1) for f in feats]
        return flat, np.asarray(info["logits"], dtype=np.float64), arr

    def _input_perturbation(self, x: NDArray[Any], batch_size: int) -> NDArray[Any]:
        """``x - eps * sign(grad)`` of the temperature-scaled cross-entropy at the predicted
        class, from the class-score gradients (exact chain rule through the softmax)."""
        ext = self._extractor()
        clf = require(ext.classifier, ClassGradients, "classifier")
        out = np.empty_like(x)
        for start in range(0, x.shape[0], batch_size):
            xb = x[start : start + batch_size]
            _, info = ext.predict(xb, batch_size, None)
            z = np.asarray(info["logits"], dtype=np.float64)
            q = softmax(z / self.temperature, axis=1)
            q[np.arange(len(z)), z.argmax(axis=1)] -= 1.0
            grads = np.asarray(clf.class_gradient(xb), dtype=np.float64)  # (n, C, *in)
            if grads.shape[1] != z.shape[1]:
                raise ParameterError(
                    f"eps: the classifier's class_gradient has {grads.shape[1]} outputs but the "
                    f"head layer has {z.shape[1]}; ODIN needs class_gradient of the logits"
                )
            g = np.einsum("nc,nc...->n...", q, grads) / self.temperature
            out[start : start + batch_size] = xb - self.eps * np.sign(g)
        return out

    def score(
        self, x: ArrayLike, batch_size: int = 128
    ) -> tuple[NDArray[np.float64], dict[str, NDArray[Any]]]:
        """OOD scores of ``x`` (higher = more out-of-distribution).

        Parameters
        ----------
        x : array_like
            ``(N, *input_shape)`` raw inputs.
        batch_size : int
            Samples per forward pass; scores do not depend on it.

        Returns
        -------
        scores : numpy.ndarray
            ``(N,)`` float64.
        info : dict
            ``{"logits": (N, nb_classes) float64}``.

        Raises
        ------
        NotFittedError
            Called before :meth:`fit`.
        InputShapeError, InputValueError
            Malformed ``x`` (NaN included).
        """
        size = check_batch_size(batch_size)
        feats, logits, _ = self._features(x, size)
        return self._score(feats, logits).astype(np.float64), {"logits": logits}

    def __call__(self, x: ArrayLike) -> NDArray[np.float64]:
        """Shorthand for ``score(x)[0]``."""
        return self.score(x)[0]

    def _score(self, feats: list[F64], logits: F64) -> F64:
        raise NotImplementedError  # pragma: no cover - every detector overrides it

    def __repr__(self) -> str:
        state = "fitted" if self.feature_extractor is not None else "not fitted"
        return f"{type(self).__name__}({state})"


class FeatureBasedDetector(OODBaseDetector):
    """Detectors on internal features: per-layer statistics (``_fit_layer``) and per-layer scores
    (``_score_layer``), several layers aggregated as oodeel's ``StdNormalizedAggregator``
    (each layer's scores divided by their standard deviation on the fit set, then averaged)."""

    requires_to_fit_dataset = True
    requires_internal_features = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._stds: F64 | None = None

    def _fit(self, x: NDArray[Any] | None, y: NDArray[np.int64] | None, batch_size: int) -> None:
        x = cast(NDArray[Any], x)  # fit() requires x_fit for feature-based detectors
        feats, logits, _ = self._features(x, batch_size, name="x_fit")
        self._prepare_fit(len(feats))
        for i, f in enumerate(feats):
            self._fit_layer(i, f, logits, y)
        self._stds = None
        if len(feats) > 1:
            per_layer = np.stack(
                [self._score_layer(i, f, logits, fit=True) for i, f in enumerate(feats)], axis=1
            )
            self._stds = per_layer.std(axis=0) + 1e-10

    def _prepare_fit(self, n_layers: int) -> None:
        """Reset the per-layer statistics before a (re)fit."""

    def _fit_layer(
        self, i: int, feats: F64, logits: F64, labels: NDArray[np.int64] | None
    ) -> None:
        raise NotImplementedError  # pragma: no cover

    def _score_layer(self, i: int, feats: F64, logits: F64, fit: bool = False) -> F64:
        raise NotImplementedError  # pragma: no cover

    def _score(self, feats: list[F64], logits: F64) -> F64:
        scores = [self._score_layer(i, f, logits) for i, f in enumerate(feats)]
        if len(scores) == 1:
            return scores[0]
        stds = cast(F64, self._stds)  # set by _fit whenever there are several layers
        return np.asarray((np.stack(scores, axis=1) / stds).mean(axis=1))
