"""MXNet Gluon adapter (extra ``mxnet``): :class:`MXNetClassifier`.

Importing this module needs numpy only; mxnet is imported when an adapter is built. MXNet 1.9.1,
the last release, imports only with numpy < 1.24, so it lives in its own environment (the nox
session ``mxnet``); elsewhere, building an adapter raises
:class:`~trustml.errors.MissingDependencyError` explaining that constraint.
"""

from __future__ import annotations

from trustml.adapters.mxnet._classifier import MXNetClassifier

__all__ = ["MXNetClassifier"]
