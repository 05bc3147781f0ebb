"""The preprocessing chain: defences, then standardisation, and the gradient back to the raw input.

Order (the contract of every adapter):

1. preprocessing defences (:class:`Preprocessor`), in the order given, each only where its
   ``apply_fit`` / ``apply_predict`` flag says;
2. standardisation ``(x - subtrahend) / divisor``, with ``subtrahend`` and ``divisor`` scalars, per
   channel on the axis that ``channels_first`` names, or arrays broadcastable to ``input_shape``;
3. the model;
4. postprocessing defences (:class:`Postprocessor`) on the predicted scores.

Gradients of the model with respect to its (standardised) input are chained back through
standardisation exactly (a division by ``divisor``) and through every defence with its
``estimate_gradient`` (BPDA, the identity, for :class:`FunctionPreprocessor` unless a gradient is
given; Athalye, Carlini, Wagner, ICML 2018), so every gradient an adapter returns is with respect to
the raw input.

Framework adapters run the standardisation inside their framework (so it sits inside autograd on
the device) from :attr:`Standardisation.subtrahend` and :attr:`Standardisation.divisor`, and use
:meth:`PreprocessingChain.defend_vjp` for the numpy defences.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, Union, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.errors import ParameterError, ParameterTypeError

__all__ = [
    "FunctionPreprocessor",
    "Postprocessor",
    "PreprocessingChain",
    "PreprocessingLike",
    "Preprocessor",
    "Pullback",
    "Standardisation",
    "check_channels_first",
]

Pullback = Callable[[NDArray[Any]], NDArray[Any]]
"""Maps the gradient with respect to a step's output to the gradient with respect to its input."""


@runtime_checkable
class Preprocessor(Protocol):
    """A preprocessing defence applied to inputs before standardisation (ART's ``Preprocessor``)."""

    @property
    def apply_fit(self) -> bool:
        """Whether the defence is applied to training inputs in ``fit``."""
        ...

    @property
    def apply_predict(self) -> bool:
        """Whether the defence is applied in ``predict`` and in every gradient."""
        ...

    def __call__(
        self, x: NDArray[Any], y: NDArray[Any] | None = None
    ) -> tuple[NDArray[Any], NDArray[Any] | None]:
        """Return the defended ``(x, y)``: new arrays of the same shapes; never mutate the
        inputs."""
        ...

    def estimate_gradient(self, x: NDArray[Any], grad: NDArray[Any]) -> NDArray[Any]:
        """Gradient with respect to the defence's input ``x``, given ``grad`` w.r.t. its output.

        Same shape as ``x``. A non-differentiable defence returns an estimate (BPDA: ``grad``).
        """
        ...


@runtime_checkable
class Postprocessor(Protocol):
    """A defence applied to predicted scores ``(N, nb_classes)`` (ART's ``Postprocessor``)."""

    @property
    def apply_fit(self) -> bool:
        """Whether the defence applies during training (usually False)."""
        ...

    @property
    def apply_predict(self) -> bool:
        """Whether the defence applies in ``predict``."""
        ...

    def __call__(self, preds: NDArray[np.float32]) -> NDArray[np.float32]:
        """Return new scores ``(N, nb_classes)`` float32; never mutate ``preds``."""
        ...


@dataclass(frozen=True)
class FunctionPreprocessor:
    """A :class:`Preprocessor` made from a numpy function.

    Parameters
    ----------
    function : callable
        ``x -> x'`` of the same shape, pure (it must not modify its argument).
    gradient : callable, optional
        ``(x, grad) -> grad_x``. ``None`` means BPDA: the gradient passes through unchanged
        (Athalye et al., "Obfuscated Gradients Give a False Sense of Security", ICML 2018).
    apply_fit, apply_predict : bool
        Where the defence applies.
    """

    function: Callable[[NDArray[Any]], NDArray[Any]]
    gradient: Callable[[NDArray[Any], NDArray[Any]], NDArray[Any]] | None = None
    apply_fit: bool = True
    apply_predict: bool = True

    def __call__(
        self, x: NDArray[Any], y: NDArray[Any] | None = None
    ) -> tuple[NDArray[Any], NDArray[Any] | None]:
        return np.asarray(self.function(x)), y

    def estimate_gradient(self, x: NDArray[Any], grad: NDArray[Any]) -> NDArray[Any]:
        if self.gradient is None:
            return grad
        return np.asarray(self.gradient(x, grad))


def check_channels_first(channels_first: Any, name: str = "channels_first") -> bool:
    """Validate ``channels_first``: a bool (never guessed from the data).

    Raises
    ------
    ParameterTypeError
        If it is not a bool.
    """
    if not isinstance(channels_first, (bool, np.bool_)):
        raise ParameterTypeError(f"{name}: expected a bool, got {channels_first!r}")
    return bool(channels_first)


def _as_float_array(value: Any, name: str) -> NDArray[np.float64]:
    try:
        arr = np.array(value, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise ParameterError(
            f"{name}: expected a number or an array of numbers, got {value!r}"
        ) from None
    if not np.isfinite(arr).all():
        raise ParameterError(f"{name}: expected finite values, got {value!r}")
    return arr


@dataclass(frozen=True, eq=False)
class Standardisation:
    """Standardisation ``(x - subtrahend) / divisor`` of one input layout.

    Build it with :meth:`create`. ``subtrahend`` and ``divisor`` are float64 arrays already shaped
    to broadcast against a batch ``(N, *input_shape)`` (a per-channel vector becomes ``(C, 1, 1)``
    for channels-first images), read-only.
    """

    subtrahend: NDArray[np.float64]
    divisor: NDArray[np.float64]
    _cache: dict[Any, tuple[NDArray[Any], NDArray[Any]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def create(
        cls,
        subtrahend: ArrayLike,
        divisor: ArrayLike,
        *,
        input_shape: tuple[int, ...],
        channels_first: bool,
        name: str = "preprocessing",
    ) -> Standardisation:
        """Validate and lay out ``subtrahend`` and ``divisor`` for ``input_shape``.

        Each may be a scalar; a 1-D array of length C, the channel count (``input_shape[0]`` when
        ``channels_first`` else ``input_shape[-1]``; for 1-D inputs, the feature count); or an
        array broadcastable to ``input_shape``.

        Raises
        ------
        ParameterError
            Non-finite values, a zero or negative divisor, or a shape that fits neither layout.
        """
        sub = _as_float_array(subtrahend, f"{name} subtrahend")
        div = _as_float_array(divisor, f"{name} divisor")
        if (div <= 0).any():
            raise ParameterError(f"{name} divisor: expected positive values, got {divisor!r}")
        sub = cls._layout(sub, input_shape, channels_first, f"{name} subtrahend")
        div = cls._layout(div, input_shape, channels_first, f"{name} divisor")
        sub.setflags(write=False)
        div.setflags(write=False)
        return cls(sub, div)

    @staticmethod
    def _layout(
        arr: NDArray[np.float64], input_shape: tuple[int, ...], channels_first: bool, name: str
    ) -> NDArray[np.float64]:
        if arr.ndim == 0:
            return arr
        if arr.ndim == 1 and len(input_shape) >= 2:
            channels = input_shape[0] if channels_first else input_shape[-1]
            if arr.shape[0] == channels:
                if channels_first:
                    return arr.reshape((channels,) + (1,) * (len(input_shape) - 1))
                return arr.reshape((1,) * (len(input_shape) - 1) + (channels,))
        try:
            if np.broadcast_shapes(arr.shape, input_shape) == tuple(input_shape):
                return arr.reshape((1,) * (len(input_shape) - arr.ndim) + arr.shape)
        except ValueError:
            pass
        axis = "first" if channels_first else "last"
        raise ParameterError(
            f"{name}: expected a scalar, a per-channel vector (channel axis {axis} of "
            f"{input_shape}) or an array broadcastable to {input_shape}, got shape {arr.shape}"
        )

    @property
    def is_identity(self) -> bool:
        """True when subtrahend is 0 and divisor is 1 everywhere (the step is skipped)."""
        return bool((self.subtrahend == 0).all() and (self.divisor == 1).all())

    def _typed(self, dtype: np.dtype[Any]) -> tuple[NDArray[Any], NDArray[Any]]:
        pair = self._cache.get(dtype)
        if pair is None:
            pair = (self.subtrahend.astype(dtype), self.divisor.astype(dtype))
            self._cache[dtype] = pair
        return pair

    def apply(self, x: NDArray[Any]) -> NDArray[Any]:
        """``(x - subtrahend) / divisor`` in ``x``'s floating dtype; a new array."""
        if self.is_identity:
            return np.array(x, copy=True)
        sub, div = self._typed(x.dtype)
        out: NDArray[Any] = np.divide(np.subtract(x, sub), div)
        return out

    def gradient(self, grad: NDArray[Any]) -> NDArray[Any]:
        """Gradient w.r.t. the raw input given ``grad`` w.r.t. the standardised input."""
        if self.is_identity:
            return grad
        out: NDArray[Any] = np.divide(grad, self._typed(grad.dtype)[1])
        return out

    def inverse(self, z: NDArray[Any]) -> NDArray[Any]:
        """``z * divisor + subtrahend``: the raw input whose standardisation is ``z``."""
        sub, div = self._typed(z.dtype)
        out: NDArray[Any] = np.add(np.multiply(z, div), sub)
        return out


PreprocessingLike = Union[tuple[ArrayLike, ArrayLike], Standardisation, None]
"""What an adapter's ``preprocessing`` parameter takes: ``(subtrahend, divisor)``, a ready
:class:`Standardisation`, or None (no standardisation)."""


class PreprocessingChain:
    """Defences, standardisation and postprocessing defences of one adapter (composed, not
    inherited).

    Parameters
    ----------
    preprocessing : (subtrahend, divisor) or Standardisation or None
        The standardisation; see :meth:`Standardisation.create`.
    input_shape : tuple of int
        Shape of one sample.
    channels_first : bool
        Where the channel axis is, for per-channel standardisation.
    preprocessing_defences : Preprocessor or sequence of Preprocessor, optional
    postprocessing_defences : Postprocessor or sequence of Postprocessor, optional

    Raises
    ------
    ParameterError, ParameterTypeError
        Malformed standardisation, or a defence that does not satisfy its protocol.
    """

    def __init__(
        self,
        preprocessing: PreprocessingLike,
        *,
        input_shape: tuple[int, ...],
        channels_first: bool,
        preprocessing_defences: Preprocessor | Sequence[Preprocessor] | None = None,
        postprocessing_defences: Postprocessor | Sequence[Postprocessor] | None = None,
    ) -> None:
        if preprocessing is None:
            standardisation = Standardisation.create(
                0.0, 1.0, input_shape=input_shape, channels_first=channels_first
            )
        elif isinstance(preprocessing, Standardisation):
            standardisation = preprocessing
        else:
            try:
                sub, div = preprocessing
            except (TypeError, ValueError):
                raise ParameterError(
                    f"preprocessing: expected (subtrahend, divisor), a Standardisation or None, "
                    f"got {preprocessing!r}"
                ) from None
            standardisation = Standardisation.create(
                sub, div, input_shape=input_shape, channels_first=channels_first
            )
        self.standardisation = standardisation
        self.defences: tuple[Preprocessor, ...] = _as_tuple(
            preprocessing_defences, Preprocessor, "preprocessing_defences"
        )
        self.postprocessors: tuple[Postprocessor, ...] = _as_tuple(
            postprocessing_defences, Postprocessor, "postprocessing_defences"
        )

    def defend(
        self, x: NDArray[Any], y: NDArray[Any] | None = None, *, fit: bool = False
    ) -> tuple[NDArray[Any], NDArray[Any] | None]:
        """Apply the defences whose ``apply_fit`` (``fit=True``) or ``apply_predict`` flag is
        set."""
        for defence in self.defences:
            if defence.apply_fit if fit else defence.apply_predict:
                x, y = defence(x, y)
        return x, y

    def defend_vjp(self, x: NDArray[Any]) -> tuple[NDArray[Any], Pullback]:
        """Predict-time defences with their gradient: ``(defended x, pullback)``."""
        active = [d for d in self.defences if d.apply_predict]
        if not active:
            return x, _identity
        inputs: list[NDArray[Any]] = []
        for defence in active:
            inputs.append(x)
            x, _ = defence(x, None)

        def pullback(grad: NDArray[Any]) -> NDArray[Any]:
            for defence, x_in in zip(reversed(active), reversed(inputs)):
                grad = defence.estimate_gradient(x_in, grad)
            return grad

        return x, pullback

    def __call__(
        self, x: NDArray[Any], y: NDArray[Any] | None = None, *, fit: bool = False
    ) -> tuple[NDArray[Any], NDArray[Any] | None]:
        """Defences then standardisation, in numpy; new arrays."""
        x, y = self.defend(x, y, fit=fit)
        return self.standardisation.apply(x), y

    def vjp(self, x: NDArray[Any]) -> tuple[NDArray[Any], Pullback]:
        """Predict-time forward in numpy with the pullback to the raw input."""
        defended, defences_pullback = self.defend_vjp(x)
        out = self.standardisation.apply(defended)

        def pullback(grad: NDArray[Any]) -> NDArray[Any]:
            return defences_pullback(self.standardisation.gradient(grad))

        return out, pullback

    def postprocess(self, preds: NDArray[np.float32]) -> NDArray[np.float32]:
        """Apply the postprocessing defences flagged ``apply_predict``."""
        for post in self.postprocessors:
            if post.apply_predict:
                preds = post(preds)
        return preds


def _identity(grad: NDArray[Any]) -> NDArray[Any]:
    return grad


def _as_tuple(items: Any, proto: type, name: str) -> tuple[Any, ...]:
    if items is None:
        return ()
    if isinstance(items, proto):
        return (items,)
    try:
        seq = tuple(items)
    except TypeError:
        raise ParameterTypeError(
            f"{name}: expected a {proto.__name__} or a sequence of them, got {type(items).__name__}"
        ) from None
    for i, item in enumerate(seq):
        if not isinstance(item, proto):
            raise ParameterTypeError(
                f"{name}[{i}]: expected a {proto.__name__} (see trustml.preprocessing), "
                f"got {type(item).__name__}"
            )
    return seq
