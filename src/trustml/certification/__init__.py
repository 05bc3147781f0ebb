"""Randomized-smoothing certification (Cohen, Rosenfeld, Kolter, ICML 2019).

Public API:

- :func:`RandomizedSmoothing` wraps any trustml Classifier and returns a smoothed classifier with
  ``certify`` (CERTIFY) and ``predict`` (PREDICT), plus ``fit`` and ``loss_gradient`` where the
  wrapped classifier has them;
- :func:`predicted_labels` turns smoothed predictions into labels with ``-1`` for abstentions;
- :func:`certified_accuracy` is the certified accuracy on a grid of radii;
- :func:`lower_confidence_bound` and :func:`certified_radius` are the statistics of CERTIFY;
- :func:`plot_certified_accuracy` (extra ``plots``) draws the curve;
- :func:`dask_executor` (extra ``dask``) gives an executor on a Dask cluster for
  ``certify(..., executor=...)`` and ``predict(..., executor=...)``.
- every smoothed classifier also has ``certify_radius`` (sequential decisions at given radii with
  an anytime-valid confidence sequence), and ``certify`` takes ``early_stop`` and ``bound``
  (:func:`randomized_lower_confidence_bound`).

scipy is imported on first use; matplotlib, tqdm and distributed only when a plot, a progress bar
or a Dask cluster is asked for.
"""

from __future__ import annotations

from trustml.certification._confidence_sequences import randomized_lower_confidence_bound
from trustml.certification._smoothing import predicted_labels
from trustml.certification._statistics import (
    certified_radius,
    lower_confidence_bound,
    two_sided_binomial_pvalue,
)
from trustml.certification.cluster import dask_executor
from trustml.certification.metrics import certified_accuracy
from trustml.certification.plots import plot_certified_accuracy
from trustml.certification.randomized_smoothing import (
    DifferentiableSmoothedClassifier,
    RandomizedSmoothing,
    SmoothedClassifier,
    TrainableDifferentiableSmoothedClassifier,
    TrainableSmoothedClassifier,
)

__all__ = [
    "DifferentiableSmoothedClassifier",
    "RandomizedSmoothing",
    "SmoothedClassifier",
    "TrainableDifferentiableSmoothedClassifier",
    "TrainableSmoothedClassifier",
    "certified_accuracy",
    "certified_radius",
    "dask_executor",
    "lower_confidence_bound",
    "plot_certified_accuracy",
    "predicted_labels",
    "randomized_lower_confidence_bound",
    "two_sided_binomial_pvalue",
]
