"""Seeds for torch without touching its global random state.

trustml's rule is that every random routine takes ``seed: int | numpy.random.Generator | None`` and
never uses a global RNG. torch's own randomness (dropout in ``fit``, ``reset_parameters``, a
``DataLoader``'s shuffling) reads torch's global generators, so those calls run inside
:func:`seeded`, which forks the CPU generator (and the model's CUDA device's), seeds it from
``seed``, and restores the previous state on exit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from trustml.rng import SeedLike, as_generator

__all__ = ["draw_seed", "seeded", "torch_generator"]


def draw_seed(seed: SeedLike, name: str = "seed") -> int:
    """A 63-bit int for torch, drawn from :func:`trustml.rng.as_generator` ``(seed)``."""
    return int(as_generator(seed, name).integers(2**63 - 1))


@contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Run the block with torch's generators (CPU, and ``device`` if CUDA) seeded by ``seed``; their
    previous states are restored afterwards."""
    cuda = [device.index] if device.type == "cuda" and device.index is not None else []
    with torch.random.fork_rng(devices=cuda):
        torch.default_generator.manual_seed(seed)
        if cuda:
            with torch.cuda.device(device):
                torch.cuda.manual_seed(seed)
        yield


def torch_generator(seed: int, device: torch.device) -> torch.Generator:
    """A fresh ``torch.Generator`` on ``device`` seeded with ``seed``."""
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen
