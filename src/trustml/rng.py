"""Seeds: every random routine in trustml takes ``seed: int | numpy.random.Generator | None``.

No trustml code touches numpy's global random state.
"""

from __future__ import annotations

from typing import Union

import numpy as np

from trustml.errors import ParameterTypeError

__all__ = ["SeedLike", "as_generator"]

SeedLike = Union[int, np.random.Generator, None]
"""An ``int`` seed, a ``numpy.random.Generator`` (used as is, its state advances), or ``None``
(fresh OS entropy)."""


def as_generator(seed: SeedLike, name: str = "seed") -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for ``seed``.

    Raises
    ------
    ParameterTypeError
        If ``seed`` is not an int, a Generator or None (a legacy ``RandomState`` included).
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    raise ParameterTypeError(
        f"{name}: expected an int, a numpy.random.Generator or None, got {type(seed).__name__}"
    )
