"""Contracts: protocols, batch-size invariance, immutability, both label formats, typed errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import MODELS, SHAPE, batch, keras, tf

from trustml.adapters.tensorflow import KerasClassifier, TensorFlowV2Classifier
from trustml.errors import (
    InputShapeError,
    InputValueError,
    LabelError,
    ParameterError,
    ParameterTypeError,
    UnsupportedModelError,
)
from trustml.preprocessing import FunctionPreprocessor
from trustml.protocols import NeuralNetworkClassifier, missing_members


def make(arch: str = "sequential", **kw: Any) -> KerasClassifier:
    return KerasClassifier(MODELS[arch](), use_logits=True, input_shape=SHAPE,
                           preprocessing=([0.1, 0.2, 0.3], [0.5, 1.0, 2.0]), **kw)


def test_both_classes_have_every_capability() -> None:
    keras_clf = make()
    tf2 = TensorFlowV2Classifier(MODELS["functional"](), 4, SHAPE)
    for clf in (keras_clf, tf2):
        assert isinstance(clf, NeuralNetworkClassifier)
        assert missing_members(clf, NeuralNetworkClassifier) == []
    assert keras_clf.nb_classes == 4 and keras_clf.input_shape == SHAPE


@pytest.mark.parametrize("arch", sorted(MODELS))
def test_predict_and_gradients_do_not_depend_on_batch(arch: str) -> None:
    clf = make(arch)
    x = batch(7)
    y = np.array([0, 1, 2, 3, 0, 1, 2])
    full = clf.predict(x, batch_size=7)
    assert full.dtype == np.float32 and full.shape == (7, 4)
    for size in (1, 3, 128):
        np.testing.assert_allclose(clf.predict(x, batch_size=size), full, rtol=1e-5, atol=1e-6)
    grad = clf.loss_gradient(x, y)
    np.testing.assert_allclose(clf.loss_gradient(x[2:4], y[2:4]), grad[2:4], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(clf.compute_loss(x[5:], y[5:]), clf.compute_loss(x, y)[5:],
                               rtol=1e-5)
    cg = clf.class_gradient(x)
    np.testing.assert_allclose(clf.class_gradient(x[:1]), cg[:1], rtol=1e-5, atol=1e-7)
    acts = clf.get_activations(x, 0, batch_size=7)
    np.testing.assert_allclose(clf.get_activations(x, 0, batch_size=2), acts, rtol=1e-5, atol=1e-6)


def test_reductions() -> None:
    clf = make()
    x, y = batch(4), np.array([0, 1, 2, 3])
    losses = clf.compute_loss(x, y)
    assert losses.shape == (4,)
    assert clf.compute_loss(x, y, reduction="sum") == pytest.approx(losses.sum(), rel=1e-6)
    assert clf.compute_loss(x, y, reduction="mean") == pytest.approx(losses.mean(), rel=1e-6)
    with pytest.raises(ParameterError, match="reduction"):
        clf.compute_loss(x, y, reduction="avg")  # type: ignore[arg-type]


def test_inputs_and_model_are_never_modified() -> None:
    model = MODELS["subclassed"]()
    clf = KerasClassifier(model, use_logits=True, input_shape=SHAPE,
                          preprocessing=(0.5, 2.0),
                          preprocessing_defences=FunctionPreprocessor(lambda z: z + 1.0))
    weights = [w.copy() for w in model.get_weights()]
    attrs = {name: set(vars(layer)) for name, layer in
             (("model", model), ("conv", model.conv), ("pool", model.pool), ("head", model.head))}
    x = batch(3)
    x.setflags(write=False)
    x_copy = x.copy()
    y = np.eye(4)[[0, 1, 2]]
    clf.predict(x)
    clf.compute_loss(x, y)
    clf.loss_gradient(x, y)
    clf.class_gradient(x)
    clf.get_activations(x, "pool")
    _ = clf.layer_names
    np.testing.assert_array_equal(x, x_copy)
    for w, w0 in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(w, w0)
    for name, layer in (("model", model), ("conv", model.conv), ("pool", model.pool),
                        ("head", model.head)):
        assert set(vars(layer)) == attrs[name], name
    assert "call" not in vars(model.conv)
    assert model.head.call.__func__ is type(model.head).call  # the class method, not a wrapper


def test_tensor_inputs_are_accepted() -> None:
    clf = make()
    x = batch(3)
    np.testing.assert_allclose(clf.predict(tf.constant(x)), clf.predict(x), rtol=1e-6)
    np.testing.assert_allclose(clf.loss_gradient(tf.constant(x), tf.constant([0, 1, 2])),
                               clf.loss_gradient(x, [0, 1, 2]), rtol=1e-6)
    with pytest.raises(InputValueError):
        clf.predict(tf.constant(np.full((1, *SHAPE), np.nan, dtype=np.float32)))


def test_index_and_one_hot_labels_agree() -> None:
    clf = make()
    x = batch(4)
    idx = np.array([3, 0, 2, 1])
    onehot = np.eye(4)[idx]
    np.testing.assert_array_equal(clf.compute_loss(x, idx), clf.compute_loss(x, onehot))
    np.testing.assert_array_equal(clf.loss_gradient(x, idx), clf.loss_gradient(x, onehot))
    tf2 = TensorFlowV2Classifier(clf.model, 4, SHAPE,
                                 loss_object=keras.losses.CategoricalCrossentropy(from_logits=True),
                                 preprocessing=clf.preprocessing)
    np.testing.assert_allclose(tf2.compute_loss(x, idx), clf.compute_loss(x, idx), rtol=1e-6)
    np.testing.assert_allclose(tf2.loss_gradient(x, onehot), clf.loss_gradient(x, idx),
                               rtol=1e-5, atol=1e-7)


def test_empty_batch() -> None:
    clf = make()
    x = np.zeros((0, *SHAPE), np.float32)
    assert clf.predict(x).shape == (0, 4)
    assert clf.compute_loss(x, np.zeros(0, int)).shape == (0,)
    assert clf.loss_gradient(x, np.zeros(0, int)).shape == (0, *SHAPE)
    assert clf.class_gradient(x).shape == (0, 4, *SHAPE)
    assert clf.get_activations(x, "flat").shape == (0, 16)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda c: c.predict(np.zeros((2, 3, 6, 6))), InputShapeError, "channels_first"),
        (lambda c: c.predict(np.zeros(SHAPE)), InputShapeError, "single sample"),
        (lambda c: c.predict(np.array([["a"] * 3] * 2)), InputValueError, "numeric"),
        (lambda c: c.predict(np.full((1, *SHAPE), np.inf)), InputValueError, "finite"),
        (lambda c: c.predict(batch(2), batch_size=0), ParameterError, "batch_size"),
        (lambda c: c.compute_loss(batch(2), [0, 4]), LabelError, r"\[0, 4\)"),
        (lambda c: c.compute_loss(batch(2), [0]), LabelError, "2 labels"),
        (lambda c: c.loss_gradient(batch(2), [[0.5, 0.5, 0, 0]] * 2), LabelError, "one-hot"),
        (lambda c: c.class_gradient(batch(2), label=9), LabelError, "label"),
        (lambda c: c.class_gradient(batch(2), label=[1, 2, 3]), LabelError, "label"),
        (lambda c: c.get_activations(batch(2), "nope"), ParameterError, "layer"),
        (lambda c: c.get_activations(batch(2), 4), ParameterError, "index"),
        (lambda c: c.fit(batch(2), [0, 1], nb_epochs=0), ParameterError, "nb_epochs"),
        (lambda c: c.fit(batch(2), [0, 7]), LabelError, "y"),
        (lambda c: c.fit_generator(5), ParameterTypeError, "generator"),
        (lambda c: c.fit_generator([(batch(2), [0, 1, 2])]), LabelError, "generator y"),
        (lambda c: c.fit_generator(iter([(batch(2), [0, 1])]), nb_epochs=2), ParameterTypeError,
         "one-shot iterator"),
        (lambda c: c.save("model.h5"), ParameterError, ".keras"),
    ],
)
def test_bad_inputs_raise_typed_errors(call: Any, error: type, match: str) -> None:
    clf = make()
    weights = [w.copy() for w in clf.model.get_weights()]
    with pytest.raises(error, match=match):
        call(clf)
    for w, w0 in zip(clf.model.get_weights(), weights):  # nothing half-done, ever
        np.testing.assert_array_equal(w, w0)


def test_bad_constructor_arguments() -> None:
    model = MODELS["sequential"]()
    with pytest.raises(UnsupportedModelError, match="keras.Model"):
        KerasClassifier(lambda x: x)
    with pytest.raises(ParameterTypeError, match="use_logits"):
        KerasClassifier(model, use_logits="yes")
    with pytest.raises(ParameterTypeError, match="channels_first"):
        KerasClassifier(model, channels_first=None)
    with pytest.raises(ParameterError, match="input_shape"):
        KerasClassifier(MODELS["subclassed"]())  # subclassed: must be given
    with pytest.raises(ParameterError, match="input_shape"):
        KerasClassifier(model, input_shape=(5, 5, 3))
    with pytest.raises(ParameterError, match="clip_values"):
        KerasClassifier(model, clip_values=(1.0, 0.0))
    with pytest.raises(ParameterError, match="divisor"):
        KerasClassifier(model, preprocessing=(0.0, [1.0, 0.0, 1.0]))
    with pytest.raises(ParameterError, match="nb_classes"):
        TensorFlowV2Classifier(model, 3, SHAPE)
    with pytest.raises(ParameterError, match="nb_classes"):
        TensorFlowV2Classifier(model, 1, SHAPE)
    with pytest.raises(ParameterTypeError, match="loss_object"):
        TensorFlowV2Classifier(model, 4, SHAPE, loss_object=3)
    with pytest.raises(ParameterError, match="per-sample"):
        TensorFlowV2Classifier(model, 4, SHAPE,
                               loss_object=lambda y, p: tf.reduce_mean(tf.square(p)))
    with pytest.raises(ParameterTypeError, match="optimizer"):
        TensorFlowV2Classifier(model, 4, SHAPE, optimizer="adam")
    with pytest.raises(ParameterTypeError, match="train_step"):
        TensorFlowV2Classifier(model, 4, SHAPE, train_step=1)
    with pytest.raises(UnsupportedModelError, match="callable"):
        TensorFlowV2Classifier(object(), 4, SHAPE)


def test_clip_values_are_stored_not_applied() -> None:
    clf = make(clip_values=(0.0, 1.0))
    lo, hi = clf.clip_values  # type: ignore[misc]
    assert lo.dtype == np.float32 and float(hi) == 1.0
    ref = make()
    ref.model.set_weights(clf.model.get_weights())
    x = batch(2) * 5.0  # outside the range: still predicted as given
    np.testing.assert_allclose(clf.predict(x), ref.predict(x), rtol=1e-6)


def test_postprocessing_defence_applies_to_predict_only() -> None:
    class Top1:
        apply_fit = False
        apply_predict = True

        def __call__(self, preds: np.ndarray) -> np.ndarray:
            out = np.zeros_like(preds)
            out[np.arange(len(preds)), preds.argmax(1)] = 1.0
            return out

    clf = make(postprocessing_defences=Top1())
    x = batch(3)
    preds = clf.predict(x)
    assert set(np.unique(preds)) <= {0.0, 1.0} and (preds.sum(1) == 1).all()
    assert len(np.unique(clf.compute_loss(x, [0, 1, 2]))) > 1  # the loss sees raw outputs


def test_eager_and_traced_paths_agree() -> None:
    traced = make("functional")
    model = traced.model
    assert traced._rt.compiled  # Keras models are traced, as Keras' own predict does
    model.run_eagerly = True
    eager = KerasClassifier(model, use_logits=True, input_shape=SHAPE,
                            preprocessing=traced.preprocessing)
    model.run_eagerly = False
    assert not eager._rt.compiled
    x, y = batch(5), np.array([0, 1, 2, 3, 0])
    np.testing.assert_allclose(eager.predict(x, batch_size=2), traced.predict(x, batch_size=2),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(eager.loss_gradient(x, y), traced.loss_gradient(x, y), rtol=1e-5,
                               atol=1e-7)
    np.testing.assert_allclose(eager.class_gradient(x), traced.class_gradient(x), rtol=1e-5,
                               atol=1e-7)


def test_plain_callables_run_eagerly_every_call() -> None:
    calls: list[int] = []
    w = tf.constant(np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32))

    def fn(x: Any) -> Any:
        calls.append(int(x.shape[0]))  # a Python side effect: needs eager execution
        return tf.matmul(tf.constant(x.numpy()) + 0 * x, w)

    clf = TensorFlowV2Classifier(fn, 3, (4,))
    assert not clf._rt.compiled
    calls.clear()
    x = np.ones((5, 4), np.float32)
    clf.predict(x, batch_size=2)
    clf.predict(x, batch_size=2)
    assert calls == [2, 2, 1, 2, 2, 1]
    assert clf.loss_gradient(x, [0, 1, 2, 0, 1]).shape == (5, 4)


@pytest.mark.parametrize("kind", ["keras", "tf2"])
def test_deepcopy_is_independent(kind: str) -> None:
    import copy

    model = MODELS["functional"]()
    if kind == "keras":
        clf: Any = KerasClassifier(model, use_logits=True, preprocessing=(0.5, 2.0))
    else:
        clf = TensorFlowV2Classifier(model, 4, SHAPE, optimizer=keras.optimizers.SGD(0.1),
                                     preprocessing=(0.5, 2.0))
    x = batch(3)
    before = clf.predict(x)  # traced before the copy: the copy must not reuse the traces
    twin = copy.deepcopy(clf)
    assert twin.model is not model and twin.preprocessing is not None
    np.testing.assert_allclose(twin.predict(x), before, rtol=1e-6)
    twin.model.set_weights([np.zeros_like(w) for w in twin.model.get_weights()])
    np.testing.assert_array_equal(twin.predict(x), np.zeros((3, 4), np.float32))
    np.testing.assert_array_equal(clf.predict(x), before)
    twin.fit(x, [0, 1, 2], nb_epochs=1, seed=0)
    np.testing.assert_array_equal(clf.predict(x), before)
    if kind == "tf2":
        assert twin.optimizer is not clf.optimizer
