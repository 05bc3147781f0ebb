"""CUDA: the same contracts on a GPU, and agreement with the CPU. Skipped without a GPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from torch_models import CNN_SHAPE, PER_CHANNEL, make_cnn, wrap

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


@pytest.fixture
def pair():
    model = make_cnn().double()
    cpu = wrap(model, CNN_SHAPE, 4, preprocessing=PER_CHANNEL, device="cpu")
    gpu = wrap(make_cnn().double(), CNN_SHAPE, 4, preprocessing=PER_CHANNEL, device="cuda:0")
    gpu.model.load_state_dict(model.state_dict())
    return cpu, gpu


def test_device_placement() -> None:
    clf = wrap(make_cnn(), CNN_SHAPE, 4, device="cuda")
    assert clf.device == torch.device("cuda", torch.cuda.current_device())
    assert all(p.device == clf.device for p in clf.model.parameters())
    auto = wrap(make_cnn(), CNN_SHAPE, 4, device="auto")
    assert auto.device.type == "cuda"
    x = torch.rand(6, *CNN_SHAPE)
    assert clf.predict(x, framework=True).device == clf.device
    assert clf.predict(x.cuda(), framework=True).device == clf.device
    assert isinstance(clf.predict(x.cuda()), np.ndarray)


def test_cpu_and_gpu_agree(pair) -> None:
    cpu, gpu = pair
    rng = np.random.default_rng(0)
    x = rng.random((9, *CNN_SHAPE))
    y = rng.integers(0, 4, 9)
    assert_allclose(gpu.predict(x), cpu.predict(x), rtol=1e-5, atol=1e-6)
    assert_allclose(gpu.loss_gradient(x, y, batch_size=4), cpu.loss_gradient(x, y), rtol=1e-8,
                    atol=1e-10)
    assert_allclose(gpu.class_gradient(torch.from_numpy(x).cuda()), cpu.class_gradient(x),
                    rtol=1e-8, atol=1e-10)
    assert_allclose(gpu.get_activations(x, 2), cpu.get_activations(x, 2), rtol=1e-8, atol=1e-10)


def test_noise_counts_on_gpu(pair) -> None:
    _, gpu = pair
    x = np.random.default_rng(1).random((5, *CNN_SHAPE))
    a = gpu.count_noisy_predictions(x, 0.25, 1000, batch_size=256, seed=0)
    assert_array_equal(a.sum(axis=1), 1000)
    assert_array_equal(a, gpu.count_noisy_predictions(x, 0.25, 1000, batch_size=256, seed=0))
    tiny = gpu.count_noisy_predictions(x, 1e-9, 10, batch_size=256, seed=0)
    assert_array_equal(tiny[np.arange(5), gpu.predict(x).argmax(1)], 10)


def test_fit_on_gpu_is_seeded() -> None:
    x = np.random.default_rng(2).random((32, *CNN_SHAPE)).astype(np.float32)
    y = np.arange(32) % 4
    states = []
    for _ in range(2):
        model = make_cnn()
        clf = wrap(model, CNN_SHAPE, 4, device="cuda",
                   optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
        clf.fit(x, y, batch_size=8, nb_epochs=2, seed=0)
        states.append({k: v.cpu() for k, v in model.state_dict().items()})
    assert all(torch.allclose(states[0][k], states[1][k]) for k in states[0])
