"""DecisionTrees checks: the structure get_trees returns."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from trustml.conformance._context import BATCH, Context, check, fail, require_true
from trustml.conformance._failures import NotApplicable
from trustml.conformance._tolerance import tolerance_for
from trustml.trees import Leaf, SplitNode, Tree


@check("trees_structure", "DecisionTrees")
def check_structure(ctx: Context) -> None:
    """get_trees returns a non-empty list of trustml Trees whose splits index the flattened input,
    with finite thresholds, finite 1-D leaf values of one length per tree, positive finite weights
    and class_id None or a valid class."""
    trees = ctx.estimator.get_trees()
    require_true(isinstance(trees, list) and len(trees) > 0,
                 f"get_trees: expected a non-empty list, got {type(trees).__name__}")
    n_features = int(np.prod(ctx.input_shape))
    k = getattr(ctx.estimator, "nb_classes", None)
    for t, tree in enumerate(trees):
        require_true(isinstance(tree, Tree), f"get_trees()[{t}]: expected a trustml.trees.Tree, "
                     f"got {type(tree).__name__}")
        require_true(np.isfinite(tree.weight) and tree.weight > 0,
                     f"tree {t}: expected a positive finite weight, got {tree.weight}")
        if tree.class_id is not None and isinstance(k, int):
            require_true(0 <= tree.class_id < k, f"tree {t}: class_id {tree.class_id} outside "
                         f"[0, {k})")
        widths = set()
        stack = [tree.root]
        while stack:
            node = stack.pop()
            if isinstance(node, SplitNode):
                require_true(0 <= node.feature < n_features, f"tree {t} node {node.node_id}: "
                             f"feature {node.feature} outside [0, {n_features})")
                require_true(bool(np.isfinite(node.threshold)), f"tree {t} node {node.node_id}: "
                             f"threshold {node.threshold} is not finite")
                stack.extend((node.left, node.right))
            else:
                require_true(isinstance(node, Leaf), f"tree {t}: unexpected node "
                             f"{type(node).__name__}")
                v = np.asarray(node.value)
                require_true(v.ndim == 1 and bool(np.isfinite(v).all()),
                             f"tree {t} leaf {node.node_id}: expected finite 1-D values, got {v}")
                widths.add(v.shape[0])
        require_true(len(widths) == 1, f"tree {t}: leaves of different lengths {sorted(widths)}")
        if tree.class_id is None and isinstance(k, int) and k > 2:
            require_true(widths == {k}, f"tree {t}: class_id None but leaves hold {widths} values, "
                         f"expected nb_classes={k}")


def _cell(trees: list[Tree], row: NDArray[np.float64]) -> tuple[NDArray[np.float64],
                                                               NDArray[np.float64]]:
    """The box ``(lo, hi]`` per feature of the points that reach the same leaf as ``row`` in every
    tree (the intersection of the leaves' cells)."""
    lo = np.full(row.shape, -np.inf)
    hi = np.full(row.shape, np.inf)
    for tree in trees:
        node = tree.root
        while isinstance(node, SplitNode):
            if row[node.feature] <= node.threshold:
                hi[node.feature] = min(hi[node.feature], node.threshold)
                node = node.left
            else:
                lo[node.feature] = max(lo[node.feature], node.threshold)
                node = node.right
    return lo, hi


def _same_leaves_point(ctx: Context, trees: list[Tree], x: NDArray[np.float64],
                       rng: np.random.Generator) -> NDArray[np.float64]:
    """For each row of ``x``, another point of its cell (see :func:`_cell`): every coordinate
    drawn in the middle 80% of its interval, bounded by ``clip_values`` (else by 3 ``scale``
    around the row); a coordinate whose interval is narrower than 1e-4 ``scale`` is kept."""
    clip = getattr(ctx.estimator, "clip_values", None)
    n_features = x.shape[1]
    if clip is not None:
        c_lo = np.broadcast_to(np.asarray(clip[0], np.float64), ctx.input_shape).reshape(-1)
        c_hi = np.broadcast_to(np.asarray(clip[1], np.float64), ctx.input_shape).reshape(-1)
    out = x.copy()
    for i, row in enumerate(x):
        lo, hi = _cell(trees, row)
        bound_lo = c_lo if clip is not None else row - 3 * ctx.scale
        bound_hi = c_hi if clip is not None else row + 3 * ctx.scale
        lo, hi = np.maximum(lo, bound_lo), np.minimum(hi, bound_hi)
        width = hi - lo
        move = width > 1e-4 * ctx.scale
        u = rng.uniform(0.1, 0.9, size=n_features)
        out[i, move] = (lo + u * width)[move]
    return out


@check("trees_decision", "DecisionTrees")
def check_decision(ctx: Context) -> None:
    """The trees describe the model predict runs: every tree routes every sample to a finite leaf,
    and a second point that reaches the same leaf in every tree (drawn inside the intersection of
    the leaves' cells) gets the same predict scores."""
    x = ctx.inputs().astype(np.float64).reshape(BATCH, -1)
    trees = ctx.estimator.get_trees()
    for t, tree in enumerate(trees):
        out = tree.decision(x)
        require_true(out.shape[0] == len(x) and bool(np.isfinite(out).all()),
                     f"tree {t}: decision on {len(x)} samples gave shape {out.shape}")
    if not hasattr(ctx.estimator, "predict"):
        raise NotApplicable("the object has no predict to compare the trees' decisions with")
    moved = _same_leaves_point(ctx, trees, x, ctx.rng("cell"))
    shape = (BATCH, *ctx.input_shape)
    before = np.asarray(ctx.estimator.predict(x.reshape(shape).astype(np.float32)))
    after = np.asarray(ctx.estimator.predict(moved.reshape(shape).astype(np.float32)))
    tol = tolerance_for(before.dtype, after.dtype)
    differ = ~tol.close(after, before).all(axis=1)
    if differ.any():
        i = int(np.argmax(differ))
        changed = np.flatnonzero(np.abs(moved[i] - x[i]) > 0)
        raise fail(f"predict differs at {int(differ.sum())} of {BATCH} pairs of points that reach "
                   f"the same leaf in every tree of get_trees(); e.g. sample {i}: scores "
                   f"{before[i].tolist()} vs {after[i].tolist()} after moving features "
                   f"{changed.tolist()[:6]} inside the leaves' cells: the trees do not describe "
                   "the model predict runs (thresholds in standardised units? features "
                   "permuted? trees missing?)")
