"""Neural Cleanse on BadNets digits, five seeds per framework: the table and figure of
docs/auditing.md.

    PYTHONPATH=src:tests/poisoning python docs/scripts/neural_cleanse_digits.py torch 0 1 2 3 4
    PYTHONPATH=src:tests/poisoning python docs/scripts/neural_cleanse_digits.py keras 0 1 2 3 4
    PYTHONPATH=src:tests/poisoning python docs/scripts/neural_cleanse_digits.py sklearn 0 1 2 3 4
    PYTHONPATH=src:tests/poisoning python docs/scripts/neural_cleanse_digits.py --table

Each framework run writes docs/scripts/neural_cleanse_<framework>.json (and, for seed 0, the
mask/trigger figure docs/img/neural_cleanse_<framework>.png); ``--table`` prints them as the
Markdown table pasted into docs/auditing.md. The data and models are those of the tests
(tests/poisoning/poisoning_badnets.py): digits in [0, 1], a 2x2 white trigger in the top-left
corner, target 0, 10% of the training set poisoned. Detection runs on the validation split; the
reversed trigger of label 0 is searched on the validation split plus the training digits of other
labels (``reversal_set``) and measured on the held-out test split.

Progress: a tqdm bar over seeds, and one over labels for each detection (extra ``progress``).
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import poisoning_badnets as bn

from trustml.poisoning import NeuralCleanse

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent
DETECT = {"steps": 20, "init_cost": 1e-2, "patience": 2, "batch_size": 32}
REVERSE = {"steps": 100, "attack_success_threshold": 0.997, "batch_size": 32}
BUILD = {
    "torch": lambda d, s: bn.torch_cnn(d, s, epochs=20),
    "keras": lambda d, s: bn.keras_mlp(d, s, epochs=20),
    "sklearn": lambda d, s: bn.sklearn_mlp(d, s),
}


def one_seed(framework: str, seed: int) -> dict[str, Any]:
    data = bn.digits(seed)
    clean_data = bn.digits(seed, poison_fraction=0.0)
    out: dict[str, Any] = {"seed": seed}
    t0 = time.perf_counter()
    clf = BUILD[framework](data, seed)
    x_test = bn.shaped(clf, data.x_test)
    out["clean_acc"] = bn.accuracy(clf, x_test, data.y_test)
    out["attack_success"] = bn.attack_success(clf, x_test, data.y_test)
    nc = NeuralCleanse(clf, seed=seed, **DETECT)
    t1 = time.perf_counter()
    report = nc.detect(bn.shaped(clf, data.x_val), data.y_val, progress=True)
    out["detect_s"] = time.perf_counter() - t1
    out["flagged"] = report.flagged
    out["anomaly_index_0"] = float(report.anomaly_indices[0])
    if seed == 0:
        import matplotlib.pyplot as plt

        fig = report.plot(DOCS / "img" / f"neural_cleanse_{framework}.png",
                          title=f"Neural Cleanse, BadNets digits, {framework}, seed 0")
        plt.close(fig)
    rev = NeuralCleanse(clf, seed=seed, **REVERSE)
    x_rev, y_rev = bn.reversal_set(data)
    pattern, mask = rev.generate_backdoor(bn.shaped(clf, x_rev), y_rev, bn.TARGET)
    m = mask.reshape(8, 8)
    out["mask_l1"] = float(m.sum())
    out["mass_in_trigger"] = float(m[bn.trigger_region()].sum() / m.sum())
    keep = data.y_test != bn.TARGET
    xk = bn.shaped(clf, data.x_test[keep])
    mk = mask[None] if len(clf.input_shape) == 3 else mask
    out["reversed_success_heldout"] = float(np.mean(
        np.argmax(clf.predict(((1 - mk) * xk + mk * pattern).astype(np.float32)), 1)
        == bn.TARGET))
    x_val = bn.shaped(clf, data.x_val)

    def rates() -> tuple[float, float]:
        acc = float(np.mean(nc.predict_labels(x_test) == data.y_test))
        asr = float(np.mean(nc.predict_labels(bn.shaped(clf, bn.stamp(data.x_test[keep])))
                            == bn.TARGET))
        return acc, asr

    mit: dict[str, Any] = {}
    if report.flagged:
        nc.mitigate(x_val, data.y_val, ["unlearning"],
                    unlearning_epochs=bn.UNLEARNING_EPOCHS[framework])
        mit["unlearning"] = rates()
        nc.reset()
        try:
            s = nc.mitigate(x_val, data.y_val, ["pruning"])
            mit["pruning"] = (*rates(), s["pruning"]["pruned"] / s["pruning"]["units"])
        except TypeError as exc:  # CapabilityError: adapter without ActivationTransforms yet
            mit["pruning"] = str(exc).split(",")[0]
        nc.reset()
        nc.mitigate(x_val, data.y_val, ["filtering"])
        flag_trig = float(np.mean(
            nc.predict_labels(bn.shaped(clf, bn.stamp(data.x_test[keep]))) == -1))
        flag_clean = float(np.mean(nc.predict_labels(x_test) == -1))
        mit["filtering"] = (flag_trig, flag_clean)
        nc.reset()
        mit["reset_identical"] = bool(np.array_equal(nc.predict(x_test), clf.predict(x_test)))
    out["mitigation"] = mit
    clean = BUILD[framework](clean_data, seed)
    out["clean_model_acc"] = bn.accuracy(clean, bn.shaped(clean, clean_data.x_test),
                                         clean_data.y_test)
    clean_report = NeuralCleanse(clean, seed=seed, **DETECT).detect(
        bn.shaped(clean, clean_data.x_val), clean_data.y_val, progress=True)
    out["clean_model_flagged"] = clean_report.flagged
    out["total_s"] = time.perf_counter() - t0
    return out


def table() -> str:
    rows = [
        ("| framework | seed | clean acc | attack success | flagged | AI(0) | mask in trigger "
         "| reversed success (held-out) | unlearning acc / ASR | pruning acc / ASR / pruned "
         "| filtering triggered / clean flagged | reset exact | clean model flagged |"),
        "|---|---:|---:|---:|---|---:|---:|---:|---|---|---|---|---|",
    ]
    for fw in ("torch", "keras", "sklearn"):
        path = HERE / f"neural_cleanse_{fw}.json"
        if not path.exists():
            continue
        for r in json.loads(path.read_text()):
            m = r["mitigation"]
            pr = m.get("pruning", "")
            prs = (f"{pr[0]:.3f} / {pr[1]:.3f} / {pr[2]:.0%}" if isinstance(pr, list)
                   else "n/a (no ActivationTransforms)")
            un = m.get("unlearning", [np.nan, np.nan])
            fi = m.get("filtering", [np.nan, np.nan])
            rows.append(
                f"| {fw} | {r['seed']} | {r['clean_acc']:.3f} | {r['attack_success']:.3f} | "
                f"{r['flagged']} | {r['anomaly_index_0']:.2f} | {r['mass_in_trigger']:.2f} | "
                f"{r['reversed_success_heldout']:.3f} | {un[0]:.3f} / {un[1]:.3f} | {prs} | "
                f"{fi[0]:.3f} / {fi[1]:.3f} | {m.get('reset_identical', '')} | "
                f"{r['clean_model_flagged']} |"
            )
    return "\n".join(rows) + "\n"


def main(argv: list[str]) -> None:
    warnings.filterwarnings("ignore")
    if argv == ["--table"]:
        print(table())
        return
    framework, seeds = argv[0], [int(s) for s in argv[1:]]
    from tqdm import tqdm

    results = []
    for seed in tqdm(seeds, desc=f"{framework} seeds", unit="seed"):
        results.append(one_seed(framework, seed))
        tqdm.write(json.dumps(results[-1]))
        (HERE / f"neural_cleanse_{framework}.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
