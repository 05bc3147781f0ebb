"""Capabilities as small runtime-checkable protocols.

An object has a capability exactly when it really provides it: adapters never carry a method that
raises ``NotImplementedError``. Algorithms state the capabilities they need in their signatures (so
mypy rejects a model that lacks one) and call :func:`require` at run time (so a dynamically typed
caller gets a :class:`~trustml.errors.CapabilityError` naming the missing members).

Method names and parameters follow IBM's Adversarial Robustness Toolbox (ART), the field's reference
API. Contracts that hold for every member:

- arrays: numpy in (anything ``numpy.asarray`` accepts; framework adapters also take their tensors),
  numpy out; shapes are stated per member;
- labels: index ``(N,)`` or one-hot ``(N, nb_classes)``, everywhere (see :mod:`trustml.labels`);
- losses are per sample, and ``loss_gradient`` is the gradient of their **sum**, so a sample's
  gradient does not depend on the batch it arrived in;
- every gradient is with respect to the *raw* input, chained back through the preprocessing
  defences and the standardisation (see :mod:`trustml.preprocessing`);
- inputs are never mutated; model modes, loss reductions and hooks are restored after each call;
- bad inputs raise :class:`~trustml.errors.TrustMLError` subclasses (``InputShapeError``,
  ``LabelError``, ...), before any work is done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal, Protocol, TypeVar, overload, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray
from typing_extensions import get_protocol_members

from trustml.activations import ActivationTransform
from trustml.errors import CapabilityError
from trustml.preprocessing import Standardisation
from trustml.rng import SeedLike
from trustml.trees import Tree
from trustml.validation import ClipValues

__all__ = [
    "ActivationTransforms",
    "Certifier",
    "ClassGradients",
    "Classifier",
    "Clonable",
    "DecisionTrees",
    "Estimator",
    "Fittable",
    "FittableClassifier",
    "LossGradients",
    "MultiLayerActivations",
    "NeuralNetwork",
    "NeuralNetworkClassifier",
    "NoisyCounter",
    "Reduction",
    "WhiteBoxClassifier",
    "missing_members",
    "require",
]

Reduction = Literal["none", "mean", "sum"]


@runtime_checkable
class Estimator(Protocol):
    """Anything that takes inputs of a fixed shape."""

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample, without the batch axis (e.g. ``(3, 32, 32)``)."""
        ...

    @property
    def clip_values(self) -> ClipValues | None:
        """Valid input range ``(min, max)``, float32 arrays broadcastable to ``input_shape``, or
        None. Describes the domain; never applied silently."""
        ...

    @property
    def preprocessing(self) -> Standardisation:
        """The standardisation ``(x - subtrahend) / divisor`` applied before the model."""
        ...


@runtime_checkable
class Classifier(Estimator, Protocol):
    """An estimator that scores ``nb_classes`` classes."""

    @property
    def nb_classes(self) -> int:
        """Number of classes (>= 2)."""
        ...

    def predict(self, x: ArrayLike, batch_size: int = 128) -> NDArray[np.float32]:
        """Class scores.

        Parameters
        ----------
        x : array_like
            ``(N, *input_shape)``, raw (not standardised) input; ``N = 0`` allowed.
        batch_size : int
            Samples per forward pass; the result does not depend on it.

        Returns
        -------
        numpy.ndarray
            ``(N, nb_classes)`` float32: the model's output after postprocessing (probabilities or
            logits, as the adapter documents). Deterministic for a fixed model.

        Raises
        ------
        InputShapeError
            ``x`` is not ``(N, *input_shape)``.
        InputValueError
            ``x`` is not real numeric, or holds NaN/inf.
        ParameterError
            ``batch_size`` is not a positive int.
        """
        ...


@runtime_checkable
class Fittable(Protocol):
    """A model that can be trained in place."""

    def fit(self, x: ArrayLike, y: ArrayLike, batch_size: int = 128, nb_epochs: int = 20) -> None:
        """Train on ``x`` ``(N, *input_shape)`` and labels ``y`` (index ``(N,)`` or one-hot).

        Raises
        ------
        InputShapeError, InputValueError, LabelError
            Malformed ``x`` or ``y``; the model is unchanged.
        """
        ...

    def fit_generator(self, generator: Iterable[tuple[Any, Any]], nb_epochs: int = 20) -> None:
        """Train on an iterable of ``(x, y)`` batches, re-iterated once per epoch."""
        ...


@runtime_checkable
class Clonable(Protocol):
    """Optional: an independent, untrained copy of the estimator (ART's ``clone_for_refitting``).

    The copy has the same architecture, preprocessing, ``clip_values`` and constructor settings,
    freshly initialised weights, and shares no state with the original: training the copy never
    changes the original. Algorithms and the conformance kit train copies through this instead of
    ``copy.deepcopy``, which fails for some framework models (MXNet Gluon) and can share state.
    """

    def clone_for_refitting(self) -> Any:
        """A new estimator of the same class, untrained (re-initialised weights), sharing
        nothing."""
        ...


@runtime_checkable
class LossGradients(Protocol):
    """Per-sample loss and its input gradient."""

    def compute_loss(
        self, x: ArrayLike, y: ArrayLike, reduction: Reduction = "none"
    ) -> NDArray[Any]:
        """Loss of each sample.

        Returns
        -------
        numpy.ndarray
            ``(N,)`` for ``reduction="none"``; a 0-d array for ``"mean"`` and ``"sum"``. Floating
            dtype of the model's computation (float32, or float64 for float64 models and
            scikit-learn).

        Raises
        ------
        InputShapeError, InputValueError, LabelError, ParameterError
        """
        ...

    def loss_gradient(self, x: ArrayLike, y: ArrayLike) -> NDArray[Any]:
        """Gradient of the **summed** per-sample loss with respect to the raw input ``x``.

        Returns
        -------
        numpy.ndarray
            Shape of ``x``; floating dtype of the model's computation. Row ``i`` is the gradient of
            sample ``i``'s own loss, whatever else is in the batch.

        Raises
        ------
        InputShapeError, InputValueError, LabelError
        """
        ...


@runtime_checkable
class ClassGradients(Protocol):
    """Gradients of the class scores with respect to the input."""

    def class_gradient(self, x: ArrayLike, label: int | ArrayLike | None = None) -> NDArray[Any]:
        """Gradient of class outputs with respect to the raw input ``x``.

        Parameters
        ----------
        label : None, int, or array_like of int ``(N,)``
            None: every class; int: that class for every sample; array: one class per sample.

        Returns
        -------
        numpy.ndarray
            ``(N, nb_classes, *input_shape)`` for ``label=None``, else ``(N, 1, *input_shape)``.
            The differentiated output is the one the adapter documents (logits or probabilities).

        Raises
        ------
        InputShapeError, InputValueError, LabelError
        """
        ...


@runtime_checkable
class NeuralNetwork(Protocol):
    """Layered models whose intermediate activations can be read."""

    @property
    def channels_first(self) -> bool:
        """Whether the channel axis of image inputs is axis 1 of a batch (else the last)."""
        ...

    @property
    def layer_names(self) -> list[str]:
        """Names of the layers whose activations :meth:`get_activations` returns, in execution
        order."""
        ...

    @overload
    def get_activations(
        self,
        x: ArrayLike,
        layer: int | str,
        batch_size: int = 128,
        framework: Literal[False] = False,
    ) -> NDArray[Any]: ...

    @overload
    def get_activations(
        self, x: ArrayLike, layer: int | str, batch_size: int, framework: Literal[True]
    ) -> Any: ...

    @overload
    def get_activations(
        self, x: ArrayLike, layer: int | str, *, framework: Literal[True]
    ) -> Any: ...

    def get_activations(
        self, x: ArrayLike, layer: int | str, batch_size: int = 128, framework: bool = False
    ) -> Any:
        """Output of ``layer`` (an index into :attr:`layer_names` or a name) for the raw input
        ``x`` (preprocessed exactly as in ``predict``).

        Returns
        -------
        numpy.ndarray or framework tensor
            ``(N, *layer_output_shape)``; numpy unless ``framework=True``, which returns the
            framework's native type (and keeps autograd connections where the framework has them).

        Raises
        ------
        ParameterError
            Unknown layer name or index out of range.
        InputShapeError, InputValueError
        """
        ...


@runtime_checkable
class ActivationTransforms(Protocol):
    """Optional: an elementwise transform of a named layer's output, applied inside the forward pass
    and removable (see :mod:`trustml.activations`). Serves Neural Cleanse pruning and ReAct
    clipping alike.

    While a transform is installed at a layer, every computation that passes through that layer
    (``predict``, ``compute_loss``, ``loss_gradient``, ``class_gradient``, ``get_activations`` of
    that layer and of every later one, ``fit``) uses the transformed output, and gradients flow
    through it (the clip's gradient is 0 outside its bounds). The wrapped framework model's own
    weights and structure are never modified: removing the transform gives back bit-identical
    outputs. An adapter whose framework trains the model with its own code, which cannot apply
    a transform (scikit-learn's ``MLPClassifier.fit``), raises ``ParameterError`` from ``fit``
    while a transform is installed instead of training without it.
    """

    @property
    def activation_transforms(self) -> dict[str, ActivationTransform]:
        """The installed transforms, keyed by layer name (a new dict; empty when none)."""
        ...

    def set_activation_transform(
        self, layer: int | str, transform: ActivationTransform | None
    ) -> None:
        """Install ``transform`` at ``layer`` (an index into ``layer_names`` or a name), replacing
        any transform already there; ``None`` removes it (a no-op when there is none).

        Raises
        ------
        ParameterError
            Unknown layer name or index out of range, or a ``scale`` that does not broadcast to
            the layer's output shape; nothing is installed.
        ParameterTypeError
            ``transform`` is not an :class:`~trustml.activations.ActivationTransform` or None.
        """
        ...


@runtime_checkable
class MultiLayerActivations(Protocol):
    """Optional fast path for feature extraction (out-of-distribution detection): the outputs of
    several layers from ONE forward pass per batch. Algorithms fall back to one
    :meth:`NeuralNetwork.get_activations` call per layer where it is absent."""

    def get_multi_activations(
        self, x: ArrayLike, layers: list[int | str], batch_size: int = 128,
        framework: bool = False,
    ) -> list[Any]:
        """Outputs of ``layers`` (indices into ``layer_names`` or names), in that order, each
        equal to what ``get_activations(x, layer, batch_size, framework)`` returns; the forward
        pass of each batch runs once (and stops after the last layer it needs).

        Raises
        ------
        ParameterError
            An unknown layer, or an empty ``layers``; nothing runs.
        InputShapeError, InputValueError
        """
        ...


@runtime_checkable
class DecisionTrees(Protocol):
    """Tree-based models whose structure can be read."""

    def get_trees(self) -> list[Tree]:
        """The model's trees (see :mod:`trustml.trees`)."""
        ...


@runtime_checkable
class Certifier(Protocol):
    """Certifies an L2 robustness radius per input."""

    def certify(
        self, x: ArrayLike, n: int, *, batch_size: int = ..., seed: SeedLike = None
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Certified prediction and radius for each input.

        Returns
        -------
        labels : numpy.ndarray
            ``(N,)`` int64; ``-1`` where the certifier abstains.
        radii : numpy.ndarray
            ``(N,)`` float64, >= 0 (L2, raw input units); ``0.0`` where it abstains.
        """
        ...


@runtime_checkable
class NoisyCounter(Protocol):
    """Optional fast path for randomized smoothing: draw Gaussian noise and count predictions on
    the adapter's own device."""

    def count_noisy_predictions(
        self, x: ArrayLike, sigma: float, n: int, *, batch_size: int, seed: SeedLike = None
    ) -> NDArray[np.int64]:
        """For each input, add ``n`` draws of isotropic Gaussian noise of standard deviation
        ``sigma`` in raw input space, predict, and count the argmax labels.

        Returns
        -------
        numpy.ndarray
            ``(N, nb_classes)`` int64 counts; each row sums to ``n``. Never more than
            ``batch_size`` noisy copies exist at once. Row ``i`` depends only on ``x[i]`` and
            ``seed`` (seed each input's noise with :func:`trustml.rng.input_seeds`), never on
            the other rows or their order.
        """
        ...


@runtime_checkable
class FittableClassifier(Classifier, Fittable, Protocol):
    """A classifier that can be trained."""


@runtime_checkable
class WhiteBoxClassifier(Classifier, LossGradients, ClassGradients, Protocol):
    """A classifier with loss and class gradients (what gradient-based algorithms need)."""


@runtime_checkable
class NeuralNetworkClassifier(WhiteBoxClassifier, NeuralNetwork, Fittable, Protocol):
    """Everything a deep-learning adapter provides."""


P = TypeVar("P")


def missing_members(obj: object, protocol: type) -> list[str]:
    """Names of ``protocol``'s members that ``obj`` lacks (sorted; empty when it has them all)."""
    return sorted(m for m in get_protocol_members(protocol) if not hasattr(obj, m))


def require(obj: object, protocol: Callable[..., P], name: str = "estimator") -> P:
    """Return ``obj`` typed as ``protocol`` or raise :class:`CapabilityError`.

    ``protocol`` is a protocol class such as :class:`WhiteBoxClassifier` (typed as a callable so
    that mypy accepts protocol classes, which are not concrete ``type`` objects).

    Raises
    ------
    CapabilityError
        Naming the parameter, the capability and the missing members.
    """
    if not isinstance(protocol, type):
        raise CapabilityError(f"protocol: expected a protocol class, got {protocol!r}")
    missing = missing_members(obj, protocol)
    if missing:
        raise CapabilityError(
            f"{name}: expected an object with the {protocol.__name__} capability, got "
            f"{type(obj).__name__}, which lacks {', '.join(missing)}"
        )
    return obj  # type: ignore[return-value]  # its members were checked just above
