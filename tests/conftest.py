"""Suite-wide settings: hypothesis runs derandomized and without per-example deadlines, so a
loaded 2-core CI machine cannot turn a slow example into a failure."""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("trustml", deadline=None, derandomize=True)
settings.load_profile("trustml")
