"""Static checks (mypy --strict): certify_radius and the new certify options are typed on every
smoothed classifier, and a bad ``bound`` name is a type error."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from typing_extensions import assert_type

from trustml.certification import (
    DifferentiableSmoothedClassifier,
    SmoothedClassifier,
    TrainableDifferentiableSmoothedClassifier,
    TrainableSmoothedClassifier,
)


def decisions(
    a: SmoothedClassifier,
    b: TrainableSmoothedClassifier,
    c: DifferentiableSmoothedClassifier,
    d: TrainableDifferentiableSmoothedClassifier,
    x: NDArray[np.float32],
) -> None:
    for smoothed in (a, b, c, d):
        result = smoothed.certify_radius(x, [0.25, 0.5], n_max=10_000, seed=0)
        assert_type(result, tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.int64]])
        smoothed.certify_radius(x, 0.5, bound="randomized-clopper-pearson")
        smoothed.certify(x, 1000, early_stop=True, bound="clopper-pearson")
    a.certify_radius(x, 0.5, bound="wilson")  # type: ignore[arg-type]
