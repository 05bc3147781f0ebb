"""Bridges between trustml and other toolkits, each behind its own extra.

- :mod:`trustml.interop.art` (extra ``art``): IBM's Adversarial Robustness Toolbox, both ways:
  :func:`~trustml.interop.art.to_art` turns any trustml classifier into an ART estimator and
  :func:`~trustml.interop.art.from_art` turns an ART estimator into a trustml classifier.

Importing this package (or :mod:`trustml.interop.art`) never imports the other toolkit; calling a
bridge does, and raises :class:`~trustml.errors.MissingDependencyError` with the install line when
it is missing.
"""

from __future__ import annotations

__all__: list[str] = []
