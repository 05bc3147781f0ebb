"""Seeds: every random routine in trustml takes ``seed: int | numpy.random.Generator | None``.

No trustml code touches numpy's global random state.
"""

from __future__ import annotations

import hashlib
from typing import Any, Union

import numpy as np
from numpy.typing import NDArray

from trustml.errors import ParameterError, ParameterTypeError
from trustml.validation import check_int_range

__all__ = ["SeedLike", "as_generator", "block_seed", "input_seeds"]

SeedLike = Union[int, np.random.Generator, None]
"""An ``int`` seed, a ``numpy.random.Generator`` (used as is, its state advances), or ``None``
(fresh OS entropy)."""


def as_generator(seed: SeedLike, name: str = "seed") -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for ``seed``.

    Raises
    ------
    ParameterTypeError
        If ``seed`` is not an int, a Generator or None (a legacy ``RandomState``, a bool, a float
        or a string included).
    ParameterError
        If ``seed`` is a negative int.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)):
        return np.random.default_rng(check_int_range(seed, name))
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
        ``(N, ...)`` real numeric inputs (bool, int or float), at least one axis.
    seed : int
        Base seed of the call in ``[0, 2**128)`` (e.g. drawn from :func:`as_generator`).

    Returns
    -------
    list of int
        ``N`` seeds in ``[0, 2**63)``.

    Raises
    ------
    ParameterTypeError
        ``seed`` is not an int; ``x`` is not a numpy array of real numbers.
    ParameterError
        ``seed`` outside ``[0, 2**128)``; ``x`` is 0-d.
    """
    seed = check_int_range(seed, "seed", high=2**128)
    if not isinstance(x, np.ndarray) or x.dtype.kind not in "biuf":
        got = f"dtype {x.dtype}" if isinstance(x, np.ndarray) else type(x).__name__
        raise ParameterTypeError(f"x: expected a numpy array of real numbers, got {got}")
    if x.ndim == 0:
        raise ParameterError("x: expected an array of shape (N, ...), got a 0-d array")
    key = seed.to_bytes(16, "little", signed=False)
    arr = np.ascontiguousarray(x, dtype=np.float32)
    rows = arr.reshape(arr.shape[0], int(np.prod(arr.shape[1:])))
    return [
        int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=8, key=key).digest(), "little")
        >> 1
        for row in rows
    ]


def block_seed(seed: int, block: int) -> int:
    """Seed of block ``block`` of the draws of a call whose seed is ``seed``.

    Work that splits an input's noisy draws into blocks (sharding one input's draws across
    workers, or drawing until a stopping rule decides) seeds block ``b`` with
    ``block_seed(seed, b)`` and then seeds each input within it with :func:`input_seeds`, so a
    block's noise depends only on the call's seed, the block index and the input: never on which
    worker draws it, in what order, or with which ``batch_size``. Block 0 keeps the call's seed
    (``block_seed(seed, 0) == seed``), so a single block draws exactly the noise of an unsplit call.

    Parameters
    ----------
    seed : int
        Non-negative base seed of the call, below ``2**63``.
    block : int
        Non-negative block index.

    Returns
    -------
    int
        A seed in ``[0, 2**63)``.

    Raises
    ------
    ParameterError
        ``seed`` or ``block`` is negative, or ``seed >= 2**63``.
    ParameterTypeError
        ``seed`` or ``block`` is not an int.
    """
    seed = check_int_range(seed, "seed", high=2**63)
    block = check_int_range(block, "block", high=2**64)
    if block == 0:
        return seed
    digest = hashlib.blake2b(
        block.to_bytes(8, "little"), digest_size=8, key=seed.to_bytes(8, "little")
    ).digest()
    return int.from_bytes(digest, "little") >> 1
