"""Seeds: every random routine in trustml takes ``seed: int | numpy.random.Generator | None``.

No trustml code touches numpy's global random state.
"""

from __future__ import annotations

import hashlib
from typing import Any, Union

import numpy as np
from numpy.typing import NDArray

from trustml.errors import ParameterTypeError

__all__ = ["SeedLike", "as_generator", "input_seeds"]

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


def input_seeds(x: NDArray[Any], seed: int) -> list[int]:
    """One 63-bit seed per input, from ``seed`` and the input's own values.

    Randomized routines that draw noise *per input* (randomized smoothing) seed each input's
    generator with these, so an input's noise depends only on its values and ``seed``: not on the
    other inputs of the batch, its position, or the batch size, while distinct inputs get
    independent streams. The values are hashed as float32 (BLAKE2b keyed with ``seed``).

    Parameters
    ----------
    x : numpy.ndarray
        ``(N, ...)`` inputs.
    seed : int
        Non-negative base seed of the call (e.g. drawn from :func:`as_generator`).

    Returns
    -------
    list of int
        ``N`` seeds in ``[0, 2**63)``.
    """
    key = int(seed).to_bytes(16, "little", signed=False)[:16]
    arr = np.ascontiguousarray(x, dtype=np.float32)
    rows = arr.reshape(arr.shape[0], int(np.prod(arr.shape[1:])))
    return [
        int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=8, key=key).digest(), "little")
        >> 1
        for row in rows
    ]
