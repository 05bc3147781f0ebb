"""Out-of-distribution detection over any neural-network adapter (in the style of oodeel).

- :class:`FeatureExtractor`: several layers' outputs and the logits, one forward pass per batch;
- detectors with oodeel's names and conventions (higher score = more OOD): on the logits
  :class:`MLS`, :class:`MSP`, :class:`Energy`, :class:`Entropy`, :class:`GEN`, :class:`ODIN`;
  on features :class:`Mahalanobis`, :class:`RMDS`, :class:`DKNN`, :class:`VIM`;
- :mod:`trustml.ood.metrics` (AUROC, FPR95, AUPR-in/out from scikit-learn) and
  :mod:`trustml.ood.plots` (ROC curves, score histograms; extra ``plots``).

Needs scikit-learn (extra ``ood``) for the metrics and DKNN.
"""

from __future__ import annotations

from trustml.ood.base import FeatureBasedDetector, OODBaseDetector
from trustml.ood.detectors_features import DKNN, RMDS, VIM, Mahalanobis
from trustml.ood.detectors_logits import GEN, MLS, MSP, ODIN, Energy, Entropy
from trustml.ood.feature_extractor import FeatureExtractor, LayeredClassifier, global_average_pool
from trustml.ood.metrics import bench_metrics, fpr_at_tpr

__all__ = [
    "DKNN",
    "GEN",
    "MLS",
    "MSP",
    "ODIN",
    "RMDS",
    "VIM",
    "Energy",
    "Entropy",
    "FeatureBasedDetector",
    "FeatureExtractor",
    "LayeredClassifier",
    "Mahalanobis",
    "OODBaseDetector",
    "bench_metrics",
    "fpr_at_tpr",
    "global_average_pool",
]

DETECTORS: dict[str, type[OODBaseDetector]] = {
    "MLS": MLS, "MSP": MSP, "Energy": Energy, "Entropy": Entropy, "GEN": GEN, "ODIN": ODIN,
    "Mahalanobis": Mahalanobis, "RMDS": RMDS, "DKNN": DKNN, "VIM": VIM,
}
"""Every detector class by its name."""
