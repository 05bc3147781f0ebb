from typing import Any

import numpy as np
from numpy.typing import NDArray
from typing_extensions import Self

from sklearn._classifier import _Classifier
from sklearn.base import BaseEstimator

class DecisionTreeClassifier(_Classifier):
    tree_: Any
    def predict_proba(self, X: Any) -> NDArray[np.float64]: ...

class DecisionTreeRegressor(BaseEstimator):
    tree_: Any
    def __init__(self, **params: Any) -> None: ...
    def fit(self, X: Any, y: Any, **params: Any) -> Self: ...
    def predict(self, X: Any) -> NDArray[np.float64]: ...
