"""Exact minimal counterfactuals of linear classifiers (beyond CEML, which optimises them).

For a classifier whose decision is an affine map of the raw input, ``f(x) = W x + b`` (binary:
class 1 when ``f > 0``; multiclass: ``argmax f``), the inputs classified as the target ``t`` form
a polyhedron: ``s (w.x + b) >= margin`` with ``s = +1`` for ``t = 1`` and ``-1`` for ``t = 0``
(binary), or ``(w_t - w_j).x + b_t - b_j >= margin`` for every ``j != t`` (multiclass). With the
features outside the whitelist fixed and ``clip_values`` as a box, the closest point in

- weighted L1 (``sum_i v_i |d_i|``, e.g. ``v = 1 / mad``) and Linf is a linear programme, solved by
  ``scipy.optimize.linprog`` (HiGHS);
- L2 is a strictly convex quadratic programme, solved through its dual (a bound-constrained smooth
  concave maximisation, by L-BFGS-B) and then polished on the active set found (the KKT system,
  solved exactly); the polished point is kept when it satisfies every KKT condition.

The strict inequality of ``predict`` is kept by ``margin`` (decision units, plus a few float
rounding units of the output dtype), so the counterfactual is classified as the target.

References
----------
Artelt, Hammer, "On the computation of counterfactual explanations -- A survey", 2019, section 4
(linear models: convex programmes); Ustun, Spangher, Liu, "Actionable recourse in linear
classification", FAT* 2019.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

__all__ = ["LinearDecision", "Norm", "linear_counterfactual"]

F64 = NDArray[np.float64]
Norm = Literal["l1", "l2", "linf"]


@runtime_checkable
class LinearDecision(Protocol):
    """A classifier whose decision is an affine map of the raw input (e.g. the scikit-learn
    linear adapter, :meth:`~trustml.adapters.sklearn.SklearnLinearClassifier.linear_decision`)."""

    def linear_decision(self) -> tuple[F64, F64]:
        """``(coef (R, F), intercept (R,))`` float64: ``f(x) = x.reshape(N, -1) @ coef.T +
        intercept``; binary models (``R = 1``) predict ``f > 0``, others ``argmax f``."""
        ...


def _constraints(coef: F64, intercept: F64, target: int) -> tuple[F64, F64]:
    """``(A, c)`` such that the target is predicted where ``A x + c >= 0``."""
    if coef.shape[0] == 1:
        s = 1.0 if target == 1 else -1.0
        return s * coef, s * intercept
    others = np.array([j for j in range(coef.shape[0]) if j != target])
    return coef[target] - coef[others], intercept[target] - intercept[others]


def _bound(v: float | None) -> float | None:
    return None if v is None or np.isinf(v) else float(v)


def _lp(
    norm: Norm, a: F64, c: F64, lo: F64, hi: F64, weights: F64
) -> F64 | None:
    """Minimise the weighted L1 or the Linf norm of ``d`` s.t. ``a d >= c``, ``lo <= d <= hi``."""
    from scipy.optimize import linprog

    m, k = a.shape
    if norm == "l1":
        cost = np.concatenate([np.zeros(k), weights])
        eye = np.eye(k)
        a_ub = np.vstack([
            np.hstack([eye, -eye]), np.hstack([-eye, -eye]), np.hstack([-a, np.zeros((m, k))])
        ])
        bounds = [*zip(lo, hi, strict=True), *([(0.0, None)] * k)]
    else:
        cost = np.concatenate([np.zeros(k), [1.0]])
        ones = np.ones((k, 1))
        a_ub = np.vstack([
            np.hstack([np.eye(k), -ones]), np.hstack([-np.eye(k), -ones]),
            np.hstack([-a, np.zeros((m, 1))]),
        ])
        bounds = [*zip(lo, hi, strict=True), (0.0, None)]
    b_ub = np.concatenate([np.zeros(2 * k), -c])
    bounds = [(_bound(lo_), _bound(hi_)) for lo_, hi_ in bounds]
    res = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if res.status != 0:
        return None
    out: F64 = np.asarray(res.x, dtype=np.float64)[:k]
    return out


def _feasible(a: F64, c: F64, lo: F64, hi: F64) -> bool:
    from scipy.optimize import linprog

    bounds = [(_bound(lo_), _bound(hi_)) for lo_, hi_ in zip(lo, hi, strict=True)]
    res = linprog(np.zeros(a.shape[1]), A_ub=-a, b_ub=-c, bounds=bounds, method="highs")
    return bool(res.status == 0)


def _qp(a: F64, c: F64, lo: F64, hi: F64) -> F64 | None:
    """Minimise ``||d||_2`` s.t. ``a d >= c``, ``lo <= d <= hi`` (dual, then KKT polish)."""
    from scipy.optimize import minimize

    if (c <= 0).all() and (lo <= 0).all() and (hi >= 0).all():
        return np.zeros(a.shape[1])
    if not _feasible(a, c, lo, hi):
        return None

    def primal(mu: F64) -> F64:
        out: F64 = np.clip(a.T @ mu, lo, hi)
        return out

    def neg_dual(mu: F64) -> tuple[float, F64]:
        d = primal(mu)
        q = 0.5 * d @ d - mu @ (a @ d - c)
        return -float(q), -(c - a @ d)

    m = a.shape[0]
    res = minimize(
        neg_dual, np.zeros(m), jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * m,
        options={"maxiter": 10_000, "ftol": 0.0, "gtol": 1e-14, "maxcor": 50},
    )
    mu = np.maximum(np.asarray(res.x, dtype=np.float64), 0.0)
    d = primal(mu)
    polished = _polish(a, c, lo, hi, mu)
    if polished is not None:
        return polished
    return d


def _polish(a: F64, c: F64, lo: F64, hi: F64, mu: F64) -> F64 | None:
    """Solve the KKT system on the active set guessed from the dual; None unless it checks."""
    scale = max(1.0, float(np.abs(c).max()))
    z = a.T @ mu
    clamped_lo = z < lo
    clamped_hi = z > hi
    free = ~(clamped_lo | clamped_hi)
    d = np.where(clamped_lo, lo, np.where(clamped_hi, hi, 0.0))
    active = np.flatnonzero(mu > 1e-12 * max(1.0, float(mu.max(initial=0.0))))
    if active.size:
        a_s = a[active][:, free]
        rhs = c[active] - a[active][:, ~free] @ d[~free]
        try:
            nu = np.linalg.solve(a_s @ a_s.T, rhs)
        except np.linalg.LinAlgError:
            return None
        if (nu < -1e-12).any():
            return None
        d[free] = a_s.T @ nu
        full_mu = np.zeros_like(mu)
        full_mu[active] = nu
        z = a.T @ full_mu
        # the clamped coordinates must still want to leave the box
        if (z[clamped_lo] > lo[clamped_lo] + 1e-12).any() or (
            z[clamped_hi] < hi[clamped_hi] - 1e-12
        ).any():
            return None
    tol = 1e-10 * scale
    if (d < lo - tol).any() or (d > hi + tol).any() or (a @ d < c - tol).any():
        return None
    out: F64 = np.clip(d, lo, hi)
    return out


def linear_counterfactual(
    coef: F64,
    intercept: F64,
    x: F64,
    targets: NDArray[np.int64],
    *,
    norm: Norm = "l1",
    free: NDArray[np.bool_] | None = None,
    clip_values: tuple[F64, F64] | None = None,
    weights: F64 | None = None,
    margin: float = 1e-6,
    dtype: Any = np.float64,
) -> tuple[F64, NDArray[np.bool_]]:
    """The closest input classified as the target, for each row.

    Parameters
    ----------
    coef, intercept : numpy.ndarray
        ``(R, F)`` and ``(R,)``: the decision function (see :class:`LinearDecision`).
    x : numpy.ndarray
        ``(N, F)`` float64 flattened original inputs.
    targets : numpy.ndarray
        ``(N,)`` int64 target classes.
    norm : {"l1", "l2", "linf"}
        The distance minimised (``"l1"`` weighted by ``weights``).
    free : numpy.ndarray, optional
        ``(F,)`` bool: the features that may change (the whitelist); all by default.
    clip_values : (min, max), optional
        ``(F,)`` float64 bounds of the counterfactual.
    weights : numpy.ndarray, optional
        ``(F,)`` > 0 weights of the L1 norm (``1 / mad`` for :class:`LMadCost`).
    margin : float
        The target's decision must exceed the others by at least this (decision units), raised
        to ``8 eps(dtype) (|A| |x| + |c|)`` where that is larger so that rounding the result to
        ``dtype`` keeps the class.
    dtype : numpy dtype
        The dtype the caller will round the result to.

    Returns
    -------
    x_cf : numpy.ndarray
        ``(N, F)`` float64: the counterfactuals (the original row where none exists).
    found : numpy.ndarray
        ``(N,)`` bool: False where no input in the box with the whitelist is classified as the
        target (the programme is infeasible).
    """
    n, f = x.shape
    keep = np.ones(f, dtype=bool) if free is None else free
    idx = np.flatnonzero(keep)
    lo_all = np.full(f, -np.inf) if clip_values is None else clip_values[0]
    hi_all = np.full(f, np.inf) if clip_values is None else clip_values[1]
    w = np.ones(f) if weights is None else weights
    eps = float(np.finfo(np.dtype(dtype)).eps) if np.dtype(dtype).kind == "f" else 0.0
    out = x.copy()
    found = np.zeros(n, dtype=bool)
    for i in range(n):
        a_full, c0 = _constraints(coef, intercept, int(targets[i]))
        slack = a_full @ x[i] + c0  # >= margin where already classified as the target
        rounding = 8 * eps * (np.abs(a_full) @ np.abs(x[i]) + np.abs(c0))
        need = np.maximum(margin, rounding) - slack  # a d >= need
        a = a_full[:, idx]
        if ((~keep) & ((x[i] < lo_all) | (x[i] > hi_all))).any():
            continue  # a fixed feature lies outside clip_values
        lo = lo_all[idx] - x[i, idx]
        hi = hi_all[idx] - x[i, idx]
        if norm == "l2":
            d = _qp(a, need, lo, hi)
        else:
            d = _lp(norm, a, need, lo, hi, w[idx])
        if d is None:
            continue
        out[i, idx] = x[i, idx] + d
        found[i] = True
    return out, found
