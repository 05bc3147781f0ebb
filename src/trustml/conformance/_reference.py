"""The kit's reference problem: a binary linear classifier whose smoothed radius is known.

For ``f(x) = 1 if w.x + b > 0 else 0`` and isotropic Gaussian noise of any standard deviation
``sigma``, the smoothed classifier ``g(x) = argmax_c P(f(x + e) = c)`` predicts ``f(x)`` with
probability ``pA = Phi(|w.x + b| / (sigma ||w||))``, so its exact L2 robustness radius
``sigma * Phi^-1(pA)`` (Cohen, Rosenfeld, Kolter, "Certified Adversarial Robustness via
Randomized Smoothing", ICML 2019, Theorem 1) equals the distance to the hyperplane,
``|w.x + b| / ||w||``, whatever ``sigma``. A sound certifier never certifies a larger radius, nor
the other class, except with probability at most ``alpha``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.preprocessing import Standardisation
from trustml.validation import check_batch, check_batch_size

__all__ = ["ReferenceLinearClassifier"]


class ReferenceLinearClassifier:
    """Binary linear classifier ``f(x) = [w.x + b > 0]`` on inputs of shape ``(d,)``; the kit's
    certify soundness checks run on certifiers that wrap one.

    Parameters
    ----------
    weights : array_like, optional
        ``(d,)`` float64, non-zero. Default: ``(3, -4, 0, 0)`` / 5 (unit norm, ``d = 4``).
    bias : float
        Offset ``b``. Default 0.

    Notes
    -----
    ``predict`` returns the float32 scores ``(-(w.x + b), w.x + b)``, whose argmax is ``f(x)``.
    While :attr:`recording` is True every batch passed to ``predict`` is appended to
    :attr:`seen` (for the kit's draw-independence check).
    """

    def __init__(self, weights: ArrayLike | None = None, bias: float = 0.0) -> None:
        w = np.array([0.6, -0.8, 0.0, 0.0] if weights is None else weights, dtype=np.float64)
        if w.ndim != 1 or not np.isfinite(w).all() or not w.any():
            raise ValueError(f"weights: expected a non-zero finite vector, got {weights!r}")
        w.setflags(write=False)
        self.weights = w
        self.bias: float = float(bias)
        self.recording = False
        self.seen: list[NDArray[np.float64]] = []
        self._std = Standardisation.create(0.0, 1.0, input_shape=(w.shape[0],),
                                           channels_first=False)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (int(self.weights.shape[0]),)

    @property
    def nb_classes(self) -> int:
        return 2

    @property
    def clip_values(self) -> None:
        return None

    @property
    def preprocessing(self) -> Standardisation:
        return self._std

    def margin(self, x: ArrayLike) -> NDArray[np.float64]:
        """``w.x + b`` per row of ``x`` ``(N, d)``; float64."""
        xs = check_batch(x, self.input_shape, dtype=np.float64)
        out: NDArray[np.float64] = xs @ self.weights + self.bias
        return out

    def true_radius(self, x: ArrayLike) -> NDArray[np.float64]:
        """Exact smoothed (and unsmoothed) L2 radius ``|w.x + b| / ||w||``; ``(N,)`` float64."""
        out: NDArray[np.float64] = np.abs(self.margin(x)) / float(np.linalg.norm(self.weights))
        return out

    def true_label(self, x: ArrayLike) -> NDArray[np.int64]:
        """``f(x)``: ``(N,)`` int64 in {0, 1}."""
        return (self.margin(x) > 0).astype(np.int64)

    def at_distance(self, distances: ArrayLike, seed: int = 0) -> NDArray[np.float64]:
        """Points at signed distances ``distances`` ``(N,)`` from the hyperplane (positive side:
        class 1), with random offsets along it; ``(N, d)`` float64."""
        dist = np.asarray(distances, dtype=np.float64).reshape(-1)
        unit = self.weights / np.linalg.norm(self.weights)
        rng = np.random.default_rng(seed)
        along = rng.standard_normal((dist.shape[0], unit.shape[0]))
        along -= np.outer(along @ unit, unit)
        base = -self.bias * unit / float(np.linalg.norm(self.weights))
        out: NDArray[np.float64] = base + along + np.outer(dist, unit)
        return out

    def predict(self, x: ArrayLike, batch_size: int = 128) -> NDArray[np.float32]:
        """Scores ``(N, 2)`` float32: ``(-(w.x + b), w.x + b)``."""
        check_batch_size(batch_size)
        xs = check_batch(x, self.input_shape, dtype=np.float64)
        if self.recording:
            self.seen.append(xs)
        m = xs @ self.weights + self.bias
        return np.stack([-m, m], axis=1).astype(np.float32)


def find_reference(obj: Any, depth: int = 3) -> ReferenceLinearClassifier | None:
    """The :class:`ReferenceLinearClassifier` ``obj`` wraps (searched through its attributes,
    ``depth`` levels deep), or None."""
    if isinstance(obj, ReferenceLinearClassifier):
        return obj
    if depth == 0:
        return None
    try:
        attrs = list(vars(obj).values())
    except TypeError:
        attrs = [getattr(obj, s, None) for s in getattr(type(obj), "__slots__", ())]
    for value in attrs:
        if isinstance(value, (int, float, str, bytes, np.ndarray, type(None))):
            continue
        found = find_reference(value, depth - 1)
        if found is not None:
            return found
    return None
