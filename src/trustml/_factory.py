"""The one loader of a user's factory for every ``trustml`` subcommand (``check``, ``certify``,
``audit``, ``explain``, ``monitor``) and the conformance pytest plugin: ``package.module:make``
(importable from the current directory or ``sys.path``) or ``path/to/file.py:make``."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from trustml.errors import ParameterError

__all__ = ["load_factory"]


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
        folder = str(path.resolve().parent)
        sys.path.insert(0, folder)
        try:
            loader_spec.loader.exec_module(module)
        finally:
            sys.path.remove(folder)
        return module
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(spec)
    except ImportError as exc:
        raise ParameterError(f"{where}: cannot import module {spec!r} ({exc})") from exc


def load_factory(target: str, where: str = "factory") -> Callable[[], Any]:
    """Resolve ``module:factory`` (a dotted module importable from the current directory) or
    ``path/to/file.py:factory`` to the factory callable (not called).

    Parameters
    ----------
    target : str
        ``"package.module:make"`` or ``"path/to/file.py:make"``.
    where : str
        The argument's name in error messages.

    Raises
    ------
    ParameterError
        Malformed target, unimportable module or file, missing or non-callable attribute.
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
    return factory  # type: ignore[no-any-return]  # getattr of a user module is Any
