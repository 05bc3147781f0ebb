from collections.abc import Sequence
from contextlib import AbstractContextManager

from mxnet.ndarray import NDArray

def record(train_mode: bool = ...) -> AbstractContextManager[None]: ...
def pause(train_mode: bool = ...) -> AbstractContextManager[None]: ...
def is_recording() -> bool: ...
def is_training() -> bool: ...
def grad(
    heads: NDArray | Sequence[NDArray],
    variables: NDArray | Sequence[NDArray],
    head_grads: NDArray | Sequence[NDArray] | None = ...,
    retain_graph: bool | None = ...,
    create_graph: bool = ...,
    train_mode: bool = ...,
) -> list[NDArray]: ...
