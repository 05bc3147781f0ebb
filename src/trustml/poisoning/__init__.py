"""Backdoor detection and mitigation: Neural Cleanse.

Wang, Yao, Shan, Li, Viswanath, Zheng, Zhao, "Neural Cleanse: Identifying and Mitigating Backdoor
Attacks in Neural Networks", IEEE S&P 2019.

Public names
------------
NeuralCleanse
    Reverse-engineers each label's smallest trigger, flags outliers, mitigates (ART's API).
NeuralCleanseReport
    The scan's result: masks, patterns, L1 norms, anomaly indices, flagged labels; table, JSON,
    figure (extra ``plots``).
DifferentiableClassifier
    The capability the trigger search needs (Classifier with LossGradients).
TriggerSpace
    Mask and pattern layout, their tanh parametrisation and ``(1 - m) * x + m * p``.
anomaly_indices, flag_outliers
    Median-absolute-deviation outlier analysis of trigger sizes.
objective_gradient
    The exact gradient of the trigger objective with respect to the tanh-space mask and pattern.
"""

from __future__ import annotations

from trustml.poisoning._outliers import CONSISTENCY_CONSTANT, anomaly_indices, flag_outliers
from trustml.poisoning._trigger import DifferentiableClassifier, TriggerSpace, objective_gradient
from trustml.poisoning.neural_cleanse import MITIGATION_TYPES, NeuralCleanse
from trustml.poisoning.report import NeuralCleanseReport

__all__ = [
    "CONSISTENCY_CONSTANT",
    "MITIGATION_TYPES",
    "DifferentiableClassifier",
    "NeuralCleanse",
    "NeuralCleanseReport",
    "TriggerSpace",
    "anomaly_indices",
    "flag_outliers",
    "objective_gradient",
]
