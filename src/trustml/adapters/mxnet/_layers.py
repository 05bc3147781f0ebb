"""Layers of a Gluon network: their dotted names, execution order and outputs.

A hybridized HybridBlock runs one cached graph, so the forward hooks of its children never fire.
Reading an inner layer therefore runs the network imperatively for the duration of the call: every
HybridBlock's ``_active`` flag (what ``hybridize()`` sets) is switched off and restored afterwards,
which keeps the cached graphs (nothing is re-traced) and the user's hybridize flags. Hooks are
always detached, also when the forward raises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mxnet import gluon, nd

__all__ = ["capture_output", "imperative", "named_blocks", "trace_outputs"]


def named_blocks(model: gluon.Block) -> dict[str, gluon.Block]:
    """Every descendant block of ``model`` (not ``model`` itself) under its dotted name.

    Names join the child keys Gluon registers (``"0"``, ``"1"`` in a Sequential, the attribute
    name in a custom Block), e.g. ``"features.0"``. A block shared by several parents keeps the
    first name found (depth first, registration order).
    """
    found: dict[str, gluon.Block] = {}
    seen: set[int] = set()

    def walk(block: gluon.Block, prefix: str) -> None:
        for key, child in block._children.items():
            if id(child) in seen:
                continue
            seen.add(id(child))
            name = f"{prefix}{key}"
            found[name] = child
            walk(child, f"{name}.")

    walk(model, "")
    return found


@contextmanager
def imperative(model: gluon.Block) -> Iterator[None]:
    """Run ``model`` and its descendants imperatively (hooks fire) inside the ``with`` block;
    restore every HybridBlock's flag after."""
    from mxnet import gluon

    saved: list[tuple[gluon.HybridBlock, bool]] = []
    seen: set[int] = set()

    def visit(block: gluon.Block) -> None:
        if id(block) in seen:  # a shared block: its flag is saved once, before it is switched
            return
        seen.add(id(block))
        if isinstance(block, gluon.HybridBlock):
            saved.append((block, block._active))
            block._active = False
        for child in block._children.values():
            visit(child)

    visit(model)
    try:
        yield
    finally:
        for block, active in saved:
            block._active = active


def trace_outputs(
    model: gluon.Block, blocks: dict[str, gluon.Block], run: Callable[[], Any]
) -> tuple[Any, list[tuple[str, tuple[int, ...]]]]:
    """Run ``run()`` imperatively and list the blocks whose single-array output appeared.

    Returns
    -------
    result
        What ``run()`` returned.
    order : list of (name, output shape without the batch axis)
        In the order the outputs were computed (a container after its children), each block once
        (its first call on arrays); blocks never called, or returning something other than one
        NDArray, are left out.
    """
    from mxnet import nd

    names = {id(block): name for name, block in blocks.items()}
    order: list[tuple[str, tuple[int, ...]]] = []
    done: set[str] = set()

    def hook(block: gluon.Block, args: Any, out: Any) -> None:
        # Symbol outputs come from the shape inference of deferred initialisation, which traces
        # a block's children symbolically before running them: only NDArray calls count.
        name = names[id(block)]
        if name not in done and isinstance(out, nd.NDArray):
            done.add(name)
            order.append((name, tuple(out.shape[1:])))

    handles = [block.register_forward_hook(hook) for block in blocks.values()]
    try:
        with imperative(model):
            result = run()
    finally:
        for handle in handles:
            handle.detach()
    return result, order


class _Captured(Exception):
    """Raised from a forward hook to stop the forward pass once the wanted output exists."""


def capture_output(
    model: gluon.Block, block: gluon.Block, run: Callable[[], Any]
) -> nd.NDArray | None:
    """The output of ``block``'s first call while ``run()`` runs the model imperatively (the rest
    of the forward pass is skipped), or None if the forward pass never called ``block``."""
    from mxnet import nd

    captured: list[nd.NDArray] = []

    def hook(_: gluon.Block, args: Any, out: Any) -> None:
        if isinstance(out, nd.NDArray):
            captured.append(out)
            raise _Captured

    handle = block.register_forward_hook(hook)
    try:
        with imperative(model):
            run()
    except _Captured:
        pass
    finally:
        handle.detach()
    return captured[0] if captured else None
