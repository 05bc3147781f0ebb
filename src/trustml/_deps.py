"""Optional-dependency handling: import a framework on demand, or explain how to install it."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from trustml.errors import MissingDependencyError

__all__ = ["is_imported", "require"]


def require(module: str, extra: str, *, purpose: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the trustml extra.

    Parameters
    ----------
    module : str
        Importable module name, e.g. ``"torch"`` or ``"sklearn.neural_network"``.
    extra : str
        The trustml extra that installs it, e.g. ``"torch"``.
    purpose : str, optional
        What needs it, for the message (defaults to the module name).

    Raises
    ------
    MissingDependencyError
        If the import fails; the message contains ``pip install "trustml[<extra>]"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        what = purpose or module
        raise MissingDependencyError(
            f"{what} needs the optional dependency {module.split('.')[0]!r}, which could not be "
            f"imported ({exc}). Install it with: pip install \"trustml[{extra}]\""
        ) from exc


def is_imported(module: str) -> bool:
    """Whether ``module`` is already in ``sys.modules`` (never imports it)."""
    return module in sys.modules
