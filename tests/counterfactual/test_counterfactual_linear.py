"""Exact counterfactuals of linear models against independent scipy references (issue 14)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("sklearn")

from scipy.optimize import linprog, minimize
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from trustml.adapters.sklearn import wrap
from trustml.counterfactual import LMadCost, generate_counterfactual

MARGIN = 1e-6


@pytest.fixture(scope="module")
def cancer() -> tuple[Any, np.ndarray, np.ndarray]:
    x, y = load_breast_cancer(return_X_y=True)
    xs = StandardScaler().fit_transform(x)
    model = LogisticRegression(max_iter=5000).fit(xs, y)
    return wrap(model), xs, y


def _binary_constraint(clf: Any, x0: np.ndarray, target: int) -> tuple[np.ndarray, float]:
    """``a . d >= c`` in the model's own terms (sklearn coef_ / intercept_, not the accessor)."""
    w = clf.model.coef_[0]
    f0 = float(clf.model.decision_function(x0[None])[0])
    s = 1.0 if target == 1 else -1.0
    return s * w, MARGIN - s * f0


def _l1_reference(a: np.ndarray, c: float, free: np.ndarray) -> np.ndarray:
    """min sum(p + q), d = p - q, p, q >= 0, on the free features (split-variable LP)."""
    k = int(free.sum())
    af = a[free]
    res = linprog(
        np.ones(2 * k), A_ub=-np.concatenate([af, -af])[None], b_ub=[-c],
        bounds=[(0, None)] * (2 * k), method="highs",
    )
    assert res.status == 0
    d = np.zeros_like(a)
    d[free] = res.x[:k] - res.x[k:]
    return d


def test_breast_cancer_validity_100_percent(cancer: Any) -> None:
    clf, xs, y = cancer
    x = xs[::5]  # 114 inputs
    target = 1 - y[::5]
    for reg in ("l1", "l2", "linf"):
        out = generate_counterfactual(clf, x, target, regularization=reg)
        assert isinstance(out, dict)
        predicted = clf.model.predict(out["x_cf"])
        np.testing.assert_array_equal(predicted, target)
        np.testing.assert_array_equal(out["y_cf"], target)
        np.testing.assert_allclose(out["delta"], x - out["x_cf"])


def test_exact_l1_and_l2_match_scipy_reference(cancer: Any) -> None:
    clf, xs, y = cancer
    rows = np.arange(0, 569, 29)
    x, target = xs[rows], 1 - y[rows]
    l1 = generate_counterfactual(clf, x, target, regularization="l1")
    l2 = generate_counterfactual(clf, x, target, regularization="l2")
    assert isinstance(l1, dict) and isinstance(l2, dict)
    free = np.ones(x.shape[1], dtype=bool)
    for i in range(len(x)):
        a, c = _binary_constraint(clf, x[i], int(target[i]))
        d1 = _l1_reference(a, c, free)
        np.testing.assert_allclose(l1["x_cf"][i], x[i] + d1, atol=1e-6)
        d2 = max(c, 0.0) * a / (a @ a)  # closed form: projection onto the half-space
        np.testing.assert_allclose(l2["x_cf"][i], x[i] + d2, atol=1e-6)


def test_whitelist_of_three_features_is_honoured(cancer: Any) -> None:
    clf, xs, y = cancer
    whitelist = [0, 7, 21]  # mean radius, mean concave points, worst texture
    rows = np.arange(3, 569, 37)
    x, target = xs[rows], 1 - y[rows]
    free = np.zeros(x.shape[1], dtype=bool)
    free[whitelist] = True
    for reg in ("l1", "l2"):
        out = generate_counterfactual(clf, x, target, features_whitelist=whitelist,
                                      regularization=reg)
        assert isinstance(out, dict)
        np.testing.assert_array_equal(out["x_cf"][:, ~free], x[:, ~free])  # bit for bit
        np.testing.assert_array_equal(clf.model.predict(out["x_cf"]), target)
        for i in range(len(x)):
            a, c = _binary_constraint(clf, x[i], int(target[i]))
            if reg == "l1":
                d = _l1_reference(a, c, free)
            else:
                af = np.where(free, a, 0.0)
                d = max(c, 0.0) * af / (af @ af)
            np.testing.assert_allclose(out["x_cf"][i], x[i] + d, atol=1e-6)


def test_box_constraints_l2_matches_slsqp() -> None:
    x, y = load_breast_cancer(return_X_y=True)
    xs = StandardScaler().fit_transform(x)
    model = LogisticRegression(max_iter=5000).fit(xs, y)
    clip = (xs.min(axis=0), xs.max(axis=0))
    clf = wrap(model, clip_values=(clip[0] - 0.1, clip[1] + 0.1))
    assert clf.clip_values is not None  # stored as float32: use exactly those bounds
    lo, hi = (np.asarray(v, dtype=np.float64) for v in clf.clip_values)
    rows = np.arange(5, 569, 71)
    out = generate_counterfactual(clf, xs[rows], 1 - y[rows], regularization="l2")
    assert isinstance(out, dict)
    assert (out["x_cf"] >= lo).all() and (out["x_cf"] <= hi).all()
    assert ((out["x_cf"] == lo) | (out["x_cf"] == hi)).any()  # the box is active somewhere
    for i, r in enumerate(rows):
        a, c = _binary_constraint(clf, xs[r], int(1 - y[r]))
        res = minimize(
            lambda d: 0.5 * d @ d, np.zeros_like(a), jac=lambda d: d, method="SLSQP",
            bounds=list(zip(lo - xs[r], hi - xs[r])),
            constraints=[{"type": "ineq", "fun": lambda d, a=a, c=c: a @ d - c,
                          "jac": lambda d, a=a: a}],
            options={"ftol": 1e-15, "maxiter": 1000},
        )
        np.testing.assert_allclose(out["x_cf"][i], xs[r] + res.x, atol=1e-6)


@pytest.mark.parametrize("make", [
    lambda: LogisticRegression(max_iter=5000),
    lambda: LinearSVC(max_iter=20000),
])
def test_multiclass_exact_matches_references(make: Any) -> None:
    x, y = load_iris(return_X_y=True)
    model = make().fit(x, y)
    clf = wrap(model, preprocessing=(0.0, 1.0))
    rows = np.arange(0, 150, 13)
    target = (y[rows] + 1) % 3
    w, b = model.coef_, model.intercept_
    for reg in ("l1", "l2"):
        out = generate_counterfactual(clf, x[rows], target, regularization=reg)
        assert isinstance(out, dict)
        np.testing.assert_array_equal(model.predict(out["x_cf"]), target)
        for i, r in enumerate(rows):
            t = int(target[i])
            others = [j for j in range(3) if j != t]
            a = w[t] - w[others]
            c = MARGIN - (a @ x[r] + b[t] - b[others])
            if reg == "l1":
                res = linprog(np.ones(8), A_ub=-np.hstack([a, -a]), b_ub=-c,
                              bounds=[(0, None)] * 8, method="highs")
                d = res.x[:4] - res.x[4:]
                np.testing.assert_allclose(np.abs(x[r] - out["x_cf"][i]).sum(), np.abs(d).sum(),
                                           atol=1e-6)
            else:
                res = minimize(lambda d: 0.5 * d @ d, np.zeros(4), jac=lambda d: d,
                               method="SLSQP",
                               constraints=[{"type": "ineq", "fun": lambda d, a=a, c=c: a @ d - c,
                                             "jac": lambda d, a=a: a}],
                               options={"ftol": 1e-15, "maxiter": 1000})
                np.testing.assert_allclose(out["x_cf"][i], x[r] + res.x, atol=1e-6)


def test_lmad_cost_weights_the_exact_l1(cancer: Any) -> None:
    clf, xs, y = cancer
    from scipy.stats import median_abs_deviation

    mad = median_abs_deviation(xs, axis=0)
    x, target = xs[:6], 1 - y[:6]
    out = generate_counterfactual(clf, x, target, regularization=LMadCost(x, mad))
    assert isinstance(out, dict)
    for i in range(len(x)):
        a, c = _binary_constraint(clf, x[i], int(target[i]))
        # weighted L1: the whole change goes to the feature with the largest |a_i| * mad_i
        j = int(np.argmax(np.abs(a) * mad))
        d = np.zeros_like(a)
        d[j] = max(c, 0.0) / a[j]
        np.testing.assert_allclose(out["x_cf"][i], x[i] + d, atol=1e-6)
