"""TensorFlow 2 / Keras 3 adapters (extra ``tensorflow``).

- :class:`TensorFlowV2Classifier`: any TF2 callable (Keras model, ``tf.Module``, function).
- :class:`KerasClassifier`: a Keras 3 model (Sequential, Functional or subclassed).
- :class:`TensorFlowV1Classifier`: a ``tf.compat.v1`` graph and session (TF1-era models), and
  :func:`from_frozen_graph` for a frozen ``.pb`` GraphDef.

Both provide ``Classifier``, ``Fittable``, ``LossGradients``, ``ClassGradients`` and
``NeuralNetwork``, and share their behaviour through one composed helper (``_runtime.TFRuntime``),
not a base class. Keras must run on its TensorFlow backend. Importing this module without
TensorFlow installed raises :class:`~trustml.errors.MissingDependencyError`.
"""

from __future__ import annotations

from trustml._deps import require

require("tensorflow", "tensorflow", purpose="trustml.adapters.tensorflow")
require("keras", "tensorflow", purpose="trustml.adapters.tensorflow")

from ._keras import KerasClassifier
from ._v1 import TensorFlowV1Classifier
from ._v1_io import from_frozen_graph
from ._v2 import TensorFlowV2Classifier

__all__ = [
    "KerasClassifier",
    "TensorFlowV1Classifier",
    "TensorFlowV2Classifier",
    "from_frozen_graph",
]
