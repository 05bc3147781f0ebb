"""Test environments. `python -m nox` runs every session; CI runs exactly that (see README.md).

Sessions
--------
core     numpy + scipy only: importing trustml stays light, missing extras raise the right error.
typing   mypy --strict over src, stubs, tests/typing and conformance/examples; mypy on the
         getting-started example outside the tree, with the `typing` extra's stub packages.
tests    scikit-learn, PyTorch (CPU), TensorFlow (CPU) / Keras 3: every test but MXNet's.
mxnet    its own environment (numpy < 1.24, mxnet 1.9.1): the MXNet adapter, and trustml on
         numpy 1.23.
docs     the documentation site, built with warnings as errors.
dist     the sdist and wheel, built and checked, then the wheel installed outside the tree and
         tested.
art      IBM's Adversarial Robustness Toolbox beside scikit-learn, PyTorch and TensorFlow: the
         trustml.interop.art bridge both ways (constraints/art.txt).
art_mxnet  ART 1.20.1 in the MXNet environment (numpy 1.23): ART's attacks on the MXNet adapter.
lint     ruff (the rules and line length of [tool.ruff] in pyproject.toml) over the whole tree, and
         pyright's type completeness of the installed package (`--verifytypes`), which must be 100%.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import nox

nox.options.sessions = [
    "lint", "core", "typing", "tests", "mxnet", "docs", "dist", "art", "art_mxnet",
]
nox.options.reuse_existing_virtualenvs = False
nox.options.error_on_missing_interpreters = True

CPU = ("-c", "constraints/cpu.txt")
TEST_TOOLS = ("pytest>=7.4", "hypothesis>=6.90")
DOCS_PAGE = "tests/docs/test_docs_snippets.py::test_page_runs"  # a page's blocks, for the sessions
# whose frameworks the `tests` session lacks (MXNet, ART)

# pip: ride out a flaky connection to the index (a CI run once lost a wheel after 6 tries)
os.environ.setdefault("PIP_RETRIES", "10")
os.environ.setdefault("PIP_RESUME_RETRIES", "20")


def session(func: Callable[[nox.Session], None]) -> Callable[[nox.Session], None]:
    """``nox.session``, and with TRUSTML_NOX_DISCARD_VENVS=1 (set by .ci/run) the session's
    virtualenv removed once it passed: the frameworks take about 10 GB over all sessions, and
    CI's disk is shared (a run once ran out of it)."""

    @functools.wraps(func)
    def run(session: nox.Session) -> None:
        func(session)
        location = getattr(session.virtualenv, "location", None)
        if os.environ.get("TRUSTML_NOX_DISCARD_VENVS") == "1" and location:
            shutil.rmtree(location, ignore_errors=True)

    return nox.session(run)


@session
def lint(session: nox.Session) -> None:
    """ruff, and pyright's type completeness of the public API (fails under 100%)."""
    # pytest: the conformance kit's pytest plugin subclasses pytest.Item
    session.install("-c", "constraints/lint.txt", ".", "ruff", "pyright[nodejs]", *TEST_TOOLS)
    session.run("ruff", "check", ".")
    # run outside the tree, so that pyright reads the installed package, not src/
    session.chdir(tempfile.mkdtemp(prefix="trustml-lint-"))
    session.run("pyright", "--verifytypes", "trustml", "--ignoreexternal")


@session
def core(session: nox.Session) -> None:
    """numpy and scipy only."""
    session.install(".", *TEST_TOOLS)
    session.run("pytest", "-q", "tests/core", *session.posargs)


@session
def typing(session: nox.Session) -> None:
    """mypy --strict (configured in pyproject.toml), then the promise of docs/getting-started.md
    as a user gets it: the installed package and the `typing` extra, from outside the tree."""
    session.install(*CPU, "-e", ".[dev,torch]", "matplotlib", "tqdm", "types-tqdm")
    session.run("mypy", *session.posargs)
    session.install(*CPU, ".[typing]")  # a regular install replaces the editable one
    session.run("pytest", "-q", "-p", "no:cacheprovider", "tests/typecheck")


@session
def tests(session: nox.Session) -> None:
    """Every framework that shares one environment."""
    session.install(*CPU, ".[all]", *TEST_TOOLS)
    session.run(
        "pytest", "-q", "tests", "--ignore=tests/mxnet", *session.posargs,
        env={"TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""},
    )


@session
def mxnet(session: nox.Session) -> None:
    """MXNet 1.9.1 beside numpy 1.23 (and torch, scikit-learn for agreement on copied weights)."""
    session.install("-c", "constraints/mxnet.txt", ".[mxnet,sklearn,torch]", *TEST_TOOLS)
    session.run("pytest", "-q", "tests/mxnet", "tests/core", "tests/conformance",
                "tests/ood/test_ood_weights_rescale.py", "tests/poisoning/test_poisoning_mxnet.py",
                f"{DOCS_PAGE}[docs/adapters/mxnet.md]", *session.posargs)


@session
def docs(session: nox.Session) -> None:
    """mkdocs build --strict (the API reference is read from the sources; no framework needed)."""
    session.install(".", "mkdocs>=1.6", "mkdocs-material>=9.5", "mkdocstrings[python]>=0.26",
                    "ruff")
    session.run("mkdocs", "build", "--strict", "--site-dir", "site",
                env={"NO_MKDOCS_2_WARNING": "1"})


def _check_wheel_contents(wheel: Path) -> None:
    """The wheel holds the package (with py.typed) and its metadata, nothing else."""
    names = zipfile.ZipFile(wheel).namelist()
    stray = [n for n in names if not n.startswith(("trustml/", "trustml-"))]
    if stray:
        raise RuntimeError(f"{wheel.name}: unexpected files {stray[:10]}")
    if "trustml/py.typed" not in names:
        raise RuntimeError(f"{wheel.name}: trustml/py.typed is missing")
    if not any(n.endswith(".dist-info/licenses/LICENSE") for n in names):
        raise RuntimeError(f"{wheel.name}: the LICENSE file is missing")


@session
def dist(session: nox.Session) -> None:
    """Build the sdist and wheel, check them, and test the wheel installed outside the tree."""
    session.install("build>=1.0", "twine>=5", "cffconvert>=2")
    session.run("cffconvert", "--validate", "-i", "CITATION.cff")
    out = Path(tempfile.mkdtemp(prefix="trustml-dist-"))
    try:
        session.run("python", "-m", "build", "--outdir", str(out / "dist"), silent=True)
        built = sorted((out / "dist").iterdir())
        session.run("twine", "check", "--strict", *map(str, built))
        (wheel,) = [p for p in built if p.suffix == ".whl"]
        _check_wheel_contents(wheel)
        # a fresh virtual environment and a copy of the core tests, both outside the source tree,
        # so nothing can be imported from src/
        venv = out / "venv"
        session.run(sys.executable, "-m", "venv", str(venv), external=True)
        py = str(venv / "bin" / "python")
        session.run(py, "-m", "pip", "install", "--quiet", str(wheel), *TEST_TOOLS, external=True)
        shutil.copytree("tests/core", out / "tests_core")
        session.chdir(out)
        session.run(py, "-c", "import sys, trustml; assert 'src' not in trustml.__file__; "
                    "heavy = {'torch', 'tensorflow', 'sklearn', 'mxnet', 'scipy'} "
                    "& set(sys.modules); "
                    "assert not heavy, heavy; print('trustml', trustml.__version__, 'from', "
                    "trustml.__file__)", external=True)
        session.run(py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests_core",
                    external=True)
        session.run(str(venv / "bin" / "trustml"), "--version", external=True)
        session.run(str(venv / "bin" / "trustml"), "demo", "--help", external=True, silent=True)
    finally:
        shutil.rmtree(out, ignore_errors=True)
@session
def art(session: nox.Session) -> None:
    """The ART bridge (trustml.interop.art) with ART 1.20.1, scikit-learn, PyTorch and Keras 3."""
    session.install("-c", "constraints/art.txt", ".[art,sklearn,torch,tensorflow]", *TEST_TOOLS)
    session.run(
        "pytest", "-q", "tests/interop", "tests/core", f"{DOCS_PAGE}[docs/interop-art.md]",
        *session.posargs,
        env={"TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""},
    )


@session
def art_mxnet(session: nox.Session) -> None:
    """ART 1.20.1 beside mxnet 1.9.1 and numpy 1.23 (the MXNet session's pins)."""
    session.install("-c", "constraints/mxnet.txt", ".[art,mxnet]",
                    "adversarial-robustness-toolbox==1.20.1", *TEST_TOOLS)
    session.run("pytest", "-q", "tests/interop/test_interop_art_mxnet.py", *session.posargs)
