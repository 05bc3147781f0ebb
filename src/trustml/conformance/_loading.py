"""Loading a user's adapter factory (``module:factory`` or ``path/to/file.py:factory``; the one
loader of every ``trustml`` subcommand, :func:`trustml._factory.load_factory`) and an
expected-failures file, for the CLI and the pytest plugin."""

from __future__ import annotations

import json
from pathlib import Path

from trustml._factory import load_factory
from trustml.errors import ParameterError

__all__ = ["load_expected_failures", "load_factory"]


def load_expected_failures(path: str, where: str = "--expected-failures") -> dict[str, str]:
    """Read ``{check_id: reason}`` from a JSON object file, or from a text file with one
    ``check_id: reason`` per line (blank lines and ``#`` comments ignored).

    Raises
    ------
    ParameterError
        Missing file or malformed content.
    """
    file = Path(path)
    if not file.is_file():
        raise ParameterError(f"{where}: expected an existing file, got {path!r}")
    text = file.read_text(encoding="utf-8")
    if file.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ParameterError(f"{where}: invalid JSON in {path!r} ({exc})") from None
        if not isinstance(data, dict):
            raise ParameterError(f"{where}: expected a JSON object {{check_id: reason}}, got "
                                 f"{type(data).__name__}")
        return {str(k): str(v) for k, v in data.items()}
    out: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        check_id, sep, reason = line.partition(":")
        if not sep or not check_id.strip():
            raise ParameterError(f"{where}: line {lineno} of {path!r}: expected 'check_id: "
                                 f"reason', got {line!r}")
        out[check_id.strip()] = reason.strip()
    return out
