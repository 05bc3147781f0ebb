from typing import Any

import numpy as np
from numpy.typing import NDArray

from sklearn._classifier import _Classifier

class KNeighborsClassifier(_Classifier):
    def predict_proba(self, X: Any) -> NDArray[np.float64]: ...
