"""Loading a user's adapter factory (``module:factory`` or ``path/to/file.py:factory``) and an
expected-failures file, for the CLI and the pytest plugin."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import cast

from trustml.errors import ParameterError

__all__ = ["load_expected_failures", "load_factory"]


def _module(spec: str, where: str) -> ModuleType:
    if spec.endswith(".py"):
        path = Path(spec)
        if not path.is_file():
            raise ParameterError(f"{where}: expected an existing .py file, got {spec!r}")
        name = f"_trustml_factory_{path.stem}"
        loader_spec = importlib.util.spec_from_file_location(name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise ParameterError(f"{where}: cannot load {spec!r} as a module")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[name] = module
        sys.path.insert(0, str(path.resolve().parent))
        try:
            loader_spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(path.resolve().parent))
        return module
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(spec)
    except ImportError as exc:
        raise ParameterError(f"{where}: cannot import module {spec!r} ({exc})") from exc


def load_factory(target: str, where: str = "factory") -> Callable[[], object]:
    """Resolve ``module:factory`` (a dotted module importable from the current directory) or
    ``path/to/file.py:factory`` to the factory callable.

    Raises
    ------
    ParameterError
        Malformed target, unimportable module, missing or non-callable attribute.
    """
    module_part, sep, attr = target.rpartition(":")
    if not sep or not module_part or not attr:
        raise ParameterError(f"{where}: expected 'module:factory' or 'file.py:factory', got "
                             f"{target!r}")
    module = _module(module_part, where)
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ParameterError(f"{where}: expected a callable {attr!r} in {module_part!r}, got "
                             f"{type(factory).__name__}")
    return cast("Callable[[], object]", factory)  # callable() checked above


def load_expected_failures(path: str, where: str = "--expected-failures") -> dict[str, str]:
    """Read ``{check_id: reason}`` from a JSON object file, or from a text file with one
    ``check_id: reason`` per line (blank lines and ``#`` comments ignored).

    Raises
    ------
    ParameterError
        Missing file or malformed content.
    """
    file = Path(path)
    if not file.is_file():
        raise ParameterError(f"{where}: expected an existing file, got {path!r}")
    text = file.read_text(encoding="utf-8")
    if file.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ParameterError(f"{where}: invalid JSON in {path!r} ({exc})") from None
        if not isinstance(data, dict):
            raise ParameterError(f"{where}: expected a JSON object {{check_id: reason}}, got "
                                 f"{type(data).__name__}")
        return {str(k): str(v) for k, v in data.items()}
    out: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        check_id, sep, reason = line.partition(":")
        if not sep or not check_id.strip():
            raise ParameterError(f"{where}: line {lineno} of {path!r}: expected 'check_id: "
                                 f"reason', got {line!r}")
        out[check_id.strip()] = reason.strip()
    return out
