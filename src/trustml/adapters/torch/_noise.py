"""Randomized smoothing's inner loop on the device: Gaussian noise, predictions, counts.

Cohen, Rosenfeld, Kolter, "Certified Adversarial Robustness via Randomized Smoothing", ICML 2019:
the smoothed classifier's counts of ``argmax f(x + e)``, ``e ~ N(0, sigma^2 I)``. Each input's noise
comes from its own ``torch.Generator`` seeded from the call's seed and the input's values
(:func:`trustml.rng.input_seeds`), so an input's counts depend only on the input and the seed,
never on the other inputs or their order. When
``n <= batch_size`` one block of noise serves groups of ``batch_size // n`` inputs; otherwise each
input's draws are made in chunks of ``batch_size``. Counts stay on the device until the single
transfer at the end.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from trustml.adapters.torch._core import Core
from trustml.adapters.torch._inputs import as_input, to_device
from trustml.adapters.torch._randomness import draw_seed, torch_generator
from trustml.rng import SeedLike, input_seeds
from trustml.validation import check_batch_size, check_positive_float

__all__ = ["count_noisy_predictions"]


def _check_sigma(sigma: Any) -> float:
    return check_positive_float(sigma, "sigma")


def count_noisy_predictions(
    core: Core, x: Any, sigma: Any, n: Any, batch_size: Any, seed: SeedLike
) -> NDArray[np.int64]:
    """See ``PyTorchClassifier.count_noisy_predictions``."""
    std = _check_sigma(sigma)
    draws = check_batch_size(n, "n")
    bs = check_batch_size(batch_size)
    xt = as_input(x, core.input_shape, dtype=core.dtype)
    seeds = input_seeds(xt.detach().cpu().numpy(), draw_seed(seed))
    dtype = core.dtype
    noise_dtype = dtype if dtype in (torch.float32, torch.float64) else torch.float32
    classes = core.nb_classes
    shape = core.input_shape
    n_inputs = xt.shape[0]
    counts = torch.zeros((n_inputs, classes), dtype=torch.int64, device=core.device)

    autocast = core.count_autocast

    def count(noisy: torch.Tensor, rows: torch.Tensor, first: int, groups: int) -> None:
        if autocast is None:
            scores = core.scores(noisy.to(dtype))
        else:  # opt-in mixed precision: the certified classifier is the one that runs here
            with torch.autocast(device_type=core.device.type, dtype=autocast):
                scores = core.scores(noisy.to(dtype)).to(dtype)
        labels = core.postprocess(scores, True).argmax(dim=1)
        local = torch.bincount(rows * classes + labels, minlength=groups * classes)
        counts[first : first + groups] += local.view(groups, classes)

    with core.mode(False), torch.no_grad():
        if draws <= bs:
            per_group = max(1, bs // draws)
            for first in range(0, n_inputs, per_group):
                group = to_device(xt[first : first + per_group], core.device, noise_dtype)
                groups = group.shape[0]
                noisy = torch.empty((groups, draws, *shape), device=core.device, dtype=noise_dtype)
                for k in range(groups):  # per input, never per draw
                    noisy[k].normal_(generator=torch_generator(seeds[first + k], core.device))
                noisy.mul_(std).add_(group.unsqueeze(1))
                rows = torch.arange(groups, device=core.device).repeat_interleave(draws)
                count(noisy.view(groups * draws, *shape), rows, first, groups)
        else:
            zeros = torch.zeros(bs, dtype=torch.int64, device=core.device)
            for i in range(n_inputs):  # per input (never per draw): its draws in chunks
                gen = torch_generator(seeds[i], core.device)
                clean = to_device(xt[i : i + 1], core.device, noise_dtype)
                for start in range(0, draws, bs):
                    m = min(bs, draws - start)
                    noisy = torch.randn((m, *shape), generator=gen, device=core.device,
                                        dtype=noise_dtype)
                    noisy.mul_(std).add_(clean)
                    count(noisy, zeros[:m], i, 1)
    return counts.cpu().numpy()
