"""DecisionTrees checks: the structure get_trees returns."""

from __future__ import annotations

import numpy as np

from trustml.conformance._context import Context, require_true
from trustml.conformance._registry import register
from trustml.trees import Leaf, SplitNode, Tree


@register("trees_structure", "DecisionTrees")
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


@register("trees_decision", "DecisionTrees")
def check_decision(ctx: Context) -> None:
    """Each tree routes every sample to a leaf: ``decision(x)`` has shape ``(N, outputs)``."""
    x = ctx.inputs()
    for t, tree in enumerate(ctx.estimator.get_trees()):
        out = tree.decision(x.reshape(len(x), -1))
        require_true(out.shape[0] == len(x) and bool(np.isfinite(out).all()),
                     f"tree {t}: decision on {len(x)} samples gave shape {out.shape}")
