"""Randomized smoothing: certified L2 robustness for any trustml Classifier.

Source: Cohen, Rosenfeld, Kolter, "Certified Adversarial Robustness via Randomized Smoothing",
ICML 2019. The smoothed classifier is ``g(x) = argmax_c P[f(x + e) = c]`` with
``e ~ N(0, sigma^2 I)`` drawn in **raw input space**, before the wrapped classifier's preprocessing,
in every method (certify, predict, fit, gradients).

:func:`RandomizedSmoothing` picks the class whose capabilities are exactly those the wrapped
classifier allows:

==========================================  =====================================================
wrapped classifier has                      returned class (each is a Classifier and a Certifier)
==========================================  =====================================================
Classifier                                  :class:`SmoothedClassifier`
+ Fittable                                  :class:`TrainableSmoothedClassifier` (+ Fittable)
+ LossGradients                             :class:`DifferentiableSmoothedClassifier`
                                            (+ LossGradients)
+ Fittable + LossGradients                  :class:`TrainableDifferentiableSmoothedClassifier`
==========================================  =====================================================

The four classes share the smoothing machinery by composition (a ``Smoothing`` object and, where
present, a ``NoisyTraining`` and a ``NoisyGradients``) and their members through private concrete
base classes in :mod:`._smoothed` (no public class inherits from another, so ``isinstance``
against one of them says exactly which capabilities an object has).
"""

from __future__ import annotations

from typing import Protocol, overload, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from trustml.certification._augmentation import NoisyGradients, NoisyTraining
from trustml.certification._smoothed import GradientMembers, SmoothedMembers, TrainingMembers
from trustml.certification._smoothing import Smoothing
from trustml.protocols import Classifier, Fittable, LossGradients
from trustml.rng import SeedLike

__all__ = [
    "DifferentiableSmoothedClassifier",
    "RandomizedSmoothing",
    "SmoothedClassifier",
    "TrainableDifferentiableSmoothedClassifier",
    "TrainableSmoothedClassifier",
]

ClipValues = tuple[NDArray[np.float32], NDArray[np.float32]]


@runtime_checkable
class _FittableClassifier(Classifier, Fittable, Protocol):
    pass


@runtime_checkable
class _DifferentiableClassifier(Classifier, LossGradients, Protocol):
    pass


@runtime_checkable
class _FittableDifferentiableClassifier(Classifier, Fittable, LossGradients, Protocol):
    pass


class SmoothedClassifier(SmoothedMembers):
    """Gaussian-smoothed classifier: a Classifier and a Certifier (Cohen et al., ICML 2019).

    Build it with :func:`RandomizedSmoothing`, which returns this class when the wrapped
    classifier is neither Fittable nor LossGradients.

    Attributes
    ----------
    classifier : Classifier
        The wrapped (base) classifier ``f``.
    sigma : float
        Noise standard deviation, raw input units.
    alpha : float
        Default failure probability of ``certify`` and ``predict``.
    n, n0 : int
        Default draws of ``predict`` and selection draws of ``certify``.
    batch_size : int
        Default number of noisy copies per forward pass (and most in memory at once).
    seed : int, numpy.random.Generator or None
        Default seed of the calls made with ``seed=None``.
    """

    def __init__(self, smoothing: Smoothing) -> None:
        self._smoothing = smoothing


class TrainableSmoothedClassifier(TrainingMembers):
    """A :class:`SmoothedClassifier` that is also Fittable (the wrapped classifier is).

    Every member of :class:`SmoothedClassifier`, plus :meth:`fit` and :meth:`fit_generator`, which
    train the wrapped classifier with Gaussian augmentation in raw input space.
    """

    def __init__(self, smoothing: Smoothing, model: Fittable) -> None:
        self._smoothing = smoothing
        self._training = NoisyTraining(smoothing, model)


class DifferentiableSmoothedClassifier(GradientMembers):
    """A :class:`SmoothedClassifier` that also has LossGradients (the wrapped classifier has).

    The loss of the smoothed model is ``E_e[L(x + e, y)]``, ``e ~ N(0, sigma^2 I)`` in raw input
    space, estimated with ``nb_gradient_samples`` draws (constructor, default 32); its gradient is
    ``E_e[grad_x L(x + e, y)]`` estimated with the same draws, so for a fixed int seed
    :meth:`loss_gradient` is the exact gradient of :meth:`compute_loss`. The draws are shared by
    the rows of a batch, so a row's result depends only on that row and the seed, not on the batch
    it arrives in.
    """

    def __init__(self, smoothing: Smoothing, model: LossGradients) -> None:
        self._smoothing = smoothing
        self._gradients = NoisyGradients(smoothing, model)


class TrainableDifferentiableSmoothedClassifier(TrainingMembers, GradientMembers):
    """A smoothed classifier that is Fittable and has LossGradients (the wrapped one is and has).

    Every member of :class:`TrainableSmoothedClassifier` and
    :class:`DifferentiableSmoothedClassifier`.
    """

    def __init__(self, smoothing: Smoothing, model: _FittableDifferentiableClassifier) -> None:
        self._smoothing = smoothing
        self._training = NoisyTraining(smoothing, model)
        self._gradients = NoisyGradients(smoothing, model)


# The overloads go from the most to the least capable classifier and mypy picks the first that
# matches. They overlap on purpose (a classifier typed only as FittableClassifier may also have
# LossGradients at run time and then gets the richer class), hence the ignores: the static type
# is then a class with fewer members than the object has, never more.
@overload
def RandomizedSmoothing(  # type: ignore[overload-overlap]  # narrowest first, as noted above
    classifier: _FittableDifferentiableClassifier,
    sigma: float,
    *,
    alpha: float = ...,
    n: int = ...,
    n0: int = ...,
    batch_size: int = ...,
    nb_gradient_samples: int = ...,
    seed: SeedLike = ...,
) -> TrainableDifferentiableSmoothedClassifier: ...


@overload
def RandomizedSmoothing(  # type: ignore[overload-overlap]  # narrowest first, as noted above
    classifier: _FittableClassifier,
    sigma: float,
    *,
    alpha: float = ...,
    n: int = ...,
    n0: int = ...,
    batch_size: int = ...,
    nb_gradient_samples: int = ...,
    seed: SeedLike = ...,
) -> TrainableSmoothedClassifier: ...


@overload
def RandomizedSmoothing(  # type: ignore[overload-overlap]  # narrowest first, as noted above
    classifier: _DifferentiableClassifier,
    sigma: float,
    *,
    alpha: float = ...,
    n: int = ...,
    n0: int = ...,
    batch_size: int = ...,
    nb_gradient_samples: int = ...,
    seed: SeedLike = ...,
) -> DifferentiableSmoothedClassifier: ...


@overload
def RandomizedSmoothing(
    classifier: Classifier,
    sigma: float,
    *,
    alpha: float = ...,
    n: int = ...,
    n0: int = ...,
    batch_size: int = ...,
    nb_gradient_samples: int = ...,
    seed: SeedLike = ...,
) -> SmoothedClassifier: ...


def RandomizedSmoothing(
    classifier: Classifier,
    sigma: float,
    *,
    alpha: float = 0.001,
    n: int = 1000,
    n0: int = 100,
    batch_size: int = 1000,
    nb_gradient_samples: int = 32,
    seed: SeedLike = None,
) -> (
    SmoothedClassifier
    | TrainableSmoothedClassifier
    | DifferentiableSmoothedClassifier
    | TrainableDifferentiableSmoothedClassifier
):
    """Wrap a classifier in Gaussian randomized smoothing (Cohen, Rosenfeld, Kolter, ICML 2019).

    Returns the class whose capabilities match the wrapped classifier's: always a Classifier and
    a Certifier; also Fittable when ``classifier`` is Fittable, and LossGradients when it has
    LossGradients (see the module docstring). Adapters that implement
    :class:`~trustml.protocols.NoisyCounter` (PyTorch) draw and count the noise on their device;
    the others are called through ``predict`` with at most ``batch_size`` rows at a time.

    Parameters
    ----------
    classifier : Classifier
        The base classifier ``f`` (any trustml adapter, or a user's object with the Classifier
        capability). It is not copied: training the smoothed classifier trains it.
    sigma : float
        Standard deviation of the Gaussian noise, > 0, in raw input units (before the
        classifier's standardisation).
    alpha : float
        Default failure probability of ``certify`` and ``predict``, in ``(0, 0.5]``.
    n : int
        Default number of noise draws of ``predict`` (>= 1).
    n0 : int
        Default number of selection draws of ``certify`` (>= 1; Cohen et al. use 100).
    batch_size : int
        Default number of noisy copies per forward pass, and the most that exist at once.
    nb_gradient_samples : int
        Noise draws averaged by ``compute_loss`` and ``loss_gradient`` (>= 1).
    seed : int, numpy.random.Generator or None
        Default seed of every call made with ``seed=None``: an int makes every call
        reproducible (and ``predict`` deterministic), a Generator advances, None draws fresh OS
        entropy at each call.

    Returns
    -------
    SmoothedClassifier, TrainableSmoothedClassifier, DifferentiableSmoothedClassifier or
    TrainableDifferentiableSmoothedClassifier

    Raises
    ------
    CapabilityError
        ``classifier`` lacks a member of :class:`~trustml.protocols.Classifier`.
    ParameterError
        ``sigma <= 0`` or not finite, ``alpha`` outside ``(0, 0.5]``, ``n``, ``n0``,
        ``batch_size`` or ``nb_gradient_samples`` not a positive int.
    ParameterTypeError
        ``sigma`` or ``alpha`` not a number, ``seed`` not an int, a Generator or None.
    """
    smoothing = Smoothing(
        classifier, sigma, alpha=alpha, n=n, n0=n0, batch_size=batch_size,
        nb_gradient_samples=nb_gradient_samples, seed=seed,
    )
    if isinstance(classifier, _FittableDifferentiableClassifier):
        return TrainableDifferentiableSmoothedClassifier(smoothing, classifier)
    if isinstance(classifier, _FittableClassifier):
        return TrainableSmoothedClassifier(smoothing, classifier)
    if isinstance(classifier, _DifferentiableClassifier):
        return DifferentiableSmoothedClassifier(smoothing, classifier)
    return SmoothedClassifier(smoothing)
