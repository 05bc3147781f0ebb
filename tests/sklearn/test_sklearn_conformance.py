"""The conformance kit over every scikit-learn adapter type (with non-trivial standardisation)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import ExtraTreesClassifier, GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.svm import LinearSVC
from sklearn_helpers import fit_quietly

from trustml.adapters.sklearn import wrap

conformance = pytest.importorskip("trustml.conformance")
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

MODELS: dict[str, tuple[Any, dict[str, str]]] = {
    "logreg": (lambda: LogisticRegression(max_iter=1000), {}),
    "linearsvc": (lambda: LinearSVC(max_iter=20000), {}),
    "mlp-pipeline": (
        lambda: Pipeline(
            [("m", MinMaxScaler()), ("c", MLPClassifier((6,), max_iter=300, random_state=0))]
        ),
        {},
    ),
    "extra-trees": (lambda: ExtraTreesClassifier(n_estimators=4, max_depth=3, random_state=0), {}),
    "boosting": (
        lambda: GradientBoostingClassifier(n_estimators=4, max_depth=2, random_state=0),
        {},
    ),
    "naive-bayes": (lambda: GaussianNB(), {}),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_conformance(name: str, iris: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = iris
    factory, expected = MODELS[name]
    adapter = wrap(
        fit_quietly(factory(), x, y),
        preprocessing=(x.mean(axis=0), x.std(axis=0)),
        clip_values=(0.0, 8.0),
    )
    report = conformance.check_estimator(adapter, expected_failed_checks=expected, verbose=False)
    report.raise_for_failures(strict=True)


def test_the_kit_leaves_a_fitted_models_weights_alone() -> None:
    """The fit checks train a deep copy: the caller's fitted model predicts as before, even
    when the kit's two-sample probe is refused (scikit-learn needs every class to fit)."""
    import warnings

    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier

    from trustml.adapters.sklearn import wrap
    from trustml.conformance import check_estimator

    x, y = load_digits(return_X_y=True)
    x = x[:300] / 16.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = wrap(MLPClassifier((16,), max_iter=50, random_state=0).fit(x, y[:300]))
        before = clf.predict(x)
        check_estimator(clf, data=(x[:20], y[:20]), seed=0)
    np.testing.assert_array_equal(clf.predict(x), before)
