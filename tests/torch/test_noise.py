"""count_noisy_predictions: the randomized-smoothing fast path (Cohen et al., ICML 2019)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from torch_models import MLP_SHAPE, make_mlp, wrap

from trustml.errors import InputShapeError, ParameterError, ParameterTypeError


def test_rows_sum_to_n_and_dtype(cnn, images) -> None:
    counts = cnn.count_noisy_predictions(images, 0.25, 37, batch_size=16, seed=0)
    assert counts.shape == (10, 4) and counts.dtype == np.int64
    assert_array_equal(counts.sum(axis=1), 37)


def test_reproducible_per_seed(cnn, images) -> None:
    a = cnn.count_noisy_predictions(images, 4.0, 50, batch_size=32, seed=3)
    b = cnn.count_noisy_predictions(images, 4.0, 50, batch_size=32, seed=3)
    c = cnn.count_noisy_predictions(images, 4.0, 50, batch_size=32, seed=4)
    assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    gen = np.random.default_rng(3)
    d = cnn.count_noisy_predictions(images, 4.0, 50, batch_size=32, seed=gen)
    assert not np.array_equal(d, cnn.count_noisy_predictions(images, 4.0, 50, batch_size=32,
                                                             seed=gen))


def test_tiny_sigma_counts_the_clean_prediction(cnn, images) -> None:
    counts = cnn.count_noisy_predictions(images, 1e-7, 20, batch_size=7, seed=0)
    clean = cnn.predict(images).argmax(axis=1)
    assert_array_equal(counts[np.arange(10), clean], 20)


@pytest.mark.parametrize("bs", [4, 12])
def test_counts_match_predict_on_the_same_noise(bs: int) -> None:
    """Closed check on a linear model: the counts equal those of predict on explicitly drawn noise.
    Each input's generator is seeded from the call's seed and the input's values (chunks of
    batch_size when n > bs, one block of n draws per input when n <= bs)."""
    lin = torch.nn.Linear(6, 3)
    clf = wrap(lin, MLP_SHAPE, 3)
    x = np.random.default_rng(0).normal(size=(3, 6)).astype(np.float32)
    n, seed = 5, 11
    counts = clf.count_noisy_predictions(x, 0.8, n, batch_size=bs, seed=seed)
    from trustml.adapters.torch._randomness import draw_seed
    from trustml.rng import input_seeds

    expected = np.zeros((3, 3), np.int64)
    for i, input_seed in enumerate(input_seeds(x, draw_seed(seed))):
        gen = torch.Generator().manual_seed(input_seed)
        if n <= bs:
            noise = torch.empty((n, 6)).normal_(generator=gen)
        else:
            noise = torch.cat([torch.randn((min(bs, n - s), 6), generator=gen)
                               for s in range(0, n, bs)])
        labels = clf.predict(torch.from_numpy(x[i]) + 0.8 * noise).argmax(1)
        np.add.at(expected[i], labels, 1)
    assert_array_equal(counts, expected)


@pytest.mark.parametrize("bs", [3, 64])
def test_an_inputs_counts_do_not_depend_on_the_other_inputs(cnn, images, bs: int) -> None:
    together = cnn.count_noisy_predictions(images, 0.5, 20, batch_size=bs, seed=3)
    for i in (0, 4, 9):
        alone = cnn.count_noisy_predictions(images[i : i + 1], 0.5, 20, batch_size=bs, seed=3)
        assert_array_equal(alone[0], together[i])
    reordered = cnn.count_noisy_predictions(images[::-1], 0.5, 20, batch_size=bs, seed=3)
    assert_array_equal(reordered[::-1], together)


def test_never_more_than_batch_size_copies() -> None:
    seen = []

    class Spy(torch.nn.Module):
        def forward(self, x):
            seen.append(x.shape[0])
            return x

    clf = wrap(torch.nn.Sequential(Spy(), make_mlp()), MLP_SHAPE, 3)
    seen.clear()  # the constructor's one-sample shape probe
    x = np.zeros((4, 6), np.float32)
    clf.count_noisy_predictions(x, 0.1, 10, batch_size=6, seed=0)
    assert max(seen) <= 6 and sum(seen) == 40


def test_bad_arguments(cnn, images) -> None:
    for sigma in (0.0, -1.0, float("nan")):
        with pytest.raises(ParameterError, match="sigma: expected a finite number > 0"):
            cnn.count_noisy_predictions(images, sigma, 10, batch_size=8)
    with pytest.raises(ParameterTypeError, match="sigma: expected a finite number > 0, got str"):
        cnn.count_noisy_predictions(images, "1", 10, batch_size=8)
    with pytest.raises(ParameterError, match="n"):
        cnn.count_noisy_predictions(images, 0.1, 0, batch_size=8)
    with pytest.raises(ParameterError, match="batch_size"):
        cnn.count_noisy_predictions(images, 0.1, 10, batch_size=0)
    with pytest.raises(InputShapeError):
        cnn.count_noisy_predictions(images[0], 0.1, 10, batch_size=8)
