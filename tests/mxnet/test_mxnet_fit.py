"""Training and persistence."""

from __future__ import annotations

import numpy as np
import pytest

mx = pytest.importorskip("mxnet")

from _mxnets import data, mlp_classifier
from mxnet import gluon

from trustml.errors import ParameterError
from trustml.preprocessing import FunctionPreprocessor


def blobs(n: int = 150, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well-separated Gaussian blobs in 4-D."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[2.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 2.0, 0]])
    return centres[y] + 0.3 * rng.standard_normal((n, 4)), y


def params(clf) -> list[np.ndarray]:
    return [p.data().asnumpy().copy() for p in clf.model.collect_params().values()]


@pytest.mark.parametrize("optimizer", ["trainer", "pair", "default"])
def test_fit_learns_a_separable_problem(optimizer: str) -> None:
    clf = mlp_classifier(preprocessing=None)
    if optimizer == "trainer":
        trainer = gluon.Trainer(clf.model.collect_params(), "adam", {"learning_rate": 0.05})
        clf = type(clf)(clf.model, clf.loss, (4,), 3, optimizer=trainer, preprocessing=None)
        assert clf.trainer is trainer
    elif optimizer == "pair":
        clf = mlp_classifier(preprocessing=None, optimizer=("adam", {"learning_rate": 0.05}))
    x, y = blobs()
    before = clf.compute_loss(x, y, reduction="mean")
    # the default (Adam, 1e-3) needs more steps than the tuned learning rate
    epochs, size = (15, 16) if optimizer != "default" else (30, 4)
    clf.fit(x, y, batch_size=size, nb_epochs=epochs, seed=0)
    assert clf.compute_loss(x, y, reduction="mean") < 0.5 * before
    assert (clf.predict(x).argmax(axis=1) == y).mean() > 0.95


def test_fit_is_reproducible_per_seed_and_shuffles() -> None:
    x, y = blobs(40)
    runs = []
    for seed in (3, 3, 4):
        clf = mlp_classifier(optimizer=("sgd", {"learning_rate": 0.1}))
        clf.fit(x, y, batch_size=8, nb_epochs=2, seed=seed)
        runs.append(params(clf))
    for a, b in zip(runs[0], runs[1]):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, c) for a, c in zip(runs[0], runs[2]))


def test_fit_generator_matches_fit_on_the_same_batches() -> None:
    x, y = blobs(32)
    batches = [(x[i:i + 8], y[i:i + 8]) for i in range(0, 32, 8)]
    by_list = mlp_classifier(optimizer=("sgd", {"learning_rate": 0.1}))
    by_list.fit_generator(batches, nb_epochs=2)
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(x, y), batch_size=8, shuffle=False)
    by_loader = mlp_classifier(optimizer=("sgd", {"learning_rate": 0.1}))
    by_loader.fit_generator(loader, nb_epochs=2)
    for a, b in zip(params(by_list), params(by_loader)):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert any(not np.array_equal(a, b) for a, b in zip(params(by_list), params(mlp_classifier())))


def test_fit_defences_run_on_training_inputs() -> None:
    x, y = blobs(32)
    shift = FunctionPreprocessor(lambda z: z + 1.0, apply_fit=True, apply_predict=False)
    defended = mlp_classifier(optimizer="sgd", preprocessing_defences=shift)
    defended.fit(x, y, batch_size=8, nb_epochs=1, seed=0)
    manual = mlp_classifier(optimizer="sgd")
    manual.fit(x + 1.0, y, batch_size=8, nb_epochs=1, seed=0)
    for a, b in zip(params(defended), params(manual)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_save_load_round_trip(tmp_path) -> None:
    x, _ = data((4,), n=5)
    source = mlp_classifier(optimizer="sgd")
    source.fit(*blobs(20), nb_epochs=1, seed=0)
    path = tmp_path / "mlp.params"
    source.save(path)
    target = mlp_classifier(hybridize=True)
    assert not np.array_equal(target.predict(x), source.predict(x))
    target.load(path)
    np.testing.assert_array_equal(target.predict(x), source.predict(x))


def test_load_rejects_foreign_files_without_changing_the_model(tmp_path) -> None:
    clf = mlp_classifier()
    other = gluon.nn.Dense(3, in_units=4)
    other.initialize()
    other.cast("float64")
    path = tmp_path / "dense.params"
    other.save_parameters(str(path))
    before = params(clf)
    with pytest.raises(ParameterError, match="path: expected the parameters of this model"):
        clf.load(path)
    with pytest.raises(ParameterError, match="path: expected a parameter file"):
        clf.load(tmp_path / "missing.params")
    for a, b in zip(params(clf), before):
        np.testing.assert_array_equal(a, b)
