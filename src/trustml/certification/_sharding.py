"""Counting noisy predictions in shards and draw blocks, in process or over any ``Executor``.

The work of a smoothed ``certify`` or ``predict`` call is a set of *passes* (CERTIFY has two: the
``n0`` selection draws and the ``n`` estimation draws; PREDICT one), each with an integer seed
drawn from the call's seed. A pass's draws are cut into blocks of :data:`DRAW_BLOCK` draws: block
``b`` of a pass is counted with the seed :func:`trustml.rng.block_seed` ``(pass seed, b)`` and, in
it, each input's noise is seeded from that and the input's values (:func:`trustml.rng.
input_seeds`). The counts of an input in a block therefore depend only on (call seed, pass,
block index, input): not on the shard the input travels in, the worker that draws it, the order
in which tasks finish, or ``batch_size``. Integer counts are summed over blocks, exactly, so the
in-process run and a run over any number of workers give bit-identical labels and radii. With
``n <= DRAW_BLOCK`` a pass is a single block 0, whose seed is the pass's seed: the noise of an
unsplit call.

A *task* is one shard of consecutive inputs and one block index: it counts block ``b`` of every
pass that has one. With an executor, the classifier travels to each worker once (see
:func:`ship`), the tasks are submitted in input order through a bounded window, and a shard is
reported as soon as all of its tasks are done.

Cohen, Rosenfeld, Kolter, "Certified Adversarial Robustness via Randomized Smoothing", ICML 2019.
"""

from __future__ import annotations

import functools
import itertools
import os
import pickle
import queue
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trustml.certification._sampling import count_seeded
from trustml.errors import ParameterError, ParameterTypeError
from trustml.protocols import Classifier
from trustml.rng import block_seed
from trustml.validation import NONE, POSITIVE_INT, check_param

__all__ = [
    "DRAW_BLOCK",
    "Pass",
    "ShardResult",
    "Shipment",
    "check_executor",
    "check_shard_size",
    "count_blocks",
    "default_shard_size",
    "draw_blocks",
    "iter_shards",
    "resolve_classifier",
    "worker_count",
]

DRAW_BLOCK = 100_000
"""Draws per block of one input's noise (Cohen et al.'s ``n = 100000`` is one block, so their
settings draw exactly the noise of an unsplit call). Fixed: it does not depend on ``batch_size``,
the shard size or the number of workers, so neither does any result."""

Advance = Callable[[int], None]


@dataclass(frozen=True)
class Pass:
    """One counting pass: ``draws`` noisy predictions per input, seeded by ``seed``."""

    draws: int
    seed: int


@dataclass(frozen=True)
class ShardResult:
    """Counts of one finished shard ``x[start:stop]``: one ``(stop - start, nb_classes)`` int64
    array per pass, and the seconds its tasks took (summed over tasks, on their workers)."""

    start: int
    stop: int
    counts: tuple[NDArray[np.int64], ...]
    seconds: float


def draw_blocks(n: int) -> list[tuple[int, int]]:
    """``(block index, draws)`` of ``n`` draws cut into blocks of :data:`DRAW_BLOCK`."""
    return [(b, min(DRAW_BLOCK, n - start)) for b, start in enumerate(range(0, n, DRAW_BLOCK))]


def count_blocks(
    classifier: Classifier,
    x: NDArray[np.float32],
    sigma: float,
    n: int,
    *,
    batch_size: int,
    seed: int,
    advance: Advance | None = None,
) -> NDArray[np.int64]:
    """``(N, nb_classes)`` int64 counts of ``n`` draws per input, block by block, in process."""
    total = np.zeros((x.shape[0], classifier.nb_classes), dtype=np.int64)
    for b, draws in draw_blocks(n):
        total += count_seeded(
            classifier, x, sigma, draws, batch_size=batch_size, seed=block_seed(seed, b),
            advance=advance,
        )
    return total


# -- parameters ------------------------------------------------------------------------------------


def check_executor(executor: Any) -> Executor:
    """``executor`` if it is a ``concurrent.futures.Executor`` that still accepts work.

    Raises
    ------
    ParameterTypeError
        ``executor`` is not a ``concurrent.futures.Executor`` (a ``distributed.Client`` itself
        is not one: pass ``client.get_executor()``).
    ParameterError
        The executor was shut down, or its Dask client is closed.
    """
    if not isinstance(executor, Executor):
        hint = ""
        if type(executor).__module__.split(".")[0] == "distributed":
            hint = " (for a distributed.Client, pass client.get_executor())"
        raise ParameterTypeError(
            f"executor: expected a concurrent.futures.Executor or None{hint}, "
            f"got {type(executor).__name__}"
        )
    client = _dask_client(executor)
    if client is not None and getattr(client, "status", "running") != "running":
        raise ParameterError(
            f"executor: expected the executor of a running distributed.Client, got one whose "
            f"client is {client.status!r}"
        )
    shut = (
        getattr(executor, "_shutdown", False)  # ThreadPoolExecutor, distributed's ClientExecutor
        or getattr(executor, "_shutdown_thread", False)  # ProcessPoolExecutor
        or getattr(executor, "_broken", False)  # a pool whose worker died
    )
    if shut:
        raise ParameterError(
            f"executor: expected an executor that accepts work, got a {type(executor).__name__} "
            "that was shut down (or is broken)"
        )
    return executor


def check_shard_size(shard_size: Any) -> int | None:
    """``None`` or a positive int (inputs per task).

    Raises
    ------
    ParameterError, ParameterTypeError
    """
    out: int | None = check_param(shard_size, "shard_size", NONE, POSITIVE_INT)
    return out


def worker_count(executor: Executor | None) -> int:
    """Best guess of the number of tasks ``executor`` runs at once (1 in process)."""
    if executor is None:
        return 1
    client = _dask_client(executor)
    if client is not None:
        return max(1, sum(int(t) for t in client.nthreads().values()))
    count = getattr(executor, "_max_workers", None)
    return max(1, int(count)) if isinstance(count, int) else max(1, os.cpu_count() or 1)


def default_shard_size(n_inputs: int, draws_per_input: int, workers: int) -> int:
    """Inputs per task: at most one block's worth of draws per task, and at least four tasks per
    worker when there are enough inputs (results never depend on it)."""
    by_draws = max(1, DRAW_BLOCK // max(1, draws_per_input))
    if workers <= 1:
        return by_draws
    by_workers = max(1, -(-n_inputs // (4 * workers)))
    return max(1, min(by_draws, by_workers))


# -- shipping the classifier --------------------------------------------------------------------

_WORKER_CACHE: dict[str, Any] = {}
"""On a worker process: the classifiers already unpickled, by token (the last few only)."""


@dataclass(frozen=True)
class _FromFile:
    token: str
    path: str


@dataclass(frozen=True)
class _FromBytes:
    token: str
    payload: bytes


def resolve_classifier(ref: Any) -> Any:
    """The classifier a task received: a reference is loaded once per worker process."""
    if not isinstance(ref, (_FromFile, _FromBytes)):
        return ref
    cached = _WORKER_CACHE.get(ref.token)
    if cached is not None:
        return cached
    if isinstance(ref, _FromFile):
        obj = pickle.loads(Path(ref.path).read_bytes())
    else:
        obj = pickle.loads(ref.payload)
    while len(_WORKER_CACHE) >= 2:
        _WORKER_CACHE.pop(next(iter(_WORKER_CACHE)))
    _WORKER_CACHE[ref.token] = obj
    return obj


def _identity(obj: Any) -> Any:
    return obj


def _dask_client(executor: Executor) -> Any:
    """The ``distributed.Client`` behind ``client.get_executor()``, else None (never imports)."""
    cfexecutor = sys.modules.get("distributed.cfexecutor")
    if cfexecutor is not None and isinstance(executor, cfexecutor.ClientExecutor):
        return executor._client
    return None


class Shipment:
    """How the classifier reaches the workers of ``executor``, once per worker.

    - ``distributed`` (``client.get_executor()``): one task returns the classifier; every counting
      task depends on its future, so Dask moves it to each worker once and keeps it there (and
      recomputes it if the worker holding it dies).
    - ``ThreadPoolExecutor``: the object itself (same process, nothing copied).
    - ``ProcessPoolExecutor``: pickled once to a temporary file; each worker process unpickles
      it on its first task and keeps it.
    - any other ``Executor``: the pickled bytes go with each task and each worker process
      unpickles them once (a token names them); the transfer is repeated per task.
    """

    def __init__(self, classifier: Classifier, executor: Executor) -> None:
        self._path: Path | None = None
        self._future: Any = None
        client = _dask_client(executor)
        token = uuid.uuid4().hex
        if client is not None:
            self._future = client.submit(_identity, classifier, pure=False)
            self.ref: Any = self._future
        elif isinstance(executor, ThreadPoolExecutor):
            self.ref = classifier
        elif isinstance(executor, ProcessPoolExecutor):
            fd, name = tempfile.mkstemp(prefix="trustml-classifier-", suffix=".pkl")
            with os.fdopen(fd, "wb") as f:
                pickle.dump(classifier, f, protocol=pickle.HIGHEST_PROTOCOL)
            self._path = Path(name)
            self.ref = _FromFile(token, name)
        else:
            self.ref = _FromBytes(token, pickle.dumps(classifier, pickle.HIGHEST_PROTOCOL))

    def close(self) -> None:
        if self._future is not None:
            self._future.release()
        if self._path is not None:
            self._path.unlink(missing_ok=True)


# -- tasks ----------------------------------------------------------------------------------------


def _count_task(
    ref: Any,
    x: NDArray[np.float32],
    sigma: float,
    jobs: tuple[tuple[int, int, int], ...],
    batch_size: int,
) -> tuple[list[tuple[int, NDArray[np.int64]]], float]:
    """Run on a worker: counts of ``x`` for each ``(pass index, draws, block seed)`` job."""
    start = time.perf_counter()
    classifier = resolve_classifier(ref)
    out = [
        (p, count_seeded(classifier, x, sigma, draws, batch_size=batch_size, seed=seed))
        for p, draws, seed in jobs
    ]
    return out, time.perf_counter() - start


def _tasks(passes: Sequence[Pass]) -> list[tuple[tuple[int, int, int], ...]]:
    """Jobs of the tasks of one shard: task ``b`` holds block ``b`` of every pass that has one."""
    per_pass = [draw_blocks(p.draws) for p in passes]
    tasks = []
    for b in range(max(len(blocks) for blocks in per_pass)):
        tasks.append(tuple(
            (k, blocks[b][1], block_seed(passes[k].seed, b))
            for k, blocks in enumerate(per_pass)
            if b < len(blocks)
        ))
    return tasks


def iter_shards(
    classifier: Classifier,
    x: NDArray[np.float32],
    sigma: float,
    passes: Sequence[Pass],
    *,
    batch_size: int,
    executor: Executor | None,
    shard_size: int | None,
    advance: Advance | None = None,
) -> Iterator[ShardResult]:
    """Count every pass on ``x`` shard by shard; yield each shard when it is complete.

    In process (``executor=None``) the shards come in order; with an executor they come as they
    finish (any order). ``advance`` receives noisy draws evaluated (in process, per chunk; with
    an executor, per finished shard). Closing the iterator early cancels the pending tasks.

    Raises
    ------
    Whatever a task raised (e.g. UnsupportedModelError), after cancelling the other tasks.
    """
    n_inputs = x.shape[0]
    if n_inputs == 0:
        return
    draws_per_input = sum(p.draws for p in passes)
    workers = worker_count(executor)
    size = shard_size or default_shard_size(n_inputs, draws_per_input, workers)
    if executor is None:
        for start in range(0, n_inputs, size):
            stop = min(n_inputs, start + size)
            began = time.perf_counter()
            counts = tuple(
                count_blocks(classifier, x[start:stop], sigma, p.draws, batch_size=batch_size,
                             seed=p.seed, advance=advance)
                for p in passes
            )
            yield ShardResult(start, stop, counts, time.perf_counter() - began)
        return
    yield from _iter_executor(
        classifier, x, sigma, passes, batch_size=batch_size, executor=executor, size=size,
        window=4 * workers + 4, advance=advance,
    )


def _report(done: queue.Queue[tuple[int, Future[Any]]], shard: int, future: Future[Any]) -> None:
    done.put((shard, future))


def _iter_executor(
    classifier: Classifier,
    x: NDArray[np.float32],
    sigma: float,
    passes: Sequence[Pass],
    *,
    batch_size: int,
    executor: Executor,
    size: int,
    window: int,
    advance: Advance | None,
) -> Iterator[ShardResult]:
    n_inputs, nb_classes = x.shape[0], classifier.nb_classes
    task_jobs = _tasks(passes)
    shards = [(s, min(n_inputs, s + size)) for s in range(0, n_inputs, size)]
    work = iter(itertools.product(range(len(shards)), range(len(task_jobs))))
    remaining = [len(task_jobs)] * len(shards)
    partial = [
        [np.zeros((stop - start, nb_classes), dtype=np.int64) for _ in passes]
        for start, stop in shards
    ]
    seconds = [0.0] * len(shards)
    done: queue.Queue[tuple[int, Future[Any]]] = queue.Queue()
    pending: dict[Future[Any], int] = {}
    lock = threading.Lock()
    shipment = Shipment(classifier, executor)

    def submit_next() -> bool:
        item = next(work, None)
        if item is None:
            return False
        shard, t = item
        start, stop = shards[shard]
        try:
            future = executor.submit(
                _count_task, shipment.ref, x[start:stop], sigma, task_jobs[t], batch_size
            )
        except RuntimeError as exc:  # shut down meanwhile, or a closed client
            raise ParameterError(
                f"executor: expected an executor that accepts work, but submit failed ({exc})"
            ) from exc
        with lock:
            pending[future] = shard
        future.add_done_callback(functools.partial(_report, done, shard))
        return True

    try:
        for _ in range(window):
            if not submit_next():
                break
        finished = 0
        while finished < len(shards):
            shard, future = done.get()
            with lock:
                pending.pop(future, None)
            results, took = future.result()  # re-raises a task's error here
            for p, counts in results:
                partial[shard][p] += counts
            seconds[shard] += took
            remaining[shard] -= 1
            submit_next()
            if remaining[shard] == 0:
                finished += 1
                start, stop = shards[shard]
                if advance is not None:
                    advance((stop - start) * sum(p.draws for p in passes))
                yield ShardResult(start, stop, tuple(partial[shard]), seconds[shard])
    finally:
        with lock:
            leftover = list(pending)
        for f in leftover:
            f.cancel()
        shipment.close()
