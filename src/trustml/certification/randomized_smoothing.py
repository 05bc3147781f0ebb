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
present, a ``NoisyTraining`` and a ``NoisyGradients``); none inherits from another.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Executor
from typing import Any, Final, Protocol, overload, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.certification import _sequential
from trustml.certification._augmentation import NoisyGradients, NoisyTraining
from trustml.certification._confidence_sequences import Bound
from trustml.certification._smoothing import Smoothing
from trustml.preprocessing import Standardisation
from trustml.protocols import Classifier, Fittable, LossGradients, Reduction
from trustml.rng import SeedLike
from trustml.validation import ClipValues

__all__ = [
    "DifferentiableSmoothedClassifier",
    "RandomizedSmoothing",
    "SmoothedClassifier",
    "TrainableDifferentiableSmoothedClassifier",
    "TrainableSmoothedClassifier",
]


@runtime_checkable
class _FittableClassifier(Classifier, Fittable, Protocol):
    pass


@runtime_checkable
class _DifferentiableClassifier(Classifier, LossGradients, Protocol):
    pass


@runtime_checkable
class _FittableDifferentiableClassifier(Classifier, Fittable, LossGradients, Protocol):
    pass


class _HasSmoothing(Protocol):
    """What the shared methods below need: the composed :class:`Smoothing`."""

    _smoothing: Smoothing


class _HasTraining(Protocol):
    """What the shared training methods need: the composed :class:`NoisyTraining`."""

    _training: NoisyTraining


class _HasGradients(Protocol):
    """What the shared loss methods need: the composed :class:`NoisyGradients`."""

    _gradients: NoisyGradients


class SmoothedClassifier:
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

    # -- Estimator / Classifier -----------------------------------------------------------------

    @property
    def classifier(self) -> Classifier:
        """The wrapped classifier."""
        return self._smoothing.classifier

    @property
    def sigma(self) -> float:
        """Noise standard deviation (raw input units)."""
        return self._smoothing.sigma

    @property
    def alpha(self) -> float:
        """Default failure probability."""
        return self._smoothing.alpha

    @property
    def n(self) -> int:
        """Default number of draws of ``predict``."""
        return self._smoothing.n

    @property
    def n0(self) -> int:
        """Default number of selection draws of ``certify``."""
        return self._smoothing.n0

    @property
    def batch_size(self) -> int:
        """Default number of noisy copies per forward pass."""
        return self._smoothing.batch_size

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample: the wrapped classifier's."""
        return self._smoothing.classifier.input_shape

    @property
    def clip_values(self) -> ClipValues | None:
        """The wrapped classifier's valid input range. Noisy inputs are not clipped (as Cohen
        et al.): the certificate is about the Gaussian-smoothed classifier on the whole space."""
        return self._smoothing.classifier.clip_values

    @property
    def preprocessing(self) -> Standardisation:
        """The wrapped classifier's standardisation (applied after the noise)."""
        return self._smoothing.classifier.preprocessing

    @property
    def nb_classes(self) -> int:
        """Number of classes: the wrapped classifier's."""
        return self._smoothing.classifier.nb_classes

    def predict(
        self: _HasSmoothing,
        x: ArrayLike,
        batch_size: int | None = None,
        *,
        n: int | None = None,
        alpha: float | None = None,
        seed: SeedLike = None,
        progress: bool = False,
        executor: Executor | None = None,
        shard_size: int | None = None,
    ) -> NDArray[np.float32]:
        """PREDICT of Cohen et al.: the smoothed prediction, or abstain.

        For each input, ``n`` noisy copies ``x + e`` are classified; with ``nA`` and ``nB`` the
        counts of the two most frequent labels, the top label is returned when the exact
        two-sided binomial test of ``nA`` out of ``nA + nB`` against ``p = 0.5`` has a p-value
        ``<= alpha`` (what ``scipy.stats.binomtest`` computes), else the classifier abstains. The
        probability of returning a label other than ``g(x)`` is at most ``alpha``.

        Parameters
        ----------
        x : array_like
            ``(N, *input_shape)`` raw input; ``N = 0`` allowed. Not modified.
        batch_size : int, optional
            Noisy copies per forward pass, and most in memory at once (default: the
            constructor's). The result does not depend on it.
        n : int, optional
            Noise draws per input (default: the constructor's ``n``).
        alpha : float, optional
            Failure probability in ``(0, 0.5]`` (default: the constructor's).
        seed : int, numpy.random.Generator or None
            Seed of the noise (default: the constructor's seed). An int reproduces the result.
        progress : bool
            Show a tqdm progress bar (extra ``progress``; silently off when tqdm is missing).
        executor : concurrent.futures.Executor, optional
            Run the counting on it: a ``ProcessPoolExecutor``, ``distributed.Client.
            get_executor()`` for a Dask cluster (extra ``dask``), any ``Executor``. The inputs
            are cut into shards of ``shard_size`` and each input's draws into blocks of
            100 000; the classifier travels to each worker once. The result is bit-identical to
            the in-process call (``None``, the default) whatever the executor, its number of
            workers, ``shard_size`` and the order in which tasks finish. See
            ``docs/certification-cluster.md``.
        shard_size : int, optional
            Inputs per task (default: at most 100 000 draws per task and about four tasks per
            worker). The result does not depend on it.

        Returns
        -------
        numpy.ndarray
            ``(N, nb_classes)`` float32: one-hot rows, all-zero rows where PREDICT abstains (see
            :func:`~trustml.certification.predicted_labels` for labels with ``-1``).

        Raises
        ------
        InputShapeError, InputValueError
            ``x`` is not ``(N, *input_shape)`` or not finite.
        ParameterError
            ``n < 1``, ``alpha`` outside ``(0, 0.5]``, ``batch_size`` or ``shard_size`` not a
            positive int; ``executor`` shut down (or its Dask client closed).
        ParameterTypeError
            ``seed`` is not an int, a Generator or None; ``executor`` is not a
            ``concurrent.futures.Executor``; ``shard_size`` is not an int.
        """
        return self._smoothing.predict(
            x, n=n, alpha=alpha, batch_size=batch_size, seed=seed, progress=progress,
            executor=executor, shard_size=shard_size,
        )

    # -- Certifier ------------------------------------------------------------------------------

    def certify(
        self: _HasSmoothing,
        x: ArrayLike,
        n: int,
        *,
        n0: int | None = None,
        alpha: float | None = None,
        batch_size: int | None = None,
        seed: SeedLike = None,
        progress: bool = False,
        executor: Executor | None = None,
        shard_size: int | None = None,
        early_stop: bool = False,
        bound: Bound = "clopper-pearson",
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """CERTIFY of Cohen et al.: certified label and L2 radius of the smoothed classifier.

        For each input: ``n0`` selection draws pick the guess ``cA`` (their most frequent label);
        ``n`` fresh estimation draws count ``nA``, how often ``cA`` comes out (selection draws are
        never reused); ``pA_lower = beta.ppf(alpha, nA, n - nA + 1)`` is the one-sided
        ``(1 - alpha)`` Clopper-Pearson lower bound on ``P[f(x + e) = cA]``. Below 0.5 the
        certifier abstains (``-1``, ``0.0``); otherwise it returns ``cA`` and the radius
        ``sigma * Phi^-1(pA_lower)``. With probability at least ``1 - alpha`` over the noise, a
        returned label is ``g(x)`` and ``g`` is constant on the L2 ball of that radius.

        Parameters
        ----------
        x : array_like
            ``(N, *input_shape)`` raw input; ``N = 0`` allowed. Not modified.
        n : int
            Estimation draws per input (Cohen et al. use 100 000).
        n0 : int, optional
            Selection draws per input (default: the constructor's, 100).
        alpha : float, optional
            Failure probability in ``(0, 0.5]`` (default: the constructor's, 0.001).
        batch_size : int, optional
            Noisy copies per forward pass and most in memory at once (default: the
            constructor's, 1000). The result does not depend on it, except through an adapter's
            device fast path.
        seed : int, numpy.random.Generator or None
            Seed of the noise (default: the constructor's). An int reproduces the result.
        progress : bool
            Show a tqdm progress bar (extra ``progress``; silently off when tqdm is missing).
        executor : concurrent.futures.Executor, optional
            Run the counting on it: a ``ProcessPoolExecutor``, ``distributed.Client.
            get_executor()`` for a Dask cluster (extra ``dask``), any ``Executor``. The inputs
            are cut into shards of ``shard_size`` and each input's draws into blocks of
            100 000; the classifier travels to each worker once. The result is bit-identical to
            the in-process call (``None``, the default) whatever the executor, its number of
            workers, ``shard_size`` and the order in which tasks finish. See
            ``docs/certification-cluster.md``.
        shard_size : int, optional
            Inputs per task (default: at most 100 000 draws per task and about four tasks per
            worker). The result does not depend on it.
        early_stop : bool
            Draw the ``n`` estimation draws in 32 blocks of ``ceil(n / 32)`` draws and stop
            drawing for an input as soon as CERTIFY can only abstain on it: when even
            all its remaining draws coming out ``cA`` would leave the bound below 1/2
            (deterministic curtailment). The result is exactly CERTIFY's on the ``n`` draws of
            those blocks, so the guarantee is unchanged; the noise differs from the one-block
            call with the same seed (each block has its own seed, ``trustml.rng.block_seed``).
        bound : {"clopper-pearson", "randomized-clopper-pearson"}
            The lower confidence bound on ``pA``. The randomized Clopper-Pearson bound (Stevens,
            Biometrika 1950; Voráček 2024, arXiv 2406.17830) solves
            ``P_p[X > nA] + U P_p[X = nA] = alpha`` with ``U`` uniform, seeded per input from
            the call's seed: its coverage is exactly ``1 - alpha`` and it is never below the
            Clopper-Pearson bound (``U = 1``), so radii are at least as large. Computed with
            the estimation draws in blocks, as with ``early_stop``.

        Returns
        -------
        labels : numpy.ndarray
            ``(N,)`` int64; ``-1`` where the certifier abstains.
        radii : numpy.ndarray
            ``(N,)`` float64 >= 0, L2, raw input units; ``0.0`` where it abstains.

        Raises
        ------
        InputShapeError, InputValueError
            ``x`` is not ``(N, *input_shape)`` or not finite.
        ParameterError
            ``n`` or ``n0`` < 1, ``alpha`` outside ``(0, 0.5]``, ``batch_size`` or ``shard_size``
            not a positive int; ``executor`` shut down (or its Dask client closed), or given
            with ``early_stop=True`` or the randomized bound (those run in process); ``bound``
            not one of the two names.
        ParameterTypeError
            ``seed`` is not an int, a Generator or None; ``executor`` is not a
            ``concurrent.futures.Executor``; ``shard_size`` is not an int; ``early_stop`` not a
            bool; ``bound`` not a string.
        UnsupportedModelError
            The wrapped classifier's ``predict`` (or ``count_noisy_predictions``) returned a
            malformed result.
        """
        return self._smoothing.certify(
            x, n, n0=n0, alpha=alpha, batch_size=batch_size, seed=seed, progress=progress,
            executor=executor, shard_size=shard_size,
            early_stop=early_stop, bound=bound,
        )

    def certify_radius(
        self: _HasSmoothing,
        x: ArrayLike,
        radius: float | ArrayLike,
        *,
        alpha: float | None = None,
        n_max: int = 100_000,
        n0: int | None = None,
        batch_size: int | None = None,
        seed: SeedLike = None,
        bound: Bound = "clopper-pearson",
        progress: bool = False,
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.int64]]:
        """Decide "robust at radius r" sequentially, stopping each input once it is decided.

        For each input, ``n0`` selection draws pick ``cA`` (their most frequent label); then
        estimation draws come in blocks up to the checkpoints ``t_k = min(n_max, 100 * 2**k)``
        (100, 200, 400, ... estimation draws), and after each block the count ``nA`` of ``cA``
        gives one-sided Clopper-Pearson bounds on ``pA = P[f(x + e) = cA]`` at level
        ``alpha / K`` (``K`` checkpoints; ``K = 11`` for ``n_max = 100 000``). By a union
        bound these form a confidence sequence: with probability at least ``1 - alpha`` every
        lower bound holds at every checkpoint, whatever rule decides when to stop. The input is
        **robust at r** once a lower bound reaches ``Phi(r / sigma)`` (then ``g(x) = cA`` on the
        L2 ball of radius ``r``, Cohen et al.'s Theorem 1); a radius is decided **not robust**
        once the upper bound falls below ``Phi(r / sigma)`` or even all-``cA`` remaining draws
        could not lift the lower bound to it; the input stops drawing once every radius is
        decided, or at ``n_max``. Guarantee, for every input and every radius:
        ``P[robust is True while g is not constant on that ball] <= alpha`` (one confidence
        sequence covers the whole grid, so no correction for several radii is needed).

        Sources: Voráček, "Treatment of Statistical Estimation Problems in Randomized Smoothing
        for Adversarial Robustness", 2024 (arXiv 2406.17830; confidence sequences, randomized
        Clopper-Pearson); Cullen, Montague, Rubinstein, "Halt Fast! Early Stopping for
        Certified Robustness", 2026; Cohen, Rosenfeld, Kolter, ICML 2019 (Theorem 1).

        Each block of an input's draws is seeded from the call's seed, the block index
        (``trustml.rng.block_seed``) and the input's values, so results do not depend on
        ``batch_size``, on the order of the inputs or on which others are still drawing; an
        adapter's device fast path counts each block on its device (the PyTorch adapter's
        counts may then depend on ``batch_size``, as in ``certify``). ``executor=`` sharding is
        not supported here.

        Parameters
        ----------
        x : array_like
            ``(N, *input_shape)`` raw input; ``N = 0`` allowed. Not modified.
        radius : float or array_like
            An L2 radius >= 0 (raw input units), or a 1-D grid ``(R,)`` of them.
        alpha : float, optional
            Failure probability in ``(0, 0.5]`` (default: the constructor's).
        n_max : int
            Most estimation draws per input (>= 1); the most draws is ``n0 + n_max``.
        n0 : int, optional
            Selection draws per input (default: the constructor's).
        batch_size : int, optional
            Noisy copies per forward pass and most in memory at once (default: the
            constructor's). The result does not depend on it.
        seed : int, numpy.random.Generator or None
            Seed of the noise (default: the constructor's). An int reproduces the result.
        bound : {"clopper-pearson", "randomized-clopper-pearson"}
            The lower bound at each checkpoint; the randomized one (``U`` uniform per input,
            seeded from the call's seed) is exact at its level and never below Clopper-Pearson.
        progress : bool
            Show a tqdm progress bar over the most draws (extra ``progress``).

        Returns
        -------
        labels : numpy.ndarray
            ``(N,)`` int64: the selected label ``cA`` the decisions refer to (where ``robust``
            is False nothing is claimed about it).
        robust : numpy.ndarray
            bool, ``(N,)`` for a scalar ``radius``, ``(N, R)`` for a grid; non-increasing along
            the grid's increasing radii.
        draws : numpy.ndarray
            ``(N,)`` int64: model evaluations spent on each input, selection draws included
            (between ``n0 + min(n_max, 100)`` and ``n0 + n_max``).

        Raises
        ------
        InputShapeError, InputValueError
            ``x`` is not ``(N, *input_shape)`` or not finite.
        ParameterError
            ``radius`` negative, not finite, empty or not 1-D; ``n_max`` or ``n0`` < 1;
            ``alpha`` outside ``(0, 0.5]``; ``batch_size`` not a positive int; ``bound`` not one
            of the two names.
        ParameterTypeError
            ``radius`` not numeric; ``seed`` not an int, a Generator or None; ``bound`` not a
            string; ``progress`` not a bool.
        UnsupportedModelError
            The wrapped classifier returned a malformed result.
        """
        return _sequential.certify_radius(
            self._smoothing, x, radius, alpha=alpha, n_max=n_max, n0=n0, batch_size=batch_size,
            seed=seed, bound=bound, progress=progress,
        )

    def __repr__(self) -> str:
        return _repr(self, self._smoothing)


class TrainableSmoothedClassifier:
    """A :class:`SmoothedClassifier` that is also Fittable (the wrapped classifier is).

    Every member of :class:`SmoothedClassifier`, plus :meth:`fit` and :meth:`fit_generator`, which
    train the wrapped classifier with Gaussian augmentation in raw input space.
    """

    def __init__(self, smoothing: Smoothing, model: Fittable) -> None:
        self._smoothing = smoothing
        self._training = NoisyTraining(smoothing, model)

    classifier: Final = SmoothedClassifier.classifier
    sigma: Final = SmoothedClassifier.sigma
    alpha: Final = SmoothedClassifier.alpha
    n: Final = SmoothedClassifier.n
    n0: Final = SmoothedClassifier.n0
    batch_size: Final = SmoothedClassifier.batch_size
    input_shape: Final = SmoothedClassifier.input_shape
    clip_values: Final = SmoothedClassifier.clip_values
    preprocessing: Final = SmoothedClassifier.preprocessing
    nb_classes: Final = SmoothedClassifier.nb_classes

    predict: Final = SmoothedClassifier.predict
    certify: Final = SmoothedClassifier.certify
    certify_radius: Final = SmoothedClassifier.certify_radius

    def fit(
        self: _HasTraining,
        x: ArrayLike,
        y: ArrayLike,
        batch_size: int = 128,
        nb_epochs: int = 20,
        *,
        seed: SeedLike = None,
    ) -> None:
        """Train the wrapped classifier with Gaussian data augmentation (Cohen et al., Sec. 4).

        Each epoch shuffles ``x`` and, for every mini-batch, adds fresh noise
        ``N(0, sigma^2 I)`` in raw input space (before the wrapped classifier's preprocessing,
        so the sigma trained with is the sigma certified with), then hands the noisy batches to
        the wrapped classifier's ``fit_generator`` (one pass per epoch). At most one batch of
        noisy copies exists at a time.

        Parameters
        ----------
        x : array_like
            ``(N, *input_shape)`` raw training inputs. Not modified.
        y : array_like
            Index ``(N,)`` or one-hot ``(N, nb_classes)`` labels.
        batch_size : int
            Samples per mini-batch.
        nb_epochs : int
            Passes over the data (>= 1).
        seed : int, numpy.random.Generator or None
            Seed of the shuffling and the noise (default: the constructor's).

        Raises
        ------
        InputShapeError, InputValueError, LabelError
            Malformed ``x`` or ``y``; nothing is trained.
        ParameterError
            ``batch_size`` or ``nb_epochs`` not a positive int; nothing is trained.
        """
        self._training.fit(x, y, batch_size, nb_epochs, seed)

    def fit_generator(
        self: _HasTraining, generator: Iterable[tuple[Any, Any]], nb_epochs: int = 20, *,
        seed: SeedLike = None,
    ) -> None:
        """Train the wrapped classifier on noisy versions of a user's batches.

        ``generator`` is re-iterated once per epoch (a list or a DataLoader, not a one-shot
        generator); each ``(x, y)`` batch gets fresh raw-space noise at every pass. ``x`` batches
        are ``(B, *input_shape)``, ``y`` index or one-hot.

        Raises
        ------
        ParameterError
            ``nb_epochs`` not a positive int, or a batch that is not an ``(x, y)`` pair.
        InputShapeError, InputValueError, LabelError
            A malformed batch (raised when it is reached: earlier batches have been trained on).
        """
        self._training.fit_generator(generator, nb_epochs, seed)

    def __repr__(self) -> str:
        return _repr(self, self._smoothing)


class DifferentiableSmoothedClassifier:
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

    classifier: Final = SmoothedClassifier.classifier
    sigma: Final = SmoothedClassifier.sigma
    alpha: Final = SmoothedClassifier.alpha
    n: Final = SmoothedClassifier.n
    n0: Final = SmoothedClassifier.n0
    batch_size: Final = SmoothedClassifier.batch_size
    input_shape: Final = SmoothedClassifier.input_shape
    clip_values: Final = SmoothedClassifier.clip_values
    preprocessing: Final = SmoothedClassifier.preprocessing
    nb_classes: Final = SmoothedClassifier.nb_classes

    predict: Final = SmoothedClassifier.predict
    certify: Final = SmoothedClassifier.certify
    certify_radius: Final = SmoothedClassifier.certify_radius

    def compute_loss(
        self: _HasGradients, x: ArrayLike, y: ArrayLike, reduction: Reduction = "none", *,
        seed: SeedLike = None,
    ) -> NDArray[Any]:
        """Monte Carlo loss of the smoothed model, ``mean_s L(x + e_s, y)``.

        Parameters
        ----------
        x : array_like
            ``(N, *input_shape)`` raw input.
        y : array_like
            Index ``(N,)`` or one-hot ``(N, nb_classes)`` labels.
        reduction : {"none", "mean", "sum"}
        seed : int, numpy.random.Generator or None
            Seed of the ``nb_gradient_samples`` draws (default: the constructor's).

        Returns
        -------
        numpy.ndarray
            ``(N,)`` for ``"none"``, else 0-d; the wrapped classifier's loss dtype.

        Raises
        ------
        InputShapeError, InputValueError, LabelError, ParameterError
        """
        return self._gradients.compute_loss(x, y, reduction, seed)

    def loss_gradient(
        self: _HasGradients, x: ArrayLike, y: ArrayLike, *, seed: SeedLike = None
    ) -> NDArray[Any]:
        """Monte Carlo gradient of the smoothed loss, ``mean_s grad_x L(x + e_s, y)``, with
        respect to the raw input (the gradient of the sum of the per-sample losses).

        Returns
        -------
        numpy.ndarray
            Shape of ``x``; the wrapped classifier's gradient dtype.

        Raises
        ------
        InputShapeError, InputValueError, LabelError
        """
        return self._gradients.loss_gradient(x, y, seed)

    def __repr__(self) -> str:
        return _repr(self, self._smoothing)


class TrainableDifferentiableSmoothedClassifier:
    """A smoothed classifier that is Fittable and has LossGradients (the wrapped one is and has).

    Every member of :class:`TrainableSmoothedClassifier` and
    :class:`DifferentiableSmoothedClassifier`.
    """

    def __init__(self, smoothing: Smoothing, model: _FittableDifferentiableClassifier) -> None:
        self._smoothing = smoothing
        self._training = NoisyTraining(smoothing, model)
        self._gradients = NoisyGradients(smoothing, model)

    classifier: Final = SmoothedClassifier.classifier
    sigma: Final = SmoothedClassifier.sigma
    alpha: Final = SmoothedClassifier.alpha
    n: Final = SmoothedClassifier.n
    n0: Final = SmoothedClassifier.n0
    batch_size: Final = SmoothedClassifier.batch_size
    input_shape: Final = SmoothedClassifier.input_shape
    clip_values: Final = SmoothedClassifier.clip_values
    preprocessing: Final = SmoothedClassifier.preprocessing
    nb_classes: Final = SmoothedClassifier.nb_classes

    predict: Final = SmoothedClassifier.predict
    certify: Final = SmoothedClassifier.certify
    certify_radius: Final = SmoothedClassifier.certify_radius

    fit: Final = TrainableSmoothedClassifier.fit
    fit_generator: Final = TrainableSmoothedClassifier.fit_generator
    compute_loss: Final = DifferentiableSmoothedClassifier.compute_loss
    loss_gradient: Final = DifferentiableSmoothedClassifier.loss_gradient

    def __repr__(self) -> str:
        return _repr(self, self._smoothing)


def _repr(obj: object, smoothing: Smoothing) -> str:
    return (
        f"{type(obj).__name__}({type(smoothing.classifier).__name__}, sigma={smoothing.sigma}, "
        f"alpha={smoothing.alpha}, n0={smoothing.n0}, n={smoothing.n}, "
        f"batch_size={smoothing.batch_size})"
    )


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
