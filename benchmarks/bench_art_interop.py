"""ART's PGD through ``to_art`` over the same attack on ART's own PyTorchClassifier, CPU.

PGD (L-inf, eps 8/255, step 2/255, 10 steps, ``num_random_init=0``) on a batch of 256 3x32x32
float32 inputs of the small CIFAR-sized CNN of ``bench_torch.py``, per-channel standardisation
inside each estimator. Both attacks give the same adversarial examples (checked here and in
``tests/interop``); what differs is the estimator: ART dispatches its PyTorch-native PGD
(``ProjectedGradientDescentPyTorch``) on its own PyTorchClassifier and its numpy PGD on the
``to_art`` estimator, which calls trustml's ``loss_gradient``.

torch runs on one thread; each attack is timed in CPU time of that thread
(``time.thread_time``), the median of interleaved repetitions (on a shared machine, wall time
mostly measures the neighbours; it is printed too). :func:`main` returns the ratio
``to_art / ART`` (target <= 1.0). Needs ``art`` (``pip install "trustml[art,torch]"``).

Run: ``python benchmarks/bench_art_interop.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from timing import median_times

BATCH = 256
SHAPE = (3, 32, 32)
CLASSES = 10
STEPS = 10
REPEATS = 5
WARMUP = 1
MEAN = (0.49, 0.48, 0.45)
STD = (0.25, 0.24, 0.26)


def main() -> dict[str, float]:
    """Time PGD on both estimators; return ``{"pgd_to_art_over_art": ratio, ...}``."""
    import torch
    from art.attacks.evasion import ProjectedGradientDescent
    from art.estimators.classification import PyTorchClassifier as ArtPyTorchClassifier
    from bench_torch import small_cnn

    from trustml.adapters.torch import PyTorchClassifier
    from trustml.interop.art import to_art

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rng = np.random.default_rng(0)
        x = rng.random((BATCH, *SHAPE), dtype=np.float32)
        y = np.eye(CLASSES, dtype=np.float32)[rng.integers(0, CLASSES, size=BATCH)]
        model = small_cnn().eval()
        theirs = ArtPyTorchClassifier(
            model, loss=torch.nn.CrossEntropyLoss(), input_shape=SHAPE, nb_classes=CLASSES,
            clip_values=(0.0, 1.0), device_type="cpu",
            preprocessing=(np.array(MEAN).reshape(3, 1, 1), np.array(STD).reshape(3, 1, 1)),
        )
        ours = to_art(PyTorchClassifier(model, torch.nn.CrossEntropyLoss(), SHAPE, CLASSES,
                                        clip_values=(0.0, 1.0), preprocessing=(MEAN, STD),
                                        device="cpu"))

        def attack(est: Any) -> Callable[[], Any]:
            pgd = ProjectedGradientDescent(est, eps=8 / 255, eps_step=2 / 255, max_iter=STEPS,
                                           num_random_init=0, batch_size=BATCH, verbose=False)
            return lambda: pgd.generate(x, y=y)

        run_ours, run_theirs = attack(ours), attack(theirs)
        difference = float(np.abs(run_ours() - run_theirs()).max())
        cpu, wall = median_times({"to_art": run_ours, "art": run_theirs}, REPEATS, WARMUP)
    finally:
        torch.set_num_threads(threads)
    print(f"PGD {STEPS} steps, batch {BATCH}, {SHAPE}: max |to_art - ART| = {difference:.2e}")
    for k in cpu:
        print(f"  {k:7s} cpu {cpu[k] * 1e3:8.1f} ms   wall {wall[k] * 1e3:8.1f} ms")
    ratio = cpu["to_art"] / cpu["art"]
    print(f"  to_art / ART (cpu time): {ratio:.3f}  (target <= 1.0)")
    return {
        "pgd_to_art_over_art": ratio,
        "pgd_wall_to_art_over_art": wall["to_art"] / wall["art"],
        "max_abs_difference": difference,
    }


if __name__ == "__main__":
    main()
