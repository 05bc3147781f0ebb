from typing import Any

from mxnet.gluon import HybridBlock

class Loss(HybridBlock):
    def __init__(self, weight: float | None, batch_axis: int, **kwargs: Any) -> None: ...

class SoftmaxCrossEntropyLoss(Loss):
    _sparse_label: bool
    def __init__(
        self, axis: int = ..., sparse_label: bool = ..., from_logits: bool = ...,
        weight: float | None = ..., batch_axis: int = ..., **kwargs: Any,
    ) -> None: ...

SoftmaxCELoss = SoftmaxCrossEntropyLoss

class L2Loss(Loss):
    def __init__(self, weight: float = ..., batch_axis: int = ..., **kwargs: Any) -> None: ...
