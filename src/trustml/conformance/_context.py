"""What every check receives: the object under test, seeded data and helpers.

Data is built from the object's ``input_shape``, ``clip_values`` and ``nb_classes`` with a
``numpy.random.Generator`` seeded from ``(seed, check id)``, so each check's inputs are the same
on every machine and independent of which other checks ran; or it is the user's ``(x, y)``.
"""

from __future__ import annotations

import copy
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trustml.conformance._registry import CheckFailure, NotApplicable
from trustml.errors import ParameterError, TrustMLError
from trustml.labels import to_index

__all__ = ["BATCH", "Context", "fail", "require_true"]

BATCH = 10
"""Samples per generated batch; 3, the odd batch size of the batch-invariance checks, does not
divide it."""


def fail(message: str) -> CheckFailure:
    """A :class:`CheckFailure` to raise."""
    return CheckFailure(message)


def require_true(condition: bool, message: str) -> None:
    """Raise :class:`CheckFailure` with ``message`` unless ``condition``."""
    if not condition:
        raise CheckFailure(message)


@dataclass
class Context:
    """State shared by the checks of one run.

    Attributes
    ----------
    estimator : object
        The object under test.
    seed : int
        Base seed; each check derives its own generator from it and a tag.
    data : (x, y) or None
        User data, validated by :meth:`create`.
    initial_state : dict
        Framework modes and hooks when the run started (see ``_exercise.framework_state``).
    """

    estimator: Any
    seed: int
    data: tuple[NDArray[Any], NDArray[np.int64]] | None = None
    check_id: str = ""
    initial_state: dict[str, Any] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def create(cls, estimator: Any, data: Any, seed: int) -> Context:
        """Validate ``seed`` and the user's ``data``.

        Raises
        ------
        ParameterError
            ``seed`` is not an int, or ``data`` is not a pair ``(x, y)`` of matching lengths with at
            least 2 samples.
        """
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ParameterError(f"seed: expected an int, got {seed!r}")
        pair: tuple[NDArray[Any], NDArray[np.int64]] | None = None
        if data is not None:
            try:
                x_raw, y_raw = data
            except (TypeError, ValueError):
                raise ParameterError(
                    f"data: expected a pair (x, y), got {type(data).__name__}"
                ) from None
            x = np.array(x_raw, copy=True)
            nb_classes = getattr(estimator, "nb_classes", None)
            y_arr = np.asarray(y_raw)
            if isinstance(nb_classes, (int, np.integer)) and not isinstance(nb_classes, bool):
                y = to_index(y_arr, int(nb_classes), n=x.shape[0] if x.ndim else None,
                             name="data[1]")
            else:
                y = np.asarray(y_arr, dtype=np.int64).reshape(-1)
            if x.ndim < 2 or x.shape[0] < 2 or y.shape[0] != x.shape[0]:
                raise ParameterError(
                    f"data: expected x (N, *input_shape) with N >= 2 and N labels, got x "
                    f"{x.shape} and y {np.asarray(y_raw).shape}"
                )
            pair = (x, y)
        from trustml.conformance._exercise import framework_state

        return cls(estimator, int(seed), pair, initial_state=framework_state(estimator))

    # -- training ---------------------------------------------------------------------------
    def trainable(self) -> Any:
        """The object the Fittable checks train: ``copy.deepcopy(estimator)`` (made once), so the
        caller's object keeps its weights; the object itself when it cannot be deep-copied or
        when its copy cannot be trained (one epoch on two samples raises)."""
        if "trainable" not in self._cache:
            target = self.estimator
            try:
                clone = copy.deepcopy(self.estimator)
                x, y = self.separable_problem()
                try:
                    clone.fit(x[:2], y[:2], batch_size=2, nb_epochs=1)
                except TrustMLError:
                    pass  # a typed refusal of the 2-sample probe (missing classes): the copy works
                target = clone
            except Exception:  # noqa: BLE001,S110 - the copy is unusable: train the object itself
                pass
            self._cache["trainable"] = target
        return self._cache["trainable"]

    # -- randomness -------------------------------------------------------------------------
    def rng(self, tag: str = "") -> np.random.Generator:
        """A generator seeded from ``(seed, check id, tag)``; never numpy's global one."""
        key = zlib.crc32(f"{self.check_id}/{tag}".encode())
        return np.random.default_rng([self.seed, key])

    # -- metadata ---------------------------------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, ...]:
        """The object's ``input_shape``, else the shape of the user's samples."""
        shape = getattr(self.estimator, "input_shape", None)
        if shape is not None:
            return tuple(int(d) for d in shape)
        if self.data is not None:
            return tuple(int(d) for d in self.data[0].shape[1:])
        raise NotApplicable("the object has no input_shape and no data was given")

    @property
    def nb_classes(self) -> int:
        """The object's ``nb_classes``, else one more than the largest user label."""
        k = getattr(self.estimator, "nb_classes", None)
        if isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            return int(k)
        if self.data is not None:
            return max(2, int(self.data[1].max()) + 1)
        raise NotApplicable("the object has no nb_classes and no data was given")

    @property
    def scale(self) -> float:
        """Typical input scale: the mean width of ``clip_values``, else 1."""
        clip = getattr(self.estimator, "clip_values", None)
        if clip is None:
            return 1.0
        lo, hi = clip
        width = np.broadcast_to(np.asarray(hi, np.float64) - np.asarray(lo, np.float64),
                                self.input_shape)
        return float(width.mean())

    # -- data -------------------------------------------------------------------------------
    def inputs(self, n: int = BATCH, tag: str = "x") -> NDArray[np.float32]:
        """``(n, *input_shape)`` float32 inputs: the user's first ``n`` (cycled), else uniform
        in the inner 80% of ``clip_values`` (standard normal without them). A new array."""
        if self.data is not None:
            x = self.data[0]
            idx = np.arange(n) % x.shape[0]
            return np.array(x[idx], dtype=np.float32)
        shape = (n, *self.input_shape)
        rng = self.rng(tag)
        clip = getattr(self.estimator, "clip_values", None)
        if clip is None:
            return rng.standard_normal(shape).astype(np.float32)
        lo = np.broadcast_to(np.asarray(clip[0], np.float64), self.input_shape)
        hi = np.broadcast_to(np.asarray(clip[1], np.float64), self.input_shape)
        u = rng.uniform(0.1, 0.9, size=shape)
        return (lo + u * (hi - lo)).astype(np.float32)

    def labels(self, n: int = BATCH, tag: str = "y") -> NDArray[np.int64]:
        """``(n,)`` int64 labels: the user's (cycled), else uniform over the classes."""
        if self.data is not None:
            y = self.data[1]
            return np.array(y[np.arange(n) % y.shape[0]], dtype=np.int64)
        return self.rng(tag).integers(0, self.nb_classes, size=n).astype(np.int64)

    def directions(self, n: int, count: int, tag: str = "d") -> NDArray[np.float64]:
        """``(count, n, *input_shape)`` float64 random directions, each sample's row of L2 norm
        ``scale``."""
        d = self.rng(tag).standard_normal((count, n, *self.input_shape))
        norms = np.sqrt((d.reshape(count, n, -1) ** 2).sum(axis=2))
        d /= norms.reshape(count, n, *([1] * len(self.input_shape)))
        return d * self.scale

    def separable_problem(
        self, per_class: int = 8
    ) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        """A learnable problem: the user's data, else ``per_class`` samples around one random
        template per class (noise 5% of the input scale), within ``clip_values``."""
        if self.data is not None:
            return np.array(self.data[0], dtype=np.float32), self.data[1].copy()
        k = self.nb_classes
        templates = self.inputs(k, tag="templates").astype(np.float64)
        y = np.repeat(np.arange(k, dtype=np.int64), per_class)
        rng = self.rng("noise")
        x = templates[y] + 0.05 * self.scale * rng.standard_normal((len(y), *self.input_shape))
        clip = getattr(self.estimator, "clip_values", None)
        if clip is not None:
            x = np.clip(x, np.asarray(clip[0], np.float64), np.asarray(clip[1], np.float64))
        order = rng.permutation(len(y))
        return x[order].astype(np.float32), y[order]
