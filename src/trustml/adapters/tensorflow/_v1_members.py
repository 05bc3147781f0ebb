"""Members of :class:`~trustml.adapters.tensorflow.TensorFlowV1Classifier` that only read the
graph tensors, the session and the validated settings its constructor stores: ART's graph members,
the estimator's properties, the seed's estimator surface (``get_params``, ``set_params``), copying
and saving. A private concrete base class with no capability meaning (DESIGN.md, "Sharing code"),
as ``_shared.py`` is for the TensorFlow 2 classes."""

from __future__ import annotations

import copy
import os
from typing import Any

import numpy as np
import tensorflow as tf
from typing_extensions import Self

from trustml.errors import ParameterError, ParameterTypeError
from trustml.preprocessing import Postprocessor, PreprocessingChain, Preprocessor, Standardisation
from trustml.validation import ClipValues

from ._v1_graph import GraphOps, copy_graph, freeze

__all__ = ["PARAMS", "V1Members"]

PARAMS = (
    "input_ph", "output", "labels_ph", "train", "loss", "learning", "sess", "channels_first",
    "clip_values", "preprocessing_defences", "postprocessing_defences", "preprocessing",
    "feed_dict",
)
"""The constructor's parameters, in its order (what ``get_params`` returns)."""


class V1Members:
    """The graph members and settings of a TF1 adapter, as its constructor stored them."""

    _input_ph: tf.Tensor
    _output: tf.Tensor
    _labels_ph: tf.Tensor | None
    _train: Any
    _loss: tf.Tensor | None
    _learning: tf.Tensor | None
    _sess: Any
    _feed_dict: dict[Any, Any]
    _raw_feed_dict: Any
    _channels_first: bool
    _raw_clip_values: Any
    _clip_values: ClipValues | None
    _chain: PreprocessingChain
    _input_shape: tuple[int, ...]
    _nb_classes: int
    _np_dtype: np.dtype[Any]
    _ops: GraphOps
    _optimizer_ready: bool

    # ------------------------------------------------------------------ graph members (ART)

    @property
    def sess(self) -> Any:
        """The ``tf.compat.v1.Session`` every computation runs in."""
        return self._sess

    @property
    def input_ph(self) -> tf.Tensor:
        """The input placeholder (it takes the standardised input)."""
        return self._input_ph

    @property
    def output(self) -> tf.Tensor:
        """The output tensor ``(N, nb_classes)``."""
        return self._output

    @property
    def labels_ph(self) -> tf.Tensor | None:
        """The user's labels placeholder, or None."""
        return self._labels_ph

    @property
    def loss(self) -> tf.Tensor | None:
        """The user's per-sample loss tensor, or None (softmax cross-entropy is used)."""
        return self._loss

    @property
    def train(self) -> Any:
        """The user's training op, or None."""
        return self._train

    @property
    def learning(self) -> tf.Tensor | None:
        """The training-phase placeholder, or None."""
        return self._learning

    @property
    def feed_dict(self) -> dict[Any, Any]:
        """The extra feeds of every run (a new dict, keys resolved to tensors)."""
        return dict(self._feed_dict)

    # ------------------------------------------------------------------ Estimator / Classifier

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample (from ``input_ph``)."""
        return self._input_shape

    @property
    def nb_classes(self) -> int:
        """Number of classes (the last dimension of ``output``)."""
        return self._nb_classes

    @property
    def clip_values(self) -> ClipValues | None:
        """Valid input range ``(min, max)`` as float32 arrays, or None; never applied."""
        return self._clip_values

    @property
    def preprocessing(self) -> Standardisation:
        """The standardisation applied before ``input_ph``."""
        return self._chain.standardisation

    @property
    def preprocessing_defences(self) -> tuple[Preprocessor, ...]:
        """The preprocessing defences, in order."""
        return self._chain.defences

    @property
    def postprocessing_defences(self) -> tuple[Postprocessor, ...]:
        """The postprocessing defences, in order."""
        return self._chain.postprocessors

    @property
    def channels_first(self) -> bool:
        """Whether the channel axis is axis 1 of a batch."""
        return self._channels_first

    # ------------------------------------------------------------------ parameters, persistence

    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters."""
        return {
            "input_ph": self._input_ph,
            "output": self._output,
            "labels_ph": self._labels_ph,
            "train": self._train,
            "loss": self._loss,
            "learning": self._learning,
            "sess": self._sess,
            "channels_first": self._channels_first,
            "clip_values": self._raw_clip_values,
            "preprocessing_defences": self._chain.defences or None,
            "postprocessing_defences": self._chain.postprocessors or None,
            "preprocessing": self._chain.standardisation,
            "feed_dict": self._raw_feed_dict,
        }

    def set_params(self, **params: Any) -> Self:
        """Change constructor parameters; everything is validated as in the constructor before
        anything changes. Ops already built in the graph are reused when the graph is the same.

        Raises
        ------
        ParameterError
            An unknown parameter name; or as the constructor.
        """
        unknown = sorted(set(params) - set(PARAMS))
        if unknown:
            raise ParameterError(
                f"set_params: expected parameters among {list(PARAMS)}, got {unknown}"
            )
        merged = {**self.get_params(), **params}
        if "channels_first" in params and "preprocessing" not in params:
            std = self._chain.standardisation  # lay the standardisation out anew
            merged["preprocessing"] = (std.subtrahend.squeeze(), std.divisor.squeeze())
        fresh: Self = _facade(self)(**merged)
        if fresh._ops.graph is self._ops.graph and fresh._output is self._output:
            fresh._ops = self._ops
            fresh._optimizer_ready = self._optimizer_ready
        self.__dict__.update(fresh.__dict__)
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        """An independent classifier over a copy of the graph in a new session that holds the
        current values of the global variables (training the copy leaves the original alone);
        defences are deep-copied. The original graph and session are untouched."""
        graph, sess = copy_graph(self._sess, self._input_ph.graph)

        def same(t: tf.Tensor | None) -> tf.Tensor | None:
            return None if t is None else graph.get_tensor_by_name(t.name)

        copied: Self = _facade(self)(
            same(self._input_ph), same(self._output), labels_ph=same(self._labels_ph),
            train=None if self._train is None else graph.get_operation_by_name(self._train.name),
            loss=same(self._loss), learning=same(self._learning), sess=sess,
            channels_first=self._channels_first,
            clip_values=copy.deepcopy(self._raw_clip_values, memo),
            preprocessing_defences=copy.deepcopy(self._chain.defences, memo) or None,
            postprocessing_defences=copy.deepcopy(self._chain.postprocessors, memo) or None,
            preprocessing=self._chain.standardisation,
            feed_dict={same(k): copy.deepcopy(v, memo) for k, v in self._feed_dict.items()},
        )
        return copied

    def save(self, filename: str, path: str | os.PathLike[str] | None = None) -> str:
        """Write the graph computing ``output`` (and the user's ``loss`` with ``labels_ph``, when
        given) as a frozen binary GraphDef to ``path/filename``, variables replaced by their
        current values; returns the file written. Load it with
        :func:`~trustml.adapters.tensorflow.from_frozen_graph`.

        Raises
        ------
        ParameterError
            ``filename`` does not end in ``.pb``.
        """
        if not isinstance(filename, (str, os.PathLike)):
            raise ParameterTypeError(f"filename: expected a str, got {type(filename).__name__}")
        if not os.fspath(filename).endswith(".pb"):
            raise ParameterError(f"filename: expected a name ending in '.pb', got {filename!r}")
        full = os.fspath(filename) if path is None else os.path.join(os.fspath(path), filename)
        tensors = [self._output] if self._loss is None else [self._output, self._loss]
        freeze(self._sess, tensors, full)
        return full


def _facade(obj: V1Members) -> Any:
    """The concrete class of ``obj`` (the facade), whose constructor takes :data:`PARAMS`."""
    return type(obj)
