"""A third-party tree ensemble written against trustml's protocols alone: a tiny random forest.

``TinyForest`` is a ``Classifier`` with ``DecisionTrees`` because it has the members: ``predict``
averages the class probabilities of the leaves its trees route each standardised sample to, and
``get_trees`` describes exactly those trees as :class:`trustml.trees.Tree` objects, with the
thresholds converted back to raw input units (``raw = threshold * divisor + subtrahend``), as the
protocol says. The conformance kit's tree mutants derive from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.errors import ParameterError
from trustml.preprocessing import Standardisation
from trustml.trees import Leaf, SplitNode, Tree, TreeNode
from trustml.validation import ClipValues, check_batch, check_batch_size, check_clip_values

__all__ = ["TinyForest", "make"]


class TinyForest:
    """``n_trees`` complete binary trees of depth ``depth`` with random splits (in standardised
    units) and random leaf probabilities; ``predict`` is their mean.

    Parameters
    ----------
    input_shape : tuple of int
        Shape of one sample (flattened for the splits).
    nb_classes : int
        Number of classes (>= 2).
    preprocessing : (subtrahend, divisor)
        Standardisation, scalars or arrays broadcastable to ``input_shape``.
    clip_values : (min, max), optional
        Valid input range (described, never applied); the random thresholds are drawn inside it.
    n_trees, depth : int
        Forest size.
    seed : int
        Seed of the random structure.
    """

    def __init__(
        self,
        input_shape: tuple[int, ...],
        nb_classes: int,
        *,
        preprocessing: tuple[ArrayLike, ArrayLike] = (0.0, 1.0),
        clip_values: tuple[ArrayLike, ArrayLike] | None = (0.0, 1.0),
        n_trees: int = 3,
        depth: int = 2,
        seed: int = 0,
    ) -> None:
        if nb_classes < 2:
            raise ParameterError(f"nb_classes: expected an int >= 2, got {nb_classes}")
        self._input_shape = tuple(int(d) for d in input_shape)
        self._nb_classes = int(nb_classes)
        self._clip: ClipValues | None = check_clip_values(clip_values, self._input_shape)
        self._std = Standardisation.create(
            preprocessing[0], preprocessing[1], input_shape=self._input_shape, channels_first=False
        )
        d = int(np.prod(self._input_shape))
        rng = np.random.default_rng(seed)
        lo, hi = (0.0, 1.0) if self._clip is None else (self._clip[0], self._clip[1])
        raw_lo = np.broadcast_to(np.asarray(lo, np.float64), self._input_shape).reshape(-1)
        raw_hi = np.broadcast_to(np.asarray(hi, np.float64), self._input_shape).reshape(-1)
        inner = 2**depth - 1
        self.features = rng.integers(0, d, size=(n_trees, inner))
        u = rng.uniform(0.3, 0.7, size=(n_trees, inner))
        raw = raw_lo[self.features] + u * (raw_hi - raw_lo)[self.features]
        self.thresholds = (raw - self._flat(self._std.subtrahend)[self.features]) / self._flat(
            self._std.divisor)[self.features]
        """``(n_trees, 2**depth - 1)`` split thresholds in standardised units, heap order."""
        self.leaf_values = rng.dirichlet(np.ones(nb_classes), size=(n_trees, 2**depth))
        self.depth = int(depth)

    def _flat(self, arr: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.broadcast_to(arr, (1, *self._input_shape)).reshape(-1)

    # -- metadata -----------------------------------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, ...]:
        return self._input_shape

    @property
    def nb_classes(self) -> int:
        return self._nb_classes

    @property
    def clip_values(self) -> ClipValues | None:
        return self._clip

    @property
    def preprocessing(self) -> Standardisation:
        return self._std

    # -- Classifier ---------------------------------------------------------------------------
    def _leaf_index(self, z: NDArray[np.float64], tree: int) -> NDArray[np.int64]:
        node = np.zeros(z.shape[0], dtype=np.int64)
        for _ in range(self.depth):
            go_right = z[np.arange(z.shape[0]), self.features[tree, node]] > self.thresholds[
                tree, node]
            node = 2 * node + 1 + go_right
        out: NDArray[np.int64] = node - (2**self.depth - 1)
        return out

    def predict(self, x: ArrayLike, batch_size: int = 128) -> NDArray[np.float32]:
        """Mean leaf probabilities ``(N, nb_classes)`` float32."""
        check_batch_size(batch_size)
        raw = check_batch(x, self._input_shape, dtype=np.float64)
        z = self._std.apply(raw).reshape(raw.shape[0], int(np.prod(self._input_shape)))
        probs = np.zeros((raw.shape[0], self._nb_classes))
        for t in range(self.features.shape[0]):
            probs += self.leaf_values[t, self._leaf_index(z, t)]
        out: NDArray[np.float32] = (probs / self.features.shape[0]).astype(np.float32)
        return out

    # -- DecisionTrees ------------------------------------------------------------------------
    def raw_thresholds(self) -> NDArray[np.float64]:
        """The split thresholds in raw input units (what ``get_trees`` reports)."""
        sub = self._flat(self._std.subtrahend)[self.features]
        div = self._flat(self._std.divisor)[self.features]
        out: NDArray[np.float64] = self.thresholds * div + sub
        return out

    def get_trees(self) -> list[Tree]:
        """One :class:`~trustml.trees.Tree` per tree, thresholds in raw units, weight
        ``1 / n_trees``."""
        raw = self.raw_thresholds()
        n = self.features.shape[0]

        def node(t: int, i: int) -> TreeNode:
            if i >= 2**self.depth - 1:
                leaf = i - (2**self.depth - 1)
                return Leaf(i, np.array(self.leaf_values[t, leaf], dtype=np.float64))
            return SplitNode(i, int(self.features[t, i]), float(raw[t, i]), node(t, 2 * i + 1),
                             node(t, 2 * i + 2))

        return [Tree(node(t, 0), None, 1.0 / n) for t in range(n)]


def make() -> TinyForest:
    """Factory for ``trustml check``: 4 features in [0, 1], 3 classes, three depth-2 trees,
    non-trivial standardisation."""
    return TinyForest((4,), 3, preprocessing=((0.5, 0.4, 0.6, 0.5), (0.25, 0.5, 2.0, 1.0)))


if TYPE_CHECKING:
    from trustml.protocols import Classifier, DecisionTrees

    _classifier: Classifier = TinyForest((4,), 2)
    _trees: DecisionTrees = TinyForest((4,), 2)
