"""Factories of broken adapters for the CLI and plugin tests."""

from __future__ import annotations

from typing import Any

from conformance_mutants import FlippedGradient, build


def flipped() -> Any:
    return build(FlippedGradient)
