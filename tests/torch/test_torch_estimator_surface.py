"""The seed's estimator surface on the PyTorch adapter (``model``, ``get_params``, ``set_params``,
``clone_for_refitting``, ``compute_loss_from_predictions``) and the constructor's shape probe."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from numpy.testing import assert_array_equal
from torch import nn
from torch_models import CNN_SHAPE, MLP_SHAPE, PER_CHANNEL, make_cnn, make_mlp, wrap

from trustml.errors import InputShapeError, ParameterError
from trustml.protocols import Clonable


def _state(model: nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def _data(n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, *MLP_SHAPE)).astype(np.float32), rng.integers(0, 3, n)


def test_model_is_the_wrapped_module_and_read_only() -> None:
    net = make_mlp()
    clf = wrap(net, MLP_SHAPE, 3)
    assert clf.model is net
    with pytest.raises(AttributeError):
        clf.model = make_mlp()  # type: ignore[misc]


def test_get_params_set_params_round_trip() -> None:
    clf = wrap(make_mlp(), MLP_SHAPE, 3, clip_values=(-3.0, 3.0), preprocessing=(0.5, 2.0))
    x, _ = _data()
    before = clf.predict(x)
    params = clf.get_params()
    assert clf.set_params(**params) is clf
    assert_array_equal(clf.predict(x), before)
    assert clf.get_params().keys() == params.keys()
    clf.set_params(preprocessing=(0.0, 1.0))
    assert not np.array_equal(clf.predict(x), before)
    clf.set_params(preprocessing=params["preprocessing"])
    assert_array_equal(clf.predict(x), before)


def test_set_params_is_atomic() -> None:
    clf = wrap(make_mlp(), MLP_SHAPE, 3, clip_values=(-3.0, 3.0))
    x, _ = _data()
    before, params = clf.predict(x), clf.get_params()
    for bad in ({"nb_classes": 1}, {"input_shape": (7,)}, {"unknown": 1},
                {"clip_values": (1.0, 0.0), "preprocessing": (0.5, 2.0)}):
        with pytest.raises(ParameterError):
            clf.set_params(**bad)
        assert clf.get_params() == params
        assert_array_equal(clf.predict(x), before)


def test_clone_is_untrained_independent_and_same_shape() -> None:
    net = make_cnn()
    clf = wrap(net, CNN_SHAPE, 4, preprocessing=PER_CHANNEL, clip_values=(0.0, 1.0),
               optimizer=torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.5))
    assert isinstance(clf, Clonable)
    original = _state(net)
    clone = clf.clone_for_refitting(seed=0)
    assert type(clone) is type(clf) and clone.model is not net
    assert clone.input_shape == clf.input_shape and clone.nb_classes == clf.nb_classes
    assert clone.preprocessing == clf.preprocessing
    assert all(np.array_equal(a, b) for a, b in zip(clone.clip_values, clf.clip_values))
    fresh = _state(clone.model)
    assert fresh.keys() == original.keys()
    assert any(not np.array_equal(fresh[k], original[k]) for k in fresh)  # re-initialised
    assert isinstance(clone.optimizer, torch.optim.SGD)
    assert clone.optimizer.defaults["momentum"] == 0.5
    assert all(p in set(clone.model.parameters())
               for g in clone.optimizer.param_groups for p in g["params"])
    x = np.random.default_rng(1).random((6, *CNN_SHAPE), dtype=np.float32)
    assert clone.predict(x).shape == clf.predict(x).shape
    clone.fit(x, np.arange(6) % 4, batch_size=3, nb_epochs=2, seed=0)
    assert any(not np.array_equal(v, fresh[k]) for k, v in _state(clone.model).items())
    after = _state(net)
    assert all(np.array_equal(after[k], original[k]) for k in original)  # bit-exact


def test_clone_resets_batchnorm_statistics_and_keeps_the_original() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.Linear(5, 3))
    clf = wrap(net, MLP_SHAPE, 3)
    x, y = _data()
    clf.fit(x, y, batch_size=4, nb_epochs=1, seed=0)
    trained = _state(net)
    clone = clf.clone_for_refitting(seed=1)
    assert_array_equal(clone.model[1].running_mean.numpy(), np.zeros(5, np.float32))
    clone.fit(x, y, batch_size=4, nb_epochs=1, seed=0)
    assert all(np.array_equal(_state(net)[k], trained[k]) for k in trained)


def test_compute_loss_from_predictions_equals_compute_loss() -> None:
    clf = wrap(make_cnn(), CNN_SHAPE, 4, preprocessing=PER_CHANNEL)
    x = np.random.default_rng(2).random((7, *CNN_SHAPE), dtype=np.float32)
    y = np.array([0, 1, 2, 3, 0, 1, 2])
    pred = clf.predict(x)
    for reduction in ("none", "mean", "sum"):
        expected = clf.compute_loss(x, y, reduction=reduction)
        got = clf.compute_loss_from_predictions(pred, y, reduction=reduction)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        assert_array_equal(got, expected)
    one_hot = np.eye(4, dtype=np.float32)[y]
    assert_array_equal(clf.compute_loss_from_predictions(pred, one_hot), clf.compute_loss(x, y))
    tensor = torch.tensor(pred, requires_grad=True)
    out = clf.compute_loss_from_predictions(tensor, y, reduction="sum", framework=True)
    (grad,) = torch.autograd.grad(out, tensor)
    soft = torch.softmax(torch.tensor(pred), dim=1).numpy()
    np.testing.assert_allclose(grad.numpy(), soft - np.eye(4)[y], atol=1e-6)
    with pytest.raises(InputShapeError, match="pred"):
        clf.compute_loss_from_predictions(pred[:, :3], y)
    with pytest.raises(ParameterError, match="reduction"):
        clf.compute_loss_from_predictions(pred, y, reduction="max")  # type: ignore[arg-type]


def test_a_first_layer_that_does_not_match_input_shape_fails_at_construction() -> None:
    net = make_cnn()
    with pytest.raises(ParameterError, match=r"input_shape: .*\(4, 8, 8\).*RuntimeError"):
        wrap(net, (4, 8, 8), 4)
    with pytest.raises(ParameterError, match="input_shape"):
        wrap(make_mlp(), (3,), 3)


def test_the_probe_changes_no_state() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.Dropout(0.5), nn.Linear(5, 3))
    net.train()
    with torch.no_grad():
        net[1].running_mean.fill_(0.25)
    before = _state(net)
    wrap(net, MLP_SHAPE, 3)
    assert net.training and all(m.training for m in net.modules())
    assert all(np.array_equal(_state(net)[k], before[k]) for k in before)  # running stats too
    assert int(net[1].num_batches_tracked) == 0
    net.eval()
    with pytest.raises(ParameterError, match="input_shape"):
        wrap(net, (5,), 3)
    assert not net.training  # eval mode restored after a failed probe too
