"""Calling every member of every capability once, for the honesty and no-hidden-state checks."""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trustml.conformance._context import Context
from trustml.conformance._registry import CAPABILITIES, NotApplicable

__all__ = ["exercise", "framework_state", "global_rng_state", "member_calls", "same_state"]


def _capabilities(obj: object) -> set[str]:
    return {name for name, proto in CAPABILITIES.items() if isinstance(obj, proto)}


def member_calls(
    ctx: Context, x: NDArray[Any], y: NDArray[Any]
) -> list[tuple[str, Callable[[], object]]]:
    """One call of each non-training member of each capability the object has, on ``x`` and
    ``y``, as ``(description, thunk)`` pairs. ``fit`` is exercised by the Fittable checks."""
    est = ctx.estimator
    caps = _capabilities(est)
    calls: list[tuple[str, Callable[[], object]]] = []
    if "Classifier" in caps:
        calls.append(("predict(x)", lambda: est.predict(x)))
    if "LossGradients" in caps:
        calls.append(("compute_loss(x, y)", lambda: est.compute_loss(x, y)))
        calls.append(("loss_gradient(x, y)", lambda: est.loss_gradient(x, y)))
    if "ClassGradients" in caps:
        calls.append(("class_gradient(x)", lambda: est.class_gradient(x)))
        calls.append(("class_gradient(x, label=y)", lambda: est.class_gradient(x, label=y)))
    if "NeuralNetwork" in caps:
        calls.append(("get_activations(x, 0)", lambda: est.get_activations(x, 0)))
        last = max(0, len(est.layer_names) - 1)
        calls.append((f"get_activations(x, {last}, framework=True)",
                      lambda: est.get_activations(x, last, framework=True)))
    if "DecisionTrees" in caps:
        calls.append(("get_trees()", est.get_trees))
    if "Certifier" in caps:
        from trustml.conformance._checks_certify import certify_inputs

        try:
            xc = certify_inputs(ctx, 2)
        except NotApplicable:
            xc = None
        if xc is not None:
            if "Classifier" in caps or "Estimator" in caps:
                xc = x[:2]
            calls.append(("certify(x, n=10, seed=0)", lambda: est.certify(xc, 10, seed=0)))
    return calls


def exercise(
    ctx: Context, x: NDArray[Any], y: NDArray[Any]
) -> list[tuple[str, BaseException | None]]:
    """Run :func:`member_calls`; return ``(description, exception or None)`` pairs."""
    out: list[tuple[str, BaseException | None]] = []
    for name, call in member_calls(ctx, x, y):
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - reported to the caller
            out.append((name, exc))
        else:
            out.append((name, None))
    return out


def global_rng_state() -> tuple[Any, ...]:
    """numpy's legacy global RNG state and Python's ``random`` state."""
    return (np.random.get_state(legacy=False), random.getstate())


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(u, v) for u, v in zip(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(a, b))
    return bool(a == b)


def same_state(a: Any, b: Any) -> bool:
    """Deep equality of two snapshots (arrays compared by value)."""
    return _same(a, b)


_MODEL_ATTRS = ("model", "_model")
_SCALARS = (int, float, str, bytes, bool, np.ndarray, type(None))


def _is_framework_model(obj: object) -> bool:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(obj, torch.nn.Module):
        return True
    keras = sys.modules.get("keras")
    if keras is not None and isinstance(obj, getattr(keras, "Model", ())):
        return True
    gluon = sys.modules.get("mxnet.gluon")
    return gluon is not None and isinstance(obj, getattr(gluon, "Block", ()))


def wrapped_models(est: object, depth: int = 3) -> dict[str, Any]:
    """Framework models reachable from ``est`` through instance attributes (``depth`` levels),
    by attribute path, plus any ``model`` / ``_model`` attribute with a bool ``training`` flag."""
    found: dict[str, Any] = {}
    seen: set[int] = set()

    def walk(obj: object, path: str, level: int) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if _is_framework_model(obj):
            found[path.lstrip(".")] = obj
            return
        for attr in _MODEL_ATTRS:  # properties too (they are not in vars)
            try:
                value = getattr(obj, attr, None)
            except Exception:  # noqa: BLE001 - a property that raises exposes no model
                value = None
            if value is not None and id(value) not in seen and (
                    _is_framework_model(value)
                    or isinstance(getattr(value, "training", None), bool)):
                found[f"{path}.{attr}".lstrip(".")] = value
                seen.add(id(value))
        if level == 0:
            return
        try:
            items = list(vars(obj).items())
        except TypeError:
            return
        for key, value in items:
            if isinstance(value, (*_SCALARS, type)):
                continue
            walk(value, f"{path}.{key}", level - 1)

    walk(est, "", depth)
    return found


def _patched_blocks(block: Any) -> int:
    """Gluon blocks (``block`` and its descendants) whose ``forward`` is an instance attribute."""
    seen: set[int] = set()
    stack = [block]
    count = 0
    while stack:
        b = stack.pop()
        if id(b) in seen:
            continue
        seen.add(id(b))
        count += "forward" in vars(b)
        stack.extend(getattr(b, "_children", {}).values())
    return count


def framework_state(est: object) -> dict[str, Any]:
    """Modes, hooks and global switches of the wrapped framework models (found by
    :func:`wrapped_models`), read structurally: frameworks are only consulted when they are
    already in ``sys.modules`` (never imported)."""
    state: dict[str, Any] = {}
    torch = sys.modules.get("torch")
    for name, model in wrapped_models(est).items():
        training = getattr(model, "training", None)
        if isinstance(training, bool):
            state[f"{name}.training"] = training
        if torch is not None and isinstance(model, torch.nn.Module):
            mods = list(model.modules())
            state[f"{name} submodule training flags"] = tuple(m.training for m in mods)
            state[f"{name} hooks per submodule"] = tuple(
                sum(len(getattr(m, h, {})) for h in (
                    "_forward_hooks", "_forward_pre_hooks", "_backward_hooks",
                    "_backward_pre_hooks", "_state_dict_hooks"))
                for m in mods
            )
            state[f"{name} requires_grad flags"] = tuple(
                p.requires_grad for p in model.parameters()
            )
        layers = getattr(model, "layers", None)
        if isinstance(layers, list) and all(hasattr(layer, "trainable") for layer in layers):
            state[f"{name} layer trainable flags"] = tuple(
                bool(layer.trainable) for layer in layers
            )
            state[f"{name} layers with an instance-level call"] = tuple(
                layer.name for layer in layers if "call" in vars(layer))
        children = getattr(model, "_children", None)
        if isinstance(children, dict) and hasattr(model, "register_forward_hook"):  # Gluon
            state[f"{name} blocks with an instance-level forward"] = _patched_blocks(model)
    if torch is not None and hasattr(torch, "is_grad_enabled"):
        state["torch.is_grad_enabled()"] = bool(torch.is_grad_enabled())
        state["torch.get_default_dtype()"] = str(torch.get_default_dtype())
        module_mod = sys.modules.get("torch.nn.modules.module")
        if module_mod is not None:
            state["torch global module hooks"] = sum(
                len(getattr(module_mod, h, {})) for h in (
                    "_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks"))
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "backend") and hasattr(keras.backend, "floatx"):
        state["keras.backend.floatx()"] = keras.backend.floatx()
    mx = sys.modules.get("mxnet")
    if mx is not None and hasattr(mx, "autograd"):
        state["mxnet.autograd.is_training()"] = bool(mx.autograd.is_training())
        state["mxnet.autograd.is_recording()"] = bool(mx.autograd.is_recording())
    return state
