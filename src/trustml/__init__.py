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
    # explicit re-exports (`X as X`): mypy --strict accepts `from trustml import X` only for these
    from trustml.activations import ActivationTransform as ActivationTransform
    from trustml.errors import (
        CapabilityError as CapabilityError,
        CounterfactualNotFoundError as CounterfactualNotFoundError,
        DeviceError as DeviceError,
        InputShapeError as InputShapeError,
        InputValueError as InputValueError,
        LabelError as LabelError,
        MissingDependencyError as MissingDependencyError,
        NotFittedError as NotFittedError,
        ParameterError as ParameterError,
        ParameterTypeError as ParameterTypeError,
        TrustMLError as TrustMLError,
        UnsupportedModelError as UnsupportedModelError,
    )
    from trustml.preprocessing import (
        FunctionPreprocessor as FunctionPreprocessor,
        Postprocessor as Postprocessor,
        PreprocessingChain as PreprocessingChain,
        Preprocessor as Preprocessor,
        Standardisation as Standardisation,
    )
    from trustml.protocols import (
        ActivationTransforms as ActivationTransforms,
        Certifier as Certifier,
        ClassGradients as ClassGradients,
        Classifier as Classifier,
        Clonable as Clonable,
        DecisionTrees as DecisionTrees,
        Estimator as Estimator,
        Fittable as Fittable,
        FittableClassifier as FittableClassifier,
        LossGradients as LossGradients,
        MultiLayerActivations as MultiLayerActivations,
        NeuralNetwork as NeuralNetwork,
        NeuralNetworkClassifier as NeuralNetworkClassifier,
        NoisyCounter as NoisyCounter,
        Reduction as Reduction,
        WhiteBoxClassifier as WhiteBoxClassifier,
        require as require,
    )
    from trustml.rng import SeedLike as SeedLike
    from trustml.trees import Tree as Tree
    from trustml.validation import ClipValues as ClipValues
    from trustml.validation import ClipValuesLike as ClipValuesLike


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'trustml' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
