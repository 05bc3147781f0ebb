"""How long the conformance kit's whole run takes on one small adapter (budget: 30 s on CPU).

``main()`` returns, per adapter importable here, the seconds of ``check_estimator`` (construction
excluded, median of 3 runs) and that time as a fraction of the 30 s budget. The kit has no raw
framework counterpart, so the budget is the reference.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT / "conformance", ROOT / "conformance" / "examples"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

BUDGET_S = 30.0
ADAPTERS = ("example SoftmaxRegression", "sklearn LogisticRegression", "sklearn MLPClassifier",
            "torch PyTorchClassifier", "keras KerasClassifier", "RandomizedSmoothing(reference)")


def main() -> dict[str, float]:
    from factories import ENTRIES

    from trustml.conformance import check_estimator

    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    figures: dict[str, float] = {}
    for entry in ENTRIES:
        if entry.name not in ADAPTERS or not entry.available():
            continue
        times = []
        for _ in range(3):
            obj = entry.factory()
            start = time.perf_counter()
            report = check_estimator(obj, expected_failed_checks=entry.expected_failures,
                                     verbose=False)
            times.append(time.perf_counter() - start)
        seconds = statistics.median(times)
        figures[f"{entry.name}: kit seconds ({len(report)} checks)"] = seconds
        figures[f"{entry.name}: fraction of the 30 s budget"] = seconds / BUDGET_S
    return figures


if __name__ == "__main__":
    for key, value in main().items():
        print(f"{key}: {value:.3f}")
