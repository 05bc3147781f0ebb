"""Training (own loop, compiled model, optimizer, train_step, tf.data) and .keras persistence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import keras, tf

from trustml.adapters.tensorflow import KerasClassifier, TensorFlowV2Classifier
from trustml.errors import ParameterError, UnsupportedModelError


def blobs(n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=n)
    centres = np.array([[4.0, 0.0], [-4.0, 0.0], [0.0, 4.0]])
    return (centres[y] + rng.normal(size=(n, 2))).astype(np.float32), y


def mlp(activation: str | None = None) -> Any:
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="tanh"),
                             keras.layers.Dense(3, activation=activation)])


def accuracy(clf: Any, x: np.ndarray, y: np.ndarray) -> float:
    return float((clf.predict(x).argmax(1) == y).mean())


def test_keras_fit_uncompiled_learns_and_is_seeded() -> None:
    x, y = blobs()
    model = mlp()
    start = model.get_weights()
    clf = KerasClassifier(model, use_logits=True, preprocessing=(1.0, 2.0))
    before = accuracy(clf, x, y)
    clf.fit(x, y, batch_size=8, nb_epochs=25, seed=3)
    assert accuracy(clf, x, y) > max(0.9, before)
    trained = model.get_weights()
    other = mlp()
    other.set_weights(start)
    KerasClassifier(other, use_logits=True, preprocessing=(1.0, 2.0)).fit(
        x, y, batch_size=8, nb_epochs=25, seed=3)
    for a, b in zip(trained, other.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_keras_fit_compiled_model_uses_its_loss_and_optimizer() -> None:
    x, y = blobs()
    model = mlp("softmax")
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="categorical_crossentropy")
    clf = KerasClassifier(model)
    clf.fit(x, np.eye(3)[y], batch_size=32, nb_epochs=5, seed=0)
    assert accuracy(clf, x, y) > 0.9
    assert int(model.optimizer.iterations.numpy()) == 5 * 4  # 120 samples / 32 -> 4 steps


def test_tf2_fit_with_optimizer_and_with_train_step() -> None:
    x, y = blobs()
    clf = TensorFlowV2Classifier(mlp(), 3, (2,), optimizer=keras.optimizers.Adam(0.05),
                                 loss_object=keras.losses.CategoricalCrossentropy(from_logits=True))
    clf.fit(x, y, batch_size=32, nb_epochs=5, seed=0)
    assert accuracy(clf, x, y) > 0.9

    seen: list[tuple[Any, ...]] = []
    model = mlp()
    opt = keras.optimizers.SGD(0.2)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def train_step(m: Any, images: Any, labels: Any) -> None:
        seen.append((tuple(images.shape), tuple(labels.shape)))
        with tf.GradientTape() as tape:
            value = loss_fn(labels, m(images, training=True))
        opt.apply_gradients(zip(tape.gradient(value, m.trainable_variables),
                                m.trainable_variables))

    clf2 = TensorFlowV2Classifier(model, 3, (2,), train_step=train_step)
    clf2.fit(x, y, batch_size=40, nb_epochs=10, seed=0)
    assert seen[0] == ((40, 2), (40,))  # default loss is sparse: index labels
    assert len(seen) == 30 and accuracy(clf2, x, y) > 0.9


def test_fit_generator_with_tf_data() -> None:
    x, y = blobs()
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(24)
    clf = TensorFlowV2Classifier(mlp(), 3, (2,), optimizer=keras.optimizers.Adam(0.05))
    clf.fit_generator(ds, nb_epochs=10)
    assert accuracy(clf, x, y) > 0.9


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_save_and_load_round_trip(tmp_path: Path, kind: str) -> None:
    if kind == "sequential":
        model = mlp()
    else:
        inputs = keras.Input((2,))
        model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Dense(4)(inputs)))
    clf = KerasClassifier(model, use_logits=True, preprocessing=(1.0, 2.0))
    path = clf.save("m.keras", tmp_path / "sub")
    assert Path(path).is_file()
    loaded = KerasClassifier.load(path, use_logits=True, preprocessing=(1.0, 2.0))
    x, _ = blobs(10)
    np.testing.assert_array_equal(loaded.predict(x), clf.predict(x))
    again = TensorFlowV2Classifier.load(path, nb_classes=3, input_shape=(2,))
    assert again.predict(x).shape == (10, 3)
    with pytest.raises(ParameterError, match="filepath"):
        KerasClassifier.load(tmp_path / "missing.keras")


def test_save_non_keras_model_is_unsupported(tmp_path: Path) -> None:
    def fn(x: Any) -> Any:
        return tf.concat([x, -x], axis=1)

    clf = TensorFlowV2Classifier(fn, 2, (1,))
    with pytest.raises(UnsupportedModelError, match=".keras"):
        clf.save("f.keras", tmp_path)
