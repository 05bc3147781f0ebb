from typing import Any

import numpy as np
from numpy.typing import NDArray

from sklearn._classifier import _Classifier
from sklearn.tree import DecisionTreeClassifier

class RandomForestClassifier(_Classifier):
    estimators_: list[DecisionTreeClassifier]
    def predict_proba(self, X: Any) -> NDArray[np.float64]: ...

class ExtraTreesClassifier(_Classifier):
    estimators_: list[DecisionTreeClassifier]
    def predict_proba(self, X: Any) -> NDArray[np.float64]: ...

class GradientBoostingClassifier(_Classifier):
    estimators_: NDArray[Any]
    learning_rate: float
    init: Any
    def predict_proba(self, X: Any) -> NDArray[np.float64]: ...
    def decision_function(self, X: Any) -> NDArray[np.float64]: ...
