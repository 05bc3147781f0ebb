"""trustml.ood: feature extraction over one raw forward pass, and detector scoring time as the fit
set grows (CPU).

1. Feature extraction: ``FeatureExtractor(clf, [3 layers]).predict(x)`` (three hidden layers
   and the logits) of a small CNN on a batch of 256 3x32x32 inputs, over one raw
   ``model(torch.from_numpy(x))`` under ``torch.no_grad()`` (the floor: every layer's output
   exists in that one pass). Target <= 1.1. Beside it, for information, the fallback without the
   ``MultiLayerActivations`` fast path (one ``get_activations`` call per layer). The same CNN in
   Keras (channels last) over one raw ``model(x, training=False)`` where TensorFlow is
   importable.
2. Scoring: ``DKNN(nearest=50)`` and ``Mahalanobis`` fitted on 1k, 10k and 50k samples of a
   128-unit penultimate layer (a PyTorch MLP on random 32-d inputs, 10 classes), scoring 1000
   inputs; the figure is the scoring time at 10k and 50k over the time at 1k. Exact neighbours
   (scikit-learn brute force) grow linearly with the fit set; Mahalanobis does not depend on it.
   Where oodeel is importable (its own environment, see ``benchmarks/compare_oodeel.py``) its
   DKNN (faiss ``IndexFlatL2``) and Mahalanobis are timed on the same model and data.

Times are thread-CPU medians of interleaved repetitions (torch on one thread); the machine the
committed figures came from was shared, so only ratios measured within one run are reported.

Run: ``python benchmarks/bench_ood.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from timing import median_cpu

from trustml.adapters.torch import PyTorchClassifier
from trustml.ood import DKNN, FeatureExtractor, Mahalanobis

torch.set_num_threads(1)


class _PerLayer:
    """The same classifier without the fast path (one get_activations call per layer)."""

    def __init__(self, clf: PyTorchClassifier) -> None:
        self._clf = clf
        self.input_shape, self.clip_values = clf.input_shape, clf.clip_values
        self.preprocessing, self.nb_classes = clf.preprocessing, clf.nb_classes
        self.channels_first, self.layer_names = clf.channels_first, clf.layer_names
        self.predict, self.get_activations = clf.predict, clf.get_activations


def extraction() -> dict[str, float]:
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(32 * 8 * 8, 128), nn.ReLU(), nn.Linear(128, 10),
    ).eval()
    clf = PyTorchClassifier(model, nn.CrossEntropyLoss(), (3, 32, 32), 10)
    x = np.random.default_rng(0).uniform(size=(256, 3, 32, 32)).astype(np.float32)
    layers = ["1", "4", "8"]
    fast = FeatureExtractor(clf, layers)
    slow = FeatureExtractor(_PerLayer(clf), layers)  # type: ignore[arg-type]

    def raw() -> None:
        with torch.no_grad():
            model(torch.from_numpy(x)).numpy()

    t = median_cpu({"raw": raw, "fast": lambda: fast.predict(x, batch_size=256),
                     "per_layer": lambda: slow.predict(x, batch_size=256)}, repeats=15)
    return {"extract 3 layers + logits / raw forward (target <= 1.1)": t["fast"] / t["raw"],
            "same without the fast path (one get_activations per layer) / raw forward":
            t["per_layer"] / t["raw"]}


def keras_extraction() -> dict[str, float]:
    """The same CNN in Keras (channels last): ``FeatureExtractor`` over one raw
    ``model(x, training=False)`` call."""
    try:
        import keras
        import tensorflow as tf
    except ImportError:
        return {}
    from trustml.adapters.tensorflow import KerasClassifier

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(0)
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((32, 32, 3)), layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2), layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(128, activation="relu"),
        layers.Dense(10),
    ])
    clf = KerasClassifier(model, use_logits=True)
    x = np.random.default_rng(0).uniform(size=(256, 32, 32, 3)).astype(np.float32)
    fast = FeatureExtractor(clf, [0, 2, 5])

    def raw() -> None:
        model(tf.constant(x), training=False).numpy()

    t = median_cpu({"raw": raw, "fast": lambda: fast.predict(x, batch_size=256)}, repeats=15)
    return {"Keras: extract 3 layers + logits / raw model(x) (target <= 1.1)":
            t["fast"] / t["raw"]}


def _oodeel() -> Any:
    try:
        from compare_oodeel import _shim_dataset_imports

        _shim_dataset_imports()
        import oodeel.methods as om
    except ImportError:
        return None
    return om


def scoring() -> dict[str, float]:
    torch.manual_seed(1)
    nn = torch.nn
    model = nn.Sequential(nn.Linear(32, 128), nn.ReLU(), nn.Linear(128, 10)).eval()
    clf = PyTorchClassifier(model, nn.CrossEntropyLoss(), (32,), 10)
    rng = np.random.default_rng(1)
    x_all = rng.normal(size=(50_000, 32)).astype(np.float32)
    y_all = clf.predict(x_all, batch_size=4096).argmax(1)
    x_q = rng.normal(size=(1000, 32)).astype(np.float32)
    om = _oodeel()
    out: dict[str, float] = {}
    base: dict[str, float] = {}
    for n in (1_000, 10_000, 50_000):
        dets: dict[str, Any] = {}
        for name, det in (("DKNN", DKNN(nearest=50)), ("Mahalanobis", Mahalanobis())):
            det.fit(clf, x_all[:n], y_all[:n], feature_layers_id=["1"], batch_size=4096)
            dets[name] = det
        fns: dict[str, Callable[[], Any]] = {
            k: (lambda d=d: d.score(x_q, batch_size=1000)) for k, d in dets.items()
        }
        if om is not None:
            from compare_oodeel import loader

            for name, det in (("oodeel DKNN", om.DKNN(nearest=50)),
                              ("oodeel Mahalanobis", om.Mahalanobis(eps=0.0))):
                det.fit(model, loader(x_all[:n], y_all[:n]), feature_layers_id=["1"])
                fns[name] = lambda d=det: d.score(loader(x_q))
        t = median_cpu(fns, repeats=5 if n < 50_000 else 3, warmup=1)
        for name, sec in t.items():
            if n == 1_000:
                base[name] = sec
                out[f"{name} scoring 1000 inputs, fit 1k (ms)"] = 1000 * sec
            else:
                out[f"{name} scoring time, fit {n // 1000}k / fit 1k"] = sec / base[name]
    return out


def main() -> dict[str, float]:
    figures = extraction()
    figures.update(keras_extraction())
    figures.update(scoring())
    return figures


if __name__ == "__main__":
    for key, value in main().items():
        print(f"{key}: {value:.3f}")
