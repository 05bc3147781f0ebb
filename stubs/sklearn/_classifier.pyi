# Shared shape of the fitted classifiers trustml reads (private to these stubs).
from typing import Any

from numpy.typing import NDArray
from typing_extensions import Self

from sklearn.base import BaseEstimator, ClassifierMixin

class _Classifier(ClassifierMixin, BaseEstimator):
    classes_: NDArray[Any]
    n_features_in_: int
    def __init__(self, **params: Any) -> None: ...
    def fit(self, X: Any, y: Any, **params: Any) -> Self: ...
    def predict(self, X: Any) -> NDArray[Any]: ...
