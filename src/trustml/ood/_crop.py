"""``input_layer_id``: a classifier over the part of the model that starts at a layer.

As oodeel's extractors do, the cropped classifier's inputs are the *inputs of* that layer (the
output of the layer before it, as the model computes it: no standardisation, no clipping), and it
runs the layers from there to the end. It needs (1) a framework model cut at a top-level layer,
built here for a PyTorch ``nn.Sequential`` (the layers are shared, not copied: the user's model is
not changed), and (2) an adapter that can be rebuilt around it with different settings: one
whose ``get_params()`` returns its constructor arguments (``PyTorchClassifier`` does). Other
adapters get a :class:`~trustml.errors.ParameterError` naming ``input_layer_id``.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from typing import Any

import numpy as np

from trustml.errors import ParameterError

__all__ = ["crop_classifier"]


def crop_classifier(classifier: Any, name: str) -> Any:
    """A classifier of the same adapter class over the layers of ``classifier.model`` from the
    top-level layer ``name`` (a name in ``classifier.layer_names``) to the end, with
    identity preprocessing, no clip values, no defences and no optimizer.

    Raises
    ------
    ParameterError
        The model is not a PyTorch ``nn.Sequential``, ``name`` is not one of its top-level
        layers, or the adapter has no ``get_params``.
    """
    torch = sys.modules.get("torch")
    model = getattr(classifier, "model", None)
    get_params = getattr(classifier, "get_params", None)
    if torch is None or not isinstance(model, torch.nn.Sequential) or get_params is None:
        raise ParameterError(
            "input_layer_id: expected None, or a layer of a PyTorch nn.Sequential wrapped by an "
            f"adapter with get_params (PyTorchClassifier); got {name!r} on a "
            f"{type(classifier).__name__} over a {type(model).__name__}"
        )
    children = list(model.named_children())
    keys = [key for key, _ in children]
    if name not in keys:
        raise ParameterError(
            f"input_layer_id: expected a top-level layer of the nn.Sequential ({keys}), got "
            f"{name!r}"
        )
    start = keys.index(name)
    if start == 0:
        shape = tuple(classifier.input_shape)
    else:
        zeros = np.zeros((1, *classifier.input_shape), dtype=np.float32)
        lo, hi = classifier.clip_values if classifier.clip_values is not None else (None, None)
        if lo is not None:
            zeros = np.clip(zeros, lo, hi).astype(np.float32)
        shape = tuple(np.asarray(classifier.get_activations(zeros, keys[start - 1])).shape[1:])
    sub = torch.nn.Sequential(OrderedDict(children[start:]))
    params = dict(get_params())
    params.update(model=sub, input_shape=shape, preprocessing=(0.0, 1.0), clip_values=None,
                  preprocessing_defences=None, postprocessing_defences=None, optimizer=None)
    return type(classifier)(**params)
