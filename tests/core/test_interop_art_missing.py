"""Without ART, importing the bridge costs nothing and calling it gives the install line."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
sys.modules["art"] = None  # as if adversarial-robustness-toolbox were not installed
import trustml.interop.art as bridge
from trustml.errors import MissingDependencyError
assert "art" not in {m.split(".")[0] for m in sys.modules if sys.modules[m] is not None}
for call in (lambda: bridge.to_art(object()), lambda: bridge.from_art(object())):
    try:
        call()
    except MissingDependencyError as exc:
        assert isinstance(exc, ImportError)
        assert 'pip install "trustml[art]"' in str(exc), str(exc)
    else:
        raise AssertionError("no MissingDependencyError")
print("ok")
"""


def test_bridge_without_art_raises_missing_dependency_with_the_install_line() -> None:
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_importing_trustml_interop_does_not_import_art() -> None:
    code = "import sys, trustml.interop, trustml.interop.art; assert 'art' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
