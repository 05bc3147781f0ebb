"""Opt-in mixed precision for the noisy-counting fast path (``noisy_count_autocast``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from torch_models import CNN_SHAPE, PER_CHANNEL, make_cnn, wrap

from trustml.certification import RandomizedSmoothing
from trustml.errors import ParameterError

torch = pytest.importorskip("torch")
nn = torch.nn


class RecordsAutocast(nn.Module):
    """Wraps a model and records, per forward pass, whether autocast was on and in which dtype."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.seen: list[tuple[bool, Any]] = []

    def forward(self, x: Any) -> Any:
        on = torch.is_autocast_enabled(x.device.type)
        self.seen.append((on, torch.get_autocast_dtype(x.device.type) if on else None))
        return self.inner(x)


def _inputs(n: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, *CNN_SHAPE), dtype=np.float32)


@pytest.mark.parametrize("spec", ["bfloat16", "float16", torch.bfloat16])
def test_counting_runs_under_autocast_and_nothing_else_does(spec: Any) -> None:
    model = RecordsAutocast(make_cnn())
    clf = wrap(model, CNN_SHAPE, 4, preprocessing=PER_CHANNEL, noisy_count_autocast=spec)
    assert model.seen == [(False, None)]  # the constructor's shape probe, in full precision
    model.seen.clear()
    x = _inputs()
    counts = clf.count_noisy_predictions(x, 0.25, 50, batch_size=64, seed=0)
    assert counts.shape == (6, 4) and counts.dtype == np.int64
    assert_array_equal(counts.sum(axis=1), 50)
    wanted = torch.bfloat16 if spec in ("bfloat16", torch.bfloat16) else torch.float16
    assert model.seen and all(entry == (True, wanted) for entry in model.seen)
    model.seen.clear()
    clf.predict(x)
    clf.loss_gradient(x, np.zeros(6, dtype=np.int64))
    assert model.seen and not any(on for on, _ in model.seen)


def test_autocast_counts_are_seeded_and_close_to_full_precision() -> None:
    model = make_cnn()
    full = wrap(model, CNN_SHAPE, 4, preprocessing=PER_CHANNEL)
    half = wrap(model, CNN_SHAPE, 4, preprocessing=PER_CHANNEL, noisy_count_autocast="bfloat16")
    x = _inputs(8, seed=3)
    a = half.count_noisy_predictions(x, 0.25, 400, batch_size=128, seed=5)
    assert_array_equal(a, half.count_noisy_predictions(x, 0.25, 400, batch_size=128, seed=5))
    b = full.count_noisy_predictions(x, 0.25, 400, batch_size=128, seed=5)
    # the same noise, the same network: bf16 rounding flips only draws near a decision boundary
    changed = np.abs(a - b).sum() / 2 / a.sum()
    assert changed < 0.1, changed


def test_default_is_full_precision_and_identical_to_before() -> None:
    model = RecordsAutocast(make_cnn())
    clf = wrap(model, CNN_SHAPE, 4, preprocessing=PER_CHANNEL)
    explicit = wrap(model, CNN_SHAPE, 4, preprocessing=PER_CHANNEL, noisy_count_autocast=None)
    x = _inputs()
    assert_array_equal(
        clf.count_noisy_predictions(x, 0.25, 30, batch_size=64, seed=1),
        explicit.count_noisy_predictions(x, 0.25, 30, batch_size=64, seed=1),
    )
    assert not any(on for on, _ in model.seen)
    assert clf.get_params()["noisy_count_autocast"] is None


@pytest.mark.parametrize("bad", ["fp16", "float32", torch.float32, 16, True])
def test_bad_autocast_dtype_is_rejected_naming_the_parameter(bad: Any) -> None:
    with pytest.raises(ParameterError, match="noisy_count_autocast"):
        wrap(make_cnn(), CNN_SHAPE, 4, noisy_count_autocast=bad)


def test_params_round_trip_and_certification_over_autocast() -> None:
    clf = wrap(make_cnn(), CNN_SHAPE, 4, noisy_count_autocast="bfloat16")
    assert clf.get_params()["noisy_count_autocast"] == torch.bfloat16
    clf.set_params(noisy_count_autocast=None)
    assert clf.get_params()["noisy_count_autocast"] is None
    clf.set_params(noisy_count_autocast="bfloat16")
    smoothed = RandomizedSmoothing(clf, sigma=0.25, alpha=0.01)
    labels, radii = smoothed.certify(_inputs(4), n=200, n0=20, batch_size=100, seed=0)
    assert labels.shape == (4,) and radii.shape == (4,)
    assert ((labels == -1) == (radii == 0.0)).all() and (radii >= 0).all()
