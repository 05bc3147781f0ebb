"""Sharded certify on Dask: scaling from 1 to 2 local workers, and the executor path's overhead.

Run: ``python benchmarks/bench_certify_dask.py [--quick]`` (CPU, extras ``dask`` and ``sklearn``;
``main()`` returns the figures). Run it with ``OMP_NUM_THREADS=1`` so the in-process call uses one
core like one worker does.

A CPU-bound model: a scikit-learn MLP (64 -> 512 -> 512 -> 10) on the digits, certified with the
generic path (numpy noise, the adapter's ``predict``) on ``N`` inputs at ``n`` draws each.

1. ``throughput 2 workers / 1 worker``: time of ``certify(..., executor=client.get_executor())``
   on a ``LocalCluster`` of 1 worker process over the same on 2 worker processes (one thread
   each); target >= 1.6 on a 2-core machine.
2. ``executor overhead, 1 worker / in-process``: the 1-worker time over the plain in-process
   ``certify``; target <= 1.10.

Each figure is the best of ``REPEATS`` timed calls after one warm-up call (which ships the
classifier and imports the frameworks on the workers); the three configurations take turns
within each repeat, so a change in the machine's load hits all of them. Cluster start-up is not
timed. The three results are checked to be identical.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from typing import Any

import numpy as np

REPEATS = 3


def _model() -> tuple[Any, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier

    from trustml.adapters.sklearn import wrap

    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    model = MLPClassifier((512, 512), max_iter=30, random_state=0).fit(x[:1200], data.target[:1200])
    return wrap(model, clip_values=(0.0, 1.0)), x[1200:]


def main(quick: bool = False, n_inputs: int | None = None, n: int | None = None
         ) -> dict[str, float]:
    import distributed

    from trustml.certification import RandomizedSmoothing

    classifier, x_test = _model()
    default_inputs, default_n = (8, 2_000) if quick else (16, 20_000)
    n_inputs = default_inputs if n_inputs is None else n_inputs
    n = default_n if n is None else n
    x = x_test[:n_inputs]
    smoothed = RandomizedSmoothing(classifier, 0.25, n0=100, batch_size=1000)

    def certify(executor: Any = None) -> Any:
        return smoothed.certify(x, n, seed=0, executor=executor)

    with contextlib.ExitStack() as stack:
        executors: dict[str, Any] = {"in-process": None}
        for workers in (1, 2):
            cluster = stack.enter_context(distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                silence_logs=40,
            ))
            client = stack.enter_context(distributed.Client(cluster))
            executors[f"{workers} worker"] = client.get_executor()
        ref = certify()
        for executor in executors.values():  # warm-up: ships the classifier, imports
            got = certify(executor)
            assert (got[0] == ref[0]).all() and (got[1] == ref[1]).all(), "results differ"
        # the configurations take turns, so a change in the machine's load hits all of them
        best = dict.fromkeys(executors, float("inf"))
        for _ in range(REPEATS):
            for name, executor in executors.items():
                start = time.perf_counter()
                certify(executor)
                best[name] = min(best[name], time.perf_counter() - start)
    t_local, times = best["in-process"], {1: best["1 worker"], 2: best["2 worker"]}
    draws = n_inputs * (n + 100)
    return {
        "inputs": float(n_inputs),
        "n": float(n),
        "in-process s": round(t_local, 3),
        "1 worker s": round(times[1], 3),
        "2 workers s": round(times[2], 3),
        "draws per s, 2 workers": round(draws / times[2], 1),
        "throughput 2 workers / 1 worker (target >= 1.6)": round(times[1] / times[2], 3),
        "executor overhead, 1 worker / in-process (target <= 1.10)": round(
            times[1] / t_local, 3
        ),
        "load average (1 min) at the end": round(os.getloadavg()[0], 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer inputs and draws")
    parser.add_argument("--inputs", type=int, default=None, help="inputs (default 16)")
    parser.add_argument("--n", type=int, default=None, help="draws per input (default 20000)")
    args = parser.parse_args()
    print(json.dumps(main(args.quick, args.inputs, args.n), indent=1))
