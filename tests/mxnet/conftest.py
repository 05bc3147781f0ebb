"""Fixtures for the MXNet adapter tests; they run in the `mxnet` nox session (numpy < 1.24).

mxnet 1.9.1 cannot be imported with numpy >= 1.24, so elsewhere these files are not collected.
"""

from __future__ import annotations

import numpy as np

if tuple(int(p) for p in np.__version__.split(".")[:2]) >= (1, 24):
    collect_ignore_glob = ["test_*.py"]


def pytest_configure(config: object) -> None:
    # mxnet 1.9.1 touches a scipy namespace that scipy deprecated; not ours to fix.
    config.addinivalue_line(  # type: ignore[attr-defined]
        "filterwarnings", "ignore:Please use `csr_matrix`:DeprecationWarning"
    )
