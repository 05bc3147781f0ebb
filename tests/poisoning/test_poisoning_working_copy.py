"""Mitigation never loses the user's model: it works on a verified copy, made through
``clone_for_refitting`` + ``save`` / ``load`` when the adapter offers them, else ``copy.deepcopy``;
a copy the framework cannot train makes the next way be tried, or a CapabilityError that lists
each way's failure, with nothing changed; a copy that shares state is reported."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from poisoning_user_adapter import SoftmaxRegression, digits_like

from trustml.errors import CapabilityError
from trustml.labels import to_index
from trustml.poisoning import NeuralCleanse

FAST = {"steps": 30, "channels_first": True}


class Fittable(SoftmaxRegression):
    """The user's softmax regression with ``fit`` (full-batch gradient descent, in place)."""

    def fit(self, x: Any, y: Any, batch_size: int = 128, nb_epochs: int = 20) -> None:
        xb = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        onehot = np.eye(self.nb_classes)[to_index(y, self.nb_classes, n=len(xb))]
        for _ in range(5 * nb_epochs):
            g = self._probs(xb.reshape((len(xb), *self.input_shape))) - onehot
            self.w -= 2.0 * xb.T @ g / len(xb)  # in place: a shared array shows it
            self.b -= 2.0 * g.mean(axis=0)

    def fit_generator(self, generator: Any, nb_epochs: int = 20) -> None:
        for _ in range(nb_epochs):
            for xb, yb in generator:
                self.fit(xb, yb, nb_epochs=1)


class Clonable(Fittable):
    """With ``clone_for_refitting`` and ``save`` / ``load``; counts its clones."""

    clones = 0

    def clone_for_refitting(self) -> Clonable:
        Clonable.clones += 1
        return type(self)(self.input_shape, self.nb_classes, seed=99)

    def save(self, path: Path) -> None:
        with open(path, "wb") as f:
            np.savez(f, w=self.w, b=self.b)

    def load(self, path: Path) -> None:
        with np.load(path) as z:
            self.w, self.b = z["w"].copy(), z["b"].copy()


class Untrainable(Fittable):
    """A deep copy predicts but cannot be trained (as a deep-copied MXNet Gluon net)."""

    trainable = True

    def __deepcopy__(self, memo: dict[int, Any]) -> Untrainable:
        out = Untrainable(self.input_shape, self.nb_classes)
        out.w, out.b, out.trainable = self.w.copy(), self.b.copy(), False
        return out

    def fit(self, x: Any, y: Any, batch_size: int = 128, nb_epochs: int = 20) -> None:
        if not self.trainable:
            raise RuntimeError("not in a computational graph")
        super().fit(x, y, batch_size, nb_epochs)


class ClonableUntrainable(Clonable, Untrainable):
    """Both: the clone route comes first and works."""


class Sharing(Fittable):
    """A broken deep copy that shares the weight arrays with the original."""

    def __deepcopy__(self, memo: dict[int, Any]) -> Sharing:
        return copy.copy(self)


def _planted(cls: type) -> Any:
    clf = cls((1, 6, 6), 6, seed=0)
    clf.w -= clf.w.mean(axis=0)
    clf.b[:] = 0.0
    clf.w[35, 0] += 40.0
    return clf


def _audit(cls: type) -> tuple[Any, NeuralCleanse, Any, Any, Any]:
    clf = _planted(cls)
    x, y = digits_like(clf, 120, 0)
    nc = NeuralCleanse(clf, seed=0, **FAST)
    assert nc.detect(x, y).flagged == [0]
    return clf, nc, x, y, (clf.w.copy(), clf.b.copy(), clf.predict(x))


@pytest.mark.parametrize("cls", [Clonable, ClonableUntrainable, Fittable])
def test_poisoning_unlearning_on_a_copy_reset_exact(cls: type) -> None:
    Clonable.clones = 0
    clf, nc, x, y, (w, b, before) = _audit(cls)
    summary = nc.mitigate(x, y, ["unlearning"])
    assert Clonable.clones == (1 if issubclass(cls, Clonable) else 0)
    assert nc.mitigated and 0.0 <= summary["unlearning"]["trigger_success"] <= 1.0
    assert not np.array_equal(nc.predict(x), before)  # the copy was trained
    np.testing.assert_array_equal(clf.w, w)  # the user's model was not
    np.testing.assert_array_equal(clf.b, b)
    nc.reset()
    np.testing.assert_array_equal(nc.predict(x), before)


def test_poisoning_no_trainable_copy_is_a_capability_error() -> None:
    clf, nc, x, y, (w, _b, before) = _audit(Untrainable)
    with pytest.raises(CapabilityError, match=r"copy\.deepcopy: mitigating the copy raised "
                                              r"RuntimeError: not in a computational graph"):
        nc.mitigate(x, y, ["unlearning"])
    assert not nc.mitigated
    np.testing.assert_array_equal(clf.w, w)
    np.testing.assert_array_equal(nc.predict(x), before)


def test_poisoning_a_copy_sharing_state_is_reported() -> None:
    _clf, nc, x, y, _ = _audit(Sharing)
    with pytest.raises(CapabilityError, match="shared state"):
        nc.mitigate(x, y, ["unlearning"])
    assert not nc.mitigated
