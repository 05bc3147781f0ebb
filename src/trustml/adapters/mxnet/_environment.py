"""Where MXNet can run: the import check, the context and the model's parameters.

MXNet 1.9.1, the last release, refers to ``numpy.bool`` at import time, an alias that numpy 1.24
removed. It therefore lives in its own environment (numpy < 1.24; the nox session ``mxnet``), and
this module refuses politely in any other: it never imports mxnet where that import would fail
half-way.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

import numpy as np

from trustml._deps import require
from trustml.errors import (
    DeviceError,
    MissingDependencyError,
    NotFittedError,
    ParameterTypeError,
    UnsupportedModelError,
)

if TYPE_CHECKING:
    import mxnet as mx
    from mxnet import gluon

__all__ = ["ensure_mxnet", "model_parameters", "resolve_ctx"]

INSTALL = 'pip install "trustml[mxnet]"'
PURPOSE = "trustml.adapters.mxnet.MXNetClassifier"


def _numpy_too_new() -> bool:
    major, minor = (int(part) for part in np.__version__.split(".")[:2])
    return (major, minor) >= (1, 24)


def ensure_mxnet() -> None:
    """Import mxnet, or explain why it cannot be used here.

    Raises
    ------
    MissingDependencyError
        mxnet is not installed (the message gives ``pip install "trustml[mxnet]"``), or numpy is
        1.24 or newer, with which mxnet 1.9.1 cannot be imported (the message explains the separate
        environment with numpy < 1.24 and the nox session ``mxnet``).
    """
    if _numpy_too_new():
        found = importlib.util.find_spec("mxnet") is not None
        state = "is installed but cannot be imported" if found else "is not installed"
        raise MissingDependencyError(
            f"{PURPOSE} needs mxnet 1.9.1, which {state} here: it requires numpy < 1.24 (it uses "
            f"numpy.bool, removed in numpy 1.24) and this environment has numpy {np.__version__}. "
            f"Use a separate environment for MXNet models: {INSTALL} (it pins numpy < 1.24), or "
            f"run the test session `python -m nox -s mxnet`."
        )
    require("mxnet", "mxnet", purpose=PURPOSE)


def model_parameters(model: gluon.Block) -> list[gluon.Parameter]:
    """The model's parameters, checked to be initialised (deferred initialisation counts).

    Raises
    ------
    UnsupportedModelError
        ``model`` is not a ``mxnet.gluon.Block``.
    NotFittedError
        A parameter was never initialised (``model.initialize(...)`` not called).
    """
    from mxnet import gluon

    if not isinstance(model, gluon.Block):
        raise UnsupportedModelError(
            f"model: expected a mxnet.gluon.Block (Sequential, HybridSequential or a custom "
            f"Block), got {type(model).__name__}"
        )
    params = list(model.collect_params().values())
    for param in params:
        try:
            param.list_ctx()
        except RuntimeError:
            raise NotFittedError(
                f"model: parameter {param.name!r} is not initialised; call "
                f"model.initialize(ctx=...) (or load_parameters) before wrapping the model"
            ) from None
    return params


def resolve_ctx(ctx: Any, params: list[gluon.Parameter]) -> mx.Context:
    """The context to compute on.

    ``None`` takes the context of the model's parameters (CPU for a model without any); an
    ``mx.Context`` must hold every parameter.

    Raises
    ------
    ParameterTypeError
        ``ctx`` is neither None nor an ``mx.Context``.
    DeviceError
        ``ctx`` names a GPU that is not visible, or the parameters are not initialised on it.
    """
    import mxnet as mx

    if ctx is None:
        return params[0].list_ctx()[0] if params else mx.cpu()
    if not isinstance(ctx, mx.Context):
        raise ParameterTypeError(
            f"ctx: expected None or an mxnet Context such as mx.cpu() or mx.gpu(0), got {ctx!r}"
        )
    if ctx.device_type == "gpu" and ctx.device_id >= mx.context.num_gpus():
        raise DeviceError(
            f"ctx: expected an available device, got {ctx} but {mx.context.num_gpus()} GPU(s) are "
            f"visible to this mxnet build"
        )
    for param in params:
        where = param.list_ctx()
        if ctx not in where:
            raise DeviceError(
                f"ctx: expected the model's parameters on {ctx}, but {param.name!r} lives on "
                f"{where}; initialise with model.initialize(ctx={ctx!r}) or move the parameters "
                f"with model.collect_params().reset_ctx({ctx!r}) before wrapping"
            )
    return ctx
