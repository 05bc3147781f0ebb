"""Bad inputs raise typed trustml errors naming the parameter, before any work is done."""

from __future__ import annotations

import numpy as np
import pytest

mx = pytest.importorskip("mxnet")

from _mxnets import CNN_SHAPE, cnn, cnn_classifier, data, mlp, mlp_classifier
from mxnet import gluon

from trustml.adapters.mxnet import MXNetClassifier
from trustml.errors import (
    InputShapeError,
    InputValueError,
    LabelError,
    NotFittedError,
    ParameterError,
    ParameterTypeError,
    UnsupportedModelError,
)

SCE = gluon.loss.SoftmaxCrossEntropyLoss


def test_bad_inputs_to_methods() -> None:
    clf = cnn_classifier()
    x, y = data(CNN_SHAPE, n=4)
    channels_last = np.moveaxis(x, 1, -1)
    with pytest.raises(InputShapeError, match=r"x: expected shape \(N, 3, 8, 8\).*channels_first"):
        clf.predict(channels_last)
    with pytest.raises(InputShapeError, match="single sample"):
        clf.loss_gradient(x[0], y[:1])
    nan = x.copy()
    nan[1, 0, 0, 0] = np.nan
    with pytest.raises(InputValueError, match="x: expected finite"):
        clf.class_gradient(nan)
    with pytest.raises(InputValueError, match="x: expected a real numeric"):
        clf.predict(x.astype(complex))
    with pytest.raises(LabelError, match=r"y: expected class indices in \[0, 3\)"):
        clf.loss_gradient(x, [0, 1, 2, 3])
    with pytest.raises(LabelError, match="y: expected 4 labels"):
        clf.compute_loss(x, [0, 1])
    with pytest.raises(LabelError, match="one-hot"):
        clf.loss_gradient(x, np.full((4, 3), 0.5))
    with pytest.raises(LabelError, match="label"):
        clf.class_gradient(x, label=3)
    with pytest.raises(LabelError, match="label"):
        clf.class_gradient(x, label=[0, 1])
    with pytest.raises(ParameterError, match="batch_size"):
        clf.predict(x, batch_size=0)
    with pytest.raises(ParameterError, match="reduction"):
        clf.compute_loss(x, y, reduction="max")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="layer: expected one of layer_names"):
        clf.get_activations(x, "features.9")
    with pytest.raises(ParameterError, match=r"layer: expected an int index in \[-5, 5\)"):
        clf.get_activations(x, 5)
    with pytest.raises(ParameterTypeError, match="layer"):
        clf.get_activations(x, True)


def test_bad_constructor_arguments() -> None:
    with pytest.raises(UnsupportedModelError, match="model: expected a mxnet.gluon.Block"):
        MXNetClassifier(lambda z: z, SCE(), (4,), 3)  # type: ignore[arg-type]
    with pytest.raises(ParameterTypeError, match="loss: expected a mxnet.gluon.loss.Loss"):
        MXNetClassifier(mlp(), lambda a, b: a, (4,), 3)  # type: ignore[arg-type]
    fresh = gluon.nn.Dense(3)
    with pytest.raises(NotFittedError, match="initialize"):
        MXNetClassifier(fresh, SCE(), (4,), 3)
    with pytest.raises(ParameterError, match="nb_classes: expected the model to output"):
        MXNetClassifier(mlp(), SCE(), (4,), 4)
    shaped = mlp()
    MXNetClassifier(shaped, SCE(), (4,), 3)  # completes the deferred initialisation: 4 inputs
    with pytest.raises(ParameterError, match="input_shape: the model failed"):
        MXNetClassifier(shaped, SCE(), (5,), 3)
    with pytest.raises(ParameterError, match="nb_classes"):
        MXNetClassifier(mlp(), SCE(), (4,), 1)
    with pytest.raises(ParameterError, match="loss: expected per-sample losses"):
        MXNetClassifier(mlp(), gluon.loss.L2Loss(batch_axis=1), (4,), 3)
    with pytest.raises(ParameterTypeError, match="channels_first"):
        MXNetClassifier(cnn(), SCE(), CNN_SHAPE, 3, channels_first="yes")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="preprocessing"):
        MXNetClassifier(cnn(), SCE(), CNN_SHAPE, 3, preprocessing=([0.5, 0.5], 1.0))
    with pytest.raises(ParameterError, match="clip_values"):
        MXNetClassifier(mlp(), SCE(), (4,), 3, clip_values=(1.0, 0.0))
    with pytest.raises(ParameterTypeError, match="ctx"):
        MXNetClassifier(mlp(), SCE(), (4,), 3, ctx="cpu")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="optimizer"):
        MXNetClassifier(mlp(), SCE(), (4,), 3, optimizer="nosuch")
    with pytest.raises(ParameterError, match="optimizer"):
        MXNetClassifier(mlp(), SCE(), (4,), 3, optimizer=("sgd", {"bogus": 1}))
    with pytest.raises(ParameterTypeError, match="optimizer"):
        MXNetClassifier(mlp(), SCE(), (4,), 3, optimizer=0.1)
    other = mlp(seed=5)
    with pytest.raises(ParameterError, match="optimizer: expected a gluon.Trainer over the model"):
        MXNetClassifier(
            mlp(), SCE(), (4,), 3, optimizer=gluon.Trainer(other.collect_params(), "sgd")
        )


def test_fit_errors_leave_the_model_unchanged() -> None:
    clf = mlp_classifier(optimizer="sgd")
    x, y = data((4,), n=6)
    before = [p.data().asnumpy().copy() for p in clf.model.collect_params().values()]
    with pytest.raises(LabelError):
        clf.fit(x, np.append(y[:-1], 7), nb_epochs=1)
    with pytest.raises(InputShapeError):
        clf.fit(x[:, :3], y, nb_epochs=1)
    with pytest.raises(ParameterError, match="nb_epochs"):
        clf.fit(x, y, nb_epochs=0)
    with pytest.raises(ParameterTypeError, match="generator: expected an iterable that can be"):
        clf.fit_generator(iter([(x, y)]), nb_epochs=2)
    with pytest.raises(ParameterTypeError, match="generator"):
        clf.fit_generator(3, nb_epochs=1)  # type: ignore[arg-type]
    for p, b in zip(clf.model.collect_params().values(), before):
        np.testing.assert_array_equal(p.data().asnumpy(), b)
    assert clf.trainer is not None
    default = mlp_classifier()
    with pytest.raises(LabelError):
        default.fit(x, np.append(y[:-1], 7), nb_epochs=1)
    assert default.trainer is None  # the default trainer is built only once fitting starts
