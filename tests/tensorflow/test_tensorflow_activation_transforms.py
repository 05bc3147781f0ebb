"""ActivationTransforms of KerasClassifier and TensorFlowV2Classifier, for Sequential, Functional
and subclassed models: the numpy reference, the rest of the network applied by hand to the
transformed value, finite differences, bit-identical removal, no retracing when a transform's values
change, nothing left on the model, errors, and agreement with PyTorchClassifier on copied
weights."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from trustml.activations import ActivationTransform
from trustml.adapters.tensorflow import KerasClassifier, TensorFlowV2Classifier
from trustml.errors import ParameterError, ParameterTypeError
from trustml.protocols import ActivationTransforms

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

# own small models (not imported from conftest: a module named conftest is ambiguous when several
# test folders are collected in one run)
SHAPE = (6, 6, 3)
SUB = np.array([0.1, 0.2, 0.3])
DIV = np.array([0.5, 1.5, 2.0])


def _sequential() -> Any:
    return keras.Sequential([
        keras.Input(SHAPE),
        keras.layers.Conv2D(4, 3, activation="tanh", name="conv"),
        keras.layers.AveragePooling2D(2, name="pool"),
        keras.layers.Flatten(name="flat"),
        keras.layers.Dense(4, name="logits"),
    ])


def _functional() -> Any:
    inputs = keras.Input(SHAPE)
    h = keras.layers.Conv2D(3, 3, padding="same", activation="tanh", name="conv")(inputs)
    s = keras.layers.Add(name="skip")([inputs, h])
    f = keras.layers.Flatten(name="flat")(s)
    return keras.Model(inputs, keras.layers.Dense(4, name="logits")(f))


class SubclassedNet(keras.Model):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.conv = keras.layers.Conv2D(4, 3, activation="softplus", name="conv")
        self.head = keras.layers.Dense(4, name="head")
        self.pool = keras.layers.GlobalAveragePooling2D(name="pool")

    def call(self, x: Any, training: bool = False) -> Any:
        return self.head(self.pool(self.conv(x)))


def _subclassed() -> Any:
    model = SubclassedNet()
    model(np.zeros((1, *SHAPE), dtype=keras.config.floatx()))
    return model


MODELS = {"sequential": _sequential, "functional": _functional, "subclassed": _subclassed}


def batch(n: int = 5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.0, 1.0, size=(n, *SHAPE)).astype(np.float32)

STD = (SUB, DIV)
CONV_T = ActivationTransform(scale=np.array([1.0, 0.0, 2.0, 0.5]), clip_min=-0.3, clip_max=0.6)
SKIP_T = ActivationTransform(scale=np.array([1.0, 0.0, 2.0]), clip_min=-0.3, clip_max=0.6)


def _adapters(model: Any) -> list[Any]:
    shape = SHAPE
    return [
        KerasClassifier(model, use_logits=True, preprocessing=STD, input_shape=shape),
        TensorFlowV2Classifier(model, 4, shape, preprocessing=STD),
    ]


def _rest(arch: str, model: Any, x: np.ndarray, transformed: np.ndarray) -> np.ndarray:
    """The network after the transformed ``conv`` layer, applied by hand."""
    if arch == "sequential":
        out = transformed
        for name in ("pool", "flat", "logits"):
            out = model.get_layer(name)(out)
        return np.asarray(out)
    if arch == "functional":
        std = (x - SUB) / DIV
        s = std + transformed
        return np.asarray(model.get_layer("logits")(model.get_layer("flat")(s)))
    return np.asarray(model.head(model.pool(transformed)))


def _no_wrapper_left(model: Any) -> None:
    for layer in model.layers:
        assert "call" not in layer.__dict__, layer.name


@pytest.mark.parametrize("arch", sorted(MODELS))
def test_transform_inside_the_forward_pass(arch: str) -> None:
    model = MODELS[arch]()
    x = batch(6)
    t = SKIP_T if arch == "functional" else CONV_T
    weights = [w.copy() for w in model.get_weights()]
    for clf in _adapters(model):
        assert isinstance(clf, ActivationTransforms)
        before = clf.predict(x)
        plain = clf.get_activations(x, "conv")
        clf.set_activation_transform("conv", t)
        assert clf.activation_transforms == {"conv": t}
        acts = clf.get_activations(x, "conv")
        assert_allclose(acts, t.apply(plain), atol=0)
        assert_allclose(clf.predict(x), _rest(arch, model, x, acts), rtol=1e-5, atol=1e-6)
        later = clf.layer_names[-1]
        assert_allclose(clf.get_activations(x, later), clf.predict(x), rtol=1e-6, atol=1e-6)
        _no_wrapper_left(model)
        clf.set_activation_transform("conv", None)
        assert_array_equal(clf.predict(x), before)
        _no_wrapper_left(model)
    for got, want in zip(model.get_weights(), weights):
        assert_array_equal(got, want)


def test_gradients_match_finite_differences(float64: None) -> None:
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(7, activation="tanh", name="h"),
                              keras.layers.Dense(3, name="out")])
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 5))
    y = rng.integers(0, 3, size=4)
    t = ActivationTransform(scale=rng.uniform(-2, 2, 7), clip_min=-0.35, clip_max=0.3)
    eps = 1e-6
    steps = eps * np.eye(5)
    plus = (x[:, None, :] + steps).reshape(-1, 5)
    minus = (x[:, None, :] - steps).reshape(-1, 5)
    for clf in (KerasClassifier(model, use_logits=True), TensorFlowV2Classifier(model, 3, (5,))):
        clf.set_activation_transform("h", t)
        acts = clf.get_activations(x, "h")
        raw = np.tanh(x @ model.get_weights()[0] + model.get_weights()[1])
        assert_allclose(acts, t.apply(raw), atol=1e-12)
        assert np.abs(np.abs(raw) - 0.3).min() > 1e-4 and np.abs(raw + 0.35).min() > 1e-4
        yy = np.repeat(y, 5)
        fd = ((clf.compute_loss(plus, yy) - clf.compute_loss(minus, yy)) / (2 * eps))
        fd = fd.reshape(x.shape)
        assert_allclose(clf.loss_gradient(x, y), fd, rtol=1e-5, atol=1e-8)
        rows = []  # predict returns float32: the outputs in float64 come from get_activations
        for k in range(3):
            def out_k(z: np.ndarray, k: int = k, clf: Any = clf) -> np.ndarray:
                return np.asarray(clf.get_activations(z, "out")[:, k])
            rows.append(((out_k(plus) - out_k(minus)) / (2 * eps)).reshape(x.shape))
        assert_allclose(clf.class_gradient(x), np.stack(rows, 1), rtol=1e-5, atol=1e-8)


def test_changing_values_does_not_retrace_and_removal_is_bit_identical() -> None:
    model = MODELS["sequential"]()
    clf = KerasClassifier(model, use_logits=True, preprocessing=STD)
    x = batch(5)
    y = np.arange(5) % 4
    p0, g0, c0 = clf.predict(x), clf.loss_gradient(x, y), clf.class_gradient(x)
    clf.set_activation_transform("conv", CONV_T)
    p1 = clf.predict(x)
    clf.loss_gradient(x, y)
    rt = clf._rt
    counts = (rt._forward.experimental_get_tracing_count(),
              rt._loss_gradient.experimental_get_tracing_count())
    other = ActivationTransform(clip_max=0.1)
    clf.set_activation_transform(0, other)
    p2 = clf.predict(x)
    clf.loss_gradient(x, y)
    assert (rt._forward.experimental_get_tracing_count(),
            rt._loss_gradient.experimental_get_tracing_count()) == counts
    assert not np.allclose(p1, p2)
    plain = clf.get_activations(x, "flat")  # after the transformed conv: sees it
    clf.set_activation_transform("conv", None)
    assert not np.allclose(clf.get_activations(x, "flat"), plain)
    assert_array_equal(clf.predict(x), p0)
    assert_array_equal(clf.loss_gradient(x, y), g0)
    assert_array_equal(clf.class_gradient(x), c0)


@pytest.mark.parametrize("compiled", [True, False])
def test_fit_trains_through_the_transform(compiled: bool) -> None:
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(6, activation="tanh", name="h"),
                              keras.layers.Dense(3, name="out")])
    if compiled:
        model.compile(optimizer=keras.optimizers.SGD(0.1),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.train_on_batch(np.zeros((2, 5), "f4"), np.zeros(2, "i8"))
    stashed = getattr(model, "train_function", None)
    clf = KerasClassifier(model, use_logits=True)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 5)).astype(np.float32)
    y = rng.integers(0, 3, size=16)
    first = [w.copy() for w in model.get_weights()]
    clf.set_activation_transform("h", ActivationTransform(scale=np.zeros(6)))
    clf.fit(x, y, batch_size=8, nb_epochs=2, seed=0)
    after = model.get_weights()
    assert_array_equal(after[0], first[0])  # no gradient reaches the first layer
    assert_array_equal(after[1], first[1])
    assert not np.array_equal(after[3], first[3])
    _no_wrapper_left(model)
    assert getattr(model, "train_function", None) is stashed


def test_errors_install_nothing() -> None:
    model = MODELS["sequential"]()
    clf = KerasClassifier(model, use_logits=True)
    clf.set_activation_transform("conv", CONV_T)
    with pytest.raises(ParameterError, match="layer"):
        clf.set_activation_transform("nope", CONV_T)
    with pytest.raises(ParameterError, match="layer"):
        clf.set_activation_transform(7, CONV_T)
    with pytest.raises(ParameterError, match=r"scale.*\(4, 4, 4\).*\(3,\)"):
        clf.set_activation_transform("conv", ActivationTransform(scale=np.ones(3)))
    with pytest.raises(ParameterTypeError, match="ActivationTransform"):
        clf.set_activation_transform("conv", 0.5)  # type: ignore[arg-type]
    assert clf.activation_transforms == {"conv": CONV_T}
    _no_wrapper_left(model)


def test_shared_layer_and_layerless_callables_are_refused() -> None:
    inputs = keras.Input((4,))
    dense = keras.layers.Dense(4, activation="tanh", name="shared")
    out = keras.layers.Dense(3, name="out")(dense(dense(inputs)))
    clf = KerasClassifier(keras.Model(inputs, out), use_logits=True)
    with pytest.raises(ParameterError, match="exactly once"):
        clf.set_activation_transform("shared", ActivationTransform(clip_max=0.0))
    assert clf.activation_transforms == {}

    w = tf.constant(np.random.default_rng(0).normal(size=(4, 3)).astype("f4"))
    fn = TensorFlowV2Classifier(lambda x: tf.matmul(x, w), 3, (4,))
    with pytest.raises(ParameterError, match="no layers"):
        fn.set_activation_transform(0, ActivationTransform(clip_max=0.0))


def test_deepcopy_keeps_transforms() -> None:
    import copy

    clf = KerasClassifier(MODELS["sequential"](), use_logits=True)
    clf.set_activation_transform("conv", CONV_T)
    clone = copy.deepcopy(clf)
    assert clone.activation_transforms == {"conv": CONV_T}
    x = batch(3)
    assert_allclose(clone.predict(x), clf.predict(x), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("case", ["mlp", "cnn"])
def test_agrees_with_pytorch_on_copied_weights(case: str) -> None:
    torch = pytest.importorskip("torch")
    adapters = pytest.importorskip("trustml.adapters.torch")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(1)
    if case == "mlp":
        net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 4))
        w1, b1, w2, b2 = (p.detach().numpy() for p in net.parameters())
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="tanh"),
                                  keras.layers.Dense(4)])
        model.set_weights([w1.T, b1, w2.T, b2])
        tshape = (6,)
        scale = rng.uniform(0, 2, 8) * (rng.random(8) > 0.3)
        t_torch = t_keras = ActivationTransform(scale=scale, clip_min=-0.5, clip_max=0.5)
    else:
        net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Tanh(), torch.nn.Flatten(),
                                  torch.nn.Linear(4 * 4 * 4, 4))
        wc, bc, wd, bd = (p.detach().numpy() for p in net.parameters())
        model = keras.Sequential([keras.Input((6, 6, 3)),
                                  keras.layers.Conv2D(4, 3, activation="tanh"),
                                  keras.layers.Flatten(), keras.layers.Dense(4)])
        dense = wd.reshape(4, 4, 4, 4).transpose(2, 3, 1, 0).reshape(64, 4)
        model.set_weights([wc.transpose(2, 3, 1, 0), bc, dense, bd])
        tshape = (3, 6, 6)
        scale = np.array([1.0, 0.0, 1.5, 0.5])
        t_torch = ActivationTransform(scale=scale.reshape(4, 1, 1), clip_max=0.4)
        t_keras = ActivationTransform(scale=scale, clip_max=0.4)
    tclf = adapters.PyTorchClassifier(net, torch.nn.CrossEntropyLoss(), tshape, 4, device="cpu")
    kclf = KerasClassifier(model, use_logits=True)
    tclf.set_activation_transform("1", t_torch)
    kclf.set_activation_transform(0, t_keras)
    x_t = rng.uniform(-1, 1, size=(5, *tshape)).astype(np.float32)
    x_k = x_t if case == "mlp" else x_t.transpose(0, 2, 3, 1)
    y = rng.integers(0, 4, size=5)

    def to_t(a: np.ndarray) -> np.ndarray:
        return a if case == "mlp" else np.moveaxis(a, -1, -3)

    tol = {"rtol": 1e-5, "atol": 1e-5}
    assert_allclose(kclf.predict(x_k), tclf.predict(x_t), **tol)
    assert_allclose(to_t(kclf.get_activations(x_k, 0)), tclf.get_activations(x_t, "1"), **tol)
    assert_allclose(to_t(kclf.loss_gradient(x_k, y)), tclf.loss_gradient(x_t, y), **tol)
    assert_allclose(to_t(kclf.class_gradient(x_k)), tclf.class_gradient(x_t), **tol)
