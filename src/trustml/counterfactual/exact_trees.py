"""Exact minimal counterfactuals of decision trees and small tree ensembles, by leaf enumeration
(beyond CEML, which handles single trees).

Each leaf of a tree is a box of the input space: ``lo < x_f <= hi`` on the features of its path
(``x_f <= threshold`` to the left, as :mod:`trustml.trees`). The closest point of a box in any
of the separable norms used here (weighted L1, L2, Linf) is the coordinate-wise projection, so:

- a single tree: the counterfactual is the projection onto the nearest box among the leaves
  predicting the target;
- an ensemble (random forest, extra trees: every tree holds class scores, ``class_id`` None): a
  depth-first search over one leaf per tree, intersecting boxes and adding weighted leaf values,
  pruned when the box is empty or already farther than the best found; exponential in the number
  of trees in the worst case, meant for forests of a few depth-limited trees.

Features outside the whitelist must already lie in the box; ``clip_values`` intersect every box.
Both sides keep one float64 ulp away from a threshold (``x_f <= nextafter(threshold, -inf)``,
``x_f >= nextafter(threshold, +inf)``), so a model that rounds its inputs (scikit-learn compares in
float32; the adapter's thresholds are the rounding boundaries) takes the same branch on the result:
the distance found is the exact minimum up to that one ulp.

References
----------
Artelt, Hammer, "On the computation of counterfactual explanations -- A survey", 2019 (trees);
Cui, Chen, He, Chen, "Optimal action extraction for random forests and boosted trees", KDD 2015.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from trustml.counterfactual.exact_linear import Norm
from trustml.errors import UnsupportedModelError
from trustml.trees import Leaf, Tree, TreeNode

__all__ = ["leaf_boxes", "tree_counterfactual"]

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class _Box:
    lo: F64  # closed lower bound (the next float above a strict threshold)
    hi: F64  # closed upper bound
    value: F64  # weighted leaf value


def leaf_boxes(tree: Tree, n_features: int) -> list[tuple[F64, F64, Leaf]]:
    """Every leaf of ``tree`` with its closed box ``lo <= x <= hi`` (float64 ``(F,)`` each), one
    ulp inside each threshold."""
    out: list[tuple[F64, F64, Leaf]] = []
    stack: list[tuple[TreeNode, F64, F64]] = [
        (tree.root, np.full(n_features, -np.inf), np.full(n_features, np.inf))
    ]
    while stack:
        node, lo, hi = stack.pop()
        if isinstance(node, Leaf):
            out.append((lo, hi, node))
            continue
        left_hi = hi.copy()
        left_hi[node.feature] = min(hi[node.feature], float(np.nextafter(node.threshold, -np.inf)))
        right_lo = lo.copy()
        right_lo[node.feature] = max(lo[node.feature], float(np.nextafter(node.threshold, np.inf)))
        stack.append((node.right, right_lo, hi))
        stack.append((node.left, lo, left_hi))
    return out


def _distance(d: F64, norm: Norm, weights: F64) -> float:
    if norm == "l1":
        return float(np.sum(weights * np.abs(d)))
    if norm == "l2":
        return float(np.sqrt(np.sum(d * d)))
    return float(np.max(np.abs(d), initial=0.0))


def tree_counterfactual(
    trees: list[Tree],
    x: F64,
    targets: NDArray[np.int64],
    nb_classes: int,
    *,
    norm: Norm = "l1",
    free: NDArray[np.bool_] | None = None,
    clip_values: tuple[F64, F64] | None = None,
    weights: F64 | None = None,
) -> tuple[F64, NDArray[np.bool_]]:
    """The closest input the ensemble classifies as the target, for each row.

    Parameters
    ----------
    trees : list of Tree
        From ``DecisionTrees.get_trees()``; every tree must hold class scores (``class_id`` None).
    x : numpy.ndarray
        ``(N, F)`` float64 flattened original inputs.
    targets : numpy.ndarray
        ``(N,)`` int64.
    nb_classes : int
    norm, free, clip_values, weights
        As :func:`~trustml.counterfactual.exact_linear.linear_counterfactual`.

    Returns
    -------
    x_cf : numpy.ndarray
        ``(N, F)`` float64 (the original row where none exists).
    found : numpy.ndarray
        ``(N,)`` bool.

    Raises
    ------
    UnsupportedModelError
        A tree adds to one class's score (gradient boosting: its prediction also depends on a
        prior this structure does not carry).
    """
    if any(t.class_id is not None for t in trees) or not trees:
        raise UnsupportedModelError(
            "model: exact tree counterfactuals need trees holding class scores (decision trees, "
            "random forests, extra trees); got one-vs-rest boosting stages"
        )
    n, f = x.shape
    keep = np.ones(f, dtype=bool) if free is None else free
    w = np.ones(f) if weights is None else weights
    lo_clip = np.full(f, -np.inf) if clip_values is None else clip_values[0]
    hi_clip = np.full(f, np.inf) if clip_values is None else clip_values[1]
    per_tree: list[list[_Box]] = []
    for tree in trees:
        boxes = []
        for lo, hi, leaf in leaf_boxes(tree, f):
            lo2, hi2 = np.maximum(lo, lo_clip), np.minimum(hi, hi_clip)
            if (lo2 <= hi2).all():
                boxes.append(_Box(lo2, hi2, tree.weight * np.asarray(leaf.value, np.float64)))
        per_tree.append(boxes)
    out = x.copy()
    found = np.zeros(n, dtype=bool)
    for i in range(n):
        best = _search(per_tree, x[i], int(targets[i]), nb_classes, norm, keep, w)
        if best is not None:
            out[i] = best
            found[i] = True
    return out, found


def _search(
    per_tree: list[list[_Box]],
    x0: F64,
    target: int,
    nb_classes: int,
    norm: Norm,
    keep: NDArray[np.bool_],
    w: F64,
) -> F64 | None:
    best: list[F64 | None] = [None]
    best_d = [np.inf]
    fixed = ~keep

    def visit(k: int, lo: F64, hi: F64, score: F64) -> None:
        p = np.clip(x0, lo, hi)
        if _distance(p - x0, norm, w) >= best_d[0]:
            return
        if k == len(per_tree):
            if int(np.argmax(score[:nb_classes])) == target:
                best[0], best_d[0] = p, _distance(p - x0, norm, w)
            return
        # visit the nearest boxes first so that pruning bites early
        candidates = []
        for box in per_tree[k]:
            lo2, hi2 = np.maximum(lo, box.lo), np.minimum(hi, box.hi)
            if (lo2 > hi2).any() or (fixed & ((x0 < lo2) | (x0 > hi2))).any():
                continue
            candidates.append((_distance(np.clip(x0, lo2, hi2) - x0, norm, w), lo2, hi2, box))
        candidates.sort(key=lambda t: t[0])
        for _, lo2, hi2, box in candidates:
            visit(k + 1, lo2, hi2, score + box.value)

    f = x0.shape[0]
    visit(0, np.full(f, -np.inf), np.full(f, np.inf), np.zeros(nb_classes))
    return best[0]
