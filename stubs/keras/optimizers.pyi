from typing import Any

class Optimizer:
    def apply_gradients(self, grads_and_vars: Any) -> Any: ...

class Adam(Optimizer):
    def __init__(self, learning_rate: float = ..., **kwargs: Any) -> None: ...

class SGD(Optimizer):
    def __init__(self, learning_rate: float = ..., **kwargs: Any) -> None: ...
