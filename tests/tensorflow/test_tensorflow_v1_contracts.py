"""TensorFlowV1Classifier: no global TensorFlow state changed (it lives beside the TF2 adapters),
typed construction errors, fit through the train op / learning placeholder / default step,
feed_dict, labels placeholders of both formats, get_params / set_params, layer selection."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DIV, SUB, batch, sequential_cnn
from tf1_graphs import SHAPE, cnn, op_count, random_weights, v1

from trustml.adapters.tensorflow import KerasClassifier, TensorFlowV1Classifier
from trustml.errors import (
    InputShapeError,
    InputValueError,
    LabelError,
    ParameterError,
    ParameterTypeError,
)
from trustml.protocols import NeuralNetworkClassifier

tf = pytest.importorskip("tensorflow")


def separable(n: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 4
    templates = rng.uniform(0, 1, (4, *SHAPE))
    x = np.clip(templates[y] + 0.05 * rng.normal(size=(n, *SHAPE)), 0, 1)
    return x.astype(np.float32), y


def accuracy(clf: TensorFlowV1Classifier, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(clf.predict(x).argmax(1) == y))


def test_global_tensorflow_state_is_untouched() -> None:
    default_ops = len(v1.get_default_graph().get_operations())
    g = cnn(random_weights())
    clf = TensorFlowV1Classifier(g.x, g.logits, labels_ph=g.y, loss=g.loss, train=g.train,
                                 sess=g.sess)
    x, y = separable(8)
    clf.predict(x), clf.loss_gradient(x, y), clf.class_gradient(x), clf.fit(x, y, nb_epochs=1)
    assert tf.executing_eagerly()
    assert len(v1.get_default_graph().get_operations()) == default_ops
    # a TF2 adapter in the same process still runs eagerly and agrees with itself
    keras_clf = KerasClassifier(sequential_cnn(), use_logits=True)
    assert keras_clf.loss_gradient(x, y).shape == x.shape
    assert isinstance(clf, NeuralNetworkClassifier)


def test_construction_errors_are_typed() -> None:
    g, other = cnn(random_weights()), cnn(random_weights())
    with pytest.raises(ParameterTypeError, match="input_ph"):
        TensorFlowV1Classifier(tf.zeros((1, *SHAPE)), g.logits, sess=g.sess)
    with pytest.raises(ParameterError, match="output"):
        TensorFlowV1Classifier(g.x, other.logits, sess=g.sess)
    with pytest.raises(ParameterTypeError, match="sess"):
        TensorFlowV1Classifier(g.x, g.logits, sess=other.sess)
    with pytest.raises(ParameterError, match="per-sample"):
        TensorFlowV1Classifier(g.x, g.logits, labels_ph=g.y,
                               loss=g.graph.get_tensor_by_name("Mean:0"), sess=g.sess)
    with pytest.raises(ParameterError, match="labels_ph"):
        TensorFlowV1Classifier(g.x, g.logits, loss=g.loss, sess=g.sess)
    with pytest.raises(ParameterError, match="labels_ph"):
        TensorFlowV1Classifier(g.x, g.logits, train=g.train, sess=g.sess)
    with pytest.raises(ParameterError, match="labels_ph"):
        TensorFlowV1Classifier(g.x, g.logits, labels_ph=g.x, sess=g.sess)
    with g.graph.as_default():
        column = g.logits[:, 0]
    with pytest.raises(ParameterError, match="output"):
        TensorFlowV1Classifier(g.x, column, sess=g.sess)
    with pytest.raises(ParameterError, match="learning"):
        TensorFlowV1Classifier(g.x, g.logits, learning=g.y, sess=g.sess)
    with pytest.raises(ParameterError, match="feed_dict"):
        TensorFlowV1Classifier(g.x, g.logits, sess=g.sess, feed_dict={"nope:0": 1})
    fresh = v1.Session(graph=g.graph)  # variables not initialised in this session
    with pytest.raises(ParameterError, match="initialised"):
        TensorFlowV1Classifier(g.x, g.logits, sess=fresh)
    fresh.close()
    own = TensorFlowV1Classifier(g.x, g.logits)  # sess=None: a new, initialised session
    np.testing.assert_allclose(own.predict(batch(3)), TensorFlowV1Classifier(
        g.x, g.logits, sess=g.sess).predict(batch(3)), rtol=1e-6)


def test_call_errors_are_typed_and_inputs_untouched() -> None:
    g = cnn(random_weights())
    clf = TensorFlowV1Classifier(g.x, g.logits, sess=g.sess, preprocessing=(SUB, DIV))
    x, y = batch(4), np.array([0, 1, 2, 3])
    x0, y0 = x.copy(), y.copy()
    clf.predict(x), clf.loss_gradient(x, y), clf.fit(x, y, nb_epochs=1)
    np.testing.assert_array_equal(x, x0), np.testing.assert_array_equal(y, y0)
    with pytest.raises(InputShapeError):
        clf.predict(x[..., :2])
    with pytest.raises(InputValueError):
        clf.predict(np.full_like(x, np.nan))
    with pytest.raises(LabelError):
        clf.loss_gradient(x, np.array([0, 1, 2, 9]))
    with pytest.raises(ParameterError, match="reduction"):
        clf.compute_loss(x, y, "avg")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="layer"):
        clf.get_activations(x, 4)
    with pytest.raises(ParameterError, match="layer"):
        clf.get_activations(x, "__no_such_layer__")
    with pytest.raises(ParameterError, match="computed from input_ph"):
        clf.get_activations(x, "conv/kernel")
    assert clf.get_activations(x, -1).shape == (4, 4)
    assert clf.get_activations(x[:0], "pool/AvgPool2D:0").shape == (0, 2, 2, 4)


@pytest.mark.parametrize("one_hot", [False, True], ids=["index_ph", "one_hot_ph"])
def test_fit_with_the_train_op_learns(one_hot: bool) -> None:
    g = cnn(random_weights(seed=1), one_hot=one_hot)
    clf = TensorFlowV1Classifier(g.x, g.logits, labels_ph=g.y, loss=g.loss, train=g.train,
                                 sess=g.sess)
    x, y = separable()
    clf.fit(x, np.eye(4)[y], batch_size=8, nb_epochs=15, seed=0)  # one-hot labels accepted
    assert accuracy(clf, x, y) >= 0.9
    assert clf.compute_loss(x, y).shape == (24,)


def test_fit_default_step_learns_and_is_seeded() -> None:
    weights = random_weights(seed=2)
    x, y = separable()
    results = []
    for _ in range(2):
        g = cnn(weights)
        clf = TensorFlowV1Classifier(g.x, g.logits, sess=g.sess)
        clf.fit(x, y, batch_size=8, nb_epochs=2, seed=5)
        n = op_count(g)
        clf.fit(x, y, batch_size=8, nb_epochs=60, seed=5)
        assert op_count(g) == n
        results.append(clf.predict(x))
    assert float(np.mean(results[0].argmax(1) == y)) >= 0.9
    np.testing.assert_allclose(results[0], results[1], rtol=1e-5, atol=1e-6)


def test_learning_placeholder_and_feed_dict() -> None:
    weights = random_weights(seed=3)
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, (None, 4), name="x")
        y = v1.placeholder(tf.int64, (None,), name="y")
        learning = v1.placeholder(tf.bool, (), name="learning")
        scale = v1.placeholder(tf.float32, (), name="scale")
        w = tf.Variable(weights[2][:4].astype("f4"), name="w")
        logits = tf.matmul(x, w) * scale
        steps = tf.Variable(0, name="steps")
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        minimize = v1.train.GradientDescentOptimizer(0.1).minimize(tf.reduce_mean(loss))
        count = v1.assign_add(steps, tf.cast(learning, tf.int32))
        train = tf.group(minimize, count)
        init = v1.global_variables_initializer()
    sess = v1.Session(graph=graph)
    sess.run(init)
    clf = TensorFlowV1Classifier(x, logits, labels_ph=y, loss=loss, train=train, learning=learning,
                                 sess=sess, feed_dict={"scale:0": 2.0})
    xs = np.random.default_rng(0).uniform(size=(6, 4)).astype("f4")
    raw = sess.run(logits, {x: xs, scale: 2.0})
    np.testing.assert_allclose(clf.predict(xs), raw, rtol=1e-6)
    clf.fit(xs, np.arange(6) % 4, batch_size=2, nb_epochs=1)
    assert sess.run(steps) == 3  # learning was fed True at each of the 3 steps
    clf.predict(xs), clf.loss_gradient(xs, np.zeros(6, int))
    assert sess.run(steps) == 3


def test_get_params_and_set_params() -> None:
    g = cnn(random_weights())
    clf = TensorFlowV1Classifier(g.x, g.logits, labels_ph=g.y, loss=g.loss, sess=g.sess)
    params = clf.get_params()
    assert params["input_ph"] is g.x and params["sess"] is g.sess and params["train"] is None
    x = batch(3)
    clf.loss_gradient(x, [0, 1, 2])
    n, before = op_count(g), clf.predict(x)
    assert clf.set_params(preprocessing=(SUB, DIV)) is clf
    assert op_count(g) == n
    clf.loss_gradient(x, [0, 1, 2])
    assert op_count(g) == n  # the cached gradient op is reused
    assert not np.allclose(clf.predict(x), before)
    np.testing.assert_allclose(clf.predict(x * DIV + SUB), before, rtol=1e-5, atol=1e-6)
    with pytest.raises(ParameterError, match="set_params"):
        clf.set_params(optimizer=None)
    with pytest.raises(ParameterError, match="preprocessing"):
        clf.set_params(preprocessing=(0.0, 1.0, 2.0))
    assert clf.preprocessing.divisor.ravel().tolist() == pytest.approx(DIV.tolist())


def test_deepcopy_is_independent() -> None:
    import copy

    g = cnn(random_weights(seed=4))
    clf = TensorFlowV1Classifier(g.x, g.logits, labels_ph=g.y, loss=g.loss, train=g.train,
                                 sess=g.sess, preprocessing=(SUB, DIV))
    x, y = separable(8)
    clf.fit(x, y, batch_size=4, nb_epochs=1, seed=0)  # the optimizer's slots hold state
    n, before = op_count(g), clf.predict(x)
    twin = copy.deepcopy(clf)
    assert op_count(g) == n and twin.sess is not clf.sess
    assert twin.sess.graph is not g.graph and twin.layer_names == clf.layer_names
    np.testing.assert_array_equal(twin.predict(x), before)
    np.testing.assert_array_equal(twin.loss_gradient(x, y), clf.loss_gradient(x, y))
    twin.fit(x, y, batch_size=4, nb_epochs=3, seed=0)
    assert not np.allclose(twin.predict(x), before)
    np.testing.assert_array_equal(clf.predict(x), before)  # the original is untouched
