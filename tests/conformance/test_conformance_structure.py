"""The kit's own structure: a straight import chain, and the documented attributes it reads."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from conformance_mutants import ClassGradientOfLogits, build

import trustml.conformance as kit
from trustml.conformance import run_check

PACKAGE = Path(kit.__file__).resolve().parent
ENTRY_POINTS = {"cli.py", "pytest_plugin.py"}
"""Entry points import the kit lazily, inside their functions, so that ``trustml --help`` and a
conftest that enables the plugin load nothing of it; nothing imports them."""


def _kit_imports(tree: ast.AST) -> list[tuple[str, bool]]:
    """``(module, at module level)`` of each import of a ``trustml.conformance`` module."""
    found: list[tuple[str, bool]] = []
    top = {id(node) for node in getattr(tree, "body", [])}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            if name.startswith("trustml.conformance."):
                found.append((name, id(node) in top))
    return found


def test_no_function_level_import_of_a_sibling() -> None:
    offenders = []
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name in ENTRY_POINTS:
            continue
        for module, top_level in _kit_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if not top_level:
                offenders.append(f"{path.name} imports {module} inside a function or block")
    assert not offenders, offenders


def test_the_import_graph_is_a_chain() -> None:
    """Module-level imports between the kit's modules form no cycle (a topological order
    exists), with the failures and snapshots at the bottom and the registry above every check."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.glob("*.py"):
        if path.name in ENTRY_POINTS:
            continue
        name = path.stem
        deps = {m.removeprefix("trustml.conformance.").split(".")[0]
                for m, _ in _kit_imports(ast.parse(path.read_text(encoding="utf-8")))}
        graph[name] = {d for d in deps if (PACKAGE / f"{d}.py").exists() and d != name}
    order: list[str] = []
    remaining = dict(graph)
    while remaining:
        ready = sorted(n for n, deps in remaining.items() if deps <= set(order))
        assert ready, f"import cycle among {sorted(remaining)}"
        order += ready
        for n in ready:
            del remaining[n]
    assert graph["_failures"] == set() and graph["_snapshots"] == set()
    checks = {n for n in graph if n.startswith("_checks_")}
    assert checks <= graph["_registry"]
    assert all("_registry" not in graph[n] and "_runner" not in graph[n] for n in checks)
    assert "_context" not in graph["_failures"] | graph["_snapshots"] | graph["_capabilities"]


_ALONE = """
import importlib, sys, types
for name in {names!r}:
    for loaded in [m for m in sys.modules if m.startswith("trustml.conformance")]:
        del sys.modules[loaded]
    # the package without its __init__, so that this module is the first of the kit to load
    package = types.ModuleType("trustml.conformance")
    package.__path__ = [{path!r}]
    sys.modules["trustml.conformance"] = package
    importlib.import_module("trustml.conformance." + name)
print("ok")
"""


def test_each_module_imports_alone() -> None:
    """Each module imported first, in an interpreter where no module of the kit is loaded (a
    circle closed by a function-level import fails here for some entry module)."""
    names = sorted(p.stem for p in PACKAGE.glob("_*.py") if p.stem != "__init__")
    code = _ALONE.format(names=names, path=str(PACKAGE))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, env={"PYTHONPATH": str(PACKAGE.parents[1])})
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


class DocumentedLogits(ClassGradientOfLogits):
    """class_gradient differentiates the logits, and the object says so."""

    class_gradient_output = "logits"

    def logits(self, x: Any) -> Any:
        return self.get_activations(x, 0)


class DocumentsAMissingMethod(ClassGradientOfLogits):
    class_gradient_output = "decision_function"


def test_class_gradient_output_names_the_differentiated_method() -> None:
    assert run_check(build(ClassGradientOfLogits), "class_gradient_finite_differences").status \
        == "failed"
    assert run_check(build(DocumentedLogits), "class_gradient_finite_differences").status \
        == "passed"
    missing = run_check(build(DocumentsAMissingMethod), "class_gradient_finite_differences")
    assert missing.status == "failed" and "decision_function" in missing.message
    # a documented output does not excuse a wrong gradient
    wrong = type("Wrong", (DocumentedLogits,), {
        "class_gradient": lambda self, x, label=None: -DocumentedLogits.class_gradient(
            self, x, label)})
    assert run_check(build(wrong), "class_gradient_finite_differences").status == "failed"
    assert np.isfinite(build(DocumentedLogits).logits(np.zeros((1, 1, 4, 4)))).all()
