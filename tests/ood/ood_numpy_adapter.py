"""A user's adapter written in plain numpy: ``x -> features = tanh(x W1 + b1) (or x itself) ->
logits = features W2 + b2``, with the NeuralNetwork, ActivationTransforms, ClassGradients and
(optionally) MultiLayerActivations capabilities. It counts its forward passes."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.activations import ActivationTransform
from trustml.errors import ParameterError
from trustml.preprocessing import Standardisation
from trustml.validation import check_batch


class NumpyNet:
    """Layers ``["hidden", "logits"]`` (``hidden`` is the identity when ``w1`` is None)."""

    def __init__(self, w2: NDArray[Any], b2: NDArray[Any], w1: NDArray[Any] | None = None,
                 b1: NDArray[Any] | None = None, input_dim: int | None = None) -> None:
        self.w1, self.b1, self.w2, self.b2 = w1, b1, w2, b2
        dim = input_dim if w1 is None else w1.shape[0]
        assert dim is not None
        self._shape = (dim,)
        self._transforms: dict[str, ActivationTransform] = {}
        self.forward_passes = 0

    # Estimator / Classifier
    @property
    def input_shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def clip_values(self) -> None:
        return None

    @property
    def preprocessing(self) -> Standardisation:
        return Standardisation(0.0, 1.0)

    @property
    def nb_classes(self) -> int:
        return int(self.w2.shape[1])

    @property
    def channels_first(self) -> bool:
        return True

    @property
    def layer_names(self) -> list[str]:
        return ["hidden", "logits"]

    def _forward(self, x: NDArray[Any]) -> dict[str, NDArray[np.float64]]:
        self.forward_passes += 1
        h = x.astype(np.float64) if self.w1 is None else np.tanh(x @ self.w1 + self.b1)
        if "hidden" in self._transforms:
            h = self._transforms["hidden"].apply(h)
        z = h @ self.w2 + self.b2
        if "logits" in self._transforms:
            z = self._transforms["logits"].apply(z)
        return {"hidden": h, "logits": z}

    def predict(self, x: ArrayLike, batch_size: int = 128) -> NDArray[np.float32]:
        return self._forward(check_batch(x, self._shape, dtype=np.float64))["logits"].astype("f4")

    def _name(self, layer: int | str) -> str:
        names = self.layer_names
        if isinstance(layer, int) and -2 <= layer < 2:
            return names[layer]
        if layer in names:
            return str(layer)
        raise ParameterError(f"layer: expected one of {names}, got {layer!r}")

    def get_activations(self, x: ArrayLike, layer: int | str, batch_size: int = 128,
                        framework: bool = False) -> Any:
        name = self._name(layer)
        return self._forward(check_batch(x, self._shape, dtype=np.float64))[name]

    # ActivationTransforms
    @property
    def activation_transforms(self) -> dict[str, ActivationTransform]:
        return dict(self._transforms)

    def set_activation_transform(self, layer: int | str,
                                 transform: ActivationTransform | None) -> None:
        name = self._name(layer)
        if transform is None:
            self._transforms.pop(name, None)
        else:
            self._transforms[name] = transform

    # ClassGradients (of the logits)
    def class_gradient(self, x: ArrayLike, label: Any = None) -> NDArray[np.float64]:
        arr = check_batch(x, self._shape, dtype=np.float64)
        if self.w1 is None:
            jac = np.broadcast_to(self.w2.T, (arr.shape[0], *self.w2.T.shape))
        else:
            d = 1.0 - np.tanh(arr @ self.w1 + self.b1) ** 2  # (N, H)
            jac = np.einsum("hc,nh,dh->ncd", self.w2, d, self.w1)
        return np.array(jac)


class MultiNumpyNet(NumpyNet):
    """The same network with the MultiLayerActivations fast path."""

    def get_multi_activations(self, x: ArrayLike, layers: list[int | str],
                              batch_size: int = 128, framework: bool = False) -> list[Any]:
        names = [self._name(layer) for layer in layers]
        out = self._forward(check_batch(x, self._shape, dtype=np.float64))
        return [out[n] for n in names]
