"""NeuralNetwork checks: layer_names, get_activations by index and name, batches, errors."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trustml.conformance._checks_predict import assert_close
from trustml.conformance._context import BATCH, Context, check, fail, require_true
from trustml.conformance._failures import NotApplicable
from trustml.errors import ParameterError

_MAX_LAYERS = 6

_FRAMEWORK_ROOTS: dict[str, tuple[str, ...]] = {
    "torch": ("torch",),
    "keras": ("tensorflow", "keras"),
    "tensorflow": ("tensorflow", "keras"),
    "tf_keras": ("tensorflow", "keras"),
    "mxnet": ("mxnet",),
}


def layer_names(ctx: Context) -> list[str]:
    names = ctx.estimator.layer_names
    require_true(isinstance(names, list) and all(isinstance(n, str) for n in names),
                 f"layer_names: expected a list of str, got {names!r}")
    require_true(len(names) > 0, "layer_names: expected at least one layer, got []")
    return list(names)


def sampled_layers(names: list[str]) -> list[int]:
    """At most ``_MAX_LAYERS`` layer indices spread evenly, first and last included."""
    if len(names) <= _MAX_LAYERS:
        return list(range(len(names)))
    return sorted({int(v) for v in np.rint(np.linspace(0, len(names) - 1, _MAX_LAYERS))})


def activations(
    ctx: Context, x: Any, layer: int | str, batch_size: int | None = None
) -> NDArray[Any]:
    est = ctx.estimator
    out = est.get_activations(x, layer) if batch_size is None else est.get_activations(
        x, layer, batch_size=batch_size)
    require_true(isinstance(out, np.ndarray), f"get_activations(layer={layer!r}): expected a numpy "
                 f"array, got {type(out).__name__}")
    require_true(out.ndim >= 1 and out.shape[0] == len(x),
                 f"get_activations(layer={layer!r}): expected a leading batch axis of {len(x)}, "
                 f"got shape {out.shape}")
    return np.asarray(out)


@check("activations_layer_names", "NeuralNetwork")
def check_layer_names(ctx: Context) -> None:
    """layer_names is a non-empty list of unique strings."""
    names = layer_names(ctx)
    dupes = sorted({n for n in names if names.count(n) > 1})
    require_true(not dupes, f"layer_names: expected unique names, got duplicates {dupes}")


@check("activations_index_name_agree", "NeuralNetwork")
def check_index_name(ctx: Context) -> None:
    """get_activations by index i and by name layer_names[i] agree."""
    names = layer_names(ctx)
    x = ctx.inputs()
    for i in sampled_layers(names):
        assert_close(ctx, activations(ctx, x, names[i]), activations(ctx, x, i),
                     f"get_activations(layer={names[i]!r}) vs layer={i}")


@check("activations_layers_distinct", "NeuralNetwork")
def check_layers_distinct(ctx: Context) -> None:
    """Different layers give different activations (a model with one layer passes): the layer
    argument is honoured."""
    names = layer_names(ctx)
    if len(names) < 2:
        return
    x = ctx.inputs()
    seen: list[NDArray[Any]] = []
    for i in sampled_layers(names):
        a = activations(ctx, x, i)
        seen.append(a)
    first = seen[0]
    if all(a.shape == first.shape and np.array_equal(a, first) for a in seen[1:]):
        raise fail(f"get_activations: layers {sampled_layers(names)} all returned the same array; "
                   "the layer argument is ignored")


@check("activations_batch_invariance", "NeuralNetwork")
def check_activations_batches(ctx: Context) -> None:
    """get_activations gives the same result for batch sizes 1, 3 and N."""
    names = layer_names(ctx)
    x = ctx.inputs()
    for i in sampled_layers(names)[:: max(1, len(names) // 2)]:
        ref = activations(ctx, x, i, batch_size=BATCH)
        for bs in (1, 3):
            assert_close(ctx, activations(ctx, x, i, batch_size=bs), ref,
                         f"get_activations(layer={i}, batch_size={bs}) vs batch_size={BATCH}")


@check("activations_bad_layer", "NeuralNetwork")
def check_bad_layer(ctx: Context) -> None:
    """An unknown layer name and an out-of-range index raise ParameterError."""
    names = layer_names(ctx)
    x = ctx.inputs(2)
    for bad in ("__no_such_layer__", len(names)):
        try:
            ctx.estimator.get_activations(x, bad)
        except ParameterError:
            continue
        except Exception as exc:  # noqa: BLE001
            raise fail(f"get_activations(layer={bad!r}): expected ParameterError, got "
                       f"{type(exc).__name__}: {exc}") from None
        raise fail(f"get_activations(layer={bad!r}): expected ParameterError, nothing was raised")


def to_numpy(value: Any) -> NDArray[Any]:
    """A framework tensor as numpy, without importing any framework."""
    if callable(getattr(value, "detach", None)):  # torch, MXNet: off the autograd graph
        value = value.detach()
        if callable(getattr(value, "cpu", None)):  # torch: to host memory
            value = value.cpu()
    for name in ("numpy", "asnumpy"):
        if hasattr(value, name) and callable(getattr(value, name)):
            return np.asarray(getattr(value, name)())
    return np.asarray(value)


def _framework_of(ctx: Context) -> str | None:
    """Root package of the wrapped framework model (attribute ``model``), if it is one we know
    and it is already imported."""
    model = getattr(ctx.estimator, "model", None)
    if model is None:
        return None
    root = type(model).__module__.split(".")[0]
    for key in _FRAMEWORK_ROOTS:
        if root == key and key in sys.modules:
            return key
    return None


def _is_graph_tensor(value: Any) -> bool:
    """A symbolic TensorFlow graph tensor (TF1 graph mode): no value until a session runs it."""
    module = type(value).__module__
    return module.startswith("tensorflow") and hasattr(value, "graph") and hasattr(value, "op") \
        and not callable(getattr(value, "numpy", None))


def _evaluate_graph_tensor(ctx: Context, tensor: Any, x: NDArray[Any]) -> NDArray[Any]:
    """Run a graph tensor the way a TF1 adapter documents it (ART's ``TensorFlowClassifier``
    members): in ``sess``, with ``input_ph`` fed the predict-time defended and standardised ``x``,
    the adapter's ``feed_dict``, and ``learning`` (when there is one) fed False."""
    est = ctx.estimator
    sess, input_ph = getattr(est, "sess", None), getattr(est, "input_ph", None)
    if sess is None or input_ph is None:
        raise fail("get_activations(framework=True) returned a symbolic graph tensor, but the "
                   "object has no sess and input_ph to evaluate it with (ART's TF1 members)")
    z = np.asarray(x)
    for defence in getattr(est, "preprocessing_defences", ()):
        if defence.apply_predict:
            z, _ = defence(z)
    z = est.preprocessing.apply(z)
    feeds = dict(getattr(est, "feed_dict", {}) or {})
    learning = getattr(est, "learning", None)
    if learning is not None:
        feeds[learning] = False
    feeds[input_ph] = z.astype(input_ph.dtype.as_numpy_dtype)
    return np.asarray(sess.run(tensor, feed_dict=feeds))


@check("activations_framework", "NeuralNetwork")
def check_framework(ctx: Context) -> None:
    """get_activations(framework=True) returns the same values in the wrapped framework's native
    tensor type (numpy for a numpy model); a TF1 graph tensor is evaluated in the object's
    session."""
    names = layer_names(ctx)
    x = ctx.inputs()
    layer = len(names) - 1
    native = ctx.estimator.get_activations(x, layer, framework=True)
    values = _evaluate_graph_tensor(ctx, native, x) if _is_graph_tensor(native) else to_numpy(
        native)
    assert_close(ctx, values, activations(ctx, x, layer),
                 "get_activations(framework=True) vs framework=False")
    fw = _framework_of(ctx)
    if fw is not None:
        root = type(native).__module__.split(".")[0]
        require_true(root in _FRAMEWORK_ROOTS[fw], f"get_activations(framework=True): expected a "
                     f"{fw} tensor, got {type(native).__module__}.{type(native).__name__}")


@check("activations_multi_layer", "MultiLayerActivations")
def check_multi_layer(ctx: Context) -> None:
    """get_multi_activations(x, layers) returns, in one call, a list with one array per requested
    layer, in the requested order (last layer first, by index and by name, batch size 3), each
    equal to get_activations of that layer; an unknown layer or an empty list raises
    ParameterError."""
    if not hasattr(ctx.estimator, "get_activations"):
        raise NotApplicable("the object has no get_activations to compare with")
    names = layer_names(ctx)
    x = ctx.inputs()
    picked = sampled_layers(names)[::-1]
    layers: list[int | str] = [i if j % 2 == 0 else names[i] for j, i in enumerate(picked)]
    out = ctx.estimator.get_multi_activations(x, layers, batch_size=3)
    require_true(isinstance(out, list) and len(out) == len(layers),
                 f"get_multi_activations(layers={layers!r}): expected a list of {len(layers)} "
                 f"arrays, got {type(out).__name__} {getattr(out, '__len__', lambda: '')()}")
    for layer, got in zip(layers, out):
        require_true(isinstance(got, np.ndarray), f"get_multi_activations: layer {layer!r} is a "
                     f"{type(got).__name__}, expected a numpy array")
        assert_close(ctx, np.asarray(got), activations(ctx, x, layer),
                     f"get_multi_activations(...)[{layers.index(layer)}] (layer {layer!r}) vs "
                     f"get_activations(layer={layer!r})")
    for bad in (["__no_such_layer__"], []):
        try:
            ctx.estimator.get_multi_activations(x, bad)
        except ParameterError:
            continue
        except Exception as exc:  # noqa: BLE001
            raise fail(f"get_multi_activations(layers={bad!r}): expected ParameterError, got "
                       f"{type(exc).__name__}: {exc}") from None
        raise fail(f"get_multi_activations(layers={bad!r}): expected ParameterError, nothing "
                   "was raised")
