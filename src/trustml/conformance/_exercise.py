"""Calling every member of every capability once, for the honesty and no-hidden-state checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from numpy.typing import NDArray

from trustml.conformance._capabilities import capabilities_of
from trustml.conformance._checks_certify import certify_inputs
from trustml.conformance._context import Context
from trustml.conformance._failures import NotApplicable

__all__ = ["exercise", "member_calls"]


def member_calls(
    ctx: Context, x: NDArray[Any], y: NDArray[Any]
) -> list[tuple[str, Callable[[], object]]]:
    """One call of each non-training member of each capability the object has, on ``x`` and
    ``y``, as ``(description, thunk)`` pairs. ``fit`` is exercised by the Fittable checks."""
    est = ctx.estimator
    caps = set(capabilities_of(est))
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
        if "MultiLayerActivations" in caps:
            calls.append((f"get_multi_activations(x, [0, {last}])",
                          lambda: est.get_multi_activations(x, [0, last])))
    if "DecisionTrees" in caps:
        calls.append(("get_trees()", est.get_trees))
    if "Certifier" in caps:
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
