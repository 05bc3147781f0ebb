from typing import Any

import numpy as np
from numpy.typing import NDArray

from sklearn._classifier import _Classifier

class LinearSVC(_Classifier):
    coef_: NDArray[np.float64]
    intercept_: NDArray[np.float64]
    loss: str
    multi_class: str
    def decision_function(self, X: Any) -> NDArray[np.float64]: ...

class SVC(_Classifier):
    coef_: NDArray[np.float64]
    intercept_: NDArray[np.float64]
    kernel: Any
    def decision_function(self, X: Any) -> NDArray[np.float64]: ...
