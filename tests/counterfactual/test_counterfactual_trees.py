"""Exact tree counterfactuals against brute force over every leaf (issue 14)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import load_iris, load_wine
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

from trustml.adapters.sklearn import wrap
from trustml.counterfactual import CounterfactualNotFoundError, generate_counterfactual
from trustml.errors import CapabilityError, UnsupportedModelError


def _sk_boxes(estimator: Any, n_features: int) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """Every leaf of a fitted sklearn tree as (lo, hi, node) read from ``tree_`` directly:
    ``lo < x <= hi`` in float32-rounded model units (as sklearn compares)."""
    t = estimator.tree_
    out = []

    def walk(node: int, lo: np.ndarray, hi: np.ndarray) -> None:
        if t.children_left[node] == -1:
            out.append((lo, hi, node))
            return
        f, thr = t.feature[node], t.threshold[node]
        h = hi.copy()
        h[f] = min(h[f], thr)
        walk(t.children_left[node], lo, h)
        lo2 = lo.copy()
        lo2[f] = max(lo2[f], thr)
        walk(t.children_right[node], lo2, hi)

    walk(0, np.full(n_features, -np.inf), np.full(n_features, np.inf))
    return out


def _project(x0: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Closest point of ``lo < x <= hi`` (strictness: the next float32 above ``lo``, as sklearn
    casts inputs to float32 before comparing)."""
    lo_closed = np.where(np.isinf(lo), lo, np.nextafter(lo.astype(np.float32), np.float32(np.inf)))
    hi_closed = np.where(np.isinf(hi), hi, hi.astype(np.float32).astype(np.float64))
    hi_closed = np.where(hi_closed > hi, np.nextafter(hi_closed.astype(np.float32), -np.inf),
                         hi_closed)
    return np.clip(x0, lo_closed.astype(np.float64), hi_closed.astype(np.float64))


def _norm(d: np.ndarray, norm: str) -> float:
    if norm == "l1":
        return float(np.abs(d).sum())
    if norm == "l2":
        return float(np.sqrt((d * d).sum()))
    return float(np.abs(d).max())


@pytest.mark.parametrize("loader", [load_iris, load_wine])
@pytest.mark.parametrize("norm", ["l1", "l2", "linf"])
def test_decision_tree_exact_distance_equals_brute_force(loader: Any, norm: str) -> None:
    x, y = loader(return_X_y=True)
    model = DecisionTreeClassifier(max_depth=4, random_state=0).fit(x, y)
    clf = wrap(model)
    rows = np.arange(0, len(x), 9)
    target = (y[rows] + 1) % 3
    out = generate_counterfactual(clf, x[rows], target, regularization=norm)
    assert isinstance(out, dict)
    np.testing.assert_array_equal(model.predict(out["x_cf"]), target)
    boxes = _sk_boxes(model, x.shape[1])
    for i, r in enumerate(rows):
        best = np.inf
        for lo, hi, _ in boxes:  # brute force: every leaf, classified by the model itself
            p = _project(x[r], lo, hi)
            if model.predict(p[None])[0] == target[i]:
                best = min(best, _norm(p - x[r], norm))
        found = _norm(out["x_cf"][i] - x[r], norm)
        np.testing.assert_allclose(found, best, rtol=1e-6, atol=1e-6)


def test_small_forest_exact_distance_equals_brute_force_over_leaf_combinations() -> None:
    x, y = load_iris(return_X_y=True)
    model = RandomForestClassifier(n_estimators=3, max_depth=2, random_state=0).fit(x, y)
    clf = wrap(model)
    rows = np.arange(0, 150, 25)
    target = (y[rows] + 1) % 3
    out = generate_counterfactual(clf, x[rows], target, regularization="l1")
    assert isinstance(out, dict)
    np.testing.assert_array_equal(model.predict(out["x_cf"]), target)
    per_tree = [_sk_boxes(est, 4) for est in model.estimators_]
    for i, r in enumerate(rows):
        best = np.inf
        for combo in itertools.product(*per_tree):
            lo = np.max([c[0] for c in combo], axis=0)
            hi = np.min([c[1] for c in combo], axis=0)
            if (lo >= hi).any():
                continue
            p = _project(x[r], lo, hi)
            if model.predict(p[None])[0] == target[i]:
                best = min(best, _norm(p - x[r], "l1"))
        np.testing.assert_allclose(_norm(out["x_cf"][i] - x[r], "l1"), best, rtol=1e-6, atol=1e-6)


def test_tree_whitelist_and_clip_values() -> None:
    x, y = load_wine(return_X_y=True)
    model = DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, y)
    clip = (x.min(axis=0), x.max(axis=0))
    clf = wrap(model, clip_values=clip)
    whitelist = [6, 9, 12]
    rows = np.arange(0, 178, 20)
    target = (y[rows] + 1) % 3
    free = np.zeros(13, dtype=bool)
    free[whitelist] = True
    try:
        out = generate_counterfactual(clf, x[rows], target, features_whitelist=whitelist)
        assert isinstance(out, dict)
        x_cf, found = out["x_cf"], np.ones(len(rows), dtype=bool)
    except CounterfactualNotFoundError as exc:  # some rows have none on 3 features
        x_cf, found = exc.x_cf, exc.found
    assert found.sum() >= len(rows) // 2
    np.testing.assert_array_equal(x_cf[:, ~free], x[rows][:, ~free])
    assert clf.clip_values is not None
    lo, hi = (np.asarray(v, np.float64) for v in clf.clip_values)
    assert (x_cf[found] >= lo).all() and (x_cf[found] <= hi).all()
    np.testing.assert_array_equal(model.predict(x_cf[found]), target[found])


def test_boosting_has_no_exact_solver() -> None:
    x, y = load_iris(return_X_y=True)
    clf = wrap(GradientBoostingClassifier(n_estimators=3, max_depth=1).fit(x, y))
    with pytest.raises(UnsupportedModelError, match="optimizer"):
        generate_counterfactual(clf, x[:2], 2, optimizer="exact")
    with pytest.raises(CapabilityError, match="optimizer"):
        generate_counterfactual(clf, x[:2], 2, regularization=None, optimizer="exact")
