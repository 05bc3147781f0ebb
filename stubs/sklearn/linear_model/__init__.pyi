from typing import Any

import numpy as np
from numpy.typing import NDArray

from sklearn._classifier import _Classifier

class LogisticRegression(_Classifier):
    coef_: NDArray[np.float64]
    intercept_: NDArray[np.float64]
    solver: str
    def predict_proba(self, X: Any) -> NDArray[np.float64]: ...
    def decision_function(self, X: Any) -> NDArray[np.float64]: ...
