"""Bad inputs raise typed trustml errors naming the parameter, before any work is done."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_models import CNN_SHAPE, MLP_SHAPE, make_cnn, make_mlp, wrap

from trustml.adapters.torch import PyTorchClassifier
from trustml.errors import (
    DeviceError,
    InputShapeError,
    InputValueError,
    LabelError,
    ParameterError,
    ParameterTypeError,
    UnsupportedModelError,
)


def test_wrong_shape_and_channel_order(cnn, images) -> None:
    expected = r"x: expected shape \(N, 3, 8, 8\), got \(10, 8, 8, 3\).*channels_first"
    with pytest.raises(InputShapeError, match=expected):
        cnn.predict(images.transpose(0, 2, 3, 1))
    with pytest.raises(InputShapeError, match="single sample"):
        cnn.predict(images[0])
    with pytest.raises(InputShapeError):
        cnn.loss_gradient(torch.from_numpy(images[:, :2]), np.zeros(10, int))


def test_channels_last_layout_is_honoured(images) -> None:
    """channels_first=False: per-channel standardisation on the last axis."""
    class ToChannelsFirst(torch.nn.Module):
        def forward(self, x):
            return x.permute(0, 3, 1, 2)

    model = make_cnn()
    first = wrap(model, CNN_SHAPE, 4, preprocessing=((0.1, 0.2, 0.3), (0.5, 1.5, 2.0)))
    last = wrap(torch.nn.Sequential(ToChannelsFirst(), model), (8, 8, 3), 4, channels_first=False,
                preprocessing=((0.1, 0.2, 0.3), (0.5, 1.5, 2.0)))
    np.testing.assert_allclose(last.predict(images.transpose(0, 2, 3, 1)), first.predict(images),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(InputShapeError, match="channels_first"):
        last.predict(images)


def test_bad_values(cnn, images) -> None:
    bad = images.copy()
    bad[3, 1, 2, 2] = np.nan
    with pytest.raises(InputValueError, match=r"x: expected finite values.*\(3, 1, 2, 2\)"):
        cnn.predict(bad)
    with pytest.raises(InputValueError):
        cnn.predict(torch.from_numpy(bad))
    with pytest.raises(InputValueError, match="real numeric"):
        cnn.predict(images.astype(np.complex64))
    with pytest.raises(InputValueError, match="real numeric"):
        cnn.predict(np.full((1, *CNN_SHAPE), "a"))


def test_bad_labels(cnn, images) -> None:
    with pytest.raises(LabelError, match=r"y: expected class indices in \[0, 4\)"):
        cnn.loss_gradient(images, np.full(10, 4))
    with pytest.raises(LabelError, match="one-hot"):
        cnn.compute_loss(images, np.ones((10, 4)))
    with pytest.raises(LabelError, match="10 labels"):
        cnn.loss_gradient(images, np.zeros(9, int))
    with pytest.raises(LabelError, match="label"):
        cnn.class_gradient(images, label=4)
    with pytest.raises(LabelError, match="label"):
        cnn.class_gradient(images, label=np.zeros(3, int))


def test_bad_call_parameters(cnn, images) -> None:
    for bs in (0, -1):
        with pytest.raises(ParameterError, match="batch_size"):
            cnn.predict(images, batch_size=bs)
    for bs in (2.5, True):
        with pytest.raises(ParameterTypeError, match="batch_size"):
            cnn.predict(images, batch_size=bs)
    with pytest.raises(ParameterError, match="reduction"):
        cnn.compute_loss(images, np.zeros(10, int), reduction="max")
    with pytest.raises(ParameterError, match="layer"):
        cnn.get_activations(images, "nope")
    with pytest.raises(ParameterError, match="layer"):
        cnn.get_activations(images, 99)
    with pytest.raises(ParameterTypeError, match="layer"):
        cnn.get_activations(images, 1.0)
    with pytest.raises(ParameterTypeError, match="training_mode"):
        cnn.predict(images, training_mode="yes")


def test_unavailable_device_and_bad_device() -> None:
    model = make_mlp()
    before = next(model.parameters()).device
    if not torch.cuda.is_available() or torch.cuda.device_count() <= 7:
        with pytest.raises(DeviceError, match="device"):
            wrap(model, MLP_SHAPE, 3, device="cuda:7")
    with pytest.raises(DeviceError, match="device"):
        wrap(model, MLP_SHAPE, 3, device="gpu!")
    with pytest.raises(ParameterTypeError, match="device"):
        wrap(model, MLP_SHAPE, 3, device=0)
    assert next(model.parameters()).device == before


def test_auto_device() -> None:
    clf = wrap(make_mlp(), MLP_SHAPE, 3, device="auto")
    assert clf.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert next(clf.model.parameters()).device == clf.device


def test_bad_constructor_arguments() -> None:
    model = make_mlp()
    loss = torch.nn.CrossEntropyLoss()
    with pytest.raises(ParameterTypeError, match="loss"):
        PyTorchClassifier(model, torch.nn.functional.cross_entropy, MLP_SHAPE, 3)  # type: ignore[arg-type]
    with pytest.raises(ParameterTypeError, match="loss: .*call it"):
        PyTorchClassifier(model, torch.nn.CrossEntropyLoss, MLP_SHAPE, 3)  # type: ignore[arg-type]
    with pytest.raises(ParameterTypeError, match="loss"):
        PyTorchClassifier(model, torch.nn.ReLU(), MLP_SHAPE, 3)
    with pytest.raises(UnsupportedModelError, match="model"):
        PyTorchClassifier(lambda x: x, loss, MLP_SHAPE, 3)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="nb_classes"):
        PyTorchClassifier(model, loss, MLP_SHAPE, 1)
    with pytest.raises(ParameterError, match="input_shape"):
        PyTorchClassifier(model, loss, (), 3)
    with pytest.raises(ParameterTypeError, match="optimizer"):
        PyTorchClassifier(model, loss, MLP_SHAPE, 3, optimizer="adam")  # type: ignore[arg-type]
    with pytest.raises(ParameterTypeError, match="channels_first"):
        PyTorchClassifier(model, loss, MLP_SHAPE, 3, channels_first=1)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="preprocessing"):
        PyTorchClassifier(model, loss, MLP_SHAPE, 3, preprocessing=((0.0,) * 5, 1.0))
    with pytest.raises(ParameterError, match="clip_values"):
        PyTorchClassifier(model, loss, MLP_SHAPE, 3, clip_values=(1.0, 0.0))
    with pytest.raises(ParameterTypeError, match=r"preprocessing_defences\[1\]"):
        PyTorchClassifier(model, loss, MLP_SHAPE, 3, preprocessing_defences=[
            _Identity(), object()])  # type: ignore[list-item]


class _Identity:
    apply_fit = True
    apply_predict = True

    def __call__(self, x, y=None):
        return x, y

    def estimate_gradient(self, x, grad):
        return grad


def test_model_with_wrong_output_or_loss_shape(images) -> None:
    clf = wrap(make_cnn(classes=5), CNN_SHAPE, 4)
    expected = r"model: expected outputs of shape \(10, nb_classes=4\)"
    with pytest.raises(UnsupportedModelError, match=expected):
        clf.predict(images)

    class Elementwise(torch.nn.Module):
        reduction = "mean"

        def forward(self, scores, target):
            return scores**2  # (N, nb_classes) with reduction "none": not per sample

    loss = Elementwise()
    clf = PyTorchClassifier(make_cnn(), loss, CNN_SHAPE, 4, device="cpu")
    with pytest.raises(ParameterError, match=r"loss: expected per-sample losses of shape \(10,\)"):
        clf.loss_gradient(images, np.zeros(10, int))
    assert loss.reduction == "mean"
