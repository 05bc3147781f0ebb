"""Checks that apply to every object: honesty of capabilities and no hidden state."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from trustml.conformance._capabilities import CAPABILITIES
from trustml.conformance._context import Context, check, fail, require_true
from trustml.conformance._exercise import exercise, member_calls
from trustml.conformance._failures import NotApplicable
from trustml.conformance._snapshots import framework_state, global_rng_state, same_state


def _data(ctx: Context) -> tuple[NDArray[Any], NDArray[Any]]:
    try:
        x = ctx.inputs(4, tag="state-x")
    except NotApplicable:
        x = np.zeros((0, 1), np.float32)
    try:
        y = ctx.labels(4, tag="state-y")
    except NotApplicable:
        y = np.zeros(4, np.int64)
    return x, y


@check("honesty_not_implemented", "Any")
def check_not_implemented(ctx: Context) -> None:
    """No member of a capability the object has structurally raises NotImplementedError."""
    x, y = _data(ctx)
    stubs = [name for name, exc in exercise(ctx, x, y) if isinstance(exc, NotImplementedError)]
    require_true(not stubs, f"{', '.join(stubs)} raised NotImplementedError: an object that has "
                 "a member claims the capability, so drop the member or implement it")


@check("honesty_partial_capability", "Any")
def check_partial(ctx: Context) -> None:
    """The object has either all or none of the members of each capability protocol: a partial
    capability (``fit`` without ``fit_generator``, ``loss_gradient`` without ``compute_loss``) is
    invisible to ``isinstance`` and so to every algorithm and to this kit."""
    from typing_extensions import get_protocol_members

    partial = []
    for name, proto in CAPABILITIES.items():
        if proto is object:
            continue
        members = sorted(get_protocol_members(proto))
        have = [m for m in members if hasattr(ctx.estimator, m)]
        if have and len(have) < len(members):
            partial.append(f"{name} (has {', '.join(have)}; lacks "
                           f"{', '.join(m for m in members if m not in have)})")
    require_true(not partial, f"partial capabilities: {'; '.join(partial)}")


@check("state_global_rng", "Any")
def check_global_rng(ctx: Context) -> None:
    """No call changes numpy's global RNG state or Python's ``random`` state."""
    x, y = _data(ctx)
    before = global_rng_state()
    calls = exercise(ctx, x, y)
    after = global_rng_state()
    if not same_state(before, after):
        raise fail("numpy's (or Python's) global RNG state changed during "
                   f"{', '.join(n for n, _ in calls)}; take a seed and use a Generator")


@check("state_framework_mode", "Any")
def check_framework_mode(ctx: Context) -> None:
    """Train/eval modes, hooks, requires_grad flags and framework switches (grad mode, floatx,
    autograd recording) are the same after each call as before."""
    x, y = _data(ctx)
    before = ctx.initial_state
    now = framework_state(ctx.estimator)
    _compare(before, now,
             "an earlier call of the run (the state differs from when the run started)")
    for name, call in member_calls(ctx, x, y):
        try:
            call()
        except Exception:  # noqa: BLE001,S110 - errors are other checks' business
            pass
        _compare(before, framework_state(ctx.estimator), name)


def _compare(before: dict[str, Any], after: dict[str, Any], culprit: str) -> None:
    changed = sorted(k for k in set(before) | set(after)
                     if not same_state(before.get(k), after.get(k)))
    if changed:
        raise fail(f"{culprit} changed {', '.join(changed)}: "
                   + "; ".join(f"{k}: {before.get(k)!r} -> {after.get(k)!r}" for k in changed))


@check("state_inputs_not_mutated", "Any")
def check_not_mutated(ctx: Context) -> None:
    """No call modifies its input arrays (x, labels)."""
    x, y = _data(ctx)
    x0, y0 = x.copy(), y.copy()
    for name, call in member_calls(ctx, x, y):
        try:
            call()
        except Exception:  # noqa: BLE001,S110 - errors are other checks' business
            pass
        if not (np.array_equal(x, x0) and np.array_equal(y, y0)):
            raise fail(f"{name} modified its input in place")


@check("state_readonly_inputs", "Any")
def check_readonly(ctx: Context) -> None:
    """Every call accepts read-only input arrays (NotImplementedError is left to
    ``honesty_not_implemented``)."""
    x, y = _data(ctx)
    x.setflags(write=False)
    y.setflags(write=False)
    errors = [(n, e) for n, e in exercise(ctx, x, y)
              if e is not None and not isinstance(e, NotImplementedError)]
    if errors:
        raise fail("; ".join(f"{n} on read-only input raised {type(e).__name__}: {e}"
                             for n, e in errors))
