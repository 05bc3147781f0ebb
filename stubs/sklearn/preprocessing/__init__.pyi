from typing import Any

import numpy as np
from numpy.typing import NDArray
from typing_extensions import Self

from sklearn.base import BaseEstimator

class _Scaler(BaseEstimator):
    n_features_in_: int
    def fit(self, X: Any, y: Any = None, **params: Any) -> Self: ...
    def transform(self, X: Any) -> NDArray[np.float64]: ...
    def fit_transform(self, X: Any, y: Any = None, **params: Any) -> NDArray[np.float64]: ...

class StandardScaler(_Scaler):
    with_mean: bool
    with_std: bool
    mean_: NDArray[np.float64] | None
    scale_: NDArray[np.float64] | None
    def __init__(
        self, *, copy: bool = True, with_mean: bool = True, with_std: bool = True
    ) -> None: ...

class MinMaxScaler(_Scaler):
    clip: bool
    min_: NDArray[np.float64]
    scale_: NDArray[np.float64]
    def __init__(
        self, feature_range: tuple[float, float] = (0, 1), *, copy: bool = True, clip: bool = False
    ) -> None: ...

class MaxAbsScaler(_Scaler):
    scale_: NDArray[np.float64]
    def __init__(self, *, copy: bool = True) -> None: ...

class RobustScaler(_Scaler):
    with_centering: bool
    with_scaling: bool
    center_: NDArray[np.float64] | None
    scale_: NDArray[np.float64] | None
    def __init__(
        self,
        *,
        with_centering: bool = True,
        with_scaling: bool = True,
        quantile_range: tuple[float, float] = (25.0, 75.0),
        copy: bool = True,
        unit_variance: bool = False,
    ) -> None: ...
