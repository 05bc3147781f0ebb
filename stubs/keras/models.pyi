# Minimal stubs: only the Keras 3 surface trustml calls.
from typing import Any

def clone_model(model: Any, input_tensors: Any = ..., clone_function: Any = ...) -> Any: ...
