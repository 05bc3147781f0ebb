"""Sequential (sample-efficient) certification: draw in blocks, stop as soon as the answer is known.

Two procedures share the block loop:

- :func:`certify_radius`: decides, for each input and each radius ``r`` of a grid, whether the
  smoothed classifier is certified constant on the L2 ball of radius ``r`` (Cohen et al.'s
  Theorem 1: it is when ``pA >= Phi(r / sigma)``), with the anytime-valid confidence sequence of
  :mod:`~trustml.certification._confidence_sequences` (most of ``alpha`` spent at ``n_max``),
  and a futility rule that gives a radius up once an optimistic rate on the remaining draws
  could not lift the final lower bound to its threshold (:func:`_futility_ceiling`); an input
  stops drawing once every radius of the grid is decided. Approach of Voráček, "Treatment of
  Statistical Estimation Problems in Randomized Smoothing for Adversarial Robustness", 2024 (arXiv
  2406.17830), and of Cullen, Montague, Rubinstein, "Halt Fast! Early Stopping for Certified
  Robustness", 2026 (there with E-processes; here with a union bound over a geometric schedule,
  simpler and exact).
- :func:`certify_in_blocks`: Cohen et al.'s fixed-n CERTIFY with its estimation draws in 32
  equal blocks, optionally curtailed: an input stops drawing once even ``nA`` successes on all its
  remaining draws would leave the Clopper-Pearson bound below 1/2, i.e. once CERTIFY can only
  abstain (deterministic curtailment, as in curtailed binomial sampling; Chen et al.,
  "Input-Specific Robustness Certification for Randomized Smoothing", AAAI 2022, stop drawing
  for inputs whose outcome is settled in the same spirit). The result is exactly what CERTIFY
  returns on the full ``n`` draws of those blocks, so the guarantee is CERTIFY's.

Seeding: the call draws one integer ``s`` from its seed; block ``b`` of an input's draws (block 0:
the ``n0`` selection draws of ``certify_radius``; block ``k + 1``: the estimation draws up to
checkpoint ``k``) is
counted through the ordinary counting functions with a generator seeded by
``trustml.rng.block_seed(s, b)``, inside which each input has its own stream
(:func:`trustml.rng.input_seeds`). An input's draws therefore depend only on the input and the
seed, never on ``batch_size``, on the other inputs or their order, or on when the other inputs
stopped; adapters with a device fast path (:class:`~trustml.protocols.NoisyCounter`) count each
block on their device.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, as_completed
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.certification._confidence_sequences import (
    Bound,
    CheckpointSchedule,
    check_bound,
    lower_bound,
    upper_bound,
)
from trustml.certification._sampling import draw_call_seed
from trustml.certification._sharding import (
    Shipment,
    check_executor,
    check_shard_size,
    count_blocks,
    resolve_classifier,
    worker_count,
)
from trustml.certification._smoothing import Smoothing, _progress
from trustml.certification._statistics import certified_radius, check_alpha, check_count
from trustml.errors import ParameterError, ParameterTypeError
from trustml.protocols import Classifier
from trustml.rng import SeedLike, block_seed, input_seeds
from trustml.validation import check_batch_size

__all__ = ["certify_in_blocks", "certify_radius", "check_radius", "uniforms"]

CURTAILMENT_BLOCKS = 32
"""``certify(early_stop=True)`` draws the ``n`` estimation draws in this many equal blocks (the
curtailment costs no confidence, so its checkpoints can be dense)."""

FUTILITY_LEVEL = 0.01
"""A radius is given up once even the rate ``upper_bound(nA, seen, FUTILITY_LEVEL)`` on the
remaining draws would leave the final lower bound below its threshold (see
:func:`_futility_ceiling`)."""

_UNIFORM_BLOCK = 2**40
"""Block index whose seed gives the uniform variates of the randomized bound (no draw block)."""


def check_radius(radius: Any, name: str = "radius") -> tuple[NDArray[np.float64], bool]:
    """Validate a radius or a grid of radii: finite floats >= 0, a scalar or a non-empty 1-D array.

    Returns
    -------
    radii : numpy.ndarray
        ``(R,)`` float64.
    scalar : bool
        Whether ``radius`` was a scalar.

    Raises
    ------
    ParameterTypeError
        Not a real number or an array of real numbers.
    ParameterError
        Negative, not finite, empty, or more than one-dimensional.
    """
    if isinstance(radius, (bool, np.bool_, str, bytes)):
        raise ParameterTypeError(
            f"{name}: expected a float >= 0 or a 1-D array of them, got {type(radius).__name__}"
        )
    try:
        arr = np.asarray(radius)
    except (TypeError, ValueError):
        raise ParameterTypeError(
            f"{name}: expected a float >= 0 or a 1-D array of them, got {type(radius).__name__}"
        ) from None
    if arr.dtype.kind not in "iuf":
        raise ParameterTypeError(
            f"{name}: expected a float >= 0 or a 1-D array of them, got dtype {arr.dtype}"
        )
    if arr.ndim > 1 or arr.size == 0:
        raise ParameterError(
            f"{name}: expected a float >= 0 or a non-empty 1-D array, got shape {arr.shape}"
        )
    values = arr.astype(np.float64).reshape(-1)
    if not (np.isfinite(values).all() and (values >= 0.0).all()):
        raise ParameterError(f"{name}: expected finite radii >= 0, got {values.tolist()}")
    return values, arr.ndim == 0


def uniforms(x: NDArray[np.float32], seed: int) -> NDArray[np.float64]:
    """One uniform variate per input in ``[0, 1)``, from the input and ``seed`` (for the
    randomized bound: independent of the draws, reproducible, order-independent)."""
    return np.array(
        [np.random.default_rng(s).random() for s in input_seeds(x, seed)], dtype=np.float64
    )


def _futility_ceiling(
    n_a: NDArray[np.int64],
    seen: NDArray[np.int64],
    n_max: int,
    final_level: float,
    bound: Bound,
    u: NDArray[np.float64] | None,
) -> NDArray[np.float64]:
    """The final lower bound an input can still hope for: its lower bound at ``n_max`` if the
    remaining draws came out ``cA`` at the optimistic rate ``upper_bound(nA, seen,
    FUTILITY_LEVEL)``. A radius whose threshold is above it is given up (decided not robust).

    Giving up only ever answers "not robust", so it cannot cause a false "robust" (the
    confidence sequence covers any stopping rule); it only costs power, when the rate lies
    above the optimistic one (probability about ``FUTILITY_LEVEL``) or the remaining draws come
    out far better than their rate.
    """
    remaining = n_max - seen
    rate = upper_bound(n_a, seen, FUTILITY_LEVEL)
    hoped = np.minimum(n_max, n_a + np.ceil(rate * remaining).astype(np.int64))
    return lower_bound(hoped, n_max, final_level, bound, u)


def certify_radius(
    smoothing: Smoothing,
    x: ArrayLike,
    radius: Any,
    *,
    alpha: float | None,
    n_max: int,
    n0: int | None,
    batch_size: int | None,
    seed: SeedLike,
    bound: Any,
    progress: bool,
    executor: Executor | None = None,
    shard_size: int | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.int64]]:
    """Sequential decision "robust at radius r"; see ``SmoothedClassifier.certify_radius``."""
    radii, scalar = check_radius(radius)
    alpha = smoothing.alpha if alpha is None else check_alpha(alpha)
    n_max = check_count(n_max, "n_max")
    n0 = smoothing.n0 if n0 is None else check_count(n0, "n0")
    batch_size = smoothing.batch_size if batch_size is None else check_batch_size(batch_size)
    kind = check_bound(bound)
    if not isinstance(progress, bool):
        raise ParameterTypeError(f"progress: expected a bool, got {type(progress).__name__}")
    executor = None if executor is None else check_executor(executor)
    shard_size = check_shard_size(shard_size)
    xs = smoothing.check_x(x)
    rng = smoothing.generator(seed)
    from scipy.stats import norm

    n_inputs = xs.shape[0]
    thresholds = np.asarray(norm.cdf(radii / smoothing.sigma), dtype=np.float64)
    call_seed = int(rng.integers(0, 2**63 - 1))
    plan = _Plan(smoothing.sigma, alpha, n_max, n0, batch_size, kind, call_seed)
    top = np.zeros(n_inputs, dtype=np.int64)
    best_lower = np.zeros(n_inputs, dtype=np.float64)
    draws = np.zeros(n_inputs, dtype=np.int64)
    with _progress(progress, n_inputs * (n0 + n_max), "certify_radius") as advance:
        if executor is None:
            top, best_lower, draws = _decide(smoothing.classifier, xs, thresholds, plan, advance)
        else:
            size = shard_size or max(1, -(-n_inputs // (4 * worker_count(executor))))
            for start, stop, result in _decide_sharded(
                smoothing.classifier, xs, thresholds, plan, executor, size
            ):
                top[start:stop], best_lower[start:stop], draws[start:stop] = result
                if advance is not None:
                    advance(int(result[2].sum()))
    robust = best_lower[:, None] >= thresholds[None, :]
    return top, (robust[:, 0] if scalar else robust), draws


@dataclass(frozen=True)
class _Plan:
    """The validated settings of one ``certify_radius`` call (what a shard's task needs)."""

    sigma: float
    alpha: float
    n_max: int
    n0: int
    batch_size: int
    bound: Bound
    call_seed: int


_Decision = tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]]


def _decide(
    classifier: Classifier,
    xs: NDArray[np.float32],
    thresholds: NDArray[np.float64],
    plan: _Plan,
    advance: Callable[[int], None] | None,
) -> _Decision:
    """The sequential loop on ``xs``: ``(cA, best lower bound on pA, draws)`` per input.

    Every block of an input's draws is seeded from ``plan.call_seed``, the block index and the
    input's values, so an input's result does not depend on the other inputs of ``xs``: the
    loop may run on any split of the inputs (shards over an executor) with identical results.
    """
    n_inputs = xs.shape[0]
    schedule = CheckpointSchedule.geometric(plan.n_max, plan.alpha)
    final_level = schedule.levels[-1]
    u = (
        uniforms(xs, block_seed(plan.call_seed, _UNIFORM_BLOCK))
        if plan.bound != "clopper-pearson" else None
    )
    draws = np.full(n_inputs, plan.n0, dtype=np.int64)
    n_a = np.zeros(n_inputs, dtype=np.int64)
    seen = np.zeros(n_inputs, dtype=np.int64)
    best_lower = np.zeros(n_inputs, dtype=np.float64)
    selection = _counts(classifier, xs, plan.sigma, plan.n0, plan.batch_size, plan.call_seed,
                        advance)
    top = np.argmax(selection, axis=1).astype(np.int64)
    active = np.arange(n_inputs)
    for k, size in enumerate(schedule.block_sizes()):
        if active.size == 0:
            break
        counts = _counts(classifier, xs[active], plan.sigma, size, plan.batch_size,
                         block_seed(plan.call_seed, k + 1), advance)
        n_a[active] += counts[np.arange(active.size), top[active]]
        seen[active] += size
        draws[active] += size
        u_active = None if u is None else u[active]
        best_lower[active] = np.maximum(
            best_lower[active],
            lower_bound(n_a[active], seen[active], schedule.levels[k], plan.bound, u_active),
        )
        ceiling = _futility_ceiling(n_a[active], seen[active], plan.n_max, final_level,
                                    plan.bound, u_active)
        pending = (best_lower[active, None] < thresholds[None, :]) & (
            ceiling[:, None] >= thresholds[None, :]
        )
        active = active[pending.any(axis=1)]
    return top, best_lower, draws


def _counts(
    classifier: Classifier,
    xs: NDArray[np.float32],
    sigma: float,
    n: int,
    batch_size: int,
    seed: int,
    advance: Callable[[int], None] | None,
) -> NDArray[np.int64]:
    """``(N, nb_classes)`` counts of ``n`` draws per input for one block seed (as
    ``Smoothing.counts`` with ``rng = default_rng(seed)``); shared by the sequential decision and
    the curtailed CERTIFY."""
    return count_blocks(
        classifier, xs, sigma, n, batch_size=batch_size,
        seed=draw_call_seed(np.random.default_rng(seed)), advance=advance,
    )


def _decide_task(
    ref: Any, xs: NDArray[np.float32], thresholds: NDArray[np.float64], plan: _Plan
) -> _Decision:
    """Run on a worker: the sequential loop on one shard of inputs."""
    return _decide(resolve_classifier(ref), xs, thresholds, plan, None)


def _decide_sharded(
    classifier: Classifier,
    xs: NDArray[np.float32],
    thresholds: NDArray[np.float64],
    plan: _Plan,
    executor: Executor,
    size: int,
) -> Iterator[tuple[int, int, _Decision]]:
    """Shards of ``size`` consecutive inputs decided over ``executor`` (the classifier shipped
    to each worker once, as for ``certify``); yields ``(start, stop, decision)`` as shards
    finish. A task's error is raised after the other tasks are cancelled."""
    shipment = Shipment(classifier, executor)
    futures: dict[Future[_Decision], tuple[int, int]] = {}
    try:
        for start in range(0, xs.shape[0], size):
            stop = min(xs.shape[0], start + size)
            try:
                future = executor.submit(_decide_task, shipment.ref, xs[start:stop], thresholds,
                                         plan)
            except RuntimeError as exc:  # shut down meanwhile, or a closed client
                raise ParameterError(
                    f"executor: expected an executor that accepts work, but submit failed "
                    f"({exc})"
                ) from exc
            futures[future] = (start, stop)
        for future in as_completed(futures):
            start, stop = futures[future]
            yield start, stop, future.result()
    finally:
        for future in futures:
            future.cancel()
        shipment.close()


def certify_in_blocks(
    smoothing: Smoothing,
    xs: NDArray[np.float32],
    n: int,
    *,
    n0: int,
    alpha: float,
    batch_size: int,
    rng: np.random.Generator,
    bound: Bound,
    early_stop: bool,
    progress: bool,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """CERTIFY with the estimation draws in ``CURTAILMENT_BLOCKS`` blocks of ``ceil(n / 32)``
    draws, curtailed when ``early_stop``.

    Arguments are validated by the caller. The selection draws come first from ``rng`` (as in
    the one-block CERTIFY), then one integer seeds the blocks, then (randomized bound) one
    integer seeds the uniform variates.
    """
    n_inputs = xs.shape[0]
    step = -(-n // CURTAILMENT_BLOCKS)
    sizes = [min(step, n - start) for start in range(0, n, step)]
    n_a = np.zeros(n_inputs, dtype=np.int64)
    seen = np.zeros(n_inputs, dtype=np.int64)
    with _progress(progress, n_inputs * (n0 + n), "certify") as advance:
        selection = smoothing.counts(xs, n0, batch_size=batch_size, rng=rng, advance=advance)
        top = np.argmax(selection, axis=1).astype(np.int64)
        call_seed = int(rng.integers(0, 2**63 - 1))
        u = uniforms(xs, int(rng.integers(0, 2**63 - 1))) if bound != "clopper-pearson" else None
        active = np.arange(n_inputs)
        for k, size in enumerate(sizes):
            if active.size == 0:
                break
            counts = _counts(smoothing.classifier, xs[active], smoothing.sigma, size, batch_size,
                             block_seed(call_seed, k + 1), advance)
            n_a[active] += counts[np.arange(active.size), top[active]]
            seen[active] += size
            if early_stop:
                # CERTIFY abstains at the end whatever the remaining draws give: stop drawing
                failures = seen[active] - n_a[active]
                u_active = None if u is None else u[active]
                best = lower_bound(n - failures, n, alpha, bound, u_active)
                active = active[best >= 0.5]
    complete = seen == n
    p_lower = np.zeros(n_inputs, dtype=np.float64)
    if complete.any():
        p_lower[complete] = lower_bound(
            n_a[complete], n, alpha, bound, None if u is None else u[complete]
        )
    abstain = p_lower < 0.5
    labels = np.where(abstain, np.int64(-1), top).astype(np.int64)
    radii = np.where(abstain, 0.0, certified_radius(p_lower, smoothing.sigma)).astype(np.float64)
    return labels, radii
