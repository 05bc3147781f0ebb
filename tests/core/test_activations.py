"""Activation transforms (the declarative value) and the block seeds of split noisy draws."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from trustml.activations import ActivationTransform, transformed_activations
from trustml.errors import ParameterError, ParameterTypeError
from trustml.protocols import ActivationTransforms
from trustml.rng import block_seed


def test_apply_clips_then_scales() -> None:
    a = np.array([[-2.0, 0.5, 3.0], [1.0, -0.25, 9.0]], dtype=np.float32)
    t = ActivationTransform(scale=[1.0, 0.0, 2.0], clip_min=-1.0, clip_max=2.0)
    expected = np.clip(a, -1.0, 2.0) * np.array([1.0, 0.0, 2.0], dtype=np.float32)
    np.testing.assert_array_equal(t.apply(a), expected)
    assert a[0, 0] == -2.0  # input untouched


def test_identity_and_one_sided_bounds() -> None:
    a = np.linspace(-3, 3, 12, dtype=np.float64).reshape(2, 6)
    np.testing.assert_array_equal(ActivationTransform().apply(a), a)
    np.testing.assert_array_equal(ActivationTransform(clip_max=1.0).apply(a), np.minimum(a, 1.0))
    assert ActivationTransform().apply(a).dtype == np.float64


def test_scale_is_a_read_only_copy() -> None:
    scale = np.ones(3)
    t = ActivationTransform(scale=scale)
    scale[0] = 5.0
    assert t.scale is not None and t.scale[0] == 1.0 and t.scale.dtype == np.float32
    with pytest.raises(ValueError):
        t.scale[0] = 2.0


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"clip_min": 2.0, "clip_max": 1.0}, ParameterError, "clip_min"),
        ({"clip_max": float("nan")}, ParameterError, "clip_max"),
        ({"clip_max": "1"}, ParameterTypeError, "clip_max"),
        ({"clip_min": True}, ParameterTypeError, "clip_min"),
        ({"scale": [1.0, np.inf]}, ParameterError, "scale"),
        ({"scale": ["a"]}, ParameterTypeError, "scale"),
    ],
)
def test_bad_values_name_the_parameter(
    kwargs: dict[str, Any], error: type[Exception], name: str
) -> None:
    with pytest.raises(error, match=name):
        ActivationTransform(**kwargs)


class _Layers:
    """A minimal ActivationTransforms implementation, to test the context manager."""

    def __init__(self) -> None:
        self._t: dict[str, ActivationTransform] = {}

    @property
    def activation_transforms(self) -> dict[str, ActivationTransform]:
        return dict(self._t)

    def set_activation_transform(
        self, layer: int | str, transform: ActivationTransform | None
    ) -> None:
        if layer not in ("a", "b"):
            raise ParameterError(f"layer: expected 'a' or 'b', got {layer!r}")
        if transform is None:
            self._t.pop(str(layer), None)
        else:
            self._t[str(layer)] = transform


def test_context_manager_restores_what_was_there() -> None:
    layers = _Layers()
    assert isinstance(layers, ActivationTransforms)
    before = ActivationTransform(clip_max=1.0)
    layers.set_activation_transform("a", before)
    inside = ActivationTransform(clip_max=2.0)
    with transformed_activations(layers, {"a": inside, "b": inside}):
        assert layers.activation_transforms == {"a": inside, "b": inside}
    assert layers.activation_transforms == {"a": before}
    with pytest.raises(ParameterError, match="layer"):
        with transformed_activations(layers, {"b": inside, "zz": inside}):
            pass  # pragma: no cover
    assert layers.activation_transforms == {"a": before}


def test_block_seeds() -> None:
    assert block_seed(123, 0) == 123
    seeds = {block_seed(123, b) for b in range(1, 200)} | {block_seed(124, 1)}
    assert len(seeds) == 200 and all(0 <= s < 2**63 for s in seeds)
    assert block_seed(123, 7) == block_seed(123, 7)
    with pytest.raises(ParameterError, match="block"):
        block_seed(1, -1)
    with pytest.raises(ParameterError, match="seed"):
        block_seed(2**63, 1)
    with pytest.raises(ParameterTypeError, match="seed"):
        block_seed(1.5, 1)  # type: ignore[arg-type]
