"""to_art over trustml's MXNet adapter: ART's FGSM and PGD run on it (ART 1.20 has no MXNet
estimator of its own any more, so FGSM is checked against its closed form
``clip(x + eps * sign(loss_gradient))`` and PGD against the loss it must raise). Runs where mxnet
imports (numpy < 1.24) and ART is installed: a side environment beside the `mxnet` session's pins
(see docs/interop-art.md)."""

from __future__ import annotations

import numpy as np
import pytest

if tuple(int(p) for p in np.__version__.split(".")[:2]) >= (1, 24):
    pytest.skip("mxnet 1.9.1 imports only with numpy < 1.24", allow_module_level=True)
pytest.importorskip("art")
mx = pytest.importorskip("mxnet")

from art.attacks.evasion import FastGradientMethod, ProjectedGradientDescent
from mxnet import gluon

from trustml.adapters.mxnet import MXNetClassifier
from trustml.interop.art import to_art

SHAPE = (3, 8, 8)


def _net() -> gluon.HybridBlock:
    mx.random.seed(0)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Conv2D(4, 3, padding=1, activation="tanh"), gluon.nn.AvgPool2D(2),
            gluon.nn.Flatten(), gluon.nn.Dense(3))
    net.initialize(mx.init.Normal(0.5), ctx=mx.cpu())
    return net


def test_fgsm_and_pgd_run_on_the_mxnet_adapter() -> None:
    clf = MXNetClassifier(_net(), gluon.loss.SoftmaxCrossEntropyLoss(), SHAPE, 3,
                          clip_values=(0.0, 1.0), preprocessing=([0.5, 0.4, 0.3], [0.25, 0.5, 2.0]))
    est = to_art(clf)
    rng = np.random.default_rng(0)
    x = rng.uniform(0.1, 0.9, (8, *SHAPE)).astype(np.float32)
    y = rng.integers(0, 3, 8)
    fgsm = FastGradientMethod(est, eps=0.05).generate(x, y=np.eye(3)[y])
    closed_form = np.clip(x + 0.05 * np.sign(clf.loss_gradient(x, y)), 0.0, 1.0)
    np.testing.assert_allclose(fgsm, closed_form, rtol=0, atol=1e-6)
    pgd = ProjectedGradientDescent(est, eps=0.1, eps_step=0.02, max_iter=5, num_random_init=0,
                                   verbose=False).generate(x, y=np.eye(3)[y])
    assert np.abs(pgd - x).max() <= 0.1 + 1e-6 and pgd.min() >= 0.0 and pgd.max() <= 1.0
    assert (clf.compute_loss(pgd, y) > clf.compute_loss(x, y)).all()
