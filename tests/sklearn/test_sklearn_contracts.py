"""Shared contracts of every scikit-learn adapter: capabilities, labels, shapes, errors, fitting."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC
from sklearn.tree import DecisionTreeClassifier
from sklearn_helpers import (
    central_difference,
    fit_quietly,
    probe_points,
    rel_err,
    standardisation_for,
)

from trustml.adapters.sklearn import (
    SklearnClassifier,
    SklearnLinearClassifier,
    SklearnMLPClassifier,
    SklearnTreeClassifier,
    wrap,
)
from trustml.errors import (
    InputShapeError,
    InputValueError,
    LabelError,
    NotFittedError,
    ParameterError,
    UnsupportedModelError,
)
from trustml.preprocessing import FunctionPreprocessor, Standardisation
from trustml.protocols import (
    ClassGradients,
    Classifier,
    DecisionTrees,
    Fittable,
    LossGradients,
    NeuralNetwork,
)

ALL = (Classifier, Fittable, LossGradients, ClassGradients, NeuralNetwork, DecisionTrees)
EXPECTED = {
    "knn": (SklearnClassifier, {Classifier, Fittable}),
    "svc-rbf": (SklearnClassifier, {Classifier, Fittable}),
    "logreg": (SklearnLinearClassifier, {Classifier, Fittable, LossGradients, ClassGradients}),
    "linearsvc": (SklearnLinearClassifier, {Classifier, Fittable, LossGradients, ClassGradients}),
    "mlp": (
        SklearnMLPClassifier,
        {Classifier, Fittable, LossGradients, ClassGradients, NeuralNetwork},
    ),
    "tree": (SklearnTreeClassifier, {Classifier, Fittable, DecisionTrees}),
    "boosting": (SklearnTreeClassifier, {Classifier, Fittable, DecisionTrees}),
}
FACTORIES = {
    "knn": lambda: KNeighborsClassifier(5),
    "svc-rbf": lambda: SVC(kernel="rbf"),
    "logreg": lambda: LogisticRegression(max_iter=1000),
    "linearsvc": lambda: LinearSVC(max_iter=20000),
    "mlp": lambda: MLPClassifier((5,), max_iter=200, random_state=0),
    "tree": lambda: DecisionTreeClassifier(max_depth=3, random_state=0),
    "boosting": lambda: GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0),
}


@pytest.fixture(scope="module", params=sorted(FACTORIES))
def fitted(request: pytest.FixtureRequest, iris: tuple[np.ndarray, np.ndarray]) -> tuple[str, Any]:
    x, y = iris
    sub, div = standardisation_for(x)
    model = fit_quietly(FACTORIES[request.param](), (x - sub) / div, y)
    return request.param, wrap(model, preprocessing=(sub, div), clip_values=(0.0, 8.0))


def test_exact_capabilities(fitted: tuple[str, Any]) -> None:
    name, adapter = fitted
    cls, caps = EXPECTED[name]
    assert type(adapter) is cls
    assert {p for p in ALL if isinstance(adapter, p)} == caps
    for proto in caps:  # every claimed member is really there (no NotImplementedError stubs)
        for member in (
            "predict",
            "fit",
            "compute_loss",
            "class_gradient",
            "get_activations",
            "get_trees",
        ):
            if hasattr(proto, member):
                assert callable(getattr(adapter, member))


def test_properties(fitted: tuple[str, Any], iris: tuple[np.ndarray, np.ndarray]) -> None:
    _, adapter = fitted
    assert adapter.input_shape == (4,)
    assert adapter.nb_classes == 3
    assert isinstance(adapter.preprocessing, Standardisation)
    lo, hi = adapter.clip_values
    assert lo.dtype == np.float32 and float(lo) == 0.0 and float(hi) == 8.0
    assert adapter.model is not None and hasattr(adapter.model, "classes_")


def test_batch_size_invariance_and_small_batches(
    fitted: tuple[str, Any], iris: tuple[np.ndarray, np.ndarray]
) -> None:
    _, adapter = fitted
    x, y = iris
    full = adapter.predict(x, batch_size=1000)
    for bs in (1, 16, 149):
        np.testing.assert_allclose(adapter.predict(x, batch_size=bs), full, rtol=1e-6, atol=1e-7)
    assert adapter.predict(x[:0]).shape == (0, 3) and adapter.predict(x[:0]).dtype == np.float32
    np.testing.assert_allclose(adapter.predict(x[:1]), full[:1], rtol=1e-6, atol=1e-7)
    if isinstance(adapter, LossGradients):
        assert adapter.compute_loss(x[:0], y[:0]).shape == (0,)
        assert adapter.compute_loss(x[:0], y[:0], reduction="sum") == 0.0
        assert np.isnan(adapter.compute_loss(x[:0], y[:0], reduction="mean"))
        assert adapter.loss_gradient(x[:0], y[:0]).shape == (0, 4)
        assert adapter.class_gradient(x[:0]).shape == (0, 3, 4)
        assert adapter.class_gradient(x[:0], label=1).shape == (0, 1, 4)
        one = adapter.loss_gradient(x[5:6], y[5:6])
        np.testing.assert_allclose(
            one, adapter.loss_gradient(x[:10], y[:10])[5:6], rtol=1e-12, atol=1e-15
        )


def test_index_and_one_hot_labels_agree(
    fitted: tuple[str, Any], iris: tuple[np.ndarray, np.ndarray]
) -> None:
    _, adapter = fitted
    x, y = iris
    if not isinstance(adapter, LossGradients):  # labels only reach fit: same model either way
        a = wrap(clone(adapter.model), input_shape=(4,), nb_classes=3)
        b = wrap(clone(adapter.model), input_shape=(4,), nb_classes=3)
        a.fit(x, y)
        b.fit(x, np.eye(3)[y])
        np.testing.assert_array_equal(a.predict(x), b.predict(x))
        return
    x, y = x[::10], y[::10]
    one_hot = np.eye(3)[y]
    np.testing.assert_array_equal(adapter.compute_loss(x, y), adapter.compute_loss(x, one_hot))
    np.testing.assert_array_equal(
        adapter.loss_gradient(x, y), adapter.loss_gradient(x, one_hot.astype(np.float32))
    )


def test_inputs_are_never_mutated_and_read_only_inputs_work(
    fitted: tuple[str, Any], iris: tuple[np.ndarray, np.ndarray]
) -> None:
    _, adapter = fitted
    x, y = iris
    x = np.array(x[::7])
    y = np.array(y[::7])
    x_copy, y_copy = x.copy(), y.copy()
    x.setflags(write=False)
    y.setflags(write=False)
    adapter.predict(x)
    if isinstance(adapter, LossGradients):
        adapter.compute_loss(x, y)
        adapter.loss_gradient(x, y)
        adapter.class_gradient(x)
    if isinstance(adapter, NeuralNetwork):
        adapter.get_activations(x, 0)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(y, y_copy)
    # non-contiguous and integer inputs are accepted
    adapter.predict(np.asfortranarray(x))
    adapter.predict(x.astype(np.int64))


def test_bad_inputs_raise_typed_errors(
    fitted: tuple[str, Any], iris: tuple[np.ndarray, np.ndarray]
) -> None:
    _, adapter = fitted
    x, _ = iris
    with pytest.raises(InputShapeError, match=r"\(N, 4\)"):
        adapter.predict(x[:, :3])
    with pytest.raises(InputShapeError):
        adapter.predict(x[0])
    bad = x[:3].copy()
    bad[1, 2] = np.nan
    with pytest.raises(InputValueError, match="NaN"):
        adapter.predict(bad)
    with pytest.raises(ParameterError, match="batch_size"):
        adapter.predict(x, batch_size=0)
    if isinstance(adapter, LossGradients):
        with pytest.raises(LabelError, match=r"\[0, 3\)"):
            adapter.compute_loss(x[:2], [0, 3])
        with pytest.raises(LabelError):
            adapter.loss_gradient(x[:2], [0])
        with pytest.raises(LabelError):
            adapter.loss_gradient(x[:2], np.ones((2, 3)))
        with pytest.raises(ParameterError, match="reduction"):
            adapter.compute_loss(x[:2], [0, 1], reduction="avg")  # type: ignore[arg-type]
        with pytest.raises(LabelError, match="label"):
            adapter.class_gradient(x[:2], label=5)
        with pytest.raises(LabelError, match="label"):
            adapter.class_gradient(x[:2], label=[0, 1, 2])
        with pytest.raises(InputShapeError):
            adapter.loss_gradient(x[:2, :2], [0, 1])


def test_wrap_rejects_bad_arguments(iris: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = iris
    model = LogisticRegression(max_iter=500).fit(x, y)
    with pytest.raises(ParameterError, match="clip_values"):
        wrap(model, clip_values=(1.0, 0.0))
    with pytest.raises(ParameterError, match="clip_values"):
        wrap(model, clip_values=(np.zeros(3), np.ones(3)))
    with pytest.raises(ParameterError, match="preprocessing"):
        wrap(model, preprocessing=(0.0, 0.0))
    with pytest.raises(ParameterError, match="input_shape"):
        wrap(model, input_shape=(5,))
    with pytest.raises(ParameterError, match="nb_classes"):
        wrap(model, nb_classes=4)
    assert wrap(model, input_shape=(2, 2)).input_shape == (2, 2)


@pytest.mark.parametrize(
    "model",
    [LinearRegression(), StandardScaler(), object(), "LogisticRegression"],
    ids=["regressor", "transformer", "object", "string"],
)
def test_unsupported_models(model: Any) -> None:
    with pytest.raises(UnsupportedModelError, match="classifier"):
        wrap(model, input_shape=(4,))


def test_multi_output_models_are_unsupported(iris: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = iris
    model = DecisionTreeClassifier().fit(x, np.stack([y, y], axis=1))
    with pytest.raises(UnsupportedModelError, match="single-output"):
        wrap(model)
    multilabel = fit_quietly(MLPClassifier((3,), max_iter=20, random_state=0), x, np.eye(3)[y])
    with pytest.raises(UnsupportedModelError, match="multi-label"):
        wrap(multilabel)


def test_explicit_adapter_classes_check_the_model(iris: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = iris
    with pytest.raises(UnsupportedModelError):
        SklearnLinearClassifier(DecisionTreeClassifier().fit(x, y))
    with pytest.raises(UnsupportedModelError, match="kernel"):
        SklearnLinearClassifier(SVC(kernel="rbf").fit(x, y))
    with pytest.raises(UnsupportedModelError):
        SklearnTreeClassifier(LogisticRegression(max_iter=1000).fit(x, y))
    with pytest.raises(UnsupportedModelError):
        SklearnMLPClassifier(GaussianNB().fit(x, y))
    assert isinstance(
        SklearnClassifier(LogisticRegression(max_iter=1000).fit(x, y)), SklearnClassifier
    )


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_unfitted_models(name: str, iris: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = iris
    with pytest.raises(ParameterError, match="input_shape"):
        wrap(FACTORIES[name]())
    adapter = wrap(FACTORIES[name](), input_shape=(4,))
    assert type(adapter) is EXPECTED[name][0]
    with pytest.raises(NotFittedError, match="fit"):
        adapter.predict(x)
    with pytest.raises(NotFittedError):
        _ = adapter.nb_classes
    if isinstance(adapter, LossGradients):
        with pytest.raises(NotFittedError):
            adapter.loss_gradient(x, y)
        with pytest.raises(NotFittedError):
            adapter.class_gradient(x)
    fit_quietly(adapter, x, np.eye(3)[y])  # one-hot labels for a first fit
    assert adapter.nb_classes == 3
    assert adapter.predict(x).shape == (150, 3)


def test_fit_validates_before_touching_the_model(iris: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = iris
    model = LogisticRegression(max_iter=500).fit(x, y)
    coef = model.coef_.copy()
    adapter = wrap(model)
    with pytest.raises(LabelError, match="class"):
        adapter.fit(x[y < 2], y[y < 2])  # class 2 missing
    with pytest.raises(LabelError):
        adapter.fit(x, y[:-1])
    with pytest.raises(InputShapeError):
        adapter.fit(x[:, :3], y)
    with pytest.raises(ParameterError, match="nb_epochs"):
        adapter.fit(x, y, nb_epochs=0)
    np.testing.assert_array_equal(model.coef_, coef)


def test_fit_keeps_the_models_class_values(iris: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])
    model = LogisticRegression(max_iter=500).fit(x, names[y])
    adapter = wrap(model, preprocessing=(5.0, 2.0))
    adapter.fit(x, y)
    assert list(model.classes_) == list(names)
    np.testing.assert_allclose(model.predict_proba((x - 5.0) / 2.0), adapter.predict(x), rtol=1e-6)
    assert (adapter.predict(x).argmax(axis=1) == y).mean() > 0.9


def test_fit_generator_equals_fit_on_the_concatenation(iris: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = iris
    a = wrap(LogisticRegression(max_iter=1000), input_shape=(4,), nb_classes=3)
    b = wrap(LogisticRegression(max_iter=1000), input_shape=(4,), nb_classes=3)
    a.fit(x, y)
    b.fit_generator((x[i : i + 40], np.eye(3)[y[i : i + 40]]) for i in range(0, 150, 40))
    np.testing.assert_allclose(a.model.coef_, b.model.coef_, rtol=1e-10)
    with pytest.raises(ParameterError, match="generator"):
        b.fit_generator(iter([]))


def test_defences_and_postprocessing(iris: tuple[np.ndarray, np.ndarray]) -> None:
    """A smooth defence with its exact gradient, then standardisation: the chain is exact."""
    x, y = iris
    sub, div = standardisation_for(x)
    defence = FunctionPreprocessor(
        lambda v: v + 0.05 * v**2, gradient=lambda v, g: g * (1 + 0.1 * v)
    )
    model = fit_quietly(
        MLPClassifier((6,), activation="tanh", max_iter=300, random_state=0), (x - sub) / div, y
    )
    adapter = wrap(model, preprocessing=(sub, div), preprocessing_defences=[defence])
    probe = probe_points(x, 10)
    defended = probe + 0.05 * probe**2
    np.testing.assert_allclose(
        adapter.predict(probe), model.predict_proba((defended - sub) / div), rtol=1e-6
    )
    fd = central_difference(lambda v: adapter.compute_loss(v, y[:10]), probe)
    assert rel_err(adapter.loss_gradient(probe, y[:10]), fd) < 1e-5

    class Flip:
        apply_fit = False
        apply_predict = True

        def __call__(self, preds: np.ndarray) -> np.ndarray:
            return preds[:, ::-1].copy()

    flipped = wrap(model, preprocessing=(sub, div), postprocessing_defences=Flip())
    np.testing.assert_allclose(
        flipped.predict(probe), model.predict_proba((probe - sub) / div)[:, ::-1], rtol=1e-6
    )


def test_import_without_scikit_learn_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "from trustml.errors import MissingDependencyError\n"
        "try:\n    import trustml.adapters.sklearn\n"
        "except MissingDependencyError as e:\n    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert 'pip install "trustml[sklearn]"' in out


def test_first_fit_needs_every_class(iris: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = iris
    adapter = wrap(LogisticRegression(), input_shape=(4,))
    with pytest.raises(LabelError, match=r"class\(es\) \[1\]"):
        adapter.fit(x[y != 1], np.eye(3)[y[y != 1]])
    with pytest.raises(LabelError, match=r"class\(es\) \[1\]"):
        adapter.fit(x[y != 1], y[y != 1])
    with pytest.raises(LabelError):
        adapter.fit(x, np.array(["a", "b", "c"])[y])
    with pytest.raises(NotFittedError):
        adapter.predict(x)
