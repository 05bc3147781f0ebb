"""trustml: typed, protocol-based estimators for trustworthy ML.

Importing ``trustml`` loads numpy only; everything else is imported on first use. The public names
below are re-exported lazily from their modules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    # errors
    "TrustMLError": "trustml.errors",
    "InputShapeError": "trustml.errors",
    "InputValueError": "trustml.errors",
    "LabelError": "trustml.errors",
    "ParameterError": "trustml.errors",
    "ParameterTypeError": "trustml.errors",
    "CapabilityError": "trustml.errors",
    "MissingDependencyError": "trustml.errors",
    "NotFittedError": "trustml.errors",
    "UnsupportedModelError": "trustml.errors",
    "DeviceError": "trustml.errors",
    "CounterfactualNotFoundError": "trustml.errors",
    # protocols
    "Estimator": "trustml.protocols",
    "Classifier": "trustml.protocols",
    "Fittable": "trustml.protocols",
    "Clonable": "trustml.protocols",
    "LossGradients": "trustml.protocols",
    "ClassGradients": "trustml.protocols",
    "NeuralNetwork": "trustml.protocols",
    "DecisionTrees": "trustml.protocols",
    "Certifier": "trustml.protocols",
    "NoisyCounter": "trustml.protocols",
    "ActivationTransforms": "trustml.protocols",
    "MultiLayerActivations": "trustml.protocols",
    "FittableClassifier": "trustml.protocols",
    "WhiteBoxClassifier": "trustml.protocols",
    "NeuralNetworkClassifier": "trustml.protocols",
    "require": "trustml.protocols",
    # preprocessing
    "Standardisation": "trustml.preprocessing",
    "PreprocessingChain": "trustml.preprocessing",
    "Preprocessor": "trustml.preprocessing",
    "Postprocessor": "trustml.preprocessing",
    "FunctionPreprocessor": "trustml.preprocessing",
    # activation transforms
    "ActivationTransform": "trustml.activations",
    # type aliases used across the public signatures
    "ClipValues": "trustml.validation",
    "ClipValuesLike": "trustml.validation",
    "Reduction": "trustml.protocols",
    "SeedLike": "trustml.rng",
    "Tree": "trustml.trees",
}

__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:
    from trustml.activations import ActivationTransform
    from trustml.errors import (
        CapabilityError,
        CounterfactualNotFoundError,
        DeviceError,
        InputShapeError,
        InputValueError,
        LabelError,
        MissingDependencyError,
        NotFittedError,
        ParameterError,
        ParameterTypeError,
        TrustMLError,
        UnsupportedModelError,
    )
    from trustml.preprocessing import (
        FunctionPreprocessor,
        Postprocessor,
        PreprocessingChain,
        Preprocessor,
        Standardisation,
    )
    from trustml.protocols import (
        ActivationTransforms,
        Certifier,
        ClassGradients,
        Classifier,
        Clonable,
        DecisionTrees,
        Estimator,
        Fittable,
        FittableClassifier,
        LossGradients,
        MultiLayerActivations,
        NeuralNetwork,
        NeuralNetworkClassifier,
        NoisyCounter,
        Reduction,
        WhiteBoxClassifier,
        require,
    )
    from trustml.rng import SeedLike
    from trustml.trees import Tree
    from trustml.validation import ClipValues, ClipValuesLike


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'trustml' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
