"""The import check behind MXNetClassifier, exercised in the mxnet environment by simulation."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from trustml.adapters.mxnet._environment import ensure_mxnet
from trustml.errors import MissingDependencyError


def test_missing_mxnet_gives_the_install_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mxnet", None)  # makes `import mxnet` raise ImportError
    with pytest.raises(MissingDependencyError, match=r'pip install "trustml\[mxnet\]"'):
        ensure_mxnet()


def test_numpy_too_new_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(np, "__version__", "1.26.4")
    with pytest.raises(MissingDependencyError, match=r"numpy < 1\.24.*numpy 1\.26\.4"):
        ensure_mxnet()


def test_usable_environment_passes() -> None:
    pytest.importorskip("mxnet")
    ensure_mxnet()
