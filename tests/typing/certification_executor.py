"""Static checks (mypy --strict, warn_unused_ignores): certify and predict take any
concurrent.futures.Executor, and dask_executor yields one; other objects are rejected."""

from __future__ import annotations

from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
from numpy.typing import NDArray
from typing_extensions import assert_type

from trustml.certification import RandomizedSmoothing
from trustml.certification.cluster import dask_executor
from trustml.protocols import Classifier


def run(classifier: Classifier, x: NDArray[np.float32]) -> None:
    smoothed = RandomizedSmoothing(classifier, 0.25)
    with ProcessPoolExecutor(2) as processes:
        labels, radii = smoothed.certify(x, 1000, executor=processes, shard_size=4)
        assert_type(labels, NDArray[np.int64])
        assert_type(radii, NDArray[np.float64])
    with ThreadPoolExecutor(2) as threads:
        assert_type(smoothed.predict(x, executor=threads), NDArray[np.float32])
    with dask_executor(workers=2) as executor:
        assert_type(executor, Executor)
        smoothed.certify(x, 1000, executor=executor)
    smoothed.certify(x, 1000, executor="tcp://host:8786")  # type: ignore[arg-type]
    smoothed.certify(x, 1000, shard_size=1.5)  # type: ignore[arg-type]
