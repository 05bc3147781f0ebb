"""Agreement with PyTorch on copied weights: scores, per-sample losses and both gradients.

The reference is computed with raw torch (autograd on the standardised input), so a mistake in
the MXNet adapter's standardisation, loss or chaining shows as a disagreement.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mxnet")
torch = pytest.importorskip("torch")

from _mxnets import CNN_MEAN, CNN_SHAPE, CNN_STD, cnn_classifier, data, mlp_classifier

torch.set_num_threads(1)


def torch_mlp(gluon_net) -> torch.nn.Module:
    dense0, inner = gluon_net[0], gluon_net[1]
    layers = [dense0, inner[0], inner[1]]
    net = torch.nn.Sequential(
        torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 5), torch.nn.Tanh(),
        torch.nn.Linear(5, 3),
    ).double()
    for layer, target in zip(layers, [net[0], net[2], net[4]]):
        target.weight.data = torch.from_numpy(layer.weight.data().asnumpy())
        target.bias.data = torch.from_numpy(layer.bias.data().asnumpy())
    return net


def torch_cnn(gluon_net) -> torch.nn.Module:
    conv, dense = gluon_net[0], gluon_net[3]
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.Tanh(), torch.nn.AvgPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(64, 3),
    ).double()
    for layer, target in [(conv, net[0]), (dense, net[4])]:
        target.weight.data = torch.from_numpy(layer.weight.data().asnumpy())
        target.bias.data = torch.from_numpy(layer.bias.data().asnumpy())
    return net


CASES = {
    "mlp": (mlp_classifier, torch_mlp, (4,), [0.1, -0.2, 0.3, 0.0], [0.5, 1.0, 2.0, 1.5]),
    "cnn": (cnn_classifier, torch_cnn, CNN_SHAPE, CNN_MEAN, CNN_STD),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("hybridize", [False, True])
def test_agrees_with_torch_on_copied_weights(case: str, hybridize: bool) -> None:
    build, to_torch, shape, mean, std = CASES[case]
    clf = build(hybridize=hybridize)
    reference = to_torch(clf.model)
    x, y = data(shape, n=5, seed=3)
    view = (1, -1) + (1,) * (len(shape) - 1)
    sub = torch.tensor(mean, dtype=torch.float64).reshape(view)
    div = torch.tensor(std, dtype=torch.float64).reshape(view)

    xt = torch.tensor(x, requires_grad=True)
    logits = reference((xt - sub) / div)
    losses = torch.nn.functional.cross_entropy(logits, torch.tensor(y), reduction="none")
    (loss_grad,) = torch.autograd.grad(losses.sum(), xt, retain_graph=True)
    jacobian = torch.stack(
        [torch.autograd.grad(logits[:, k].sum(), xt, retain_graph=True)[0] for k in range(3)],
        dim=1,
    )

    np.testing.assert_allclose(clf.predict(x), logits.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(clf.compute_loss(x, y), losses.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(clf.loss_gradient(x, y), loss_grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(clf.class_gradient(x), jacobian.numpy(), rtol=1e-9, atol=1e-12)
