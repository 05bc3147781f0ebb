from typing import Any

import numpy as np
from numpy.typing import NDArray

from sklearn._classifier import _Classifier

class MLPClassifier(_Classifier):
    activation: str
    hidden_layer_sizes: Any
    coefs_: list[NDArray[np.float64]]
    intercepts_: list[NDArray[np.float64]]
    out_activation_: str
    n_outputs_: int
    def predict_proba(self, X: Any) -> NDArray[np.float64]: ...
