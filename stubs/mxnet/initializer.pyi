from typing import Any

class Initializer:
    def __init__(self, **kwargs: Any) -> None: ...

class Xavier(Initializer):
    def __init__(self, rnd_type: str = ..., factor_type: str = ..., magnitude: float = ...) -> None: ...

class Uniform(Initializer):
    def __init__(self, scale: float = ...) -> None: ...
