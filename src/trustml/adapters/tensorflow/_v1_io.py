"""Frozen GraphDefs: :func:`from_frozen_graph` wraps a ``.pb`` file (written by
:meth:`TensorFlowV1Classifier.save` or ``convert_variables_to_constants``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from tensorflow.compat import v1

from trustml.preprocessing import Postprocessor, PreprocessingLike, Preprocessor
from trustml.validation import ClipValuesLike

from ._v1 import TensorFlowV1Classifier
from ._v1_checks import by_name
from ._v1_graph import load_graph_def

__all__ = ["from_frozen_graph"]


def from_frozen_graph(
    path: str | os.PathLike[str],
    input_name: str,
    output_name: str,
    *,
    labels_name: str | None = None,
    loss_name: str | None = None,
    learning_name: str | None = None,
    channels_first: bool = False,
    clip_values: ClipValuesLike | None = None,
    preprocessing_defences: Preprocessor | Sequence[Preprocessor] | None = None,
    postprocessing_defences: Postprocessor | Sequence[Postprocessor] | None = None,
    preprocessing: PreprocessingLike = (0.0, 1.0),
    feed_dict: dict[Any, Any] | None = None,
) -> TensorFlowV1Classifier:
    """Load a frozen binary GraphDef (``.pb``, e.g. written by
    :meth:`TensorFlowV1Classifier.save` or ``convert_variables_to_constants``) into a new graph
    and session, and wrap it.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.pb`` file.
    input_name, output_name : str
        Tensor names (``"input:0"``) or op names (``"input"``, its first output) of the input
        placeholder and of the outputs ``(N, nb_classes)``.
    labels_name, loss_name, learning_name : str, optional
        Names of the labels placeholder, per-sample loss and training-phase placeholder, when the
        GraphDef holds them (:meth:`TensorFlowV1Classifier.save` keeps the loss).
    channels_first, clip_values, preprocessing_defences, postprocessing_defences, preprocessing, \
feed_dict
        As :class:`TensorFlowV1Classifier`.

    Returns
    -------
    TensorFlowV1Classifier
        Without a train op and without variables: its ``fit`` raises ``ParameterError`` (a frozen
        graph holds constants).

    Raises
    ------
    ParameterError
        No such file, not a GraphDef, an unknown name; or as the constructor.
    """
    graph = load_graph_def(path)
    named = {
        "input_name": input_name, "output_name": output_name, "labels_name": labels_name,
        "loss_name": loss_name, "learning_name": learning_name,
    }
    tensors: dict[str, Any] = {}
    for key, name in named.items():
        tensors[key] = None if name is None else by_name(graph, name, key)
    return TensorFlowV1Classifier(
        tensors["input_name"], tensors["output_name"], labels_ph=tensors["labels_name"],
        loss=tensors["loss_name"], learning=tensors["learning_name"],
        sess=v1.Session(graph=graph), channels_first=channels_first, clip_values=clip_values,
        preprocessing_defences=preprocessing_defences,
        postprocessing_defences=postprocessing_defences, preprocessing=preprocessing,
        feed_dict=feed_dict,
    )
