"""PyTorchClassifier's ActivationTransforms: the transform inside the forward pass, checked against
the numpy reference, against a hand-made model where the transform is a real layer, and against
finite differences; removal is bit-identical; the user's module keeps no hook and its weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from torch import nn
from torch_models import CNN_SHAPE, MLP_SHAPE, PER_CHANNEL, PER_FEATURE, make_cnn, make_mlp, wrap

from trustml.activations import ActivationTransform, transformed_activations
from trustml.adapters.torch._state import count_hooks
from trustml.errors import ParameterError, ParameterTypeError, TrustMLError
from trustml.protocols import ActivationTransforms

EPS = 1e-6


class Transform(nn.Module):
    """The transform as a real layer (the hand-made reference model)."""

    def __init__(self, t: ActivationTransform) -> None:
        super().__init__()
        self.t = t

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        if self.t.clip_min is not None or self.t.clip_max is not None:
            a = torch.clamp(a, self.t.clip_min, self.t.clip_max)
        if self.t.scale is not None:
            a = a * torch.from_numpy(self.t.scale.copy()).to(a.dtype)
        return a


def _state(model: nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().clone().numpy() for k, v in model.state_dict().items()}


def _same_state(model: nn.Module, before: dict[str, np.ndarray]) -> None:
    after = _state(model)
    assert after.keys() == before.keys()
    for k, value in before.items():
        assert_array_equal(after[k], value)


def _mlp_transform(rng: np.random.Generator) -> ActivationTransform:
    scale = (rng.random(8) > 0.4).astype(np.float32) * rng.uniform(0.5, 2.0, 8)
    return ActivationTransform(scale=scale, clip_min=-0.5, clip_max=0.4)


@pytest.fixture
def x6(rng: np.random.Generator) -> np.ndarray:
    return rng.normal(size=(7, *MLP_SHAPE)).astype(np.float32)


def test_capability_is_claimed(mlp) -> None:
    assert isinstance(mlp, ActivationTransforms)
    assert mlp.activation_transforms == {}


def test_activations_equal_numpy_reference(mlp, x6, rng) -> None:
    t = _mlp_transform(rng)
    plain = mlp.get_activations(x6, "1")
    mlp.set_activation_transform("1", t)
    assert_allclose(mlp.get_activations(x6, "1"), t.apply(plain), rtol=0, atol=0)
    # the earlier layer is untouched
    plain0 = wrap(make_mlp(), MLP_SHAPE, 3, preprocessing=PER_FEATURE).get_activations(x6, 0)
    assert_array_equal(mlp.get_activations(x6, 0), plain0)


def test_cnn_per_channel_scale(cnn, images, labels) -> None:
    scale = np.array([1.0, 0.0, 2.0, 0.5], np.float32).reshape(4, 1, 1)
    t = ActivationTransform(scale=scale, clip_max=0.3)
    plain = cnn.get_activations(images, "1")
    cnn.set_activation_transform(1, t)
    assert_allclose(cnn.get_activations(images, "1"), t.apply(plain), atol=0)
    # the rest of the network on the transformed value: the hand-made model
    net = make_cnn()
    ref_net = nn.Sequential(net[0], net[1], Transform(t), *list(net)[2:])
    ref = wrap(ref_net, CNN_SHAPE, 4, preprocessing=PER_CHANNEL)
    assert_allclose(cnn.predict(images), ref.predict(images), rtol=1e-6, atol=1e-6)
    assert_allclose(cnn.get_activations(images, 5), ref.get_activations(images, 6), atol=1e-6)
    assert_allclose(cnn.loss_gradient(images, labels), ref.loss_gradient(images, labels),
                    rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layer", ["0", "1"])
def test_everything_matches_a_model_with_the_transform_as_a_layer(mlp, x6, rng, layer) -> None:
    t = _mlp_transform(rng)
    y = rng.integers(0, 3, size=len(x6))
    mlp.set_activation_transform(layer, t)
    net = make_mlp()
    cut = int(layer) + 1
    ref = wrap(nn.Sequential(*list(net)[:cut], Transform(t), *list(net)[cut:]), MLP_SHAPE, 3,
               preprocessing=PER_FEATURE)
    assert_allclose(mlp.predict(x6), ref.predict(x6), atol=1e-6)
    assert_allclose(mlp.compute_loss(x6, y), ref.compute_loss(x6, y), atol=1e-6)
    assert_allclose(mlp.loss_gradient(x6, y), ref.loss_gradient(x6, y), atol=1e-6)
    assert_allclose(mlp.class_gradient(x6), ref.class_gradient(x6), atol=1e-6)
    assert_allclose(mlp.class_gradient(x6, label=y), ref.class_gradient(x6, label=y), atol=1e-6)
    assert_allclose(mlp.get_activations(x6, 2), ref.get_activations(x6, 3), atol=1e-6)


def _fd_loss(clf, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    d = x.shape[1]
    steps = EPS * np.eye(d)
    plus = (x[:, None, :] + steps).reshape(-1, d)
    minus = (x[:, None, :] - steps).reshape(-1, d)
    yy = np.repeat(y, d)
    return ((clf.compute_loss(plus, yy) - clf.compute_loss(minus, yy)) / (2 * EPS)).reshape(x.shape)


def _fd_class(clf, x: np.ndarray) -> np.ndarray:
    d = x.shape[1]
    steps = EPS * np.eye(d)
    plus = torch.from_numpy((x[:, None, :] + steps).reshape(-1, d))
    minus = torch.from_numpy((x[:, None, :] - steps).reshape(-1, d))
    p = clf.predict(plus, framework=True).numpy()
    m = clf.predict(minus, framework=True).numpy()
    return ((p - m) / (2 * EPS)).reshape(len(x), d, -1).transpose(0, 2, 1)


def test_gradients_through_the_transform_match_finite_differences(rng) -> None:
    clf = wrap(make_mlp().double(), MLP_SHAPE, 3, preprocessing=PER_FEATURE)
    x = rng.normal(size=(6, 6))
    y = rng.integers(0, 3, size=6)
    # tanh output in (-1, 1): bounds inside it so that the clip is active on some units
    t = ActivationTransform(scale=rng.uniform(-2, 2, 8), clip_min=-0.3, clip_max=0.25)
    clf.set_activation_transform("1", t)
    acts = clf.get_activations(x, "0")
    # finite differences are valid away from the kinks of the clip
    assert np.abs(np.abs(np.tanh(acts)) - 0.3).min() > 1e-4
    assert_allclose(clf.loss_gradient(x, y), _fd_loss(clf, x, y), rtol=1e-5, atol=1e-7)
    assert_allclose(clf.class_gradient(x), _fd_class(clf, x), rtol=1e-5, atol=1e-7)
    grads = clf.class_gradient(x)
    assert not np.allclose(grads, 0)


def test_scale_zero_on_a_unit_gives_zero_gradient_through_it(rng) -> None:
    clf = wrap(make_mlp().double(), MLP_SHAPE, 3)
    x = rng.normal(size=(4, 6))
    clf.set_activation_transform("1", ActivationTransform(scale=np.zeros(8)))
    assert_array_equal(clf.class_gradient(x), 0.0)
    out = clf.predict(x)
    bias = clf.model[2].bias.detach().numpy()
    assert_allclose(out, np.broadcast_to(bias, out.shape).astype(np.float32))


def test_removal_restores_bit_identical_outputs(mlp, x6, rng) -> None:
    y = rng.integers(0, 3, size=len(x6))
    p0, l0, g0 = mlp.predict(x6), mlp.compute_loss(x6, y), mlp.loss_gradient(x6, y)
    c0, a0 = mlp.class_gradient(x6), mlp.get_activations(x6, 2)
    mlp.set_activation_transform(1, _mlp_transform(rng))
    assert not np.allclose(mlp.predict(x6), p0)
    mlp.set_activation_transform(1, None)
    mlp.set_activation_transform(1, None)  # removing twice: a no-op
    assert mlp.activation_transforms == {}
    assert_array_equal(mlp.predict(x6), p0)
    assert_array_equal(mlp.compute_loss(x6, y), l0)
    assert_array_equal(mlp.loss_gradient(x6, y), g0)
    assert_array_equal(mlp.class_gradient(x6), c0)
    assert_array_equal(mlp.get_activations(x6, 2), a0)


def test_no_hook_and_unchanged_weights_after_every_call_and_after_errors(mlp, x6, rng) -> None:
    model = mlp.model
    before = _state(model)
    y = rng.integers(0, 3, size=len(x6))
    mlp.set_activation_transform("1", _mlp_transform(rng))
    mlp.set_activation_transform("0", ActivationTransform(clip_min=-1.0))
    calls = [
        lambda: mlp.predict(x6),
        lambda: mlp.compute_loss(x6, y),
        lambda: mlp.loss_gradient(x6, y),
        lambda: mlp.class_gradient(x6),
        lambda: mlp.get_activations(x6, "1"),
        lambda: mlp.get_activations(x6, 2, framework=True),
        lambda: mlp.count_noisy_predictions(x6, 0.1, 4, batch_size=8, seed=0),
    ]
    for call in calls:
        call()
        assert count_hooks(model) == 0
        _same_state(model, before)
    for bad in (lambda: mlp.predict(x6[:, :5]), lambda: mlp.loss_gradient(x6, y[:2]),
                lambda: mlp.set_activation_transform("nope", None)):
        with pytest.raises(TrustMLError):
            bad()
        assert count_hooks(model) == 0
    _same_state(model, before)
    assert not any(p.grad is not None for p in model.parameters())


class _Boom(nn.Module):
    def forward(self, a: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("boom")


def test_hooks_removed_when_the_model_raises(rng) -> None:
    net = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))
    clf = wrap(net, MLP_SHAPE, 3)
    clf.set_activation_transform("1", ActivationTransform(clip_max=0.1))
    net.append(_Boom())
    with pytest.raises(RuntimeError, match="boom"):
        clf.predict(rng.normal(size=(2, 6)))
    assert count_hooks(net) == 0


def test_fit_trains_through_the_transform(rng) -> None:
    clf = wrap(make_mlp(), MLP_SHAPE, 3)
    x = rng.normal(size=(32, 6)).astype(np.float32)
    y = rng.integers(0, 3, size=32)
    first = _state(clf.model)
    # scale 0 on every hidden unit: no gradient reaches the first layer, the last one still learns
    clf.set_activation_transform("1", ActivationTransform(scale=np.zeros(8)))
    clf.fit(x, y, batch_size=8, nb_epochs=2, seed=0)
    after = _state(clf.model)
    assert_array_equal(after["0.weight"], first["0.weight"])
    assert_array_equal(after["0.bias"], first["0.bias"])
    assert not np.array_equal(after["2.bias"], first["2.bias"])
    assert count_hooks(clf.model) == 0


def test_shared_module_is_transformed_at_its_first_call_only(rng) -> None:
    class Shared(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1, self.fc2, self.out = nn.Linear(6, 5), nn.Linear(5, 5), nn.Linear(5, 3)
            self.act = nn.Tanh()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.out(self.act(self.fc2(self.act(self.fc1(x)))))

    torch.manual_seed(0)
    net = Shared()
    clf = wrap(net, MLP_SHAPE, 3)
    x = rng.normal(size=(3, 6)).astype(np.float32)
    t = ActivationTransform(scale=np.array([0.0, 1, 2, 1, 0]), clip_max=0.5)
    clf.set_activation_transform("act", t)
    with torch.no_grad():
        h = torch.from_numpy(t.apply(torch.tanh(net.fc1(torch.from_numpy(x))).numpy()))
        expected = net.out(torch.tanh(net.fc2(h))).numpy()
    assert_allclose(clf.predict(x), expected, atol=1e-6)
    assert_allclose(clf.predict(x, batch_size=1), expected, atol=1e-6)  # reset per forward


def test_errors_install_nothing(mlp, rng) -> None:
    good = _mlp_transform(rng)
    mlp.set_activation_transform("1", good)
    with pytest.raises(ParameterError, match="layer"):
        mlp.set_activation_transform("9", good)
    with pytest.raises(ParameterError, match="layer"):
        mlp.set_activation_transform(3, good)
    with pytest.raises(ParameterError, match=r"scale.*\(8,\).*\(5,\)"):
        mlp.set_activation_transform("1", ActivationTransform(scale=np.ones(5)))
    with pytest.raises(ParameterError, match="scale"):  # would enlarge the output
        mlp.set_activation_transform("1", ActivationTransform(scale=np.ones((2, 8))))
    with pytest.raises(ParameterTypeError, match="ActivationTransform"):
        mlp.set_activation_transform("1", {"clip_max": 1.0})  # type: ignore[arg-type]
    with pytest.raises(ParameterTypeError, match="layer"):
        mlp.set_activation_transform(1.5, good)  # type: ignore[arg-type]
    assert mlp.activation_transforms == {"1": good}


def test_activation_transforms_is_a_copy_and_context_manager_restores(mlp, x6, rng) -> None:
    t = _mlp_transform(rng)
    p0 = mlp.predict(x6)
    mlp.activation_transforms["1"] = t
    assert mlp.activation_transforms == {}
    keep = ActivationTransform(clip_min=-2.0)
    mlp.set_activation_transform(0, keep)
    with pytest.raises(ParameterError), transformed_activations(mlp, {"1": t, "zz": t}):
        pass
    assert mlp.activation_transforms == {"0": keep}
    with transformed_activations(mlp, {1: t}):
        assert set(mlp.activation_transforms) == {"0", "1"}
    assert mlp.activation_transforms == {"0": keep}
    mlp.set_activation_transform("0", None)
    assert_array_equal(mlp.predict(x6), p0)


def test_set_params_and_clone_keep_transforms(mlp, x6, rng) -> None:
    t = _mlp_transform(rng)
    mlp.set_activation_transform("1", t)
    clone = mlp.clone_for_refitting(seed=0)
    assert clone.activation_transforms == {"1": t}
    mlp.set_params(clip_values=(-5.0, 5.0))
    assert mlp.activation_transforms == {"1": t}
    # a new model whose layer '1' has another width: the kept transform no longer fits
    with pytest.raises(ParameterError, match="scale"):
        mlp.set_params(model=make_mlp(hidden=5))
    assert mlp.activation_transforms == {"1": t}
    assert mlp.model[0].out_features == 8
