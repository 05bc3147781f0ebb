"""Randomized smoothing's inner loop on the device: Gaussian noise, predictions, counts.

Cohen, Rosenfeld, Kolter, "Certified Adversarial Robustness via Randomized Smoothing", ICML 2019:
the smoothed classifier's counts of ``argmax f(x + e)``, ``e ~ N(0, sigma^2 I)``. The ``N * n``
noisy copies are visited along one flat axis (input-major) in chunks of at most ``batch_size``, so a
chunk may hold the copies of several inputs when ``n < batch_size``; only the inputs a chunk needs
are moved to the device, and the counts stay there until the single transfer at the end.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from trustml.adapters.torch._core import Core
from trustml.adapters.torch._inputs import as_input, to_device
from trustml.adapters.torch._randomness import draw_seed, torch_generator
from trustml.errors import ParameterError
from trustml.rng import SeedLike
from trustml.validation import check_batch_size

__all__ = ["count_noisy_predictions"]


def _check_sigma(sigma: Any) -> float:
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.integer, np.floating)):
        raise ParameterError(f"sigma: expected a positive finite number, got {sigma!r}")
    if not (np.isfinite(sigma) and sigma > 0):
        raise ParameterError(f"sigma: expected a positive finite number, got {sigma!r}")
    return float(sigma)


def count_noisy_predictions(
    core: Core, x: Any, sigma: Any, n: Any, batch_size: Any, seed: SeedLike
) -> NDArray[np.int64]:
    """See ``PyTorchClassifier.count_noisy_predictions``."""
    std = _check_sigma(sigma)
    draws = check_batch_size(n, "n")
    bs = check_batch_size(batch_size)
    xt = as_input(x, core.input_shape)
    gen = torch_generator(draw_seed(seed), core.device)
    dtype = core.dtype
    noise_dtype = dtype if dtype in (torch.float32, torch.float64) else torch.float32
    classes = core.nb_classes
    total = xt.shape[0] * draws
    counts = torch.zeros((xt.shape[0], classes), dtype=torch.int64, device=core.device)
    with core.mode(False), torch.no_grad():
        for start in range(0, total, bs):
            stop = min(start + bs, total)
            lo, hi = start // draws, (stop - 1) // draws + 1  # the inputs this chunk covers
            rows = torch.arange(start, stop, device=core.device) // draws - lo
            shape = (stop - start, *core.input_shape)
            # In place: one batch of noise becomes the noisy batch (memory: about two batches).
            noisy = torch.randn(shape, generator=gen, device=core.device, dtype=noise_dtype)
            noisy = noisy.mul_(std).to(dtype)
            noisy.add_(to_device(xt[lo:hi], core.device, dtype)[rows])
            scores = core.postprocess(core.scores(noisy), True)
            labels = scores.argmax(dim=1)
            local = torch.bincount(rows * classes + labels, minlength=(hi - lo) * classes)
            counts[lo:hi] += local.view(hi - lo, classes)
    return counts.cpu().numpy()
