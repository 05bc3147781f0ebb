"""The adapter's contracts: batch-size invariance, no mutation, modes/reductions/hooks restored,
labels in both formats, layer order, dtypes, tensors in and out."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from torch_models import CNN_SHAPE, MLP_SHAPE, PER_CHANNEL, make_cnn, make_mlp, make_resnet, wrap

from trustml.adapters.torch import count_hooks
from trustml.errors import ParameterTypeError
from trustml.labels import to_one_hot
from trustml.protocols import (
    ClassGradients,
    Classifier,
    Fittable,
    LossGradients,
    NeuralNetwork,
    NeuralNetworkClassifier,
    NoisyCounter,
)


def test_runtime_capabilities(cnn) -> None:
    for proto in (Classifier, Fittable, LossGradients, ClassGradients, NeuralNetwork, NoisyCounter,
                  NeuralNetworkClassifier):
        assert isinstance(cnn, proto), proto.__name__


@pytest.mark.parametrize("batch_size", [1, 3, 7, 64])
def test_batch_size_invariance(cnn, images, labels, batch_size) -> None:
    ref = {
        "predict": cnn.predict(images, batch_size=10),
        "loss": cnn.compute_loss(images, labels, batch_size=10),
        "grad": cnn.loss_gradient(images, labels, batch_size=10),
        "cls": cnn.class_gradient(images, batch_size=10),
        "act": cnn.get_activations(images, 2, batch_size=10),
    }
    bs = batch_size
    assert_allclose(cnn.predict(images, batch_size=bs), ref["predict"], rtol=1e-5, atol=1e-6)
    assert_allclose(cnn.compute_loss(images, labels, batch_size=batch_size), ref["loss"], rtol=1e-5,
                    atol=1e-6)
    assert_allclose(cnn.loss_gradient(images, labels, batch_size=bs), ref["grad"], rtol=1e-4,
                    atol=1e-6)
    assert_allclose(cnn.class_gradient(images, batch_size=bs), ref["cls"], rtol=1e-4, atol=1e-6)
    assert_allclose(cnn.get_activations(images, 2, batch_size=batch_size), ref["act"], rtol=1e-5,
                    atol=1e-6)


def test_sample_gradient_independent_of_its_batch(cnn, images, labels) -> None:
    """Gradient of the sum: sample 0's gradient alone equals its row in a larger batch."""
    alone = cnn.loss_gradient(images[:1], labels[:1])
    in_batch = cnn.loss_gradient(images, labels)[:1]
    assert_allclose(alone, in_batch, rtol=1e-4, atol=1e-7)


def test_inputs_are_not_mutated(cnn, images, labels) -> None:
    frozen = images.copy()
    frozen.setflags(write=False)
    tensor = torch.from_numpy(images.copy())
    tensor_copy = tensor.clone()
    y = labels.copy()
    for x in (frozen, tensor, images[:, ::-1]):
        cnn.predict(x)
        cnn.loss_gradient(x, y)
        cnn.class_gradient(x, label=y)
        cnn.get_activations(x, 0)
        cnn.count_noisy_predictions(x, 0.1, 4, batch_size=8, seed=0)
    assert_array_equal(frozen, images)
    assert torch.equal(tensor, tensor_copy)
    assert_array_equal(y, labels)
    assert tensor.grad is None and not tensor.requires_grad


@pytest.mark.parametrize("start_training", [True, False])
def test_modes_restored(start_training, images, labels) -> None:
    model = torch.nn.Sequential(make_cnn(), torch.nn.Dropout(0.5))
    model[0][1] = torch.nn.Sequential(torch.nn.BatchNorm2d(4), torch.nn.Tanh())
    clf = wrap(model, CNN_SHAPE, 4)
    model.train(start_training)
    model[1].eval()  # a mixed state must come back exactly
    before = [m.training for m in model.modules()]
    clf.set_dropout(True)
    for training_mode in (False, True):
        clf.predict(images, training_mode=training_mode)
        clf.loss_gradient(images, labels, training_mode=training_mode)
        clf.class_gradient(images, training_mode=training_mode)
        clf.compute_loss(images, labels, training_mode=training_mode)
        clf.get_activations(images, -1, training_mode=training_mode)
    clf.count_noisy_predictions(images, 0.1, 4, batch_size=8, seed=0)
    clf.fit(images, labels, batch_size=5, nb_epochs=1, seed=0)
    _ = clf.layer_names
    assert [m.training for m in model.modules()] == before


def test_eval_mode_by_default_and_training_mode_switch(images) -> None:
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Dropout(0.5), torch.nn.Linear(192, 4))
    clf = wrap(model, CNN_SHAPE, 4)
    model.train()
    assert_array_equal(clf.predict(images), clf.predict(images))  # dropout off
    with torch.random.fork_rng():
        assert not np.allclose(clf.predict(images, training_mode=True), clf.predict(images))


def test_set_dropout_overrides_eval(images) -> None:
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Dropout(0.5), torch.nn.Linear(192, 4))
    clf = wrap(model, CNN_SHAPE, 4)
    model.eval()
    clean = clf.predict(images)
    clf.set_dropout(True)
    with torch.random.fork_rng():
        assert not np.allclose(clf.predict(images), clean)
    clf.set_dropout(None)
    assert_array_equal(clf.predict(images), clean)
    assert not any(m.training for m in model.modules())  # the model itself is left as it was


def test_loss_reduction_restored_and_parameter_grads_untouched(images, labels) -> None:
    loss = torch.nn.CrossEntropyLoss(reduction="sum")
    from trustml.adapters.torch import PyTorchClassifier

    model = make_cnn()
    clf = PyTorchClassifier(model, loss, CNN_SHAPE, 4, device="cpu")
    losses = clf.compute_loss(images, labels)
    assert losses.shape == (10,)
    clf.loss_gradient(images, labels)
    clf.class_gradient(images)
    assert loss.reduction == "sum"
    assert all(p.grad is None for p in model.parameters())
    assert_allclose(clf.compute_loss(images, labels, reduction="sum"), losses.sum(), rtol=1e-5)
    assert_allclose(clf.compute_loss(images, labels, reduction="mean"), losses.mean(), rtol=1e-5)


def test_per_sample_loss_is_cross_entropy(cnn, images, labels) -> None:
    logits = cnn.predict(images).astype(np.float64)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert_allclose(cnn.compute_loss(images, labels), -logp[np.arange(10), labels], rtol=1e-5)


def test_hooks_removed(cnn, images, labels) -> None:
    before = count_hooks(cnn.model)
    names = cnn.layer_names
    for layer in [0, -1, names[2]]:
        cnn.get_activations(images, layer)
        cnn.get_activations(torch.from_numpy(images), layer, framework=True)
    assert count_hooks(cnn.model) == before == 0


def test_index_and_one_hot_labels_agree(cnn, images, labels) -> None:
    onehot = to_one_hot(labels, 4)
    assert_array_equal(cnn.compute_loss(images, labels), cnn.compute_loss(images, onehot))
    assert_array_equal(cnn.loss_gradient(images, labels), cnn.loss_gradient(images, onehot))
    assert_array_equal(cnn.class_gradient(images, labels), cnn.class_gradient(images, onehot))
    assert_array_equal(cnn.loss_gradient(images, labels),
                       cnn.loss_gradient(images, torch.from_numpy(labels)))


def test_layer_names_follow_execution_order() -> None:
    clf = wrap(make_resnet(), CNN_SHAPE, 4)
    declared = [n for n, _ in clf.model.named_modules() if n]
    assert declared == ["head", "block2", "block1", "stem", "act"]
    assert clf.layer_names == ["stem", "block1", "act", "block2", "head"]
    nested = wrap(torch.nn.Sequential(make_cnn()), CNN_SHAPE, 4)
    names = nested.layer_names
    assert names[0] == "0.0" and names[-1] == "0"  # children before their container
    assert names.index("0.6") < names.index("0")


def test_get_activations_by_name_and_index(images) -> None:
    clf = wrap(make_resnet(), CNN_SHAPE, 4, preprocessing=PER_CHANNEL)
    stem = clf.model.stem
    x = torch.from_numpy(images)
    sub, div = (torch.tensor(v).view(3, 1, 1) for v in PER_CHANNEL)
    std = (x - sub) / div
    expected = stem(std).detach().numpy()
    assert_allclose(clf.get_activations(images, "stem"), expected, rtol=1e-5, atol=1e-6)
    assert_allclose(clf.get_activations(images, 0), expected, rtol=1e-5, atol=1e-6)
    last = clf.get_activations(images, -1)
    assert_allclose(last, clf.predict(images), rtol=1e-5, atol=1e-6)


def test_framework_outputs_are_tensors_and_keep_autograd(cnn, images, labels) -> None:
    x = torch.from_numpy(images).requires_grad_(True)
    scores = cnn.predict(x, framework=True)
    assert isinstance(scores, torch.Tensor) and scores.requires_grad
    scores[:, 0].sum().backward()
    assert x.grad is not None
    assert_allclose(x.grad.numpy(), cnn.class_gradient(images, 0)[:, 0], rtol=1e-4, atol=1e-6)
    act = cnn.get_activations(x, 1, framework=True)
    assert isinstance(act, torch.Tensor) and act.requires_grad
    grad = cnn.loss_gradient(images, labels, framework=True)
    assert isinstance(grad, torch.Tensor) and grad.shape == images.shape
    assert isinstance(cnn.compute_loss(images, labels, framework=True), torch.Tensor)


def test_float64_input_is_cast_to_the_model_dtype(cnn, images) -> None:
    assert_array_equal(cnn.predict(images.astype(np.float64)), cnn.predict(images))
    assert cnn.loss_gradient(images.astype(np.float64), np.zeros(10, int)).dtype == np.float32
    ints = (images * 255).astype(np.uint8)
    assert_array_equal(cnn.predict(ints), cnn.predict(ints.astype(np.float32)))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_models(dtype, images, labels) -> None:
    reference = wrap(make_cnn(), CNN_SHAPE, 4, preprocessing=PER_CHANNEL)
    half = wrap(make_cnn().to(dtype), CNN_SHAPE, 4, preprocessing=PER_CHANNEL)
    preds = half.predict(images)
    assert preds.dtype == np.float32
    tol = 2e-2 if dtype == torch.float16 else 8e-2
    assert_allclose(preds, reference.predict(images), atol=tol, rtol=tol)
    grad = half.loss_gradient(images, labels)
    assert grad.dtype == np.float32 and np.isfinite(grad).all()
    ref_grad = reference.loss_gradient(images, labels)
    cos = (grad * ref_grad).sum() / np.linalg.norm(grad) / np.linalg.norm(ref_grad)
    assert cos > 0.95
    counts = half.count_noisy_predictions(images, 0.05, 8, batch_size=16, seed=0)
    assert (counts.sum(axis=1) == 8).all()


def test_empty_batches(cnn, images, labels) -> None:
    assert cnn.predict(images[:0]).shape == (0, 4)
    assert cnn.loss_gradient(images[:0], labels[:0]).shape == (0, *CNN_SHAPE)
    assert cnn.class_gradient(images[:0]).shape == (0, 4, *CNN_SHAPE)
    assert cnn.compute_loss(images[:0], labels[:0]).shape == (0,)
    assert cnn.get_activations(images[:0], 0).shape == (0, 4, 8, 8)


def test_postprocessing_applies_to_predict(images) -> None:
    class Softmax:
        apply_fit = False
        apply_predict = True

        def __call__(self, preds):
            e = np.exp(preds - preds.max(axis=1, keepdims=True))
            return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)

    plain = wrap(make_cnn(), CNN_SHAPE, 4)
    post = wrap(plain.model, CNN_SHAPE, 4, postprocessing_defences=Softmax())
    probs = post.predict(images)
    assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    assert_array_equal(probs.argmax(1), plain.predict(images).argmax(1))


def test_mlp_tensor_inputs_on_cpu(mlp) -> None:
    x = torch.randn(5, *MLP_SHAPE, dtype=torch.float64)
    assert_allclose(mlp.predict(x), mlp.predict(x.numpy()), rtol=1e-6)
    assert mlp.predict(x, framework=True).dtype == torch.float32
    mlp2 = wrap(make_mlp(), MLP_SHAPE, 3)
    assert mlp2.get_activations(x, "1").shape == (5, 8)


def test_results_never_alias_the_input() -> None:
    """A model (or layer) that returns its input: writing into the result leaves x unchanged."""
    clf = wrap(torch.nn.Sequential(torch.nn.Identity()), (4,), 4)
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    t = torch.from_numpy(x.copy())
    for out in (clf.predict(x), clf.get_activations(x, 0), clf.predict(t, framework=True),
                clf.get_activations(t, "0", framework=True)):
        out[:] = -1
    assert_array_equal(x, np.arange(8, dtype=np.float32).reshape(2, 4))
    assert_array_equal(t.numpy(), x)


class _Attention(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.attn = torch.nn.MultiheadAttention(4, 1, dropout=0.5, batch_first=True)
        self.head = torch.nn.Linear(12, 3)

    def forward(self, x):
        out, _ = self.attn(x, x, x)
        return self.head(out.flatten(1))


def test_set_batchnorm_and_multihead_attention_overrides() -> None:
    x = np.random.default_rng(0).normal(size=(6, 3, 4)).astype(np.float32)
    clf = wrap(_Attention(), (3, 4), 3)
    clean = clf.predict(x)
    assert clf.get_activations(x, "attn").shape == (6, 3, 4)  # first element of (out, weights)
    clf.set_multihead_attention(True)
    with torch.random.fork_rng():
        assert not np.allclose(clf.predict(x), clean)
    clf.set_multihead_attention(False)
    assert_array_equal(clf.predict(x), clean)
    bn = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.BatchNorm1d(5), torch.nn.Linear(5, 3))
    bclf = wrap(bn, MLP_SHAPE, 3)
    flags = [m.training for m in bn.modules()]
    xs = np.random.default_rng(1).normal(size=(8, 6)).astype(np.float32)
    eval_preds = bclf.predict(xs)
    bclf.set_batchnorm(True)  # batch statistics: a sample's score depends on its batch
    assert not np.allclose(bclf.predict(xs, batch_size=8)[:4], bclf.predict(xs[:4], batch_size=4))
    bclf.set_batchnorm(None)
    assert not np.allclose(bclf.predict(xs), eval_preds)  # train-mode calls updated running stats
    assert [m.training for m in bn.modules()] == flags
    with pytest.raises(ParameterTypeError, match="train"):
        bclf.set_dropout("yes")  # type: ignore[arg-type]
