"""What every check receives: the object under test, seeded data and helpers.

Data is built from the object's ``input_shape``, ``clip_values`` and ``nb_classes`` with a
``numpy.random.Generator`` seeded from ``(seed, check id)``, so each check's inputs are the same
on every machine and independent of which other checks ran; or it is the user's ``(x, y)``.
"""

from __future__ import annotations

import copy
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trustml.conformance._capabilities import CAPABILITIES
from trustml.conformance._failures import NotApplicable, fail, require_true
from trustml.conformance._snapshots import framework_state
from trustml.errors import ParameterError, TrustMLError
from trustml.labels import to_index

__all__ = ["BATCH", "CHECK_ATTRIBUTE", "CheckFunction", "Context", "check", "fail", "require_true"]

BATCH = 10
"""Samples per generated batch; 3, the odd batch size of the batch-invariance checks, does not
divide it."""


def _brief(exc: BaseException, limit: int = 160) -> str:
    """``Type: message`` on one line: the message's last non-empty line (framework tracebacks
    put the error there), cut to ``limit`` characters."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[-1] if lines else ""
    text = text.removeprefix(f"{type(exc).__name__}:").strip()
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return f"{type(exc).__name__}: {text}"


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
    _notes: dict[str, list[str]] = field(default_factory=dict, repr=False)

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
        return cls(estimator, int(seed), pair, initial_state=framework_state(estimator))

    # -- training ---------------------------------------------------------------------------
    def trainable(self) -> Any:
        """The object the Fittable checks train, chosen once per run:

        1. ``estimator.clone_for_refitting()`` (:class:`~trustml.protocols.Clonable`) when the
           object has it and it returns a new object;
        2. else ``copy.deepcopy(estimator)``, when the copy can be made and trained (one epoch on
           two samples; a typed ``TrustMLError`` refusal counts as trainable);
        3. else the object itself, trained in place: every check that trains it then says so in
           its result (see :meth:`notes`), with why 1 and 2 were not possible.

        The caller's object keeps its weights in cases 1 and 2.
        """
        if "trainable" not in self._cache:
            self._cache["trainable"], self._cache["in_place"] = self._training_target()
        in_place = self._cache["in_place"]
        if in_place:
            self.note(in_place)
        return self._cache["trainable"]

    def _training_target(self) -> tuple[Any, str]:
        est = self.estimator
        reasons: list[str] = []
        clone = getattr(est, "clone_for_refitting", None)
        if callable(clone):
            try:
                copied = clone()
            except Exception as exc:  # noqa: BLE001 - reported in the result
                reasons.append(f"clone_for_refitting() raised {_brief(exc)}")
            else:
                if copied is not est:
                    return copied, ""
                reasons.append("clone_for_refitting() returned the object itself")
        else:
            reasons.append("the object has no clone_for_refitting()")
        try:
            copied = copy.deepcopy(est)
        except Exception as exc:  # noqa: BLE001 - reported in the result
            reasons.append(f"copy.deepcopy raised {_brief(exc)}")
        else:
            x, y = self.separable_problem()
            try:
                copied.fit(x[:2], y[:2], batch_size=2, nb_epochs=1)
            except TrustMLError:
                return copied, ""  # a typed refusal of the 2-sample probe: the copy works
            except Exception as exc:  # noqa: BLE001 - reported in the result
                reasons.append(f"its copy.deepcopy could not be trained ({_brief(exc)})")
            else:
                return copied, ""
        return est, ("trained the object itself, in place (its weights changed): "
                     + "; ".join(reasons))

    def note(self, message: str) -> None:
        """Attach ``message`` to the result of the running check (once)."""
        notes = self._notes.setdefault(self.check_id, [])
        if message not in notes:
            notes.append(message)

    def notes(self, check_id: str) -> list[str]:
        """What the kit noted while running ``check_id`` (for instance that it trained the object
        in place); shown in the check's result."""
        return list(self._notes.get(check_id, []))

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


CheckFunction = Callable[[Context], None]

CHECK_ATTRIBUTE = "__trustml_check__"
"""Attribute :func:`check` sets on a check function: ``(check id, capability)``."""


def check(check_id: str, capability: str) -> Callable[[CheckFunction], CheckFunction]:
    """Declare ``function`` as the check ``check_id`` of ``capability`` (the first paragraph of
    its docstring is the summary). The registry, on top of the kit, imports the check modules
    and collects what they declare, so no check module imports the registry.

    Raises
    ------
    KeyError
        ``capability`` is not a key of :data:`~trustml.conformance._capabilities.CAPABILITIES`.
    """
    if capability not in CAPABILITIES:
        raise KeyError(capability)

    def decorate(function: CheckFunction) -> CheckFunction:
        marked: Any = function
        setattr(marked, CHECK_ATTRIBUTE, (check_id, capability))
        return function

    return decorate
