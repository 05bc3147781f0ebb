"""Make conformance/ (factories, generate_report) and conformance/examples/ importable."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT / "conformance", ROOT / "conformance" / "examples"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
