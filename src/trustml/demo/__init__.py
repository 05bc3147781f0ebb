"""``trustml demo``: everything trustml is for, on one model and real data, in one report.

On scikit-learn's bundled 8x8 handwritten digits (1,797 real images; nothing is downloaded) the
demo trains a model with the chosen framework's adapter and runs five steps:

1. **check**: the conformance kit on the wrapped model (the table goes to the report);
2. **certify**: randomized smoothing (Cohen, Rosenfeld, Kolter, ICML 2019): certified accuracy
   at several L2 radii and the curve;
3. **audit**: a BadNets-poisoned copy of the training set trains a second model; Neural Cleanse
   (Wang et al., IEEE S&P 2019) flags the target label on it and nothing on a clean model; the
   reversed trigger next to the true one; one mitigation and its effect;
4. **explain**: counterfactual explanations of test digits towards their runner-up class, with
   validity and proximity;
5. **monitor**: out-of-distribution detection, digits 0-4 in and 5-9 out, AUROC / FPR95 of
   several detectors and their score histograms.

Each step prints a header, a progress display and one summary line; ``--out`` (default
``trustml-demo/``) receives ``report.md`` with the figures beside it, ``report.html`` (one
self-contained file, figures embedded) and ``report.json`` (the numbers). ``--steps`` runs a
subset; a step that the framework's adapter cannot do says so in one line.
"""

from __future__ import annotations

import argparse
import importlib
import time
from pathlib import Path
from typing import Any

from trustml._cli_options import (
    add_deprecated_alias,
    nonnegative_int,
    positive_float,
    positive_int,
    probability,
)
from trustml.demo._models import FRAMEWORKS, MODULES, prepare

__all__ = ["STEPS", "add_arguments", "run"]

STEPS = ("check", "certify", "audit", "explain", "monitor")
"""The steps of the demo, in the order they run."""
DEFAULT_N = {"sklearn": 10_000, "torch": 2_000, "tensorflow": 2_000, "mxnet": 2_000}
"""Estimation draws per input by default: the CNNs cost more per draw than the MLP on a CPU."""


def _steps(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in names if s not in STEPS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated steps among {','.join(STEPS)}, got {text!r}")
    return [s for s in STEPS if s in names]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``trustml demo``."""
    parser.add_argument("--steps", type=_steps, default=",".join(STEPS), metavar="STEP[,STEP...]",
                        help="comma-separated steps to run")
    parser.add_argument("--framework", choices=FRAMEWORKS, default="sklearn",
                        help="which adapter to demonstrate")
    parser.add_argument("--out", type=Path, default=Path("trustml-demo"),
                        help="output folder for the report and its figures")
    parser.add_argument("--sigma", type=positive_float, default=0.25,
                        help="smoothing noise std, in pixel units scaled to [0, 1]")
    parser.add_argument("--n0", type=positive_int, default=100, help="selection draws per input")
    parser.add_argument("--n", type=positive_int, default=None,
                        help="estimation draws per input (default: 10000 with sklearn, 2000 "
                             "with the CNNs of the other frameworks, slower per draw)")
    parser.add_argument("--alpha", type=probability, default=0.001,
                        help="failure probability of each certificate")
    parser.add_argument("--batch-size", type=positive_int, default=2_000,
                        help="noisy copies per forward pass")
    parser.add_argument("--max-inputs", type=positive_int, default=200,
                        help="certify the first MAX_INPUTS test digits (450 for all)")
    parser.add_argument("--seed", type=nonnegative_int, default=0,
                        help="seed of every random step")
    add_deprecated_alias(parser, "--max-test", "--max-inputs", "max_inputs", positive_int)


def run(args: argparse.Namespace) -> int:
    """Run the demo; returns the exit status (0 on success, 1 when a conformance check
    failed).

    Raises
    ------
    MissingDependencyError
        scikit-learn (the data) or the framework is not installed: nothing has run.
    """
    from trustml._deps import require
    from trustml.demo._context import Context
    from trustml.demo._data import load_digits_split
    from trustml.demo._report import Block, BulletList, Paragraph, Section, write_report
    from trustml.errors import CapabilityError

    if args.n is None:
        args.n = DEFAULT_N[args.framework]
    require("sklearn", "sklearn", purpose="trustml demo (scikit-learn's bundled digits)")
    prepare(args.framework)
    require(MODULES[args.framework], args.framework,
            purpose=f"trustml demo --framework {args.framework}")
    plots = importlib.util.find_spec("matplotlib") is not None
    if "audit" in args.steps or "monitor" in args.steps:
        require("sklearn.metrics", "ood", purpose="trustml demo (monitor)")
    started, cpu_started = time.perf_counter(), time.process_time()
    args.out.mkdir(parents=True, exist_ok=True)
    ctx = Context(args, load_digits_split(args.seed), args.out, plots)
    total = len(args.steps)
    sections: list[Section] = []
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    status = 0
    for k, name in enumerate(args.steps, 1):
        step: Any = importlib.import_module(f"trustml.demo._{name}")
        print(f"[{k}/{total}] {step.TITLE}", flush=True)
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            section, line = step.run(ctx)
        except CapabilityError as exc:
            line = (f"not available with --framework {args.framework}: "
                    f"{str(exc).splitlines()[0]}")
            section = Section(name, step.TITLE, [Paragraph(line)], {"skipped": line})
        timings[name], cpu[name] = time.perf_counter() - t0, time.process_time() - c0
        print(f"      -> {line} ({timings[name]:.1f} s)", flush=True)
        sections.append(section)
        if name == "check" and not section.numbers.get("ok", True):
            status = 1
    elapsed, cpu_total = time.perf_counter() - started, time.process_time() - cpu_started
    intro: list[Block] = [
        Paragraph("trustml's demo on scikit-learn's bundled 8x8 handwritten digits (1,797 real "
                  "images, pixel intensities scaled to [0, 1]): one model wrapped in a trustml "
                  "adapter, checked, certified, audited, explained and monitored."),
        BulletList([
            (f"data: {len(ctx.data.x_train)} training and {len(ctx.data.x_test)} test digits "
             f"(stratified split, seed {args.seed})"),
            f"framework: {args.framework}"
            + (f", model `{type(ctx._model).__name__}` trained with Gaussian noise "
               f"(sigma={args.sigma}), test accuracy {ctx.clean_accuracy:.3f}"
               if ctx._model is not None else ""),
            f"steps: {', '.join(f'{s} ({timings[s]:.1f} s)' for s in args.steps)}",
            f"run time: {elapsed:.1f} s ({cpu_total:.1f} s of CPU time)"
            + ("" if plots else " (no figures: install trustml[plots] for them)"),
        ]),
    ]
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                if k not in ("command",)}
    accuracy = ctx.clean_accuracy if ctx._model is not None else None
    paths = write_report(args.out, "trustml demo report", intro, sections,
                         {"settings": settings, "run_time_s": elapsed, "cpu_time_s": cpu_total,
                          "step_time_s": timings, "step_cpu_time_s": cpu,
                          "test_accuracy": accuracy})
    print(f"done in {elapsed:.1f} s: {paths[0]} (also {paths[1].name}, {paths[2].name})",
          flush=True)
    return status
