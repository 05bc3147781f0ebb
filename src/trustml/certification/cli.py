"""``trustml certify``: certify a model on a dataset with randomized smoothing.

::

    trustml certify mypackage.models:build data.npz --sigma 0.25 --n0 100 --n 100000 \\
        --alpha 0.001 --batch-size 1000 --seed 0 --out results.tsv [--plot curve.png]

``module:factory`` (importable from the current directory or ``sys.path``) or
``path/to/file.py:factory`` names a function that takes no argument and returns a trustml
Classifier (the base classifier); ``data.npz`` holds ``x`` ``(N, *input_shape)`` and ``y``
(index or one-hot labels). One line per input is written to ``--out`` with the columns of Cohen
et al.'s ``certify.py``: ``idx label predict radius correct time``; the certified accuracy on a
grid of radii is printed, and ``--plot`` draws the certified-accuracy-versus-radius curve (extra
``plots``).

All inputs are certified as one ``certify`` call with the seed ``--seed`` (an input's row depends
only on the input and the seed). Each row is written, in input order, as soon as its input is
done. ``--workers K`` runs the counting on a local Dask cluster of ``K`` worker processes,
``--scheduler tcp://host:8786`` on an existing one (extra ``dask``); the rows are the same.
``--resume`` keeps the complete rows already in ``--out`` and certifies the rest: a run stopped
half-way and resumed writes the same file as an uninterrupted run (the settings that decide the
results are kept in ``OUT.run.json`` and checked on resume; without ``--seed`` a seed is drawn
once and kept there).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
from collections.abc import Iterator
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from trustml._cli_options import (
    add_deprecated_alias,
    nonnegative_int,
    positive_float,
    positive_int,
    probability,
)
from trustml._factory import load_factory
from trustml._progress import progress_bar
from trustml.certification.cli_sequential import add_sequential_arguments, run_sequential
from trustml.errors import InputShapeError, ParameterError
from trustml.validation import check_shape

__all__ = ["add_arguments", "load_factory", "run"]

DEFAULT_GRID = "0,0.25,0.5,0.75,1.0,1.5,2.0"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``trustml certify`` on ``parser`` (each value is checked here,
    before anything is loaded)."""
    parser.add_argument("factory", metavar="MODULE:FACTORY",
                        help="zero-argument callable returning the base Classifier: "
                             "'package.module:make' or 'path/to/file.py:make'")
    parser.add_argument("data", help=".npz file with arrays x (inputs) and y (labels)")
    parser.add_argument("--sigma", type=positive_float, required=True,
                        help="noise std (raw input units)")
    parser.add_argument("--n0", type=positive_int, default=100, help="selection draws per input")
    parser.add_argument("--n", type=positive_int, default=100_000,
                        help="estimation draws per input")
    parser.add_argument("--alpha", type=probability, default=0.001,
                        help="failure probability of each certificate")
    parser.add_argument("--batch-size", dest="batch", metavar="BATCH_SIZE", type=positive_int,
                        default=1000,
                        help="noisy copies per forward pass")
    parser.add_argument("--seed", type=nonnegative_int, default=None,
                        help="seed of the noise (default: drawn once and kept in OUT.run.json)")
    parser.add_argument("--out", required=True, help="TSV file written (Cohen et al.'s columns)")
    parser.add_argument("--plot", default=None, help="PNG of certified accuracy vs radius")
    parser.add_argument("--skip", type=positive_int, default=1,
                        help="certify every SKIP-th input")
    parser.add_argument("--max-inputs", dest="max", metavar="MAX_INPUTS", type=nonnegative_int,
                        default=None,
                        help="certify at most MAX_INPUTS inputs (default: all)")
    parser.add_argument("--radii", default=DEFAULT_GRID, help="comma-separated radii")
    parser.add_argument(
        "--progress", action="store_true", help="tqdm progress bar (extra progress)"
    )
    parser.add_argument(
        "--resume", action="store_true",
        help="keep the rows already in --out and certify the remaining inputs",
    )
    parser.add_argument(
        "--workers", type=positive_int, default=None,
        help="run on a local Dask cluster of this many worker processes (extra dask)",
    )
    parser.add_argument(
        "--scheduler", default=None,
        help="run on the Dask cluster of this scheduler, e.g. tcp://host:8786 (extra dask)",
    )
    parser.add_argument(
        "--connect-timeout", type=positive_float, default=10.0,
        help="seconds to wait for --scheduler to answer",
    )
    parser.add_argument(
        "--shard-size", type=positive_int, default=None,
        help="inputs per task on the cluster (default: chosen from n and the workers)",
    )
    add_sequential_arguments(parser)
    add_deprecated_alias(parser, "--batch", "--batch-size", "batch", positive_int)
    add_deprecated_alias(parser, "--max", "--max-inputs", "max", nonnegative_int)


def _load_data(path: str) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    try:
        with np.load(path, allow_pickle=False) as data:
            if "x" not in data or "y" not in data:
                raise ParameterError(
                    f"data: expected an .npz with arrays 'x' and 'y', got {sorted(data.files)}"
                )
            return np.asarray(data["x"]), np.asarray(data["y"])
    except (OSError, ValueError) as exc:
        if isinstance(exc, ParameterError):
            raise
        raise ParameterError(f"data: cannot read {path!r} as .npz ({exc})") from exc


def _grid(text: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    try:
        return np.array([float(v) for v in text.split(",") if v.strip()], dtype=np.float64)
    except ValueError:
        raise ParameterError(f"--radii: expected comma-separated numbers, got {text!r}") from None


HEADER = "idx\tlabel\tpredict\tradius\tcorrect\ttime"
RUN_KEYS = ("factory", "data", "sigma", "n0", "n", "alpha", "batch", "seed", "skip", "max")
"""The settings that decide the rows; a resumed run must have the same ones."""


def run(args: argparse.Namespace) -> int:
    """Run ``trustml certify``; returns the exit status (0).

    Raises
    ------
    TrustMLError
        Any bad input (the dispatcher prints it and exits with status 1): nothing is written.
    ClusterError
        ``--scheduler`` did not answer within ``--connect-timeout`` seconds.
    """
    from trustml.certification._sharding import check_shard_size
    from trustml.certification._smoothing import certify_from_counts
    from trustml.certification.metrics import certified_accuracy
    from trustml.certification.randomized_smoothing import RandomizedSmoothing
    from trustml.labels import to_index

    if getattr(args, "sequential", False):
        if args.resume or args.workers is not None or args.scheduler is not None:
            raise ParameterError(
                "--sequential: expected without --resume, --workers or --scheduler (sequential "
                "certification runs in process), got them together"
            )
        return run_sequential(args)
    if getattr(args, "radius", None) is not None:
        raise ParameterError("--radius: only with --sequential (fixed-n CERTIFY takes --radii)")
    grid = _grid(args.radii)
    if args.workers is not None and args.scheduler is not None:
        raise ParameterError("--workers, --scheduler: expected at most one of them, got both")
    if args.workers is not None and args.workers < 1:
        raise ParameterError(f"--workers: expected an int >= 1, got {args.workers}")
    shard_size = check_shard_size(args.shard_size)
    factory = load_factory(args.factory)
    x, y_raw = _load_data(args.data)
    classifier = factory()
    smoothed = RandomizedSmoothing(
        classifier, args.sigma, alpha=args.alpha, n0=args.n0, batch_size=args.batch
    )
    if x.ndim < 2:
        raise InputShapeError(f"data x: expected shape (N, *input_shape), got {x.shape}")
    check_shape(x.shape, tuple(classifier.input_shape), name="data x")
    y = to_index(y_raw, smoothed.nb_classes, n=x.shape[0])
    indices = np.arange(0, x.shape[0], args.skip)[: args.max]
    # validate the whole set (shapes, n, alpha, batch) before writing anything
    smoothed.certify(x[:0], args.n, n0=args.n0, batch_size=args.batch)
    smoothing = smoothed._smoothing
    xs = smoothing.check_x(x[indices])
    out = Path(args.out)
    settings = _settings(args)
    done_rows = _resume(out, settings, indices) if args.resume else []
    seed = int(settings["seed"])
    labels = np.full(indices.shape[0], -1, dtype=np.int64)
    radii = np.zeros(indices.shape[0], dtype=np.float64)
    for k, (kept_label, kept_radius) in enumerate(done_rows):
        labels[k], radii[k] = kept_label, kept_radius
    first = len(done_rows)
    with contextlib.ExitStack() as stack:
        executor = stack.enter_context(_executor(args))
        if not done_rows:
            _meta_path(out).write_text(json.dumps(settings, indent=1) + "\n", encoding="utf-8")
            out.write_text(HEADER + "\n", encoding="utf-8")
        f = stack.enter_context(out.open("a", encoding="utf-8"))
        bar = stack.enter_context(_bar(args.progress, indices.shape[0], first))
        # the rows still to do, as one certify call: the seeds are the uninterrupted run's
        rng = np.random.default_rng(seed)
        shards = smoothing.shards(
            xs[first:], [args.n0, args.n], batch_size=args.batch, rng=rng, executor=executor,
            shard_size=shard_size,
        )
        ready: dict[int, tuple[int, float, float]] = {}
        written = first
        for shard in shards:
            lab, rad = certify_from_counts(
                shard.counts[0], shard.counts[1], args.n, smoothing.alpha, smoothing.sigma
            )
            per_input = shard.seconds / max(1, shard.stop - shard.start)
            for j in range(shard.stop - shard.start):
                ready[first + shard.start + j] = (int(lab[j]), float(rad[j]), per_input)
            while written in ready:  # in input order, as soon as the prefix is complete
                k = written
                labels[k], radii[k], seconds = ready.pop(k)
                _write_row(f, int(indices[k]), int(y[indices[k]]), int(labels[k]), radii[k],
                           seconds)
                written += 1
                if bar is not None:
                    bar.update(1)
    accuracy = certified_accuracy(labels, radii, y[indices], grid)
    print(f"certified {indices.shape[0]} inputs, sigma={args.sigma}, n0={args.n0}, n={args.n}, "
          f"alpha={args.alpha}; results in {out}")
    if first:
        print(f"resumed: {first} rows kept from the earlier run")
    print("radius\tcertified_accuracy")
    for r, a in zip(grid, accuracy):
        print(f"{r:g}\t{a:.4f}")
    if args.plot:
        from trustml.certification.plots import plot_certified_accuracy

        top = max(float(grid.max(initial=0.0)), float(radii.max(initial=0.0)))
        fine = np.linspace(0.0, top * 1.05 if top > 0 else 1.0, 200)
        curve = certified_accuracy(labels, radii, y[indices], fine)
        plot_certified_accuracy({f"sigma = {args.sigma:g}": (fine, curve)}, args.plot)
        print(f"curve in {args.plot}")
    return 0


def _write_row(f: TextIO, i: int, truth: int, label: int, radius: float, seconds: float) -> None:
    elapsed = datetime.timedelta(seconds=round(seconds, 6))
    correct = int(label == truth)
    print(f"{i}\t{truth}\t{label}\t{radius:.3f}\t{correct}\t{elapsed}", file=f, flush=True)


def _meta_path(out: Path) -> Path:
    return out.with_name(out.name + ".run.json")


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings that decide the rows; the seed is drawn once when ``--seed`` is not given
    (and, on ``--resume``, read back from the earlier run)."""
    settings = {key: getattr(args, key) for key in RUN_KEYS}
    settings["data"] = os.path.abspath(args.data)
    if args.seed is None:
        earlier = _read_meta(Path(args.out)) if args.resume else None
        if earlier is not None and isinstance(earlier.get("seed"), int):
            settings["seed"] = earlier["seed"]
        else:
            settings["seed"] = int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> 1)
    elif args.seed < 0:
        raise ParameterError(f"--seed: expected a non-negative int, got {args.seed}")
    return settings


def _read_meta(out: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads(_meta_path(out).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _resume(
    out: Path, settings: dict[str, Any], indices: np.ndarray[Any, Any]
) -> list[tuple[int, float]]:
    """The (label, radius) of the complete rows already in ``out``, which is cut after the last
    complete row. Empty when ``out`` does not exist yet.

    Raises
    ------
    ParameterError
        ``out`` was written with other settings, or is not a ``trustml certify`` TSV of these
        inputs (nothing is modified then).
    """
    if not out.exists():
        return []
    meta = _read_meta(out)
    if meta is None:
        raise ParameterError(
            f"--resume: expected {_meta_path(out)} beside {out} (written by trustml certify), "
            "got none"
        )
    changed = [k for k in RUN_KEYS if meta.get(k) != settings[k]]
    if changed:
        got = ", ".join(f"{k}={meta.get(k)!r} (now {settings[k]!r})" for k in changed)
        raise ParameterError(f"--resume: expected the settings of the earlier run, got {got}")
    raw = out.read_bytes()
    complete = raw[: raw.rfind(b"\n") + 1]  # a row cut by the kill is dropped
    lines = complete.decode("utf-8").splitlines()
    if not lines or lines[0] != HEADER:
        raise ParameterError(f"--resume: expected {out} to start with the header, got {lines[:1]}")
    rows: list[tuple[int, float]] = []
    for k, line in enumerate(lines[1:]):
        fields = line.split("\t")
        wanted = str(int(indices[k])) if k < indices.shape[0] else "(no more inputs)"
        if len(fields) != 6 or fields[0] != wanted:
            raise ParameterError(
                f"--resume: expected row {k + 1} of {out} for input {wanted}, got {line!r}"
            )
        rows.append((int(fields[2]), float(fields[3])))
    if len(complete) != len(raw):
        with out.open("r+b") as f:
            f.truncate(len(complete))
    return rows


@contextlib.contextmanager
def _executor(args: argparse.Namespace) -> Iterator[Executor | None]:
    if args.workers is None and args.scheduler is None:
        yield None
        return
    from trustml.certification.cluster import dask_executor

    with dask_executor(
        workers=args.workers, scheduler=args.scheduler, connect_timeout=args.connect_timeout
    ) as executor:
        yield executor


def _bar(enabled: bool, total: int, initial: int) -> Any:
    """A tqdm bar of finished inputs (extra ``progress``), or None (a context manager)."""
    return progress_bar(enabled, total, desc="certify", unit="input", initial=initial,
                        leave=True)
