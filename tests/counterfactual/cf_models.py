"""Small numpy adapters for the counterfactual tests: a float64 white-box MLP and a predict-only
classifier (a user adapter written against the protocols alone)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.preprocessing import Standardisation


class NumpyMLP:
    """``softmax(W2 tanh(W1 x + b1) + b2)`` in float64, with analytic class gradients of the
    probabilities (``outputs="probabilities"``) or of the logits."""

    def __init__(self, n_in: int, n_hidden: int, nb_classes: int, *, seed: int = 0,
                 logits: bool = False, clip_values: Any = None,
                 scale: float = 1.0) -> None:
        rng = np.random.default_rng(seed)
        self.w1 = rng.normal(size=(n_hidden, n_in)) / np.sqrt(n_in)
        self.b1 = rng.normal(size=n_hidden) * 0.1
        self.w2 = scale * rng.normal(size=(nb_classes, n_hidden)) / np.sqrt(n_hidden)
        self.b2 = rng.normal(size=nb_classes) * 0.1
        self.logits = logits
        self._shape = (n_in,)
        self._classes = nb_classes
        self._clip = clip_values
        self.calls = {"predict": 0, "class_gradient": 0}

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def clip_values(self) -> Any:
        if self._clip is None:
            return None
        return tuple(np.asarray(v, dtype=np.float32) for v in self._clip)

    @property
    def preprocessing(self) -> Standardisation:
        return Standardisation.create(0.0, 1.0, input_shape=self._shape, channels_first=False)

    @property
    def nb_classes(self) -> int:
        return self._classes

    def _forward(self, x: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        h = np.tanh(np.asarray(x, dtype=np.float64) @ self.w1.T + self.b1)
        return h, h @ self.w2.T + self.b2

    def predict(self, x: ArrayLike, batch_size: int = 128) -> NDArray[Any]:
        self.calls["predict"] += 1
        _, z = self._forward(x)
        if self.logits:
            return z
        e = np.exp(z - z.max(axis=1, keepdims=True))
        out: NDArray[np.float64] = e / e.sum(axis=1, keepdims=True)
        return out

    def class_gradient(self, x: ArrayLike, label: Any = None) -> NDArray[np.float64]:
        self.calls["class_gradient"] += 1
        h, z = self._forward(x)
        # dz/dx: (N, C, F)
        dz = np.einsum("ck,nk,kf->ncf", self.w2, 1 - h * h, self.w1)
        if self.logits:
            grads = dz
        else:
            e = np.exp(z - z.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
            # dp_c/dx = p_c (dz_c - sum_k p_k dz_k)
            mean = np.einsum("nk,nkf->nf", p, dz)
            grads = p[:, :, None] * (dz - mean[:, None, :])
        if label is None:
            return grads
        idx = np.broadcast_to(np.asarray(label), (len(grads),))
        return grads[np.arange(len(grads)), idx][:, None]


class PredictOnly:
    """A Classifier with ``predict`` only (no gradients): what a black-box user adapter offers."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self._inner.input_shape)

    @property
    def clip_values(self) -> Any:
        return self._inner.clip_values

    @property
    def preprocessing(self) -> Standardisation:
        return self._inner.preprocessing  # type: ignore[no-any-return]

    @property
    def nb_classes(self) -> int:
        return int(self._inner.nb_classes)

    def predict(self, x: ArrayLike, batch_size: int = 128) -> NDArray[np.float32]:
        return np.asarray(self._inner.predict(x), dtype=np.float32)
