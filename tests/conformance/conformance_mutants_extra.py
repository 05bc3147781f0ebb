"""More deliberately broken adapters (metadata, determinism, activations, labels, cloning, trees,
tightness), and the registry of every mutant: the check that must catch it, and the other checks
its documented group allows to catch it too (conformance/CONTRACTS.md lists them).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import conformance_mutants as base
import numpy as np
from conformance_mutants import _Certifier, build, build_certifier
from softmax_regression import SoftmaxRegression
from tiny_forest import TinyForest

from trustml.errors import LabelError
from trustml.trees import Tree


# -- metadata ------------------------------------------------------------------------------------
class InputShapeAsList(SoftmaxRegression):
    @property
    def input_shape(self) -> Any:
        return list(super().input_shape)


class ClipValuesFloat64(SoftmaxRegression):
    @property
    def clip_values(self) -> Any:
        lo, hi = super().clip_values  # type: ignore[misc]
        return lo.astype(np.float64), hi.astype(np.float64)


class PreprocessingAsTuple(SoftmaxRegression):
    @property
    def preprocessing(self) -> Any:
        std = super().preprocessing
        return (std.subtrahend, std.divisor)  # ART's tuple, not a trustml Standardisation


class NbClassesNumpyInt(SoftmaxRegression):
    @property
    def nb_classes(self) -> Any:
        return np.int64(super().nb_classes)


class ChannelsFirstString(SoftmaxRegression):
    @property
    def channels_first(self) -> Any:
        return "channels_last"


# -- predict, losses -----------------------------------------------------------------------------
class DropoutLeftOn(SoftmaxRegression):
    """predict draws a fresh dropout-like perturbation on every call (from its own generator)."""

    def predict(self, x: Any, batch_size: int = 128) -> Any:
        out = super().predict(x, batch_size)
        noise = np.random.default_rng().uniform(0.0, 1e-2, size=out.shape)
        return (out + noise).astype(np.float32)


class AcceptsBatchSizeZero(SoftmaxRegression):
    def predict(self, x: Any, batch_size: int = 128) -> Any:
        return super().predict(x, max(1, batch_size))


class DeadLoss(SoftmaxRegression):
    """A loss that does not depend on the input (and its zero gradient): consistent, useless."""

    def compute_loss(self, x: Any, y: Any, reduction: Any = "none") -> Any:
        xs = np.zeros_like(np.asarray(x, np.float64))
        return super().compute_loss(xs, y, reduction)

    def loss_gradient(self, x: Any, y: Any) -> Any:
        super().loss_gradient(x, y)  # validates x and y
        return np.zeros(np.shape(x), dtype=np.float64)


class ClassGradientWritesInput(SoftmaxRegression):
    def class_gradient(self, x: Any, label: Any = None) -> Any:
        arr = np.asarray(x)
        arr += 0.0  # in-place: raises on a read-only array
        return super().class_gradient(arr, label)


# -- activations ---------------------------------------------------------------------------------
class DuplicateLayerNames(SoftmaxRegression):
    @property
    def layer_names(self) -> list[str]:
        return ["logits", "logits"]


class ActivationsBatchDependent(SoftmaxRegression):
    def get_activations(self, x: Any, layer: Any, batch_size: int = 128,
                        framework: bool = False) -> Any:
        out = super().get_activations(x, layer, batch_size)
        return out + 1e-3 * (batch_size < len(out))


class FrameworkActivationsOfFirstLayer(SoftmaxRegression):
    def get_activations(self, x: Any, layer: Any, batch_size: int = 128,
                        framework: bool = False) -> Any:
        return super().get_activations(x, 0 if framework else layer, batch_size)


class MultiActivationsSorted(SoftmaxRegression):
    """get_multi_activations returns the layers in network order, not in the requested one."""

    def get_multi_activations(self, x: Any, layers: list[int | str], batch_size: int = 128,
                              framework: bool = False) -> list[Any]:
        order = sorted(layers, key=self._layer_index)
        return super().get_multi_activations(x, order, batch_size, framework)


# -- labels --------------------------------------------------------------------------------------
class ClassGradientRejectsOneHot(SoftmaxRegression):
    def class_gradient(self, x: Any, label: Any = None) -> Any:
        if np.ndim(label) == 2:
            raise LabelError("label: expected an int or index labels (N,)")
        return super().class_gradient(x, label)


class FitRejectsInt32(SoftmaxRegression):
    def fit(self, x: Any, y: Any, batch_size: int = 128, nb_epochs: int = 20) -> None:
        if isinstance(y, np.ndarray) and y.dtype == np.int32:
            raise LabelError("y: expected int64 labels")
        super().fit(x, y, batch_size, nb_epochs)


# -- training copies -----------------------------------------------------------------------------
class CloneSharesWeights(SoftmaxRegression):
    """clone_for_refitting returns a shallow copy, and training updates the weights in place."""

    def clone_for_refitting(self) -> Any:
        return copy.copy(self)

    def _step(self, x: Any, y: Any) -> None:
        old_w, old_b = self.weights, self.bias
        super()._step(x, y)
        old_w[...] = self.weights
        old_b[...] = self.bias
        self.weights, self.bias = old_w, old_b


class NoClone(SoftmaxRegression):
    """Not Clonable (the kit trains a copy.deepcopy)."""

    clone_for_refitting = None  # type: ignore[assignment]


class NoCloneNoCopy(NoClone):
    """Neither Clonable nor deep-copyable: the kit trains it in place and says so."""

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        raise TypeError("cannot deep-copy a model bound to a device context")


# -- trees ---------------------------------------------------------------------------------------
def build_forest(cls: type[TinyForest]) -> TinyForest:
    """``cls`` configured as ``tiny_forest.make()``."""
    return cls((4,), 3, preprocessing=((0.5, 0.4, 0.6, 0.5), (0.25, 0.5, 2.0, 1.0)))


class TreesWeightZero(TinyForest):
    def get_trees(self) -> list[Tree]:
        return [Tree(t.root, t.class_id, 0.0) for t in super().get_trees()]


class TreesThresholdsStandardised(TinyForest):
    """get_trees reports the thresholds in standardised units (forgets to undo the
    standardisation)."""

    def raw_thresholds(self) -> Any:
        return self.thresholds


# -- certifiers ----------------------------------------------------------------------------------
class HalvedRadius(_Certifier):
    """Sound but loose: half of Cohen's radius."""

    def certify(self, x: Any, n: int, *, batch_size: int = 1000, seed: Any = None) -> Any:
        labels, radii = super().certify(x, n, batch_size=batch_size, seed=seed)
        return labels, radii / 2


# -- the registry ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mutant:
    """A broken adapter, how to build it, the check that must catch it, and the other checks its
    documented group may also fail."""

    cls: type
    build: Callable[[Any], Any]
    catcher: str
    group: frozenset[str] = frozenset()


_G = frozenset
_PREDICT_COMPARISONS = _G({
    "predict_batch_invariance", "predict_single_sample", "predict_readonly_input",
    "class_gradient_finite_differences", "transforms_removal", "clone_independent",
})
"""Every check that compares two predict calls catches a nondeterministic predict."""

_GROUPS: dict[type, frozenset[str]] = {
    base.FlippedGradient: _G({"loss_gradient_preprocessing"}),
    base.GradientSkipsPreprocessing: _G({"loss_gradient_finite_differences"}),
    base.MeanReduction: _G({"loss_gradient_finite_differences", "loss_gradient_preprocessing"}),
    base.MutatesInput: _PREDICT_COMPARISONS | {"predict_deterministic"},
    base.RejectsReadOnly: _G({"state_readonly_inputs"}),
    base.BatchDependentPredict: _G({"predict_single_sample"}),
    base.PredictFloat64: _G({"class_gradient_finite_differences"}),
    base.IgnoresLayer: _G({"activations_multi_layer", "transforms_activations_reference",
                           "transforms_inside_forward"}),
    base.LayerNameOffByOne: _G({"activations_multi_layer"}),
    base.LazyFit: _G({"fit_generator_learns", "fit_label_formats"}),
    base.FitMutatesInput: _G({"clone_independent"}),
    base.ClassGradientIgnoresLabel: _G({"class_gradient_bad_label"}),
    base.NotImplementedStub: _G({"class_gradient_bad_label", "class_gradient_finite_differences",
                                 "class_gradient_label_formats", "class_gradient_labels",
                                 "transforms_removal"}),
    base.NoBound: _G({"certify_abstain"}),
    base.TwoSidedUpperBound: _G({"certify_abstain"}),
    base.NeverAbstains: _G({"certify_abstain", "certify_sound_reference"}),
}
"""The documented groups of the mutants of conformance_mutants (see CONTRACTS.md)."""

MUTANTS: list[Mutant] = [
    *(Mutant(cls, build, catcher, _GROUPS.get(cls, _G()))
      for cls, catcher in base.SOFTMAX_MUTANTS.items()),
    *(Mutant(cls, build_certifier, catcher, _GROUPS.get(cls, _G()))
      for cls, catcher in base.CERTIFIER_MUTANTS.items()),
    Mutant(InputShapeAsList, build, "metadata_input_shape"),
    Mutant(ClipValuesFloat64, build, "metadata_clip_values"),
    Mutant(PreprocessingAsTuple, build, "metadata_preprocessing"),
    Mutant(NbClassesNumpyInt, build, "metadata_nb_classes"),
    Mutant(ChannelsFirstString, build, "metadata_channels_first"),
    Mutant(DropoutLeftOn, build, "predict_deterministic", _PREDICT_COMPARISONS),
    Mutant(AcceptsBatchSizeZero, build, "predict_bad_batch_size"),
    Mutant(DeadLoss, build, "loss_gradient_shape_dtype"),
    Mutant(ClassGradientWritesInput, build, "state_readonly_inputs"),
    Mutant(DuplicateLayerNames, build, "activations_layer_names",
           _G({"activations_index_name_agree"})),
    Mutant(ActivationsBatchDependent, build, "activations_batch_invariance"),
    Mutant(FrameworkActivationsOfFirstLayer, build, "activations_framework"),
    Mutant(MultiActivationsSorted, build, "activations_multi_layer"),
    Mutant(ClassGradientRejectsOneHot, build, "class_gradient_label_formats"),
    Mutant(FitRejectsInt32, build, "fit_label_formats"),
    Mutant(CloneSharesWeights, build, "clone_independent"),
    Mutant(TreesWeightZero, build_forest, "trees_structure"),
    Mutant(TreesThresholdsStandardised, build_forest, "trees_decision"),
    Mutant(HalvedRadius, build_certifier, "certify_tight_reference"),
]
"""Every mutant; each check id is the catcher of at least one."""
