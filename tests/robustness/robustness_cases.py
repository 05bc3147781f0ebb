"""The hostile sweep's table: every public method x every class of bad input, as data.

Each :class:`Case` calls one public method of an adapter with one bad argument and states the
typed error it must raise and the parameter its message must name. The sweep modules
(``test_robustness_sweep.py`` for scikit-learn, PyTorch, Keras, TF2 and the smoothed classifier,
``tests/mxnet/test_mxnet_robustness.py`` for MXNet) apply every case to every adapter that has the
method, and check that the model's weights are unchanged afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from trustml.errors import (
    DeviceError,
    InputShapeError,
    InputValueError,
    LabelError,
    ParameterError,
    ParameterTypeError,
    TrustMLError,
)

FEATURES = 4
CLASSES = 3
X = np.random.default_rng(0).normal(size=(6, FEATURES))
Y = np.array([0, 1, 2, 0, 1, 2])


@dataclass(frozen=True)
class Case:
    """One hostile call: ``call(adapter)`` must raise ``error`` naming ``param``."""

    method: str
    kind: str
    call: Callable[[Any], Any]
    error: type[TrustMLError]
    param: str
    needs: tuple[str, ...] = ()  # features the adapter must have (see FEATURES_DOC)

    @property
    def id(self) -> str:
        return f"{self.method}-{self.kind}"


FEATURES_DOC = {
    "fit_seed": "fit takes seed=",
    "predict_seed": "predict takes seed=",
    "per_epoch": "fit_generator iterates the generator once per epoch (scikit-learn reads it once)",
    "float32": "values must be finite in float32 (float32 models; scikit-learn, for its trees)",
}

# ------------------------------------------------------------------------------- bad values

BAD_X: dict[str, tuple[Any, type[TrustMLError]]] = {
    "ragged-list": ([[0.1] * FEATURES, [0.1] * (FEATURES - 1)], InputValueError),
    "wrong-shape": (np.zeros((2, FEATURES + 1)), InputShapeError),
    "single-sample": (np.zeros(FEATURES), InputShapeError),
    "scalar": (0.5, InputShapeError),
    "nan": (np.where(np.eye(2, FEATURES) > 0, np.nan, 0.0), InputValueError),
    "inf": (np.full((2, FEATURES), -np.inf), InputValueError),
    "above-float32-max": (np.full((2, FEATURES), 1e39), InputValueError),
    "strings": (np.full((2, FEATURES), "a"), InputValueError),
    "complex": (np.ones((2, FEATURES), dtype=complex), InputValueError),
    "objects": (np.array([[object()] * FEATURES] * 2, dtype=object), InputValueError),
    "none": (None, InputValueError),
}
"""``x`` values every method that takes ``x`` must refuse, and the error class."""

BAD_Y: dict[str, tuple[Any, type[TrustMLError]]] = {
    "ragged": ([[1, 0, 0], [1, 0]], LabelError),
    "out-of-range": (np.array([0, CLASSES]), LabelError),
    "negative": (np.array([0, -1]), LabelError),
    "fractional": (np.array([0.0, 1.5]), LabelError),
    "wrong-length": (np.array([0, 1, 2]), LabelError),
    "strings": (np.array(["a", "b"]), LabelError),
    "not-one-hot": (np.array([[1, 1, 0], [0, 0, 1]]), LabelError),
    "3-d": (np.zeros((2, CLASSES, 1)), LabelError),
}
"""Labels for the two good samples ``X[:2]`` that every label-taking method must refuse."""

BAD_POSITIVE_INT: dict[str, tuple[Any, type[TrustMLError]]] = {
    "zero": (0, ParameterError),
    "negative": (-3, ParameterError),
    "float": (2.5, ParameterTypeError),
    "bool": (True, ParameterTypeError),
    "string": ("8", ParameterTypeError),
}

BAD_SEED: dict[str, tuple[Any, type[TrustMLError]]] = {
    "negative": (-1, ParameterError),
    "string": ("abc", ParameterTypeError),
    "float": (2.5, ParameterTypeError),
    "bool": (True, ParameterTypeError),
    "legacy-randomstate": (np.random.RandomState(0), ParameterTypeError),
}

BAD_LABEL: dict[str, tuple[Any, type[TrustMLError]]] = {
    "fractional": (1.5, LabelError),
    "out-of-range": (CLASSES, LabelError),
    "negative": (-1, LabelError),
    "string": ("a", LabelError),
    "wrong-length": (np.array([0, 1, 2]), LabelError),
}


def _one_shot() -> Iterator[tuple[Any, Any]]:
    return iter([(X, Y)])


BAD_GENERATORS: dict[str, tuple[Callable[[], Any], dict[str, Any], type[TrustMLError], str]] = {
    "not-iterable": (lambda: 5, {}, ParameterTypeError, "generator"),
    "no-batches": (list, {}, ParameterError, "generator"),
    "not-a-pair": (lambda: [X], {}, TrustMLError, "generator"),
    "y-is-none": (lambda: [(X, None)], {}, LabelError, "y"),
    "bad-second-batch": (lambda: [(X, Y), (X[:, :-1], Y)], {}, InputShapeError, "x"),
    "bad-labels-second-batch": (lambda: [(X, Y), (X, Y + CLASSES)], {}, LabelError, "y"),
    "nan-second-batch": (lambda: [(X, Y), (X * np.nan, Y)], {}, InputValueError, "x"),
    "empty-second-batch": (lambda: [(X, Y), (X[:0], Y[:0])], {}, ParameterError, "x"),
    "one-shot-iterator-2-epochs": (_one_shot, {"nb_epochs": 2}, ParameterTypeError, "generator"),
}
"""``fit_generator`` inputs to refuse, with the model unchanged (a later batch included)."""


# ------------------------------------------------------------------------------- the table


def _cases() -> list[Case]:
    cases: list[Case] = []
    x2, y2 = X[:2], Y[:2]

    def add(method: str, kind: str, call: Callable[[Any], Any], error: type[TrustMLError],
            param: str, needs: tuple[str, ...] = ()) -> None:
        cases.append(Case(method, kind, call, error, param, needs))

    for kind, (bad, err) in BAD_X.items():
        f32 = ("float32",) if kind == "above-float32-max" else ()
        add("predict", f"x-{kind}", lambda a, b=bad: a.predict(b), err, "x", f32)
        add("compute_loss", f"x-{kind}", lambda a, b=bad: a.compute_loss(b, y2), err, "x", f32)
        add("loss_gradient", f"x-{kind}", lambda a, b=bad: a.loss_gradient(b, y2), err, "x",
            f32)
        add("class_gradient", f"x-{kind}", lambda a, b=bad: a.class_gradient(b), err, "x", f32)
        add("get_activations", f"x-{kind}", lambda a, b=bad: a.get_activations(b, 0), err, "x",
            f32)
        add("fit", f"x-{kind}", lambda a, b=bad: a.fit(b, y2, nb_epochs=1), err, "x", f32)
        add("fit_generator", f"x-{kind}",
            lambda a, b=bad: a.fit_generator([(X, Y), (b, y2)], nb_epochs=1), err, "x", f32)
        add("certify", f"x-{kind}", lambda a, b=bad: a.certify(b, n=8, seed=0), err, "x", f32)
        add("certify_radius", f"x-{kind}",
            lambda a, b=bad: a.certify_radius(b, 0.1, n_max=64, seed=0), err, "x", f32)
        add("count_noisy_predictions", f"x-{kind}",
            lambda a, b=bad: a.count_noisy_predictions(b, 0.1, 8, batch_size=8), err, "x", f32)
    for kind, (bad, err) in BAD_Y.items():
        add("compute_loss", f"y-{kind}", lambda a, b=bad: a.compute_loss(x2, b), err, "y")
        add("loss_gradient", f"y-{kind}", lambda a, b=bad: a.loss_gradient(x2, b), err, "y")
        add("fit", f"y-{kind}", lambda a, b=bad: a.fit(x2, b, nb_epochs=1), err, "y")
    for kind, (bad, err) in BAD_POSITIVE_INT.items():
        add("predict", f"batch_size-{kind}", lambda a, b=bad: a.predict(x2, batch_size=b),
            err, "batch_size")
        add("fit", f"batch_size-{kind}", lambda a, b=bad: a.fit(X, Y, batch_size=b, nb_epochs=1),
            err, "batch_size")
        add("fit", f"nb_epochs-{kind}", lambda a, b=bad: a.fit(X, Y, nb_epochs=b), err,
            "nb_epochs")
        add("fit_generator", f"nb_epochs-{kind}",
            lambda a, b=bad: a.fit_generator([(X, Y)], nb_epochs=b), err, "nb_epochs")
        add("certify", f"n-{kind}", lambda a, b=bad: a.certify(x2, n=b, seed=0), err, "n")
    for kind, (bad, err) in BAD_SEED.items():
        add("fit", f"seed-{kind}", lambda a, b=bad: a.fit(X, Y, nb_epochs=1, seed=b), err,
            "seed", ("fit_seed",))
        add("predict", f"seed-{kind}", lambda a, b=bad: a.predict(x2, seed=b), err, "seed",
            ("predict_seed",))
        add("certify", f"seed-{kind}", lambda a, b=bad: a.certify(x2, n=8, seed=b), err, "seed")
    for kind, (bad, err) in BAD_LABEL.items():
        add("class_gradient", f"label-{kind}", lambda a, b=bad: a.class_gradient(x2, label=b),
            err, "label")
    for kind, (bad, err) in {"zero": (0.0, ParameterError), "negative": (-1.0, ParameterError),
                             "nan": (float("nan"), ParameterError),
                             "string": ("0.1", ParameterTypeError),
                             "bool": (True, ParameterTypeError)}.items():
        add("count_noisy_predictions", f"sigma-{kind}",
            lambda a, b=bad: a.count_noisy_predictions(x2, b, 8, batch_size=8), err, "sigma")
        if kind != "zero":  # a radius may be 0
            add("certify_radius", f"radius-{kind}",
                lambda a, b=bad: a.certify_radius(x2, b, n_max=64, seed=0), err, "radius")
    for kind, (bad, err) in BAD_POSITIVE_INT.items():
        add("count_noisy_predictions", f"n-{kind}",
            lambda a, b=bad: a.count_noisy_predictions(x2, 0.1, b, batch_size=8), err, "n")
        add("count_noisy_predictions", f"batch_size-{kind}",
            lambda a, b=bad: a.count_noisy_predictions(x2, 0.1, 8, batch_size=b), err,
            "batch_size")
    for kind, bad in {"avg": ("avg", ParameterError), "int": (5, ParameterTypeError),
                      "none": (None, ParameterTypeError)}.items():
        add("compute_loss", f"reduction-{kind}",
            lambda a, b=bad[0]: a.compute_loss(x2, y2, reduction=b), bad[1], "reduction")
    for kind, bad in {"unknown-name": ("no such layer", ParameterError),
                      "index-too-large": (99, ParameterError),
                      "index-too-small": (-99, ParameterError),
                      "float": (1.5, ParameterTypeError),
                      "bool": (True, ParameterTypeError)}.items():
        add("get_activations", f"layer-{kind}", lambda a, b=bad[0]: a.get_activations(x2, b),
            bad[1], "layer")
    add("fit", "x-empty", lambda a: a.fit(X[:0], Y[:0], nb_epochs=1), ParameterError, "x")
    for kind, (make, kwargs, err, param) in BAD_GENERATORS.items():
        add("fit_generator", kind,
            lambda a, m=make, k=kwargs: a.fit_generator(m(), **{"nb_epochs": 1, **k}), err,
            param, ("per_epoch",) if "nb_epochs" in kwargs else ())
    return cases


CASES = _cases()


def cases_for(methods: set[str], features: set[str]) -> list[Case]:
    """The cases for an adapter with these public methods and features."""
    return [c for c in CASES if c.method in methods and set(c.needs) <= features]


def check_raises(case: Case, adapter: Any) -> TrustMLError:
    """Run the case; assert a TrustMLError of the stated class that names its parameter before
    the message's first colon (``"x (batch 1): expected ..."``) and is the matching builtin."""
    try:
        case.call(adapter)
    except TrustMLError as exc:
        assert isinstance(exc, case.error), f"{case.id}: {type(exc).__name__}: {exc}"
        builtin = TypeError if isinstance(exc, ParameterTypeError) else ValueError
        if not isinstance(exc, DeviceError):
            assert isinstance(exc, builtin), f"{case.id}: {type(exc).__mro__}"
        head = str(exc).split(":", 1)[0]
        assert re.search(rf"(^|\W){re.escape(case.param)}(\W|$)", head), (
            f"{case.id}: message does not name {case.param!r} first: {exc}"
        )
        return exc
    except Exception as exc:  # a raw error escaped: the defect the sweep hunts
        raise AssertionError(f"{case.id}: raw {type(exc).__name__}: {exc}") from exc
    raise AssertionError(f"{case.id}: nothing raised")


def same_state(before: list[np.ndarray], after: list[np.ndarray]) -> bool:
    """Whether two weight snapshots are equal (NaN in the same places included)."""
    return len(before) == len(after) and all(
        a.shape == b.shape and np.array_equal(a, b, equal_nan=True) for a, b in zip(before, after)
    )
