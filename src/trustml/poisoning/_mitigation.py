"""Mitigation (Wang et al., IEEE S&P 2019, Sec. VI): unlearning, neuron ranking and pruning,
filtering. Each works on any classifier with the stated capabilities; :func:`run` applies the
requested ones, in order, to a working copy (never to the user's model, see ``_working_copy``)."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from trustml.activations import ActivationTransform
from trustml.protocols import ActivationTransforms, Classifier, Fittable, NeuralNetwork
from trustml.validation import check_layer

__all__ = [
    "FilterState",
    "MitigationSettings",
    "TriggeredSet",
    "filter_scores",
    "layer_name",
    "prune",
    "rank_units",
    "run",
    "unit_means",
]


def layer_name(classifier: NeuralNetwork, layer: int | str) -> str:
    """The name of ``layer`` (an index into ``layer_names``, negative counting from the end).

    Raises
    ------
    ParameterError
        Unknown name or index out of range (``trustml.validation.check_layer``).
    ParameterTypeError
        Neither an int nor a str.
    """
    names = list(classifier.layer_names)
    return names[check_layer(layer, names)]


def _unit_axis(shape: tuple[int, ...], channels_first: bool) -> int:
    """Axis of one sample's layer output that indexes units: the only axis of a dense output,
    the channel axis of a feature map."""
    return 0 if len(shape) == 1 or channels_first else len(shape) - 1


def unit_means(activations: NDArray[Any], channels_first: bool) -> NDArray[np.float64]:
    """``(N, units)``: each sample's activation per unit (averaged over the spatial positions of a
    feature map)."""
    a = np.asarray(activations, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    axis = 1 + _unit_axis(a.shape[1:], channels_first)
    a = np.moveaxis(a, axis, 1)
    out: NDArray[np.float64] = a.reshape(a.shape[0], a.shape[1], -1).mean(axis=2)
    return out


def rank_units(
    clean: NDArray[np.float64], backdoor: NDArray[np.float64]
) -> NDArray[np.int64]:
    """Units ordered by how much more the reversed trigger activates them than clean inputs do
    (mean activation on triggered inputs minus on clean ones, descending)."""
    diff = backdoor.mean(axis=0) - clean.mean(axis=0)
    return np.argsort(-diff, kind="stable").astype(np.int64)


def _scale(n_units: int, pruned: NDArray[np.int64], sample_shape: tuple[int, ...],
           channels_first: bool) -> NDArray[np.float32]:
    scale = np.ones(n_units, dtype=np.float32)
    scale[pruned] = 0.0
    axis = _unit_axis(sample_shape, channels_first)
    shape = [1] * len(sample_shape)
    shape[axis] = n_units
    return scale.reshape(shape)


def prune(
    model: Any,
    layer: str,
    ranking: NDArray[np.int64],
    sample_shape: tuple[int, ...],
    channels_first: bool,
    success: Callable[[], float],
    max_fraction: float,
    stop_below: float,
) -> tuple[int, float]:
    """Silence the top-ranked units of ``layer`` one by one (scale 0, through an activation
    transform) until ``success()`` is at most ``stop_below`` or ``max_fraction`` of the units are
    silenced. ``model`` is a NeuralNetwork with ActivationTransforms (checked by the caller).

    Returns
    -------
    tuple
        The number of units silenced and the last ``success()``.
    """
    net: ActivationTransforms = model
    n_units = len(ranking)
    limit = math.floor(max_fraction * n_units + 1e-9)
    rate = success()
    pruned = 0
    while rate > stop_below and pruned < limit:
        pruned += 1
        scale = _scale(n_units, ranking[:pruned], sample_shape, channels_first)
        net.set_activation_transform(layer, ActivationTransform(scale=scale))
        rate = success()
    return pruned, rate


@dataclass(frozen=True)
class FilterState:
    """Filtering (Sec. VI-A): inputs whose mean activation over the top-ranked ``units`` of
    ``layer`` exceeds ``threshold`` are flagged."""

    layer: str
    units: NDArray[np.int64]
    threshold: float
    channels_first: bool


def filter_scores(
    model: NeuralNetwork, state: FilterState, x: NDArray[Any], batch_size: int
) -> NDArray[np.float64]:
    """``(N,)`` mean activation over the filter's units."""
    acts = model.get_activations(x, state.layer, batch_size=batch_size)
    out: NDArray[np.float64] = unit_means(acts, state.channels_first)[:, state.units].mean(axis=1)
    return out


def success_of(model: Classifier, x: NDArray[Any], targets: NDArray[np.int64],
               batch_size: int) -> float:
    """Fraction of ``x`` predicted as its backdoor target."""
    if len(x) == 0:
        return 0.0
    pred = np.argmax(model.predict(x, batch_size=batch_size), axis=1)
    return float(np.mean(pred == targets))


@dataclass(frozen=True)
class MitigationSettings:
    """The settings of :meth:`NeuralCleanse.mitigate` (checked by the caller)."""

    unlearning_fraction: float
    unlearning_epochs: int
    max_pruned_fraction: float
    pruning_stop: float
    filter_fraction: float
    false_positive_rate: float
    batch_size: int


@dataclass(frozen=True)
class TriggeredSet:
    """The data of a mitigation: clean inputs ``x`` / ``y``, and for every flagged label the
    inputs of the other labels (``clean``), the same with the reversed trigger (``backdoor``),
    their true ``labels`` and the backdoor ``targets``."""

    x: NDArray[Any]
    y: NDArray[np.int64]
    clean: NDArray[Any]
    backdoor: NDArray[Any]
    labels: NDArray[np.int64]
    targets: NDArray[np.int64]


def takes_seed(fit: Callable[..., Any]) -> bool:
    """Whether ``fit`` accepts ``seed=`` (trustml's adapters do; the protocol does not ask it)."""
    try:
        return "seed" in inspect.signature(fit).parameters
    except (TypeError, ValueError):
        return False


def silenced(model: Any, layer: str) -> list[int]:
    """Units of ``layer`` that an earlier pruning silenced (scale 0) on ``model``."""
    transforms = getattr(model, "activation_transforms", {})
    t = transforms.get(layer) if isinstance(transforms, dict) else None
    if t is None or t.scale is None:
        return []
    return [int(i) for i in np.flatnonzero(np.asarray(t.scale).reshape(-1) == 0)]


def run(
    work: Any,
    types: Sequence[str],
    layer_spec: int | str,
    data: TriggeredSet,
    s: MitigationSettings,
    rng: np.random.Generator,
    filt: FilterState | None,
) -> tuple[dict[str, dict[str, float]], FilterState | None]:
    """Apply the mitigations ``types`` in order to ``work`` (a copy; capabilities checked by the
    caller). Returns the summary per type and the filter in effect afterwards."""
    summary: dict[str, dict[str, float]] = {}
    ranking: NDArray[np.int64] | None = None
    layer, cf, sample_shape = "", False, ()
    if "pruning" in types or "filtering" in types:
        net: NeuralNetwork = work
        layer = layer_name(net, layer_spec)
        a_clean = net.get_activations(data.clean, layer, batch_size=128)
        sample_shape = tuple(np.asarray(a_clean).shape[1:])
        cf = bool(net.channels_first)
        u_back = unit_means(net.get_activations(data.backdoor, layer, batch_size=128), cf)
        ranking = rank_units(unit_means(a_clean, cf), u_back)
    for kind in types:
        if kind == "unlearning":
            fit: Fittable = work
            pick = rng.random(len(data.backdoor)) < s.unlearning_fraction
            xu = np.concatenate([data.x, data.backdoor[pick]]).astype(data.x.dtype, copy=False)
            yu = np.concatenate([data.y, data.labels[pick]])
            extra = {"seed": int(rng.integers(2**31))} if takes_seed(fit.fit) else {}
            fit.fit(xu, yu, batch_size=s.batch_size, nb_epochs=s.unlearning_epochs, **extra)
            summary["unlearning"] = {
                "samples": float(len(xu)), "triggered": float(pick.sum()),
                "trigger_success": success_of(work, data.backdoor, data.targets, 128),
            }
        elif kind == "pruning":
            ranking = cast(NDArray[np.int64], ranking)  # ranked above for pruning and filtering
            n_pruned, rate = prune(
                work, layer, ranking, sample_shape, cf,
                lambda: success_of(work, data.backdoor, data.targets, 128),
                s.max_pruned_fraction, s.pruning_stop,
            )
            summary["pruning"] = {"pruned": float(n_pruned), "units": float(len(ranking)),
                                  "trigger_success": rate}
        else:
            ranking = cast(NDArray[np.int64], ranking)  # ranked above for pruning and filtering
            off = set(silenced(work, layer))
            keep = np.array([u for u in ranking if int(u) not in off], dtype=np.int64)
            top = keep[: max(1, math.ceil(s.filter_fraction * len(ranking)))]
            scores = filter_scores(work, FilterState(layer, top, 0.0, cf), data.x, 128)
            threshold = float(np.quantile(scores, 1.0 - s.false_positive_rate))
            filt = FilterState(layer, top, threshold, cf)
            flagged = filter_scores(work, filt, data.backdoor, 128)
            summary["filtering"] = {"units": float(len(top)), "threshold": threshold,
                                    "flagged_backdoor": float(np.mean(flagged > threshold)),
                                    "flagged_clean": float(np.mean(scores > threshold))}
    return summary, filt
