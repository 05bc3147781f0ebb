"""A Dask executor for ``certify(..., executor=...)``: a local cluster or an existing scheduler.

Dask's distributed scheduler is the engine (extra ``dask``: ``pip install "trustml[dask]"``);
``distributed`` is imported only when :func:`dask_executor` is entered.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import ExitStack, contextmanager
from typing import Any

from trustml._deps import require
from trustml.errors import ClusterError, ParameterError, ParameterTypeError
from trustml.validation import check_batch_size

__all__ = ["DEFAULT_CONNECT_TIMEOUT", "dask_executor"]

DEFAULT_CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a Dask scheduler to answer before :class:`~trustml.errors.ClusterError`."""


@contextmanager
def dask_executor(
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    threads_per_worker: int = 1,
) -> Iterator[Executor]:
    """A ``concurrent.futures.Executor`` on a Dask cluster, closed (and a local cluster stopped)
    on exit.

    Give exactly one of ``workers`` (start a ``distributed.LocalCluster`` of that many worker
    processes on this machine, the embedded default) or ``scheduler`` (connect to a running
    scheduler, e.g. ``"tcp://host:8786"``, whose workers must be able to import the classifier's
    code).

    Parameters
    ----------
    workers : int, optional
        Local worker processes (>= 1).
    scheduler : str, optional
        Address of an existing scheduler.
    connect_timeout : float
        Seconds (> 0) to wait for the scheduler to answer (default 10).
    threads_per_worker : int
        Threads per local worker process (default 1: one task per process, so a CPU-bound model
        does not oversubscribe the cores).

    Yields
    ------
    concurrent.futures.Executor
        ``client.get_executor()``, to pass as ``certify(..., executor=...)``.

    Raises
    ------
    MissingDependencyError
        ``distributed`` is not installed (extra ``dask``).
    ParameterError
        Neither or both of ``workers`` and ``scheduler``, ``workers`` or ``threads_per_worker``
        not a positive int, ``connect_timeout`` not a positive finite number.
    ParameterTypeError
        ``scheduler`` is not a str.
    ClusterError
        No scheduler answered at ``scheduler`` within ``connect_timeout`` seconds, or the local
        cluster did not start.
    """
    if (workers is None) == (scheduler is None):
        raise ParameterError(
            "workers, scheduler: expected exactly one of them, got "
            f"workers={workers!r}, scheduler={scheduler!r}"
        )
    if isinstance(connect_timeout, bool) or not isinstance(connect_timeout, (int, float)):
        raise ParameterError(
            f"connect_timeout: expected a positive number of seconds, got {connect_timeout!r}"
        )
    if not (math.isfinite(connect_timeout) and connect_timeout > 0):
        raise ParameterError(
            f"connect_timeout: expected a positive number of seconds, got {connect_timeout!r}"
        )
    threads = check_batch_size(threads_per_worker, "threads_per_worker")
    if workers is not None:
        workers = check_batch_size(workers, "workers")
    if scheduler is not None and not isinstance(scheduler, str):
        raise ParameterTypeError(
            f"scheduler: expected an address such as 'tcp://host:8786', got "
            f"{type(scheduler).__name__}"
        )
    distributed = require("distributed", "dask", purpose="certification on a Dask cluster")
    with ExitStack() as stack:
        client: Any
        if workers is not None:
            try:
                cluster = stack.enter_context(distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=threads, processes=True,
                    dashboard_address=":0",
                ))
            except (OSError, RuntimeError) as exc:
                raise ClusterError(f"workers: a local Dask cluster did not start ({exc})") from exc
            client = stack.enter_context(distributed.Client(cluster, timeout=connect_timeout))
        else:
            try:
                client = distributed.Client(scheduler, timeout=connect_timeout)
            except (OSError, ValueError) as exc:  # TimeoutError and refused connections
                raise ClusterError(
                    f"scheduler: no Dask scheduler answered at {scheduler!r} within "
                    f"{connect_timeout:g} s ({type(exc).__name__}: {exc})"
                ) from exc
            stack.enter_context(client)
        yield client.get_executor()
