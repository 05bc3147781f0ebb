"""Deliberately broken adapters, each violating one contract, and the check that must catch it.

Each mutant derives from a correct example adapter (conformance/examples) and breaks one member.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
from gaussian_certifier import GaussianCertifier
from softmax_regression import SoftmaxRegression

from trustml.conformance import ReferenceLinearClassifier
from trustml.labels import class_gradient_targets
from trustml.validation import check_batch_size


def build(cls: type[SoftmaxRegression]) -> SoftmaxRegression:
    """``cls`` configured as ``softmax_regression.make()``."""
    model = cls((1, 4, 4), 3, preprocessing=(0.5, 0.25), clip_values=(0.0, 1.0), seed=0)
    rng = np.random.default_rng(0)
    model.weights = rng.standard_normal(model.weights.shape) * 0.3
    model.bias = rng.standard_normal(3) * 0.1
    return model


class FlippedGradient(SoftmaxRegression):
    def loss_gradient(self, x: Any, y: Any) -> Any:
        return -super().loss_gradient(x, y)


class GradientSkipsPreprocessing(SoftmaxRegression):
    def loss_gradient(self, x: Any, y: Any) -> Any:
        # forgets the 1/divisor factor of the standardisation
        return super().loss_gradient(x, y) * self.preprocessing.divisor


class MeanReduction(SoftmaxRegression):
    def loss_gradient(self, x: Any, y: Any) -> Any:
        g = super().loss_gradient(x, y)
        return g / len(g)


class MutatesInput(SoftmaxRegression):
    def predict(self, x: Any, batch_size: int = 128) -> Any:
        out = super().predict(x, batch_size)
        if isinstance(x, np.ndarray) and x.flags.writeable:
            x *= 0.5
        return out


class RejectsReadOnly(SoftmaxRegression):
    def predict(self, x: Any, batch_size: int = 128) -> Any:
        arr = np.asarray(x)
        arr += 0.0  # in-place: raises on a read-only array
        return super().predict(arr, batch_size)


class BatchDependentPredict(SoftmaxRegression):
    def predict(self, x: Any, batch_size: int = 128) -> Any:
        out = super().predict(x, batch_size)
        return (out + 1e-3 * min(batch_size, len(out))).astype(np.float32)


class SqueezesSingleSample(SoftmaxRegression):
    def predict(self, x: Any, batch_size: int = 128) -> Any:
        return np.squeeze(super().predict(x, batch_size), axis=0) if len(x) == 1 else \
            super().predict(x, batch_size)


class PredictFloat64(SoftmaxRegression):
    def predict(self, x: Any, batch_size: int = 128) -> Any:
        return super().predict(x, batch_size).astype(np.float64)


class NoShapeValidation(SoftmaxRegression):
    def predict(self, x: Any, batch_size: int = 128) -> Any:
        flat = np.asarray(x, np.float64).reshape(-1, int(np.prod(self.input_shape)))
        return super().predict(flat.reshape(-1, *self.input_shape), batch_size)


class EmptyBatchFails(SoftmaxRegression):
    def predict(self, x: Any, batch_size: int = 128) -> Any:
        if len(x) == 0:
            raise ValueError("empty batch")
        return super().predict(x, batch_size)


class UsesGlobalRNG(SoftmaxRegression):
    def predict(self, x: Any, batch_size: int = 128) -> Any:
        np.random.random()  # e.g. a dropout mask from the global RNG
        return super().predict(x, batch_size)


class TrainModeLeftOn(SoftmaxRegression):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.model = SimpleNamespace(training=False)

    def predict(self, x: Any, batch_size: int = 128) -> Any:
        self.model.training = True  # switched on and never restored
        return super().predict(x, batch_size)


class IgnoresLayer(SoftmaxRegression):
    def get_activations(self, x: Any, layer: Any, batch_size: int = 128,
                        framework: bool = False) -> Any:
        self._layer_index(layer)
        return super().get_activations(x, len(self.layer_names) - 1, batch_size)


class LayerNameOffByOne(SoftmaxRegression):
    def get_activations(self, x: Any, layer: Any, batch_size: int = 128,
                        framework: bool = False) -> Any:
        if isinstance(layer, str):
            layer = (self._layer_index(layer) + 1) % len(self.layer_names)
        return super().get_activations(x, layer, batch_size)


class BadLayerNotRejected(SoftmaxRegression):
    def get_activations(self, x: Any, layer: Any, batch_size: int = 128,
                        framework: bool = False) -> Any:
        if isinstance(layer, str) and layer not in self.layer_names:
            layer = 0
        return super().get_activations(x, min(int(layer) if not isinstance(layer, str) else
                                              self._layer_index(layer), 1), batch_size)


class LazyFit(SoftmaxRegression):
    def fit(self, x: Any, y: Any, batch_size: int = 128, nb_epochs: int = 20) -> None:
        return None

    def fit_generator(self, generator: Any, nb_epochs: int = 20) -> None:
        return None


class FitMutatesInput(SoftmaxRegression):
    def fit(self, x: Any, y: Any, batch_size: int = 128, nb_epochs: int = 20) -> None:
        super().fit(x, y, batch_size, nb_epochs)
        x -= 0.5  # "standardises" the caller's array in place


class LazyFitGenerator(SoftmaxRegression):
    def fit_generator(self, generator: Any, nb_epochs: int = 20) -> None:
        return None


class ClassGradientIgnoresLabel(SoftmaxRegression):
    def class_gradient(self, x: Any, label: Any = None) -> Any:
        full = super().class_gradient(x)
        return full if label is None else full[:, :1]


class ClassGradientOfLogits(SoftmaxRegression):
    def class_gradient(self, x: Any, label: Any = None) -> Any:
        # differentiates the logits while predict returns probabilities, undocumented
        n = len(x)
        g = np.broadcast_to(self.weights.T[None], (n, *self.weights.T.shape))
        full = self._to_input(np.array(g))
        if label is None:
            return full
        idx = class_gradient_targets(label, self.nb_classes, n)
        return full[np.arange(n), idx][:, None]


class NotImplementedStub(SoftmaxRegression):
    def class_gradient(self, x: Any, label: Any = None) -> Any:
        raise NotImplementedError("class_gradient is not supported by this model")


class OneHotMisread(SoftmaxRegression):
    def compute_loss(self, x: Any, y: Any, reduction: Any = "none") -> Any:
        y = np.asarray(y)
        if y.ndim == 2:
            y = np.argmin(y, axis=1)  # wrong column
        return super().compute_loss(x, y, reduction)


class SumReductionWrong(SoftmaxRegression):
    def compute_loss(self, x: Any, y: Any, reduction: Any = "none") -> Any:
        if reduction == "sum":
            return super().compute_loss(x, y, "mean")
        return super().compute_loss(x, y, reduction)


class AcceptsNaN(SoftmaxRegression):
    def predict(self, x: Any, batch_size: int = 128) -> Any:
        return super().predict(np.nan_to_num(np.asarray(x, np.float64)), batch_size)


class ClipsLabels(SoftmaxRegression):
    """Index labels are clipped into range and resized to N instead of refused."""

    def _clipped(self, x: Any, y: Any) -> Any:
        if np.ndim(y) != 1:
            return y
        return np.clip(np.resize(np.asarray(y), len(x)), 0, self.nb_classes - 1)

    def compute_loss(self, x: Any, y: Any, reduction: Any = "none") -> Any:
        return super().compute_loss(x, self._clipped(x, y), reduction)

    def loss_gradient(self, x: Any, y: Any) -> Any:
        return super().loss_gradient(x, self._clipped(x, y))


class WrapsClassLabel(SoftmaxRegression):
    def class_gradient(self, x: Any, label: Any = None) -> Any:
        if label is not None:
            label = np.asarray(label) % self.nb_classes
            label = int(label) if label.ndim == 0 else label
        return super().class_gradient(x, label)


class FitRejectsOneHot(SoftmaxRegression):
    def fit(self, x: Any, y: Any, batch_size: int = 128, nb_epochs: int = 20) -> None:
        if np.ndim(y) != 1:
            raise ValueError("labels must be class indices")
        super().fit(x, y, batch_size, nb_epochs)


class NoFitGenerator:
    """Composition: a correct adapter's members, except fit_generator (a partial Fittable)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._inner = SoftmaxRegression(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name in ("fit_generator", "clone_for_refitting"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_inner":
            object.__setattr__(self, name, value)
        else:
            setattr(self._inner, name, value)


# -- certifiers ----------------------------------------------------------------------------------
def build_certifier(cls: type[GaussianCertifier], **kwargs: Any) -> GaussianCertifier:
    return cls(ReferenceLinearClassifier(), 0.5, **kwargs)


class _Statistics:
    """Replaceable parts of CERTIFY for the certifier mutants."""

    @staticmethod
    def lower(alpha: float, n_a: int, n: int) -> float:
        from scipy.stats import beta

        return float(beta.ppf(alpha, n_a, n - n_a + 1)) if n_a > 0 else 0.0


class _Certifier(GaussianCertifier):
    """GaussianCertifier with overridable draws and bound (same algorithm by default)."""

    def p_lower(self, n_a: int, n: int) -> float:
        return _Statistics.lower(self.alpha, n_a, n)

    def abstain_radius(self, p_lower: float) -> float:
        return 0.0

    def draws(self, row: Any, n: int, batch_size: int, rng: Any) -> tuple[int, Any]:
        c_a = int(np.argmax(self._counts(row, self.n0, batch_size, rng)))
        return c_a, self._counts(row, n, batch_size, rng)

    def certify(self, x: Any, n: int, *, batch_size: int = 1000, seed: Any = None) -> Any:
        from scipy.stats import norm

        xs = np.asarray(x, np.float64)
        rng = np.random.default_rng(seed) if not isinstance(seed, np.random.Generator) else seed
        labels = np.full(len(xs), -1, dtype=np.int64)
        radii = np.zeros(len(xs))
        for i, row in enumerate(xs):
            c_a, counts = self.draws(row, n, batch_size, rng)
            p = self.p_lower(int(counts[c_a]), n)
            if p > 0.5:
                labels[i], radii[i] = c_a, self.sigma * float(norm.ppf(p))
            else:
                radii[i] = self.abstain_radius(p)
        return labels, radii


class NoBound(_Certifier):
    def p_lower(self, n_a: int, n: int) -> float:
        return min(n_a / n, 1 - 1e-12)  # the point estimate, no confidence bound


class TwoSidedUpperBound(_Certifier):
    def p_lower(self, n_a: int, n: int) -> float:
        from scipy.stats import beta

        # the upper end of a two-sided Clopper-Pearson interval instead of the one-sided lower
        return float(beta.ppf(1 - self.alpha / 2, n_a + 1, n - n_a)) if n_a < n else 1 - 1e-12


class ReusedSelectionDraws(_Certifier):
    def draws(self, row: Any, n: int, batch_size: int, rng: Any) -> tuple[int, Any]:
        noisy = row[None] + self.sigma * rng.standard_normal((n, *row.shape))
        top = np.argmax(self.classifier.predict(noisy), axis=1)
        counts = np.bincount(top, minlength=self.classifier.nb_classes)
        c_a = int(np.argmax(np.bincount(top[: self.n0], minlength=counts.shape[0])))
        return c_a, counts


class SameSeedForSelection(_Certifier):
    def draws(self, row: Any, n: int, batch_size: int, rng: Any) -> tuple[int, Any]:
        state = rng.bit_generator.state
        c_a = int(np.argmax(self._counts(row, self.n0, batch_size, rng)))
        rng.bit_generator.state = state  # estimation replays the selection noise
        return c_a, self._counts(row, n, batch_size, rng)


class AbstainWithRadius(_Certifier):
    def abstain_radius(self, p_lower: float) -> float:
        return 0.25


class NeverAbstains(_Certifier):
    """Certifies every input with radius sigma * Phi^-1(pA_lower), negative below 1/2."""

    def certify(self, x: Any, n: int, *, batch_size: int = 1000, seed: Any = None) -> Any:
        from scipy.stats import norm

        xs = np.asarray(x, np.float64)
        rng = np.random.default_rng(seed) if not isinstance(seed, np.random.Generator) else seed
        labels = np.zeros(len(xs), dtype=np.int64)
        radii = np.zeros(len(xs))
        for i, row in enumerate(xs):
            c_a, counts = self.draws(row, n, batch_size, rng)
            p = min(max(self.p_lower(int(counts[c_a]), n), 1e-12), 1 - 1e-12)
            labels[i], radii[i] = c_a, self.sigma * float(norm.ppf(p))
        return labels, radii


class NoShapeCheck(_Certifier):
    def certify(self, x: Any, n: int, *, batch_size: int = 1000, seed: Any = None) -> Any:
        x = np.asarray(x, np.float64)[..., : self.classifier.input_shape[0]]
        return super().certify(x, n, batch_size=batch_size, seed=seed)


class IgnoresSeed(_Certifier):
    def certify(self, x: Any, n: int, *, batch_size: int = 1000, seed: Any = None) -> Any:
        return super().certify(x, n, batch_size=batch_size, seed=None)


class TransformScalesBeforeClip(SoftmaxRegression):
    """Activation transform in the wrong order: ``clip(a * scale)`` instead of
    ``clip(a) * scale``."""

    def _apply_transform(self, raw: Any) -> Any:
        t = self._transform
        if t is None:
            return raw
        scaled = raw if t.scale is None else raw * t.scale
        if t.clip_min is None and t.clip_max is None:  # numpy < 1.25 refuses clip(a, None, None)
            return scaled
        return np.clip(scaled, t.clip_min, t.clip_max)


class TransformOnlyInActivations(SoftmaxRegression):
    """The transform changes what get_activations returns, not the forward pass of predict."""

    def predict(self, x: Any, batch_size: int = 128) -> Any:
        from softmax_regression import _softmax

        check_batch_size(batch_size)
        return _softmax(self._raw_logits(self._features(x))).astype(np.float32)


class TransformRemovalIgnored(SoftmaxRegression):
    """``set_activation_transform(layer, None)`` keeps the transform installed."""

    def set_activation_transform(self, layer: Any, transform: Any) -> None:
        if transform is not None:
            super().set_activation_transform(layer, transform)


class TransformBadLayerAccepted(SoftmaxRegression):
    """An unknown layer silently installs the transform at the logits."""

    def set_activation_transform(self, layer: Any, transform: Any) -> None:
        if isinstance(layer, str) and layer not in self.layer_names or (
            isinstance(layer, int) and layer >= len(self.layer_names)
        ):
            layer = 0
        super().set_activation_transform(layer, transform)


TRANSFORM_MUTANTS: dict[type, str] = {
    TransformScalesBeforeClip: "transforms_activations_reference",
    TransformOnlyInActivations: "transforms_inside_forward",
    TransformRemovalIgnored: "transforms_removal",
    TransformBadLayerAccepted: "transforms_bad_input",
}
"""ActivationTransforms mutant -> the one transforms_* check that catches it (and no other)."""


SOFTMAX_MUTANTS: dict[type, str] = {
    FlippedGradient: "loss_gradient_finite_differences",
    GradientSkipsPreprocessing: "loss_gradient_preprocessing",
    MeanReduction: "loss_gradient_batch_independent",
    MutatesInput: "state_inputs_not_mutated",
    RejectsReadOnly: "predict_readonly_input",
    BatchDependentPredict: "predict_batch_invariance",
    SqueezesSingleSample: "predict_single_sample",
    PredictFloat64: "predict_shape_dtype",
    NoShapeValidation: "predict_wrong_shape",
    EmptyBatchFails: "predict_empty_batch",
    UsesGlobalRNG: "state_global_rng",
    TrainModeLeftOn: "state_framework_mode",
    IgnoresLayer: "activations_layers_distinct",
    LayerNameOffByOne: "activations_index_name_agree",
    BadLayerNotRejected: "activations_bad_layer",
    LazyFit: "fit_learns",
    FitMutatesInput: "fit_no_side_effects",
    LazyFitGenerator: "fit_generator_learns",
    ClassGradientIgnoresLabel: "class_gradient_labels",
    ClassGradientOfLogits: "class_gradient_finite_differences",
    NotImplementedStub: "honesty_not_implemented",
    OneHotMisread: "loss_label_formats",
    SumReductionWrong: "loss_shape_dtype",
    AcceptsNaN: "predict_non_finite",
    ClipsLabels: "loss_bad_labels",
    WrapsClassLabel: "class_gradient_bad_label",
    FitRejectsOneHot: "fit_learns",
    NoFitGenerator: "honesty_partial_capability",
    **TRANSFORM_MUTANTS,
}
"""Softmax-regression mutant -> the check that must catch it."""

CERTIFIER_MUTANTS: dict[type[GaussianCertifier], str] = {
    NoBound: "certify_sound_reference",
    TwoSidedUpperBound: "certify_sound_reference",
    ReusedSelectionDraws: "certify_fresh_draws",
    SameSeedForSelection: "certify_fresh_draws",
    AbstainWithRadius: "certify_abstain",
    NeverAbstains: "certify_radius_nonnegative",
    IgnoresSeed: "certify_seed_reproducible",
    NoShapeCheck: "certify_shapes_dtypes",
}
"""Certifier mutant (over the reference problem) -> the check that must catch it."""

