"""Counterfactual explanations: the acceptance runs of issue 14, in full (CPU).

Produces the table and the figure of ``docs/explanations.md``::

    python docs/scripts/counterfactual_results.py

Rows:

- breast cancer (569 inputs, standardised), scikit-learn ``LogisticRegression``: the exact solver
  (linprog / dual QP) in L1, L2 and Linf for every input, target = the other class; and trustml's
  Adam on ``NegLogLikelihoodCost + C * L1Cost`` on the same model (the gradient path), whose L1
  distance is compared with the exact minimum;
- iris and wine, ``DecisionTreeClassifier(max_depth=4)``: the exact tree solver (L1) for every
  input, target = the next class;
- digits (the last 597 images, 100 explained), an MLP 64-32-10 trained in PyTorch and the same
  weights in Keras: ``NegLogLikelihoodCost`` + L1, ``C`` in (0.1, 0.01, 0.001), Adam (lr 0.2,
  100 steps), clip values (0, 16), target = the next class;
- wine (100 inputs, standardised inside the adapter), an MLP 13-16-3 in PyTorch and the same
  weights in Keras, the same set-up (lr 0.05 times the mean feature spread, 150 steps).

Validity is the fraction classified as the target; L1 / L2 are means over valid rows (raw units);
"changed" is the mean number of changed features (|change| > 1e-6 max(1, |x|)). Outputs:
``docs/counterfactual_results_table.md`` and ``docs/img/counterfactuals_digits.png``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from trustml.counterfactual import CounterfactualNotFoundError, generate_counterfactual
from trustml.counterfactual.metrics import proximity, sparsity, validity

DOCS = Path(__file__).resolve().parents[1]


def run(clf: Any, x: np.ndarray, target: np.ndarray, **kwargs: Any) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    try:
        out = generate_counterfactual(clf, x, target, **kwargs)
        assert isinstance(out, dict)
        x_cf = out["x_cf"]
    except CounterfactualNotFoundError as exc:
        x_cf = exc.x_cf
    return x_cf, time.perf_counter() - start


def row(name: str, method: str, clf: Any, x: np.ndarray, x_cf: np.ndarray, target: np.ndarray,
        seconds: float, note: str = "") -> str:
    ok = validity(clf, x_cf, target)
    l1 = proximity(x, x_cf, "l1")[ok].mean()
    l2 = proximity(x, x_cf, "l2")[ok].mean()
    changed = sparsity(x, x_cf)[ok].mean()
    return (f"| {name} | {method} | {len(x)} | {ok.mean():.3f} | {l1:.4g} | {l2:.4g} | "
            f"{changed:.1f} | {len(x) / seconds:.1f} | {note} |")


def main() -> None:
    import torch
    from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    from trustml.adapters.sklearn import wrap
    from trustml.adapters.torch import PyTorchClassifier

    torch.set_num_threads(1)
    lines = [
        "| data | method | inputs | validity | L1 | L2 | changed | inputs/s | note |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    # -- linear: exact and gradient paths on breast cancer
    x, y = load_breast_cancer(return_X_y=True)
    xs = StandardScaler().fit_transform(x)
    lin = wrap(LogisticRegression(max_iter=5000).fit(xs, y))
    target = 1 - y
    exact_l1 = None
    for reg in ("l1", "l2", "linf"):
        x_cf, t = run(lin, xs, target, regularization=reg)
        if reg == "l1":
            exact_l1 = proximity(xs, x_cf, "l1")
        lines.append(row("breast cancer, LogisticRegression", f"exact {reg.upper()}", lin, xs,
                         x_cf, target, t))
    sub = np.arange(0, 569, 6)
    x_cf, t = run(lin, xs[sub], target[sub], optimizer="adam", C=[1.0, 0.1, 0.01],
                  max_iter=300, optimizer_args={"lr": 0.05})
    ok = validity(lin, x_cf, target[sub])
    assert exact_l1 is not None
    ratio = (proximity(xs[sub], x_cf, "l1")[ok] / exact_l1[sub][ok]).mean()
    lines.append(row("breast cancer, LogisticRegression", "Adam, NLL + C L1", lin, xs[sub], x_cf,
                     target[sub], t, f"L1 / exact L1 = {ratio:.2f}"))
    # -- trees
    for name, loader in (("iris", load_iris), ("wine", load_wine)):
        xt, yt = loader(return_X_y=True)
        tree = wrap(DecisionTreeClassifier(max_depth=4, random_state=0).fit(xt, yt))
        tt = (yt + 1) % 3
        x_cf, t = run(tree, xt, tt, regularization="l1")
        lines.append(row(f"{name}, DecisionTree(depth 4)", "exact L1 (leaves)", tree, xt, x_cf,
                         tt, t))
    # -- digits: PyTorch and Keras MLPs with the same weights
    xd, yd = load_digits(return_X_y=True)
    xd = xd.astype(np.float32)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    tclf = PyTorchClassifier(net, loss=torch.nn.CrossEntropyLoss(), input_shape=(64,),
                             nb_classes=10, optimizer=torch.optim.Adam(net.parameters(), 1e-2),
                             clip_values=(0.0, 16.0), preprocessing=(0.0, 16.0), device="cpu")
    tclf.fit(xd[:1200], yd[:1200], batch_size=64, nb_epochs=20)
    xe = xd[1200:1300]
    te = (np.argmax(tclf.predict(xe), axis=1) + 1) % 10
    opts: dict[str, Any] = {"C": [0.1, 0.01, 0.001], "optimizer_args": {"lr": 0.2},
                            "max_iter": 100}
    t_cf, t = run(tclf, xe, te, **opts)
    lines.append(row("digits, MLP 64-32-10", "PyTorch, Adam, NLL + C L1", tclf, xe, t_cf, te, t))
    b_cf, tb = run(tclf, xe, te, optimizer=torch.optim.Adam, **opts)
    lines.append(row("digits, MLP 64-32-10", "PyTorch, torch.optim.Adam", tclf, xe, b_cf, te, tb))
    try:
        import keras

        from trustml.adapters.tensorflow import KerasClassifier

        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, activation="relu"),
                                  keras.layers.Dense(10)])
        w1, b1, w2, b2 = (p.detach().numpy() for p in net.parameters())
        model.set_weights([w1.T, b1, w2.T, b2])
        kclf = KerasClassifier(model, use_logits=True, clip_values=(0.0, 16.0),
                               preprocessing=(0.0, 16.0))
        k_cf, tk = run(kclf, xe, te, **opts)
        gap = np.abs(k_cf - t_cf).max(axis=1)
        lines.append(row("digits, MLP 64-32-10", "Keras (same weights), Adam", kclf, xe, k_cf,
                         te, tk, f"rows equal to PyTorch's within 1e-3: {(gap <= 1e-3).mean():.2f}"
                         f"; median max gap {np.median(gap):.1e}"))
    except ImportError:
        pass
    # -- wine MLP
    xw, yw = load_wine(return_X_y=True)
    xw = xw.astype(np.float32)
    torch.manual_seed(0)
    wnet = torch.nn.Sequential(torch.nn.Linear(13, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    wclf = PyTorchClassifier(wnet, loss=torch.nn.CrossEntropyLoss(), input_shape=(13,),
                             nb_classes=3, optimizer=torch.optim.Adam(wnet.parameters(), 1e-2),
                             clip_values=(xw.min(axis=0), xw.max(axis=0)),
                             preprocessing=(xw.mean(axis=0), xw.std(axis=0)), device="cpu")
    wclf.fit(xw, yw, batch_size=64, nb_epochs=60)
    idx = np.random.default_rng(0).choice(len(xw), 100, replace=False)
    tw = (np.argmax(wclf.predict(xw[idx]), axis=1) + 1) % 3
    w_cf, t = run(wclf, xw[idx], tw, C=[0.1, 0.01, 0.001], max_iter=150,
                  optimizer_args={"lr": 0.05 * float(xw.std(axis=0).mean())})
    lines.append(row("wine, MLP 13-16-3", "PyTorch, Adam, NLL + C L1", wclf, xw[idx], w_cf, tw, t))
    try:
        import keras

        from trustml.adapters.tensorflow import KerasClassifier

        wmodel = keras.Sequential([keras.Input((13,)), keras.layers.Dense(16, activation="relu"),
                                   keras.layers.Dense(3)])
        w1, b1, w2, b2 = (p.detach().numpy() for p in wnet.parameters())
        wmodel.set_weights([w1.T, b1, w2.T, b2])
        kw = KerasClassifier(wmodel, use_logits=True, clip_values=(xw.min(axis=0), xw.max(axis=0)),
                             preprocessing=(xw.mean(axis=0), xw.std(axis=0)))
        kw_cf, tk = run(kw, xw[idx], tw, C=[0.1, 0.01, 0.001], max_iter=150,
                        optimizer_args={"lr": 0.05 * float(xw.std(axis=0).mean())})
        rel = (np.abs(kw_cf - w_cf) / np.abs(xw).max(axis=0)).max(axis=1)
        lines.append(row("wine, MLP 13-16-3", "Keras (same weights), Adam", kw, xw[idx], kw_cf, tw,
                         tk, f"rows equal to PyTorch's within 1e-4 relative: "
                         f"{(rel <= 1e-4).mean():.2f}"))
    except ImportError:
        pass
    table = "\n".join(lines) + "\n"
    print(table)
    (DOCS / "counterfactual_results_table.md").write_text(table, encoding="utf-8")
    from trustml.counterfactual.plots import plot_counterfactuals

    k = 5
    plot_counterfactuals(
        xe[:k], t_cf[:k], DOCS / "img" / "counterfactuals_digits.png",
        labels=np.argmax(tclf.predict(xe[:k]), axis=1).tolist(),
        labels_cf=np.argmax(tclf.predict(t_cf[:k]), axis=1).tolist(), value_range=(0.0, 16.0),
        title="Digits, PyTorch MLP: NegLogLikelihoodCost + C L1 (target: next class)",
    )


if __name__ == "__main__":
    main()
