"""Using an adapter whose framework is missing raises MissingDependencyError with the install line.

These run for real in the `core` nox session (numpy and scipy only); where a framework is
installed, its case is skipped (its adapter's own tests cover it).
"""

from __future__ import annotations

import importlib
import importlib.util

import pytest

from trustml.errors import MissingDependencyError

CASES = [
    ("trustml.adapters.sklearn", "sklearn", "sklearn"),
    ("trustml.adapters.torch", "torch", "torch"),
    ("trustml.adapters.tensorflow", "tensorflow", "tensorflow"),
]


@pytest.mark.parametrize(("module", "framework", "extra"), CASES)
def test_adapter_without_its_framework(module: str, framework: str, extra: str) -> None:
    if importlib.util.find_spec(framework) is not None:
        pytest.skip(f"{framework} is installed here")
    with pytest.raises(MissingDependencyError) as info:
        importlib.import_module(module)
    assert f'pip install "trustml[{extra}]"' in str(info.value)
    assert isinstance(info.value, ImportError)


def test_demo_without_scikit_learn(capsys: pytest.CaptureFixture[str]) -> None:
    if importlib.util.find_spec("sklearn") is not None:
        pytest.skip("scikit-learn is installed here")
    from trustml.cli import main

    assert main(["demo"]) == 1
    err = capsys.readouterr().err
    assert 'pip install "trustml[sklearn]"' in err
