"""Without a usable mxnet (numpy >= 1.24, or mxnet not installed), the MXNet adapter explains why.

Runs in the numpy-2 `tests` session; in the `mxnet` session (numpy < 1.24) it is skipped.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import numpy as np
import pytest

from trustml.errors import MissingDependencyError

NUMPY_2 = tuple(int(p) for p in np.__version__.split(".")[:2]) >= (1, 24)

pytestmark = pytest.mark.skipif(not NUMPY_2, reason="mxnet can be used with this numpy")


def test_importing_the_adapter_module_does_not_import_mxnet() -> None:
    code = (
        "import sys, trustml.adapters.mxnet as m; "
        "assert 'mxnet' not in sys.modules, 'mxnet imported'; "
        "assert m.MXNetClassifier.__name__ == 'MXNetClassifier'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_building_the_adapter_explains_the_numpy_constraint() -> None:
    adapters = importlib.import_module("trustml.adapters.mxnet")
    with pytest.raises(MissingDependencyError) as info:
        adapters.MXNetClassifier(object(), object(), (4,), 3)
    message = str(info.value)
    assert isinstance(info.value, ImportError)
    assert "numpy < 1.24" in message and np.__version__ in message
    assert 'pip install "trustml[mxnet]"' in message
    assert "nox -s mxnet" in message
    assert "mxnet" not in sys.modules
