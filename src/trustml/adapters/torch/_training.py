"""Training loops: ``fit`` over arrays with seeded shuffling, ``fit_generator`` over batches.

torch's own randomness during training (dropout, a ``DataLoader``'s shuffling) runs inside
:func:`~trustml.adapters.torch._randomness.seeded`, so a seed fixes it without touching torch's
global random state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

from trustml.adapters.torch._core import Core
from trustml.adapters.torch._inputs import as_input, batch_slices, to_device
from trustml.adapters.torch._randomness import draw_seed, seeded
from trustml.adapters.torch._state import restored_on_error
from trustml.errors import ParameterError, ParameterTypeError
from trustml.rng import SeedLike, as_generator
from trustml.validation import check_batch_size, check_nonempty

__all__ = ["fit", "fit_generator"]


def _step(core: Core, optimizer: torch.optim.Optimizer, xb: torch.Tensor, yb: torch.Tensor) -> None:
    """One optimizer step on a raw batch: fit-time defences, standardisation, the user's loss as
    configured (a ``"none"`` reduction is averaged)."""
    optimizer.zero_grad(set_to_none=True)
    inputs, target = core.pipeline.fit_input(xb, yb, core.nb_classes)
    scores = core.model(inputs)
    if scores.dtype in (torch.float16, torch.bfloat16):
        scores = scores.float()
    value = core.loss(scores, target)
    if value.ndim:
        value = value.mean()
    value.backward()
    optimizer.step()


OptimizerSource = Callable[[], torch.optim.Optimizer]
"""Gives the optimizer once the inputs are validated (the default one is created only then)."""


def fit(
    core: Core, get_optimizer: OptimizerSource, x: Any, y: Any, batch_size: Any,
    nb_epochs: Any, seed: SeedLike, training_mode: bool, drop_last: bool,
) -> None:
    """See ``PyTorchClassifier.fit``; everything is validated before the first step."""
    bs = check_batch_size(batch_size)
    epochs = check_batch_size(nb_epochs, "nb_epochs")
    xt = as_input(x, core.input_shape, dtype=core.dtype)
    check_nonempty(xt.shape[0])
    yt = core.labels(y, xt.shape[0])
    rng = as_generator(seed)
    optimizer = get_optimizer()
    torch_seed = int(rng.integers(2**63 - 1))
    dtype = core.dtype
    n = xt.shape[0]
    with core.mode(training_mode), seeded(torch_seed, core.device):
        for _ in range(epochs):
            order = torch.from_numpy(rng.permutation(n))
            for sl in batch_slices(n, bs):
                idx = order[sl]
                if drop_last and idx.shape[0] < bs:
                    break
                xb = to_device(xt[idx.to(xt.device)], core.device, dtype)
                _step(core, optimizer, xb, yt[idx.to(core.device)])


def fit_generator(
    core: Core, get_optimizer: OptimizerSource, generator: Iterable[Any], nb_epochs: Any,
    seed: SeedLike, training_mode: bool,
) -> None:
    """See ``PyTorchClassifier.fit_generator``."""
    epochs = check_batch_size(nb_epochs, "nb_epochs")
    try:
        first = iter(generator)
    except TypeError:
        raise ParameterTypeError(
            f"generator: expected an iterable of (x, y) batches, got {type(generator).__name__}"
        ) from None
    if epochs > 1 and first is generator:
        raise ParameterTypeError(
            "generator: expected a re-iterable source of batches (a DataLoader, a list) for "
            f"nb_epochs={epochs}, got a one-shot iterator ({type(generator).__name__})"
        )
    dtype = core.dtype
    optimizer = get_optimizer()
    with (
        restored_on_error(core.model, optimizer),
        core.mode(training_mode),
        seeded(draw_seed(seed), core.device),
    ):
        for epoch in range(epochs):
            batches = first if epoch == 0 else iter(generator)
            count = 0
            for i, batch in enumerate(batches):
                if not isinstance(batch, (tuple, list)) or len(batch) != 2:
                    raise ParameterTypeError(
                        f"generator: expected (x, y) batches, got {type(batch).__name__} at "
                        f"batch {i}"
                    )
                xt = as_input(batch[0], core.input_shape, name=f"x (batch {i})", dtype=dtype)
                check_nonempty(xt.shape[0], f"x (batch {i})")
                yt = core.labels(batch[1], xt.shape[0], name=f"y (batch {i})")
                _step(core, optimizer, to_device(xt, core.device, dtype), yt)
                count += 1
            if count == 0:
                raise ParameterError(
                    f"generator: expected at least one (x, y) batch per epoch, got none in epoch "
                    f"{epoch}"
                )
