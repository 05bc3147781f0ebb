"""Counterfactual explanations: batched vs one at a time, optimiser overhead, and CEML beside us.

Run: ``python benchmarks/bench_counterfactual.py [--quick]`` (CPU; ``main()`` returns the figures).

1. Throughput on 100 digits (target: the next class), an MLP 64-32-10 in PyTorch behind
   ``PyTorchClassifier``: ``generate_counterfactual`` with ``NegLogLikelihoodCost`` + L1, Adam,
   100 steps, one C, on the whole batch at once and then row by row. Figure: counterfactuals per
   second of each, and their ratio (batched / one at a time; higher is better).
2. Optimiser overhead: the time of one Adam step of the counterfactual search on the batch over
   one raw torch autograd call on the same batch (forward, ``cross_entropy`` towards the target,
   backward to the input). A step evaluates the loss and its gradient (``compute_loss`` and
   ``loss_gradient``: two forward passes and one backward; or, for the NLL chained through
   ``class_gradient``, the full class Jacobian: ten backward passes), checks success with
   ``predict`` (one more forward), then updates, projects and snaps in numpy.
3. CEML 0.7 (``ceml.sklearn.generate_counterfactual``, its convex-programme optimiser ``"mp"``)
   beside trustml's exact solver on the same scikit-learn ``LogisticRegression`` (breast cancer,
   standardised, L1, target: the other class), when CEML is importable in the side environment
   named by ``CEML_PYTHON`` (default ``/work/side-cf/bin/python``): counterfactuals per second and
   the mean L1 distance. CEML pins torch 2.0.1 and tensorflow 2.13.1, so its PyTorch backend was
   not installed beside it: the comparison is on the scikit-learn model only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

CEML_SCRIPT = r"""
import json, sys, time, warnings
import numpy as np
warnings.filterwarnings("ignore")
from ceml.sklearn import generate_counterfactual
from sklearn.linear_model import LogisticRegression
d = np.load(sys.argv[1])
m = LogisticRegression(multi_class="multinomial")
m.coef_, m.intercept_, m.classes_ = d["coef"], d["intercept"], np.array([0, 1])
m.n_features_in_ = d["coef"].shape[1]
x, t = d["x"], d["t"]
dist, ok = [], 0
start = time.perf_counter()
for xi, ti in zip(x, t):
    try:
        r = generate_counterfactual(m, xi, int(ti), regularization="l1", optimizer="mp",
                                    return_as_dict=True)
        ok += int(m.predict(r["x_cf"][None])[0] == ti)
        dist.append(float(np.abs(r["delta"]).sum()))
    except Exception:
        pass
elapsed = time.perf_counter() - start
print(json.dumps({"per_s": len(x) / elapsed, "l1": float(np.mean(dist)), "valid": ok / len(x)}))
"""


def _digits_mlp(torch: Any) -> tuple[Any, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    from trustml.adapters.torch import PyTorchClassifier

    x, y = load_digits(return_X_y=True)
    x = x.astype(np.float32)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    clf = PyTorchClassifier(net, loss=torch.nn.CrossEntropyLoss(), input_shape=(64,),
                            nb_classes=10, optimizer=torch.optim.Adam(net.parameters(), 1e-2),
                            clip_values=(0.0, 16.0), preprocessing=(0.0, 16.0), device="cpu")
    clf.fit(x[:1200], y[:1200], batch_size=64, nb_epochs=20)
    xe = x[1200:1300]
    target = (np.argmax(clf.predict(xe), axis=1) + 1) % 10
    return clf, xe, target


def _throughput(clf: Any, x: np.ndarray, target: np.ndarray, steps: int) -> dict[str, float]:
    from trustml.counterfactual import CounterfactualNotFoundError, generate_counterfactual

    opts: dict[str, Any] = {"C": 0.01, "optimizer_args": {"lr": 0.2}, "max_iter": steps}

    def solve(xs: np.ndarray, ts: np.ndarray) -> None:
        try:
            generate_counterfactual(clf, xs, ts, **opts)
        except CounterfactualNotFoundError:
            pass

    start = time.perf_counter()
    solve(x, target)
    batched = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(len(x)):
        solve(x[i : i + 1], target[i : i + 1])
    single = time.perf_counter() - start
    return {
        "digits MLP counterfactuals/s, batched (100 inputs)": len(x) / batched,
        "digits MLP counterfactuals/s, one at a time": len(x) / single,
        "batched / one at a time (throughput ratio)": single / batched,
    }


def _step_overhead(torch: Any, clf: Any, x: np.ndarray, target: np.ndarray,
                   repeats: int) -> dict[str, float]:
    from trustml.counterfactual import (
        L1Cost,
        NegLogLikelihoodCost,
        Optimizer,
        RegularizedCost,
        TargetLossCost,
    )

    net = clf.model
    xt = torch.from_numpy(x)
    tt = torch.from_numpy(target.astype(np.int64))

    def raw() -> None:
        xi = (xt / 16.0).clone().requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(net(xi), tt, reduction="sum")
        loss.backward()

    for _ in range(3):
        raw()
    start = time.perf_counter()
    for _ in range(repeats):
        raw()
    raw_t = (time.perf_counter() - start) / repeats

    def steps(n: int, output: Any) -> float:
        loss = RegularizedCost(L1Cost(x.astype(np.float64)), output, C=0.01)
        opt = Optimizer()
        opt.init(clf, loss, x, "adam", max_iter=n, clip_values=(0.0, 16.0),
                 optimizer_args={"lr": 0.2},
                 accept=lambda c, rows: np.argmax(clf.predict(c), axis=1) == target[rows])
        start = time.perf_counter()
        opt()
        return time.perf_counter() - start

    figures = {"raw torch input gradient, batch 100 (ms)": raw_t * 1e3}
    outputs = {
        "model's loss (loss_gradient)": TargetLossCost(target),
        "NLL of logits (full class_gradient)": NegLogLikelihoodCost(target, from_logits=True),
    }
    for name, output in outputs.items():
        steps(2, output)
        # the difference of two run lengths cancels the per-run set-up
        step_t = (steps(repeats + 5, output) - steps(5, output)) / repeats
        figures[f"one optimiser step, {name} (ms)"] = step_t * 1e3
        figures[f"optimiser step / raw gradient call, {name} (time ratio)"] = step_t / raw_t
    return figures


def _ceml() -> dict[str, float]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from trustml.adapters.sklearn import wrap
    from trustml.counterfactual import generate_counterfactual

    python = os.environ.get("CEML_PYTHON", "/work/side-cf/bin/python")
    x, y = load_breast_cancer(return_X_y=True)
    xs = StandardScaler().fit_transform(x)[::5]
    t = 1 - y[::5]
    model = LogisticRegression(max_iter=5000).fit(StandardScaler().fit_transform(x), y)
    clf = wrap(model)
    start = time.perf_counter()
    out = generate_counterfactual(clf, xs, t, regularization="l1")
    ours = time.perf_counter() - start
    assert isinstance(out, dict)
    figures = {
        "breast cancer L1, trustml exact counterfactuals/s": len(xs) / ours,
        "breast cancer L1, trustml mean distance": float(np.abs(out["delta"]).sum(axis=1).mean()),
    }
    if not Path(python).exists():
        return figures
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "model.npz"
        np.savez(data, coef=model.coef_, intercept=model.intercept_, x=xs, t=t)
        script = Path(tmp) / "ceml_run.py"
        script.write_text(CEML_SCRIPT)
        proc = subprocess.run([python, str(script), str(data)], capture_output=True, text=True,
                              check=False,
                              timeout=900, cwd=tmp)
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
        return figures
    ceml = json.loads(proc.stdout.strip().splitlines()[-1])
    figures.update({
        "breast cancer L1, CEML 0.7 'mp' counterfactuals/s": ceml["per_s"],
        "breast cancer L1, CEML mean distance": ceml["l1"],
        "breast cancer L1, CEML validity": ceml["valid"],
        "trustml / CEML (throughput ratio)": figures[
            "breast cancer L1, trustml exact counterfactuals/s"] / ceml["per_s"],
    })
    return figures


def main(quick: bool = False) -> dict[str, float]:
    import torch

    torch.set_num_threads(1)
    clf, x, target = _digits_mlp(torch)
    figures: dict[str, float] = {}
    figures.update(_throughput(clf, x[:20] if quick else x, target[:20] if quick else target,
                               30 if quick else 100))
    figures.update(_step_overhead(torch, clf, x, target, 10 if quick else 50))
    figures.update(_ceml())
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    for key, value in main(parser.parse_args().quick).items():
        print(f"{key}: {value:.4g}")
