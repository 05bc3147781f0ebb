"""Training, parameters, cloning, resetting, saving and loading."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from torch_models import CNN_SHAPE, MLP_SHAPE, PER_FEATURE, make_cnn, make_mlp, wrap

from trustml.errors import LabelError, ParameterError, ParameterTypeError


def blobs(n: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well separated Gaussian blobs in 6-D."""
    rng = np.random.default_rng(seed)
    centres = np.array([[3, 0, 0, 0, 0, 0], [0, 3, 0, 0, 0, 0], [0, 0, 3, 0, 0, 0]], float)
    y = rng.integers(0, 3, size=n)
    return (centres[y] + 0.5 * rng.normal(size=(n, 6))).astype(np.float32), y


def state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_state(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_fit_learns_a_separable_problem() -> None:
    x, y = blobs()
    model = make_mlp()
    clf = wrap(model, MLP_SHAPE, 3, optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    before = (clf.predict(x).argmax(1) == y).mean()
    clf.fit(x, y, batch_size=32, nb_epochs=15, seed=0)
    after = (clf.predict(x).argmax(1) == y).mean()
    assert after >= 0.97 > before


def test_fit_is_reproducible_per_seed_and_leaves_global_rng_alone() -> None:
    x, y = blobs(64)

    def trained(seed: int) -> dict[str, torch.Tensor]:
        with torch.random.fork_rng():
            torch.manual_seed(7)
            model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(),
                                        torch.nn.Dropout(0.3), torch.nn.Linear(16, 3))
        clf = wrap(model, MLP_SHAPE, 3, optimizer=torch.optim.SGD(model.parameters(), lr=0.05))
        clf.fit(x, y, batch_size=16, nb_epochs=2, seed=seed)
        return state(model)

    global_state = torch.random.get_rng_state()
    a, b, c = trained(1), trained(1), trained(2)
    assert same_state(a, b) and not same_state(a, c)
    assert torch.equal(torch.random.get_rng_state(), global_state)


def test_fit_uses_one_hot_labels_like_index_labels() -> None:
    x, y = blobs(48)
    results = []
    for labels in (y, np.eye(3)[y]):
        model = make_mlp()
        clf = wrap(model, MLP_SHAPE, 3, optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
        clf.fit(x, labels, batch_size=16, nb_epochs=1, seed=3)
        results.append(state(model))
    assert same_state(*results)


def test_fit_generator_with_a_dataloader_and_a_list() -> None:
    x, y = blobs()
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    loader = torch.utils.data.DataLoader(dataset, batch_size=32, shuffle=True)
    model = make_mlp()
    clf = wrap(model, MLP_SHAPE, 3, optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    clf.fit_generator(loader, nb_epochs=15, seed=0)
    assert (clf.predict(x).argmax(1) == y).mean() >= 0.97
    batches = [(x[i:i + 40], y[i:i + 40]) for i in range(0, len(x), 40)]
    model2 = make_mlp(seed=5)
    clf2 = wrap(model2, MLP_SHAPE, 3, optimizer=torch.optim.SGD(model2.parameters(), lr=0.1))
    clf2.fit_generator(batches, nb_epochs=10)
    assert (clf2.predict(x).argmax(1) == y).mean() >= 0.9
    with pytest.raises(ParameterTypeError, match="one-shot iterator"):
        clf2.fit_generator(iter(batches), nb_epochs=2)
    with pytest.raises(ParameterTypeError, match=r"\(x, y\) batches"):
        clf2.fit_generator([x[:4]], nb_epochs=1)


def test_fit_with_default_optimizer_and_fit_defence() -> None:
    x, y = blobs(96)
    calls = []

    class Recorder:
        apply_fit = True
        apply_predict = False

        def __call__(self, a, labels=None):
            calls.append(a.shape[0])
            return a.copy(), labels

        def estimate_gradient(self, a, grad):
            return grad

    clf = wrap(make_mlp(), MLP_SHAPE, 3, preprocessing_defences=Recorder())
    assert clf.optimizer is None
    clf.fit(x, y, batch_size=32, nb_epochs=1, seed=0)
    assert isinstance(clf.optimizer, torch.optim.Adam)
    assert calls == [32, 32, 32]
    clf.predict(x)
    assert calls == [32, 32, 32]  # apply_predict=False


def test_bad_fit_input_changes_nothing() -> None:
    x, y = blobs(32)
    model = make_mlp()
    clf = wrap(model, MLP_SHAPE, 3, optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    before = state(model)
    with pytest.raises(LabelError):
        clf.fit(x, np.where(y == 0, 3, y), nb_epochs=1)
    with pytest.raises(LabelError):
        clf.fit(x, y[:-1], nb_epochs=1)
    with pytest.raises(ParameterError):
        clf.fit(x, y, nb_epochs=0)
    assert same_state(before, state(model))
    default = wrap(make_mlp(), MLP_SHAPE, 3)
    with pytest.raises(LabelError):
        default.fit(x, y[:-1], nb_epochs=1)
    assert default.optimizer is None  # not even the default optimizer was created


def test_save_load_round_trip(tmp_path) -> None:
    x, y = blobs(32)
    model = make_mlp()
    clf = wrap(model, MLP_SHAPE, 3, optimizer=torch.optim.Adam(model.parameters(), lr=0.01),
               preprocessing=PER_FEATURE)
    clf.fit(x, y, batch_size=16, nb_epochs=1, seed=0)
    path = tmp_path / "mlp.pt"
    clf.save(path)
    other_model = make_mlp(seed=42)
    other = wrap(other_model, MLP_SHAPE, 3, optimizer=torch.optim.Adam(other_model.parameters()),
                 preprocessing=PER_FEATURE)
    assert not np.allclose(other.predict(x), clf.predict(x))
    other.load(path)
    assert_array_equal(other.predict(x), clf.predict(x))
    assert other.optimizer is not None and len(other.optimizer.state) == len(clf.optimizer.state)
    # a checkpoint for another architecture is refused before anything is copied
    wrong = wrap(make_mlp(hidden=5), MLP_SHAPE, 3)
    before = state(wrong.model)
    with pytest.raises(ParameterError, match="shape mismatches"):
        wrong.load(path)
    assert same_state(before, state(wrong.model))


def test_load_refuses_pickled_objects(tmp_path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"model": {"w": object()}}, path)
    clf = wrap(make_mlp(), MLP_SHAPE, 3)
    with pytest.raises(ParameterError, match="weights_only"):
        clf.load(path)


def test_get_params_set_params(images) -> None:
    clf = wrap(make_cnn(), CNN_SHAPE, 4)
    params = clf.get_params()
    assert set(params) >= {"model", "loss", "input_shape", "nb_classes", "optimizer", "device",
                           "channels_first", "clip_values", "preprocessing"}
    before = clf.predict(images)
    clf.set_params(preprocessing=((0.5, 0.5, 0.5), (0.25, 0.25, 0.25)))
    assert not np.allclose(clf.predict(images), before)
    clf.set_params(clip_values=(0.0, 1.0))
    assert_array_equal(clf.clip_values[1], np.float32(1.0))
    with pytest.raises(ParameterError, match="set_params"):
        clf.set_params(learning_rate=0.1)
    with pytest.raises(ParameterError):
        clf.set_params(clip_values=(1.0, 0.0))
    assert_array_equal(clf.clip_values[0], np.float32(0.0))  # unchanged after the failed call


def test_clone_for_refitting_and_reset(images) -> None:
    model = make_cnn()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    clf = wrap(model, CNN_SHAPE, 4, optimizer=opt)
    original = state(model)
    a = clf.clone_for_refitting(seed=0)
    b = clf.clone_for_refitting(seed=0)
    assert a.model is not model and same_state(state(a.model), state(b.model))
    assert not same_state(state(a.model), original)
    assert same_state(state(model), original)
    assert type(a.optimizer) is torch.optim.SGD and a.optimizer.defaults["momentum"] == 0.9
    assert {id(p) for g in a.optimizer.param_groups for p in g["params"]} == {
        id(p) for p in a.model.parameters()}
    a.fit(images, np.arange(10) % 4, batch_size=5, nb_epochs=1, seed=0)
    assert same_state(state(model), original)
    clf.reset(seed=0)
    assert same_state(state(model), state(b.model))
