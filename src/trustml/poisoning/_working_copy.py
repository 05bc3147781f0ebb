"""The model that mitigation changes: an independent, verified copy of the user's classifier.

Mitigation (unlearning, pruning, filtering) never touches the classifier it was given. It works on
a copy, made in the first of these ways that succeeds:

1. ``clone``: the classifier is :class:`~trustml.protocols.Clonable` and has ``save(path)`` and
   ``load(path)``: ``clone_for_refitting()`` (an untrained twin that shares no state), then the
   trained weights carried over with the adapter's own ``save`` / ``load`` through a temporary
   directory (the project's way to train a copy; it works where ``copy.deepcopy`` gives a model
   that predicts but cannot be trained, as MXNet Gluon's);
2. ``deepcopy``: ``copy.deepcopy`` of the classifier.

A copy is accepted only when it predicts exactly (bit for bit) what the model predicts on a probe
batch. The mitigation then runs on the copy; if the framework fails on it (an error that is not a
:class:`~trustml.errors.TrustMLError`), the next way is tried, and when none works a
:class:`~trustml.errors.CapabilityError` lists what each way raised. Afterwards the user's
classifier is checked on the probe again: it predicts what it predicted before, or an error says
that a copy shared state with it.
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trustml.errors import CapabilityError
from trustml.protocols import Classifier, Clonable

__all__ = ["PROBE_SIZE", "WorkingCopies", "probe_predictions", "unchanged"]

PROBE_SIZE = 64
"""Inputs of ``x_val`` on which a copy must predict exactly what the model predicts."""


class CopyRejected(Exception):
    """A way of copying gave a model that does not predict what the original predicts."""


def _clone_with_weights(model: Any) -> Any:
    clone = model.clone_for_refitting()
    with tempfile.TemporaryDirectory(prefix="trustml-nc-") as tmp:
        path = Path(tmp) / "weights.params"
        model.save(path)
        result = clone.load(path)
    if result is not None and result is not clone:
        raise CopyRejected("load returned a new object instead of loading in place")
    return clone


def _ways(model: Any) -> list[tuple[str, Callable[[], Any]]]:
    ways: list[tuple[str, Callable[[], Any]]] = []
    if isinstance(model, Clonable) and callable(getattr(model, "save", None)) and callable(
        getattr(model, "load", None)
    ):
        ways.append(("clone_for_refitting + save/load", lambda: _clone_with_weights(model)))
    ways.append(("copy.deepcopy", lambda: copy.deepcopy(model)))
    return ways


def probe_predictions(model: Classifier, probe: NDArray[Any]) -> NDArray[np.float32]:
    """``model.predict(probe)`` as float32."""
    return np.asarray(model.predict(probe, batch_size=128), dtype=np.float32)


class WorkingCopies:
    """Verified independent copies of ``model``, one per way that works, in order of preference.

    Iterating yields ``(way, copy)``; a way whose copy cannot be made, or does not predict
    exactly what ``model`` predicts on ``probe``, is skipped and its reason kept. The caller
    :meth:`note` s a copy whose mitigation failed and, when every copy is used up, raises
    :meth:`error`.
    """

    def __init__(self, model: Classifier, probe: NDArray[Any]) -> None:
        self.model = model
        self.probe = probe
        self.failures: list[str] = []

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        expected = probe_predictions(self.model, self.probe)
        for way, make in _ways(self.model):
            try:
                work = make()
                got = probe_predictions(work, self.probe)
            except Exception as exc:  # noqa: BLE001 - any framework error: try the next way
                self.failures.append(f"{way}: {type(exc).__name__}: {exc}")
                continue
            if not np.array_equal(got, expected):
                self.failures.append(f"{way}: the copy predicts differently from the model")
                continue
            yield way, work

    def note(self, way: str, exc: BaseException) -> None:
        """Record that mitigating the copy made by ``way`` raised ``exc``."""
        self.failures.append(f"{way}: mitigating the copy raised {type(exc).__name__}: {exc}")

    def error(self) -> CapabilityError:
        """The error when no copy could be made and mitigated."""
        reasons = "; ".join(self.failures) or "no way applies"
        return CapabilityError(
            f"classifier: mitigation works on an independent copy of the model "
            f"({type(self.model).__name__}), and none could be made and mitigated ({reasons}); "
            f"offer clone_for_refitting() with save(path) / load(path), or make copy.deepcopy "
            f"give a trainable model"
        )


def unchanged(model: Classifier, probe: NDArray[Any], before: NDArray[np.float32]) -> None:
    """Raise CapabilityError when ``model`` no longer predicts ``before`` on ``probe`` (a copy
    shared state with it)."""
    if not np.array_equal(probe_predictions(model, probe), before):
        raise CapabilityError(
            f"classifier: the copy that mitigation changed shared state with the model "
            f"({type(model).__name__}), whose predictions changed; its copy (clone_for_refitting "
            f"or copy.deepcopy) must share nothing"
        )
