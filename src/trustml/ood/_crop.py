"""``input_layer_id``: a classifier over the part of the model that starts at a layer.

As oodeel's extractors do, the cropped classifier's inputs are the *inputs of* that layer (the
output of the layer before it, as the model computes it: no standardisation, no clipping), and it
runs the layers from there to the end. It needs (1) a framework model cut at a top-level layer,
built here for a PyTorch ``nn.Sequential`` and a Keras ``Sequential`` (channels-last; the layers
are shared, not copied: the user's model's weights and outputs are not changed), and (2) an
adapter that can be rebuilt around it with different settings: one whose ``get_params()``
returns its constructor arguments (``PyTorchClassifier`` and ``KerasClassifier`` do). Other
models and adapters get a :class:`~trustml.errors.ParameterError` naming ``input_layer_id``.
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
        The model is not a PyTorch ``nn.Sequential`` or a channels-last Keras ``Sequential``,
        ``name`` is not one of its top-level layers, or the adapter has no ``get_params``.
    """
    torch: Any = sys.modules.get("torch")
    keras: Any = sys.modules.get("keras")
    model: Any = getattr(classifier, "model", None)
    get_params = getattr(classifier, "get_params", None)
    is_torch = torch is not None and isinstance(model, torch.nn.Sequential)
    is_keras = (
        keras is not None and isinstance(model, keras.Sequential)
        and get_params is not None and not get_params().get("channels_first", False)
    )
    if not (is_torch or is_keras) or get_params is None:
        raise ParameterError(
            "input_layer_id: expected None, or a top-level layer of a PyTorch nn.Sequential or a "
            "channels-last Keras Sequential wrapped by an adapter with get_params "
            f"(PyTorchClassifier, KerasClassifier); got {name!r} on a "
            f"{type(classifier).__name__} over a {type(model).__name__}"
        )
    if is_torch:
        children = list(model.named_children())
    else:
        children = [(layer.name, layer) for layer in model.layers]
    keys = [key for key, _ in children]
    if name not in keys:
        raise ParameterError(
            f"input_layer_id: expected a top-level layer of the {type(model).__name__} ({keys}), "
            f"got {name!r}"
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
    if is_torch:
        sub = torch.nn.Sequential(OrderedDict(children[start:]))
    else:
        layers = [layer for _, layer in children[start:]]
        sub = keras.Sequential([keras.Input(shape=shape), *layers])
    params = dict(get_params())
    params.update(model=sub, input_shape=shape, preprocessing=(0.0, 1.0), clip_values=None,
                  preprocessing_defences=None, postprocessing_defences=None)
    if "optimizer" in params:
        params["optimizer"] = None
    return type(classifier)(**params)
