"""Activation transforms: an elementwise change of one layer's output, inside the forward pass.

One small optional capability (:class:`~trustml.protocols.ActivationTransforms`) serves two
algorithms that need the same thing from a network:

- Neural Cleanse pruning (Wang et al., IEEE S&P 2019, Sec. VI-B) silences the neurons of a layer
  that a backdoor trigger activates most: a ``scale`` of 0 for those units, 1 elsewhere;
- ReAct (Sun, Guo, Li, "ReAct: Out-of-distribution Detection With Rectified Activations",
  NeurIPS 2021) clips the penultimate activations at a threshold: ``clip_max``.

A transform maps a layer's output ``a`` to ``clip(a, clip_min, clip_max) * scale`` (clipping first;
a bound that is ``None`` is not applied; ``scale`` broadcasts against one sample's output, the batch
axis excluded). It is applied *inside* the forward pass, so every later layer, ``predict``, the
losses and every gradient see the transformed value, and ``get_activations`` of that layer returns
it. It is declarative (numbers, not a framework callable), so one transform serves every
framework and can be checked against :meth:`ActivationTransform.apply` in numpy.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.errors import ParameterError, ParameterTypeError

if TYPE_CHECKING:
    from trustml.protocols import ActivationTransforms

__all__ = [
    "ActivationTransform",
    "PercentileRescale",
    "check_transform",
    "transformed_activations",
]


def _bound(value: float | None, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterTypeError(
            f"{name}: expected a real number or None, got {type(value).__name__}"
        )
    out = float(value)
    if math.isnan(out):
        raise ParameterError(f"{name}: expected a real number or None, got nan")
    return out


@dataclass(frozen=True, eq=False, init=False)
class ActivationTransform:
    """``a -> clip(a, clip_min, clip_max) * scale`` on one layer's output.

    Parameters
    ----------
    scale : array_like or None
        Multiplier broadcastable to one sample's layer output (e.g. ``(units,)`` for a dense layer,
        ``(channels, 1, 1)`` for a channels-first convolution); stored as a read-only float32
        array. ``None`` multiplies by 1.
    clip_min, clip_max : float or None
        Bounds of the clip applied before the scale; ``None`` leaves that side open.

    Raises
    ------
    ParameterError
        ``scale`` holds NaN/inf, or ``clip_min > clip_max``.
    ParameterTypeError
        ``scale`` is not real numeric, or a bound is not a real number.
    """

    scale: NDArray[np.float32] | None = None
    clip_min: float | None = None
    clip_max: float | None = None

    def __init__(
        self,
        scale: ArrayLike | None = None,
        clip_min: float | None = None,
        clip_max: float | None = None,
    ) -> None:
        # the stored field is a float32 array; the constructor takes any array_like (a list, a
        # float64 array), as documented
        object.__setattr__(self, "scale", scale)
        object.__setattr__(self, "clip_min", clip_min)
        object.__setattr__(self, "clip_max", clip_max)
        self.__post_init__()

    def __post_init__(self) -> None:
        lo = _bound(self.clip_min, "clip_min")
        hi = _bound(self.clip_max, "clip_max")
        if lo is not None and hi is not None and lo > hi:
            raise ParameterError(f"clip_min: expected <= clip_max ({hi}), got {lo}")
        scale: NDArray[np.float32] | None = None
        if self.scale is not None:
            raw = np.asarray(self.scale)
            if raw.dtype.kind not in "biuf":
                raise ParameterTypeError(
                    f"scale: expected a real numeric array, got dtype {raw.dtype}"
                )
            scale = np.array(raw, dtype=np.float32, copy=True)
            if not np.all(np.isfinite(scale)):
                raise ParameterError("scale: expected finite values, got NaN or inf")
            scale.setflags(write=False)
        object.__setattr__(self, "scale", scale)
        object.__setattr__(self, "clip_min", lo)
        object.__setattr__(self, "clip_max", hi)

    def apply(self, a: ArrayLike) -> NDArray[Any]:
        """The transform in numpy, on a batch ``(N, *layer_output_shape)`` (the reference that
        adapters are checked against). Returns a new array of ``a``'s floating dtype."""
        out = np.array(a, copy=True)
        if out.dtype.kind != "f":
            out = out.astype(np.float32)
        if self.clip_min is not None or self.clip_max is not None:
            np.clip(out, self.clip_min, self.clip_max, out=out)
        if self.scale is not None:
            out = out * self.scale.astype(out.dtype)
        return out

    def __repr__(self) -> str:
        scale = None if self.scale is None else f"<{self.scale.shape} float32>"
        return (
            f"ActivationTransform(scale={scale}, clip_min={self.clip_min}, "
            f"clip_max={self.clip_max})"
        )


@contextlib.contextmanager
def transformed_activations(
    classifier: ActivationTransforms, transforms: Mapping[int | str, ActivationTransform]
) -> Iterator[None]:
    """Install ``transforms`` (layer -> transform) for the duration of a ``with`` block, then put
    back exactly the transforms that were there before (also when the block raises).

    Raises
    ------
    ParameterError
        An unknown layer (raised by the adapter); the transforms from before are back in place.
    """
    before = dict(classifier.activation_transforms)
    try:
        for layer, transform in transforms.items():
            classifier.set_activation_transform(layer, transform)
        yield
    finally:
        for name in list(classifier.activation_transforms):
            if name not in before:
                classifier.set_activation_transform(name, None)
        for name, transform in before.items():
            classifier.set_activation_transform(name, transform)


def check_transform(
    transform: object, layer: str, output_shape: tuple[int, ...] | None
) -> ActivationTransform | None:
    """Validate a transform for one layer (for adapters implementing
    :class:`~trustml.protocols.ActivationTransforms`, third-party ones included).

    Parameters
    ----------
    transform : ActivationTransform or None
        What ``set_activation_transform`` received.
    layer : str
        The layer's name (for the message).
    output_shape : tuple of int or None
        The layer's output shape for one sample (batch axis excluded); None checks the type
        only.

    Returns
    -------
    ActivationTransform or None
        ``transform`` itself.

    Raises
    ------
    ParameterTypeError
        ``transform`` is neither an :class:`ActivationTransform` nor None.
    ParameterError
        ``transform.scale`` does not broadcast to ``output_shape`` (broadcasting may not enlarge
        the layer's output).
    """
    if transform is None:
        return None
    if not isinstance(transform, ActivationTransform):
        raise ParameterTypeError(
            f"transform: expected an ActivationTransform or None, got {type(transform).__name__}"
        )
    if transform.scale is not None and output_shape is not None:
        shape = tuple(int(d) for d in output_shape)
        try:
            fits = np.broadcast_shapes(transform.scale.shape, shape) == shape
        except ValueError:
            fits = False
        if not fits:
            raise ParameterError(
                f"transform: expected a scale broadcastable to the output shape {shape} of layer "
                f"{layer!r} (one sample), got a scale of shape {transform.scale.shape}"
            )
    return transform


@dataclass(frozen=True)
class PercentileRescale:
    """Per-sample rescaling of a layer's output at a percentile of its own values:
    SCALE (Xu, Lian, Kumar, Wang, Lin, "Scaling for training time and post-hoc
    out-of-distribution detection enhancement", ICLR 2024) and ASH-S (Djurisic, Bozanic, Ashok,
    Liu, "Extremely simple activation shaping for out-of-distribution detection", ICLR 2023).

    For one sample's values ``a`` (flattened), ``t`` is their ``percentile`` quantile (linear
    interpolation, as ``numpy.quantile`` and ``torch.quantile``), ``m = a > t`` and
    ``s = exp(sum(a) / sum(a * m))``; SCALE returns ``a * s``, ASH (``prune=True``) returns
    ``a * m * s``. A sample with ``sum(a * m) == 0`` is left unchanged (``s = 1``; the
    formula's ratio is undefined there, oodeel returns inf/NaN).

    Unlike :class:`ActivationTransform` it is not elementwise, so adapters do not install it:
    :class:`trustml.ood.FeatureExtractor` applies it to the head layer's input and computes the
    head from the layer's weights.

    Parameters
    ----------
    percentile : float
        In ``[0, 1)``.
    prune : bool
        True: ASH (values at or below the percentile are zeroed); False: SCALE.

    Raises
    ------
    ParameterError, ParameterTypeError
        ``percentile`` outside ``[0, 1)`` or not a real number.
    """

    percentile: float
    prune: bool = False

    def __post_init__(self) -> None:
        value = _bound(self.percentile, "percentile")
        if value is None or not 0.0 <= value < 1.0:
            raise ParameterError(f"percentile: expected a number in [0, 1), got {value}")
        object.__setattr__(self, "percentile", value)
        object.__setattr__(self, "prune", bool(self.prune))

    def apply(self, a: ArrayLike) -> NDArray[np.float64]:
        """The transform on a batch ``(N, *layer_output_shape)``, in float64 (same shape)."""
        arr = np.asarray(a, dtype=np.float64)
        flat = arr.reshape(arr.shape[0], -1)
        threshold = np.quantile(flat, self.percentile, axis=1)
        mask = flat > threshold[:, None]
        kept = np.where(mask, flat, 0.0)
        total, top = flat.sum(axis=1), kept.sum(axis=1)
        ok = top != 0.0
        s = np.ones_like(total)
        s[ok] = np.exp(total[ok] / top[ok])
        out: NDArray[np.float64] = ((kept if self.prune else flat) * s[:, None]).reshape(arr.shape)
        return out
