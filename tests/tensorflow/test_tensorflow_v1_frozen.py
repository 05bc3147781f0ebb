"""Frozen GraphDefs: a .pb made here from a TF1 graph (by convert_variables_to_constants and by
TensorFlowV1Classifier.save) loads through from_frozen_graph and matches the live graph; inputs
with a fixed batch size; errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import DIV, SUB, batch
from tf1_graphs import cnn, random_weights, v1

from trustml.adapters.tensorflow import TensorFlowV1Classifier, from_frozen_graph
from trustml.errors import ParameterError, ParameterTypeError

tf = pytest.importorskip("tensorflow")

Y = np.array([0, 1, 2, 3, 1, 2, 0])
STD = (SUB, DIV)


def assert_same(a: TensorFlowV1Classifier, b: TensorFlowV1Classifier, x: np.ndarray) -> None:
    np.testing.assert_allclose(a.predict(x), b.predict(x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(a.compute_loss(x, Y), b.compute_loss(x, Y), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(a.loss_gradient(x, Y), b.loss_gradient(x, Y), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(a.class_gradient(x), b.class_gradient(x), rtol=1e-5, atol=1e-6)
    assert a.layer_names == b.layer_names
    for i in range(len(a.layer_names)):
        np.testing.assert_allclose(a.get_activations(x, i), b.get_activations(x, i), rtol=1e-6,
                                   atol=1e-6)


def test_convert_variables_to_constants_pb_matches_live_graph(tmp_path: Path) -> None:
    g = cnn(random_weights(seed=7))
    live = TensorFlowV1Classifier(g.x, g.logits, sess=g.sess, preprocessing=STD)
    with g.graph.as_default():
        frozen = v1.graph_util.convert_variables_to_constants(
            g.sess, g.graph.as_graph_def(), [g.logits.op.name])
    path = tmp_path / "model.pb"
    path.write_bytes(frozen.SerializeToString())
    loaded = from_frozen_graph(path, "x", g.logits.name, preprocessing=STD)
    assert loaded.sess.graph is not g.graph
    assert not loaded.sess.graph.get_collection(v1.GraphKeys.TRAINABLE_VARIABLES)
    assert_same(live, loaded, batch(7, seed=1))
    # a frozen graph holds constants: fit refuses, and predictions are unchanged
    before = loaded.predict(batch(3))
    with pytest.raises(ParameterError, match="frozen"):
        loaded.fit(batch(7), Y, nb_epochs=1)
    np.testing.assert_array_equal(loaded.predict(batch(3)), before)


def test_save_round_trip_after_training_keeps_the_loss(tmp_path: Path) -> None:
    g = cnn(random_weights(seed=8))
    live = TensorFlowV1Classifier(g.x, g.logits, labels_ph=g.y, loss=g.loss, train=g.train,
                                  sess=g.sess, preprocessing=STD)
    live.fit(batch(7, seed=2), Y, batch_size=4, nb_epochs=2, seed=0)  # weights differ from init
    written = live.save("m.pb", tmp_path / "sub")
    assert Path(written) == tmp_path / "sub" / "m.pb"
    loaded = from_frozen_graph(
        written, "x:0", g.logits.name, labels_name="y", loss_name=g.loss.name, preprocessing=STD)
    assert loaded.loss is not None and loaded.loss.name == g.loss.name
    assert_same(live, loaded, batch(7, seed=3))


def test_fixed_batch_input_runs_in_padded_batches() -> None:
    weights = random_weights(seed=9)
    free, fixed = cnn(weights), cnn(weights, batch=4)
    a = TensorFlowV1Classifier(free.x, free.logits, sess=free.sess, preprocessing=STD)
    b = TensorFlowV1Classifier(fixed.x, fixed.logits, sess=fixed.sess, preprocessing=STD)
    x = batch(7, seed=4)  # 4 + 3 (padded to 4)
    for bs in (1, 3, 128):
        np.testing.assert_allclose(b.predict(x, batch_size=bs), a.predict(x), rtol=1e-6,
                                   atol=1e-6)
    np.testing.assert_allclose(b.loss_gradient(x, Y), a.loss_gradient(x, Y), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b.class_gradient(x, Y), a.class_gradient(x, Y), rtol=1e-5,
                               atol=1e-6)


def test_frozen_graph_errors(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="path"):
        from_frozen_graph(tmp_path / "missing.pb", "x", "y")
    junk = tmp_path / "junk.pb"
    junk.write_bytes(b"\xff\x00 not a graph")
    with pytest.raises(ParameterError, match="path"):
        from_frozen_graph(junk, "x", "y")
    g = cnn(random_weights())
    clf = TensorFlowV1Classifier(g.x, g.logits, sess=g.sess)
    written = clf.save(str(tmp_path / "ok.pb"))
    with pytest.raises(ParameterError, match="output_name"):
        from_frozen_graph(written, "x", "no_such_op")
    with pytest.raises(ParameterTypeError, match="input_name"):
        from_frozen_graph(written, 3, g.logits.name)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="filename"):
        clf.save("model.keras")
