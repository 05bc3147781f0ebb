"""The seed's estimator surface on the Keras and TensorFlow 2 adapters: ``model``, ``get_params``,
``set_params`` (atomic), ``clone_for_refitting`` (untrained, independent) and
``compute_loss_from_predictions``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import DIV, SHAPE, SUB, functional_skip, keras, sequential_cnn, subclassed, tf
from numpy.testing import assert_allclose, assert_array_equal

from trustml.adapters.tensorflow import KerasClassifier, TensorFlowV2Classifier
from trustml.errors import InputShapeError, ParameterError, UnsupportedModelError
from trustml.protocols import Clonable


def _weights(model: Any) -> list[np.ndarray]:
    return [np.array(w) for w in model.get_weights()]


def _data(n: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((n, *SHAPE), dtype=np.float32), rng.integers(0, 4, n)


def _keras(model: Any = None, **kwargs: Any) -> KerasClassifier:
    model = sequential_cnn() if model is None else model
    return KerasClassifier(model, use_logits=True, preprocessing=(SUB, DIV), **kwargs)


def _v2(model: Any = None, **kwargs: Any) -> TensorFlowV2Classifier:
    model = sequential_cnn() if model is None else model
    return TensorFlowV2Classifier(model, 4, SHAPE, preprocessing=(SUB, DIV), **kwargs)


@pytest.mark.parametrize("make", [_keras, _v2])
def test_model_get_params_set_params_round_trip(make: Any) -> None:
    net = sequential_cnn()
    clf = make(net, clip_values=(0.0, 1.0))
    assert clf.model is net
    with pytest.raises(AttributeError):
        clf.model = net
    x, _ = _data()
    before = clf.predict(x)
    params = clf.get_params()
    assert params["model"] is net
    assert clf.set_params(**params) is clf
    assert_array_equal(clf.predict(x), before)
    clf.set_params(preprocessing=(0.0, 1.0))
    assert not np.allclose(clf.predict(x), before)
    clf.set_params(preprocessing=params["preprocessing"])
    assert_allclose(clf.predict(x), before, rtol=1e-6)


@pytest.mark.parametrize("make", [_keras, _v2])
def test_set_params_is_atomic(make: Any) -> None:
    clf = make(clip_values=(0.0, 1.0))
    x, _ = _data()
    before, params = clf.predict(x), clf.get_params()
    bad: list[dict[str, Any]] = [
        {"input_shape": (5, 5, 2)}, {"unknown": 1}, {"clip_values": (1.0, 0.0)},
        {"preprocessing": (0.0, 0.0), "channels_first": True},
    ]
    for change in bad:
        with pytest.raises(ParameterError):
            clf.set_params(**change)
        assert clf.get_params().keys() == params.keys()
        assert all(clf.get_params()[k] is params[k] for k in params)
        assert_array_equal(clf.predict(x), before)


def _check_clone(clf: Any) -> None:
    assert isinstance(clf, Clonable)
    x, y = _data()
    original = _weights(clf.model)
    clone = clf.clone_for_refitting()
    assert type(clone) is type(clf) and clone.model is not clf.model
    assert clone.input_shape == clf.input_shape and clone.nb_classes == clf.nb_classes
    assert clone.preprocessing == clf.preprocessing
    assert clone.predict(x).shape == clf.predict(x).shape
    fresh = _weights(clone.model)
    assert [w.shape for w in fresh] == [w.shape for w in original]
    assert any(not np.array_equal(a, b) for a, b in zip(fresh, original, strict=True))
    clone.fit(x, y, batch_size=4, nb_epochs=2, seed=0)
    trained = _weights(clone.model)
    assert any(not np.array_equal(a, b) for a, b in zip(trained, fresh, strict=True))
    for a, b in zip(_weights(clf.model), original, strict=True):
        assert_array_equal(a, b)  # bit-exact


@pytest.mark.parametrize("build", [sequential_cnn, functional_skip])
def test_keras_clone_is_untrained_and_independent(build: Any) -> None:
    _check_clone(_keras(build()))


def test_keras_clone_of_a_compiled_model_is_compiled_with_a_fresh_optimizer() -> None:
    net = sequential_cnn()
    net.compile(optimizer=keras.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
    clf = _keras(net)
    _check_clone(clf)
    clone = clf.clone_for_refitting()
    assert clone.model.optimizer is not net.optimizer
    assert clone.model.optimizer.get_config()["learning_rate"] == pytest.approx(0.05)


def test_v2_clone_gets_a_fresh_optimizer_of_the_same_configuration() -> None:
    net = sequential_cnn()
    clf = _v2(net, loss_object=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              optimizer=keras.optimizers.SGD(0.1))
    _check_clone(clf)
    clone = clf.clone_for_refitting()
    assert clone.optimizer is not clf.optimizer
    assert clone.optimizer.get_config() == clf.optimizer.get_config()


def test_clone_keeps_activation_transforms() -> None:
    from trustml.activations import ActivationTransform

    clf = _keras(functional_skip())
    clf.set_activation_transform("conv", ActivationTransform(clip_max=0.5))
    assert clf.clone_for_refitting().activation_transforms.keys() == {"conv"}


def test_v2_clone_of_a_non_keras_callable_is_refused() -> None:
    weights = np.random.default_rng(0).normal(size=(int(np.prod(SHAPE)), 4))
    w = tf.Variable(weights, dtype=tf.float32)

    def fn(x: Any) -> Any:
        return tf.reshape(x, (-1, int(np.prod(SHAPE)))) @ w

    clf = TensorFlowV2Classifier(fn, 4, SHAPE)
    with pytest.raises(UnsupportedModelError, match="Keras"):
        clf.clone_for_refitting()


@pytest.mark.parametrize("use_logits", [True, False])
def test_keras_loss_from_predictions_equals_compute_loss(use_logits: bool) -> None:
    net = sequential_cnn(activation=None if use_logits else "softmax")
    clf = KerasClassifier(net, use_logits=use_logits, preprocessing=(SUB, DIV))
    x, y = _data()
    pred = clf.predict(x)
    for reduction in ("none", "mean", "sum"):
        expected = clf.compute_loss(x, y, reduction=reduction)
        got = clf.compute_loss_from_predictions(pred, y, reduction=reduction)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    one_hot = np.eye(4)[y]
    assert_allclose(clf.compute_loss_from_predictions(tf.constant(pred), one_hot),
                    clf.compute_loss(x, y), rtol=1e-5, atol=1e-6)
    with pytest.raises(InputShapeError, match="pred"):
        clf.compute_loss_from_predictions(pred[:, :3], y)
    with pytest.raises(ParameterError, match="reduction"):
        clf.compute_loss_from_predictions(pred, y, reduction="max")  # type: ignore[arg-type]


def test_v2_loss_from_predictions_uses_the_loss_object() -> None:
    clf = _v2(loss_object=keras.losses.CategoricalCrossentropy(from_logits=True))
    x, y = _data()
    assert_allclose(clf.compute_loss_from_predictions(clf.predict(x), y),
                    clf.compute_loss(x, y), rtol=1e-5, atol=1e-6)


class Configurable(keras.Model):  # type: ignore[misc]
    """A subclassed model Keras can rebuild from its config (the keyword arguments go on)."""

    def __init__(self, classes: int = 4, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.classes = classes
        self.conv = keras.layers.Conv2D(4, 3, activation="softplus")
        self.pool = keras.layers.GlobalAveragePooling2D()
        self.head = keras.layers.Dense(classes)

    def call(self, x: Any, training: bool = False) -> Any:
        return self.head(self.pool(self.conv(x)))


def test_subclassed_model_clone() -> None:
    net = Configurable(4)
    _check_clone(KerasClassifier(net, use_logits=True, input_shape=SHAPE))
    broken = KerasClassifier(subclassed(), use_logits=True, input_shape=SHAPE)
    with pytest.raises(UnsupportedModelError, match="get_config"):
        broken.clone_for_refitting()  # its __init__ does not take what get_config gives


def test_v1_loss_from_predictions_feeds_the_output() -> None:
    from tf1_graphs import cnn, random_weights

    from trustml.adapters.tensorflow import TensorFlowV1Classifier

    x, y = _data()
    g = cnn(random_weights())
    for clf in (TensorFlowV1Classifier(g.x, g.logits, labels_ph=g.y, loss=g.loss, sess=g.sess),
                TensorFlowV1Classifier(g.x, g.logits, sess=g.sess)):  # trustml's cross-entropy
        pred = clf.predict(x)
        for reduction in ("none", "mean", "sum"):
            assert_allclose(clf.compute_loss_from_predictions(pred, y, reduction=reduction),
                            clf.compute_loss(x, y, reduction=reduction), rtol=1e-5, atol=1e-6)
        with pytest.raises(InputShapeError, match="pred"):
            clf.compute_loss_from_predictions(pred[:, :3], y)
    soft = cnn(random_weights(), softmax=True)  # the loss reads the logits, not the output
    clf = TensorFlowV1Classifier(soft.x, soft.output, labels_ph=soft.y, loss=soft.loss,
                                 sess=soft.sess)
    with pytest.raises(ParameterError, match="loss: .*input_ph"):
        clf.compute_loss_from_predictions(clf.predict(x), y)
