"""Framework adapters, one module per framework, each importable only with its extra.

- :mod:`trustml.adapters.sklearn` (extra ``sklearn``): ``wrap(model)``
- :mod:`trustml.adapters.torch` (extra ``torch``): ``PyTorchClassifier``
- :mod:`trustml.adapters.tensorflow` (extra ``tensorflow``): ``TensorFlowV2Classifier``,
``KerasClassifier``
- :mod:`trustml.adapters.mxnet` (extra ``mxnet``): ``MXNetClassifier``

Adapters compose the shared machinery (:mod:`trustml.preprocessing`, :mod:`trustml.labels`,
:mod:`trustml.validation`); none inherits from a library class.
"""
