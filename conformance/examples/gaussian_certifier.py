"""A third-party Certifier written against trustml's protocols alone: Cohen et al.'s CERTIFY.

``GaussianCertifier(classifier, sigma)`` smooths any trustml ``Classifier`` with isotropic
Gaussian noise in raw input space and certifies an L2 radius per input (Cohen, Rosenfeld, Kolter,
"Certified Adversarial Robustness via Randomized Smoothing", ICML 2019, Algorithm CERTIFY):
``n0`` selection draws choose the class, ``n`` fresh estimation draws give a one-sided
Clopper-Pearson lower bound ``pA_lower`` at level ``alpha``; below 1/2 it abstains ``(-1, 0.0)``,
else the radius is ``sigma * Phi^-1(pA_lower)``.

It passes the conformance kit when it wraps ``trustml.conformance.ReferenceLinearClassifier``,
the kit's reference problem with a closed-form radius (``make`` below).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.errors import ParameterError
from trustml.protocols import Classifier
from trustml.rng import SeedLike, as_generator
from trustml.validation import check_batch, check_batch_size

__all__ = ["GaussianCertifier", "make"]


class GaussianCertifier:
    """Randomized-smoothing certifier over a trustml Classifier.

    Parameters
    ----------
    classifier : Classifier
        The base classifier; only ``predict``, ``input_shape`` and ``nb_classes`` are used.
    sigma : float
        Noise standard deviation, raw input units (> 0).
    alpha : float
        Failure probability of each certificate, in (0, 0.5].
    n0 : int
        Selection draws per input (>= 1).
    batch_size : int
        Noisy copies per predict call.
    """

    def __init__(
        self, classifier: Classifier, sigma: float, *, alpha: float = 0.001, n0: int = 100,
        batch_size: int = 1000,
    ) -> None:
        if not sigma > 0:
            raise ParameterError(f"sigma: expected a positive float, got {sigma!r}")
        if not 0 < alpha <= 0.5:
            raise ParameterError(f"alpha: expected a float in (0, 0.5], got {alpha!r}")
        if n0 < 1:
            raise ParameterError(f"n0: expected an int >= 1, got {n0!r}")
        self.classifier = classifier
        self.sigma = float(sigma)
        self.alpha = float(alpha)
        self.n0 = int(n0)
        self.batch_size = check_batch_size(batch_size)

    def _counts(
        self, x: NDArray[np.float64], n: int, batch_size: int, rng: np.random.Generator
    ) -> NDArray[np.int64]:
        counts = np.zeros(self.classifier.nb_classes, dtype=np.int64)
        remaining = n
        while remaining > 0:
            m = min(batch_size, remaining)
            noisy = x[None] + self.sigma * rng.standard_normal((m, *x.shape))
            top = np.argmax(self.classifier.predict(noisy, batch_size=batch_size), axis=1)
            counts += np.bincount(top, minlength=counts.shape[0])
            remaining -= m
        return counts

    def certify(
        self, x: ArrayLike, n: int, *, batch_size: int = 1000, seed: SeedLike = None
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Certified labels ``(N,)`` int64 (-1: abstain) and L2 radii ``(N,)`` float64 (0.0 on
        abstention) for raw inputs ``x`` ``(N, *input_shape)``.

        Raises
        ------
        InputShapeError, InputValueError
            Malformed ``x``.
        ParameterError
            ``n < 1`` or a bad ``batch_size``.
        """
        from scipy.stats import beta, norm

        xs = check_batch(x, self.classifier.input_shape, dtype=np.float64)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ParameterError(f"n: expected an int >= 1, got {n!r}")
        check_batch_size(batch_size)
        rng = as_generator(seed)
        labels = np.full(xs.shape[0], -1, dtype=np.int64)
        radii = np.zeros(xs.shape[0], dtype=np.float64)
        for i, row in enumerate(xs):
            c_a = int(np.argmax(self._counts(row, self.n0, batch_size, rng)))
            n_a = int(self._counts(row, int(n), batch_size, rng)[c_a])
            p_lower = float(beta.ppf(self.alpha, n_a, n - n_a + 1)) if n_a > 0 else 0.0
            if p_lower > 0.5:
                labels[i] = c_a
                radii[i] = self.sigma * float(norm.ppf(p_lower))
        return labels, radii


def make() -> GaussianCertifier:
    """Factory for ``trustml check``: the certifier over the kit's reference problem."""
    from trustml.conformance import ReferenceLinearClassifier

    return GaussianCertifier(ReferenceLinearClassifier(), sigma=0.5, alpha=0.001)


if TYPE_CHECKING:
    from trustml.protocols import Certifier

    def _typed(c: GaussianCertifier) -> Certifier:
        return c
