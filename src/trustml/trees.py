"""A framework-neutral description of decision trees, returned by ``DecisionTrees.get_trees``.

A tree is a binary structure of :class:`SplitNode` (go left when ``x[feature] <= threshold``, the
convention of scikit-learn) and :class:`Leaf`. Features index the *flattened* raw input (after the
adapter's standardisation is undone: thresholds are in raw input units).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np
from numpy.typing import NDArray

__all__ = ["Leaf", "SplitNode", "Tree", "TreeNode"]


@dataclass(frozen=True)
class Leaf:
    """A leaf.

    Attributes
    ----------
    node_id : int
        Index of the node in the source model's tree arrays.
    value : numpy.ndarray
        ``(nb_outputs,)`` float64: the leaf's output. For a classification tree, class
        probabilities (``nb_classes``); for a boosting stage, the raw additive score(s).
    """

    node_id: int
    value: NDArray[np.float64]


@dataclass(frozen=True)
class SplitNode:
    """An internal node: samples with ``x[feature] <= threshold`` go ``left``, others ``right``."""

    node_id: int
    feature: int
    threshold: float
    left: TreeNode
    right: TreeNode


TreeNode = Union[Leaf, SplitNode]


@dataclass(frozen=True)
class Tree:
    """One tree of a (possibly ensemble) model.

    Attributes
    ----------
    root : Leaf or SplitNode
        The root node.
    class_id : int or None
        For one-vs-rest boosting stages, the class whose score this tree adds to; None when the
        tree's leaves hold values for every class.
    weight : float
        Factor applied to the tree's output in the ensemble (1/n_trees for a random forest, the
        learning rate for gradient boosting, 1 for a single tree).
    """

    root: TreeNode
    class_id: int | None = None
    weight: float = 1.0

    def leaves(self) -> list[Leaf]:
        """All leaves, left to right."""
        out: list[Leaf] = []
        stack: list[TreeNode] = [self.root]
        while stack:
            node = stack.pop()
            if isinstance(node, Leaf):
                out.append(node)
            else:
                stack.extend((node.right, node.left))
        return out

    def decision(self, x: NDArray[np.floating]) -> NDArray[np.float64]:
        """Leaf values reached by each row of ``x`` (``(N, n_features)`` raw, flattened):
        ``(N, nb_outputs)`` float64, without ``weight``."""
        rows = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        out: list[NDArray[np.float64]] = []
        for row in rows:
            node = self.root
            while isinstance(node, SplitNode):
                node = node.left if row[node.feature] <= node.threshold else node.right
            out.append(node.value)
        return np.stack(out) if out else np.zeros((0, 0))
