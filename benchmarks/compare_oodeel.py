"""trustml.ood against oodeel 0.4 on the same PyTorch model and data: score agreement per detector.

oodeel 0.4 needs numpy < 2, so this runs in its own environment, not in a nox session. The
committed results (``docs/ood_oodeel_agreement.md``) were made with::

    python -m venv /work/side-ood                      # Python 3.11
    # numpy 1.23.5, torch 2.13.0+cpu, scikit-learn 1.7.2, scipy 1.11.4, matplotlib (as in
    # trustml's MXNet environment), then:
    pip install --no-deps "oodeel==0.4.*" "faiss-cpu==1.8.0"
    PYTHONPATH=src python benchmarks/compare_oodeel.py --out docs/ood_oodeel_agreement.md

Setting: scikit-learn's digits, classes 0-4 in-distribution (fit part: 540 images; scored part:
361) and 5-9 out (896 images), pixels in [0, 1]; a PyTorch MLP 64-128-64-5 (ReLU) trained with
Adam, seed 0. Both libraries get the same ``torch.nn.Module`` (trustml through
``PyTorchClassifier``); the feature-based detectors read the 64-unit ReLU layer (module ``"3"``),
with the same settings on both sides (DKNN ``nearest=10``; ODIN ``eps=0.002``,
``temperature=1000``; Mahalanobis and RMDS ``eps=0``; Energy with ReAct (0.8 quantile), ASH
(0.90 percentile) and SCALE (0.85); the rest at oodeel's defaults). Reported
per detector: the largest absolute score difference, relative to the largest score magnitude,
and both AUROCs. oodeel computes in float32 (torch), trustml's detectors in float64 on the
adapter's float32 features, so the two agree to float32 rounding, amplified where the formula is
ill-conditioned: GEN's ``(1 - p)^0.1`` (``1 - p`` is 0 in float32 once ``p`` rounds to 1, and
``(6e-9)^0.1 = 0.15``) and RMDS's difference of two Mahalanobis distances under covariances of
condition number ~1e5. To show that every difference is oodeel's float32 rounding and not a
different definition, oodeel's own code is run a second time on the same float32 features and
logits handed to it in float64 (``float64_twin``: the feature and head layers' outputs cast to
float64, exactly), so that all of its arithmetic runs in float64: the column "against oodeel's
code run in float64".
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trustml.adapters.torch import PyTorchClassifier
from trustml.ood import DKNN, GEN, MLS, MSP, ODIN, RMDS, VIM, Energy, Entropy, Mahalanobis
from trustml.ood.metrics import bench_metrics

torch.set_num_threads(1)


def digits() -> dict[str, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = (d.data / 16.0).astype(np.float32), d.target
    idx = np.random.default_rng(0).permutation(np.flatnonzero(y < 5))
    n_fit = int(0.6 * len(idx))
    return {"x_fit": x[idx[:n_fit]], "y_fit": y[idx[:n_fit]], "x_in": x[idx[n_fit:]],
            "x_out": x[y >= 5]}


def model(d: dict[str, np.ndarray]) -> torch.nn.Module:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64),
                              torch.nn.ReLU(), torch.nn.Linear(64, 5))
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    x, y = torch.from_numpy(d["x_fit"]), torch.from_numpy(d["y_fit"])
    gen = torch.Generator().manual_seed(0)
    for _ in range(40):
        for idx in torch.randperm(len(x), generator=gen).split(32):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
    return net.eval()


def loader(x: np.ndarray, y: np.ndarray | None = None) -> Any:
    from torch.utils.data import DataLoader, TensorDataset

    tensors = [torch.from_numpy(x)] + ([] if y is None else [torch.from_numpy(y)])
    return DataLoader(TensorDataset(*tensors), batch_size=128, shuffle=False)


def _shim_dataset_imports() -> None:
    """oodeel's torch data handler imports ``torchvision`` and Hugging Face ``datasets`` at
    module level, only to *load* datasets, which this comparison never does (it passes
    ``DataLoader``s over tensors). Where they are not installed (no CPU torchvision wheel here),
    empty stand-in modules let the import succeed; any use of them would raise AttributeError."""
    import importlib.util
    import sys
    import types

    if "torchvision" not in sys.modules and importlib.util.find_spec("torchvision") is None:
        sys.modules.setdefault("torchvision", types.ModuleType("torchvision"))
    if "datasets" not in sys.modules and importlib.util.find_spec("datasets") is None:
        stub = types.ModuleType("datasets")

        def load_dataset(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("datasets stand-in: not available in this comparison")

        stub.load_dataset = load_dataset  # type: ignore[attr-defined]
        sys.modules.setdefault("datasets", stub)


class _Float64Out(torch.nn.Module):
    """``layer`` run in float32 on its input cast to float32, its output cast to float64: the
    model's float32 numbers, handed to oodeel's hooks (and so to all its later arithmetic) in
    float64. The casts are exact (float32 -> float64 -> float32 round-trips)."""

    def __init__(self, layer: torch.nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.layer(x.float()).double()
        return out


def float64_twin(net: torch.nn.Sequential) -> torch.nn.Sequential:
    """The same layers (shared weights) with the feature layer ``"3"`` and the head ``"4"``
    wrapped in :class:`_Float64Out`: oodeel's own code then computes every score from the same
    float32 features and logits, in float64 (faiss, hence oodeel's DKNN, is float32 only)."""
    return torch.nn.Sequential(net[0], net[1], net[2], _Float64Out(net[3]), _Float64Out(net[4]))


def pairs() -> dict[str, tuple[Any, Any, bool]]:
    """name -> (trustml detector, oodeel detector, feature-based)."""
    _shim_dataset_imports()
    import oodeel.methods as om

    return {
        "MLS": (MLS(), om.MLS(), False),
        "MSP": (MSP(), om.MLS(output_activation="softmax"), False),
        "Energy": (Energy(), om.Energy(), False),
        "Entropy": (Entropy(), om.Entropy(), False),
        "GEN": (GEN(), om.GEN(), False),
        "ODIN": (ODIN(temperature=1000.0, eps=0.002), om.ODIN(temperature=1000, eps=0.002),
                 False),
        "Energy+ReAct": (Energy(use_react=True, react_quantile=0.8),
                         om.Energy(use_react=True, react_quantile=0.8), False),
        "Energy+ASH": (Energy(use_ash=True, ash_percentile=0.9),
                       om.Energy(use_ash=True, ash_percentile=0.9), False),
        "Energy+SCALE": (Energy(use_scale=True, scale_percentile=0.85),
                         om.Energy(use_scale=True, scale_percentile=0.85), False),
        "Mahalanobis": (Mahalanobis(), om.Mahalanobis(eps=0.0), True),
        "RMDS": (RMDS(), om.RMDS(eps=0.0), True),
        "DKNN": (DKNN(nearest=10), om.DKNN(nearest=10), True),
        "VIM": (VIM(), om.VIM(), True),
    }


def _remove_oodeel_hooks(net: torch.nn.Module) -> None:
    """oodeel's torch extractor leaves its forward hooks (ReAct / SCALE / ASH pre-hooks on the
    head included) on the user's model until the next extractor replaces them; remove them so
    that trustml is scored on the user's own model."""
    for handle in getattr(net, "_ood_handles", []):
        handle.remove()
    if hasattr(net, "_ood_handles"):
        net._ood_handles = []


def main() -> None:
    import oodeel

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=None, help="Markdown file written")
    args = parser.parse_args()
    d = digits()
    net = model(d)
    clf = PyTorchClassifier(net, torch.nn.CrossEntropyLoss(), (64,), 5)
    net64 = float64_twin(net)
    x_q = np.concatenate([d["x_in"], d["x_out"]])
    n_in = len(d["x_in"])
    rows = []
    for name, (ours, theirs, feature_based) in pairs().items():
        if name == "Energy+ReAct" and not hasattr(clf, "set_activation_transform"):
            rows.append(f"| {name} | — | — | — | — (adapter lacks ActivationTransforms) |")
            continue
        layers = ["3"] if feature_based else []
        _remove_oodeel_hooks(net)  # the previous oodeel detector's hooks stay on the model
        t0 = time.perf_counter()
        ours.fit(clf, d["x_fit"], d["y_fit"], feature_layers_id=layers or ["4"])
        s_ours = ours.score(x_q)[0]
        t1 = time.perf_counter()
        fit_data = loader(d["x_fit"], d["y_fit"])
        theirs.fit(net, fit_data if (feature_based or name.endswith("ReAct")) else None,
                   feature_layers_id=layers)
        s_theirs = np.asarray(theirs.score(loader(x_q))[0], dtype=np.float64)
        t2 = time.perf_counter()
        diff = np.abs(s_ours - s_theirs).max()
        rel = diff / np.abs(s_theirs).max()
        a_ours = bench_metrics(s_ours[:n_in], s_ours[n_in:])["auroc"]
        a_theirs = bench_metrics(s_theirs[:n_in], s_theirs[n_in:])["auroc"]
        rel64 = "— (faiss: float32 only)"
        if name != "DKNN":
            theirs64 = pairs()[name][1]
            _remove_oodeel_hooks(net)  # net64 shares net's layers
            theirs64.fit(net64, fit_data if (feature_based or name.endswith("ReAct")) else None,
                         feature_layers_id=layers)
            s64 = np.asarray(theirs64.score(loader(x_q))[0], dtype=np.float64)
            rel64 = f"{np.abs(s_ours - s64).max() / np.abs(s64).max():.2e}"
        rows.append(f"| {name} | {diff:.2e} | {rel:.2e} | {rel64} | {a_ours:.4f} / "
                    f"{a_theirs:.4f} | {t1 - t0:.2f} / {t2 - t1:.2f} |")
        print(rows[-1], flush=True)
    header = [
        (f"oodeel {oodeel.__version__ if hasattr(oodeel, '__version__') else '0.4'}, torch "
        f"{torch.__version__}, numpy {np.__version__}, {platform.machine()}; "
        f"{len(x_q)} scored inputs (digits 0-4 held out + 5-9). Times (fit + score, s) on a "
        "shared 2-core machine, for orientation only."),
        "",
        ("| detector | max abs. score difference | relative to max abs. score | relative, "
         "against oodeel's code run in float64 | AUROC trustml / oodeel | time trustml / oodeel "
         "(s) |"),
        "|---|---|---|---|---|---|",
    ]
    text = "\n".join(header + rows) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
