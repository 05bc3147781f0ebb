"""The hostile sweep: every public method x every class of bad input x every adapter.

Each case (``robustness_cases.CASES``) must raise a :class:`~trustml.errors.TrustMLError` of the
stated class, which is also the matching builtin, whose message names the parameter before its
first colon; and the model's weights must be exactly what they were before the call (a bad batch
late in ``fit_generator`` included). Adapters: scikit-learn (LogisticRegression, MLPClassifier,
a decision tree), PyTorch, Keras, TensorFlowV2Classifier, and the smoothed classifier; MXNet runs
the same table in ``tests/mxnet/test_mxnet_robustness.py``. Explicit parametrization, no random
search: the run time is fixed (well under a minute).
"""

from __future__ import annotations

import os
import pickle
import warnings
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
from robustness_cases import (
    CASES,
    CLASSES,
    FEATURES,
    Case,
    X,
    Y,
    cases_for,
    check_raises,
    same_state,
)

from trustml.errors import (
    DeviceError,
    InputShapeError,
    InputValueError,
    LabelError,
    ParameterError,
    ParameterTypeError,
)

Snapshot = Callable[[], list[np.ndarray]]

_ALL = {"predict", "compute_loss", "loss_gradient", "class_gradient", "get_activations", "fit",
        "fit_generator"}


def _sklearn(kind: str) -> tuple[Any, Snapshot]:
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.tree import DecisionTreeClassifier

    from trustml.adapters.sklearn import wrap

    model: Any = {
        "lr": LogisticRegression(),
        "mlp": MLPClassifier((5,), max_iter=30, random_state=0),
        "tree": DecisionTreeClassifier(max_depth=3, random_state=0),
    }[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, Y)
    adapter = wrap(model)
    return adapter, lambda: [np.frombuffer(pickle.dumps(adapter.model), dtype=np.uint8)]


def _torch() -> tuple[Any, Snapshot]:
    torch = pytest.importorskip("torch")
    from trustml.adapters.torch import PyTorchClassifier

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(FEATURES, 5), torch.nn.Tanh(),
                              torch.nn.Linear(5, CLASSES))
    adapter = PyTorchClassifier(net, torch.nn.CrossEntropyLoss(), (FEATURES,), CLASSES,
                                optimizer=torch.optim.SGD(net.parameters(), lr=0.5),
                                device="cpu")
    return adapter, lambda: [v.detach().numpy().copy() for v in net.state_dict().values()]


def _keras_model() -> Any:
    keras = pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(5, activation="tanh"),
                             keras.layers.Dense(CLASSES)])


def _keras() -> tuple[Any, Snapshot]:
    import keras

    from trustml.adapters.tensorflow import KerasClassifier

    model = _keras_model()
    model.compile(optimizer=keras.optimizers.SGD(0.5),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    adapter = KerasClassifier(model, use_logits=True)
    return adapter, lambda: [np.array(v.numpy()) for v in model.variables]


def _tf2() -> tuple[Any, Snapshot]:
    import keras

    from trustml.adapters.tensorflow import TensorFlowV2Classifier

    model = _keras_model()
    adapter = TensorFlowV2Classifier(
        model, CLASSES, (FEATURES,),
        loss_object=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        optimizer=keras.optimizers.SGD(0.5),
    )
    return adapter, lambda: [np.array(v.numpy()) for v in model.variables]


def _smoothed() -> tuple[Any, Snapshot]:
    pytest.importorskip("scipy")
    from trustml.certification import RandomizedSmoothing

    inner, snapshot = _torch()
    return RandomizedSmoothing(inner, sigma=0.25, n=16, n0=4, batch_size=8,
                               nb_gradient_samples=2), snapshot


ADAPTERS: dict[str, tuple[Callable[[], tuple[Any, Snapshot]], set[str], set[str]]] = {
    "sklearn-lr": (lambda: _sklearn("lr"), _ALL - {"get_activations"}, {"float32"}),
    "sklearn-mlp": (lambda: _sklearn("mlp"), _ALL, {"float32"}),
    "sklearn-tree": (lambda: _sklearn("tree"), {"predict", "fit", "fit_generator"}, {"float32"}),
    "torch": (_torch, _ALL | {"count_noisy_predictions"}, {"fit_seed", "per_epoch", "float32"}),
    "keras": (_keras, _ALL, {"fit_seed", "per_epoch", "float32"}),
    "tf2": (_tf2, _ALL, {"fit_seed", "per_epoch", "float32"}),
    "smoothed": (
        _smoothed,
        {"predict", "certify", "certify_radius", "compute_loss", "loss_gradient", "fit",
         "fit_generator"},
        {"fit_seed", "predict_seed", "per_epoch", "float32"},
    ),
}

_BUILT: dict[str, tuple[Any, Snapshot]] = {}


def _adapter(name: str) -> tuple[Any, Snapshot]:
    """One adapter per name for the whole module: every case must leave it unchanged anyway."""
    if name not in _BUILT:
        _BUILT[name] = ADAPTERS[name][0]()
    return _BUILT[name]


PAIRS = [
    pytest.param(name, case, id=f"{name}-{case.id}")
    for name, (_, methods, features) in ADAPTERS.items()
    for case in cases_for(methods, features)
]


@pytest.mark.parametrize(("name", "case"), PAIRS)
def test_bad_input_raises_typed_error_and_changes_nothing(name: str, case: Case) -> None:
    adapter, snapshot = _adapter(name)
    before = snapshot()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_raises(case, adapter)
    assert same_state(before, snapshot()), f"{name} {case.id}: the weights changed"


def test_every_case_runs_somewhere() -> None:
    covered = {c.id for _, c in (p.values for p in PAIRS)}
    assert covered == {c.id for c in CASES}


# ------------------------------------------------------------------ torch tensors with no data


def _meta_cases() -> list[Any]:
    cases = {
        "predict-x": lambda a, m, t: a.predict(m),
        "compute_loss-x": lambda a, m, t: a.compute_loss(m, Y[:2]),
        "loss_gradient-x": lambda a, m, t: a.loss_gradient(m, Y[:2]),
        "class_gradient-x": lambda a, m, t: a.class_gradient(m),
        "get_activations-x": lambda a, m, t: a.get_activations(m, 0),
        "fit-x": lambda a, m, t: a.fit(m, Y[:2], nb_epochs=1),
        "compute_loss-y": lambda a, m, t: a.compute_loss(X[:2], t),
        "fit-y": lambda a, m, t: a.fit(X[:2], t, nb_epochs=1),
        "class_gradient-label": lambda a, m, t: a.class_gradient(X[:2], label=t),
        "fit_generator-x": lambda a, m, t: a.fit_generator([(X, Y), (m, Y[:2])], nb_epochs=1),
    }
    return [pytest.param(call, key.split("-")[1], id=key) for key, call in cases.items()]


@pytest.mark.parametrize(("call", "param"), _meta_cases())
def test_torch_meta_tensors_raise_device_error(call: Callable[..., Any], param: str) -> None:
    torch = pytest.importorskip("torch")
    adapter, snapshot = _adapter("torch")
    meta_x = torch.zeros((2, FEATURES), device="meta")
    meta_y = torch.zeros(2, dtype=torch.long, device="meta")
    before = snapshot()
    with pytest.raises(DeviceError, match=rf"^{param}\b.*meta device"):
        call(adapter, meta_x, meta_y)
    assert same_state(before, snapshot())


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda t: t.full((2, FEATURES), float("nan")), InputValueError),
        (lambda t: t.full((2, FEATURES), 1e39, dtype=t.float64), InputValueError),
        (lambda t: t.ones((2, FEATURES), dtype=t.complex64), InputValueError),
        (lambda t: t.zeros((2, FEATURES + 1)), InputShapeError),
        (lambda t: t.zeros(FEATURES), InputShapeError),
    ],
    ids=["nan", "above-float32-max", "complex", "wrong-shape", "single-sample"],
)
@pytest.mark.parametrize("method", ["predict", "compute_loss", "loss_gradient", "fit"])
def test_torch_tensor_inputs_are_validated_like_arrays(make: Any, error: type,
                                                       method: str) -> None:
    torch = pytest.importorskip("torch")
    adapter, snapshot = _adapter("torch")
    x = make(torch)
    calls = {
        "predict": lambda: adapter.predict(x),
        "compute_loss": lambda: adapter.compute_loss(x, Y[:2]),
        "loss_gradient": lambda: adapter.loss_gradient(x, Y[:2]),
        "fit": lambda: adapter.fit(x, Y[:2], nb_epochs=1),
    }
    before = snapshot()
    with pytest.raises(error, match=r"^x: "):
        calls[method]()
    assert same_state(before, snapshot())


# ------------------------------------------------------------------ messages the sweep found wrong


@pytest.mark.parametrize("name", ["sklearn-lr", "sklearn-mlp", "torch", "keras", "tf2"])
def test_fractional_class_label_is_reported_as_such(name: str) -> None:
    adapter, _ = _adapter(name)
    with pytest.raises(LabelError, match=r"^label: .*got 1\.5"):
        adapter.class_gradient(X[:2], label=1.5)


@pytest.mark.parametrize("name", ["sklearn-mlp", "torch", "keras", "tf2"])
def test_negative_layer_index_counts_from_the_end(name: str) -> None:
    adapter, _ = _adapter(name)
    last = adapter.get_activations(X[:2], len(adapter.layer_names) - 1)
    np.testing.assert_array_equal(adapter.get_activations(X[:2], -1), last)


def test_certify_reports_the_non_finite_entries_of_x() -> None:
    smoothed, _ = _adapter("smoothed")
    x = X[:3].copy()
    x[1, 2] = np.nan
    with pytest.raises(InputValueError, match=r"^x: .*got 1 NaN/inf entries .*\(1, 2\)"):
        smoothed.certify(x, n=8, seed=0)
    big = X[:3].copy()
    big[2, 0] = 1e39
    with pytest.raises(InputValueError, match=r"^x: .*got 1 entries that overflow .*\(2, 0\)"):
        smoothed.certify(big, n=8, seed=0)


@pytest.mark.parametrize("name", ["sklearn-lr", "torch", "keras", "tf2", "smoothed"])
def test_fit_on_an_empty_batch_is_one_documented_error(name: str) -> None:
    adapter, _ = _adapter(name)
    with pytest.raises(ValueError, match=r"^x: expected at least one sample to fit on, got 0"):
        adapter.fit(X[:0], Y[:0], nb_epochs=1)


def test_linear_svc_fit_is_refused_before_liblinear_sees_huge_values() -> None:
    """liblinear never returns on values near float64's limit (LinearSVC.fit hung)."""
    pytest.importorskip("sklearn")
    from sklearn.svm import LinearSVC

    from trustml.adapters.sklearn import wrap

    adapter = wrap(LinearSVC(max_iter=50).fit(X, Y))
    huge = X.copy()
    huge[0, 0] = 1e300
    with pytest.raises(InputValueError, match=r"^x: expected values within the range of float32"):
        adapter.fit(huge, Y)


# ------------------------------------------------------------------ seeds and arrays, directly


@pytest.mark.parametrize(
    ("seed", "error"),
    [("5", ParameterTypeError), (2.5, ParameterTypeError), (True, ParameterTypeError),
     (np.array(5), ParameterTypeError), (np.array("5"), ParameterTypeError),
     (np.array(1 + 2j), ParameterTypeError), (np.array(5, dtype=object), ParameterTypeError),
     (-1, ParameterError), (2**128, ParameterError)],
    ids=repr,
)
def test_input_seeds_refuses_every_seed_that_is_not_an_int_in_range(seed: Any,
                                                                    error: type) -> None:
    from trustml.rng import input_seeds

    with pytest.raises(error, match=r"^seed: expected an int in \[0, 2\*\*128\), got "):
        input_seeds(np.zeros((2, 3)), seed)


@pytest.mark.parametrize(
    "x", [np.array(1.0), np.array(["a", "b"]), np.array([1 + 1j]), np.array([1], dtype=object),
          [[1.0]], "abc"], ids=repr,
)
def test_input_seeds_refuses_x_that_is_not_a_real_array(x: Any) -> None:
    from trustml.rng import input_seeds

    with pytest.raises((ParameterError, ParameterTypeError), match=r"^x: expected "):
        input_seeds(x, 0)


@pytest.mark.parametrize("seed", [-1, 2.5, "abc", True, np.random.RandomState(0)], ids=repr)
def test_as_generator_refuses_bad_seeds(seed: Any) -> None:
    from trustml.rng import as_generator

    with pytest.raises((ParameterError, ParameterTypeError), match=r"^seed: expected "):
        as_generator(seed)


def test_check_batch_rejects_ragged_input_and_overflow_after_the_cast() -> None:
    from trustml.validation import check_batch

    with pytest.raises(InputValueError, match=r"^x: expected a rectangular array, got a ragged"):
        check_batch([[1.0, 2.0], [1.0]], (2,))
    x = np.array([[1.0, 1e39], [2.0, -1e300]])
    with pytest.raises(InputValueError, match=r"^x: expected values within the range of float32 "
                                              r".*got 2 entries .*\(0, 1\)"):
        check_batch(x, (2,))
    np.testing.assert_array_equal(check_batch(x, (2,), dtype=np.float64), x)
    with pytest.raises(InputValueError, match="float32"):
        check_batch(x, (2,), dtype=np.float64, finite_as=np.float32)
    with pytest.raises(InputValueError, match=r"^x: expected finite values, got 1 NaN"):
        check_batch(np.array([[np.nan, 1e39]]), (2,))
