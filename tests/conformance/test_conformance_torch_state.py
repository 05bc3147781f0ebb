"""state_framework_mode on a real framework: PyTorch modes, hooks and grad mode left changed."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")
factories = pytest.importorskip("factories")

from trustml.conformance import run_check


class LeavesTrainMode:
    """Composition: delegates to a correct PyTorchClassifier, then breaks one piece of state."""

    def __init__(self, breakage: str) -> None:
        self._inner = factories.torch_cnn()
        self.model = self._inner.model
        self.breakage = breakage

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @property
    def input_shape(self) -> Any:
        return self._inner.input_shape

    @property
    def nb_classes(self) -> Any:
        return self._inner.nb_classes

    @property
    def clip_values(self) -> Any:
        return self._inner.clip_values

    @property
    def preprocessing(self) -> Any:
        return self._inner.preprocessing

    def predict(self, x: Any, batch_size: int = 128) -> Any:
        out = self._inner.predict(x, batch_size=batch_size)
        if self.breakage == "train":
            self.model.train(not self.model.training)  # flipped and never restored
        elif self.breakage == "hook":
            self.model[0].register_forward_hook(lambda *a: None)
        elif self.breakage == "grad":
            torch.set_grad_enabled(False)
        return out


@pytest.mark.parametrize("breakage", ["train", "hook", "grad"])
def test_state_framework_mode_catches_torch_state_left_changed(breakage: str) -> None:
    obj = LeavesTrainMode(breakage)
    try:
        result = run_check(obj, "state_framework_mode")
    finally:
        torch.set_grad_enabled(True)
    assert result.status == "failed", result
    assert "predict(x) changed" in result.message


def test_the_shipped_torch_adapter_restores_its_state() -> None:
    obj = factories.torch_cnn()
    mode = obj.model.training
    assert run_check(obj, "state_framework_mode").status == "passed"
    assert obj.model.training is mode


class NestedNet:
    """A Classifier whose torch model sits two attributes deep and flips mode in predict."""

    input_shape = (4,)
    nb_classes = 2
    clip_values = None

    def __init__(self) -> None:
        from types import SimpleNamespace

        from trustml.preprocessing import Standardisation

        self.preprocessing = Standardisation.create(0.0, 1.0, input_shape=(4,),
                                                    channels_first=False)
        self._parts = SimpleNamespace(net=torch.nn.Linear(4, 2))

    def predict(self, x: Any, batch_size: int = 128) -> Any:
        import numpy as np

        from trustml.validation import check_batch, check_batch_size

        check_batch_size(batch_size)
        xs = check_batch(x, self.input_shape)
        net = self._parts.net
        net.train(not net.training)
        with torch.no_grad():
            return net(torch.from_numpy(xs)).numpy().astype(np.float32)


def test_models_are_found_through_nested_attributes() -> None:
    result = run_check(NestedNet(), "state_framework_mode")
    assert result.status == "failed"
    assert "_parts.net.training" in result.message
