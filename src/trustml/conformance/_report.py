"""The result of a conformance run: one row per check, with Markdown and JSON renderings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Literal

from trustml.errors import TrustMLError

__all__ = ["CheckResult", "ConformanceError", "ConformanceReport", "Status"]

Status = Literal["passed", "failed", "expected failure", "unexpected pass", "skipped"]
"""``passed``; ``failed`` (a contract violated, an exception, or an unexpected skip); ``expected
failure`` (failed and listed in ``expected_failed_checks``); ``unexpected pass`` (listed there but
passed: reported so the list can be pruned); ``skipped`` (the kit found the check not applicable,
with the reason)."""

_SYMBOL: dict[Status, str] = {
    "passed": "pass",
    "failed": "**FAIL**",
    "expected failure": "xfail",
    "unexpected pass": "XPASS",
    "skipped": "skip",
}


class ConformanceError(TrustMLError, AssertionError):
    """Raised by :meth:`ConformanceReport.raise_for_failures` when a check failed unexpectedly."""


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check.

    Attributes
    ----------
    check_id : str
        Public check id (see ``conformance/CONTRACTS.md``).
    capability : str
        The capability (protocol name, or ``Any``) the check belongs to.
    status : Status
    message : str
        Why it failed or was skipped, or the expected-failure reason; for a check that passed,
        empty unless the kit noted how it ran (e.g. "trained the object itself, in place", when
        the object offers neither ``clone_for_refitting`` nor a working ``copy.deepcopy``).
    duration_s : float
        Wall-clock seconds.
    """

    check_id: str
    capability: str
    status: Status
    message: str
    duration_s: float


@dataclass(frozen=True)
class ConformanceReport:
    """Results of :func:`~trustml.conformance.check_estimator` on one object.

    Attributes
    ----------
    estimator : str
        Name of the object's type.
    capabilities : tuple of str
        Capabilities detected structurally (runtime protocols satisfied).
    results : tuple of CheckResult
        One per registered check of a detected capability, in run order.
    """

    estimator: str
    capabilities: tuple[str, ...]
    results: tuple[CheckResult, ...]

    def __iter__(self) -> Iterator[CheckResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, check_id: str) -> CheckResult:
        for r in self.results:
            if r.check_id == check_id:
                return r
        raise KeyError(check_id)

    def with_status(self, *statuses: Status) -> list[CheckResult]:
        """Results whose status is one of ``statuses``."""
        return [r for r in self.results if r.status in statuses]

    @property
    def failed(self) -> list[str]:
        """Ids of the checks that failed unexpectedly."""
        return [r.check_id for r in self.with_status("failed")]

    @property
    def ok(self) -> bool:
        """True when no check failed unexpectedly."""
        return not self.failed

    @property
    def duration_s(self) -> float:
        """Total seconds over all checks."""
        return sum(r.duration_s for r in self.results)

    def summary(self) -> str:
        """One line: how many checks ran, passed, failed, were skipped, ... and the total time."""
        counts = {s: len(self.with_status(s)) for s in _SYMBOL}
        ran = len(self.results) - counts["skipped"]
        parts = [f"{self.estimator}: {ran} checks ran, {counts['skipped']} skipped"]
        parts += [f"{counts[s]} {s}" for s in ("passed", "failed", "expected failure",
                                               "unexpected pass")
                  if counts[s] or s != "unexpected pass"]
        return ", ".join(parts) + f" ({self.duration_s:.2f} s)"

    def raise_for_failures(self, *, strict: bool = False) -> None:
        """Raise if a check failed unexpectedly (and, with ``strict``, if an expected failure
        passed).

        Raises
        ------
        ConformanceError
            Listing each failing check id with its message.
        """
        bad = (self.with_status("failed", "unexpected pass") if strict
               else self.with_status("failed"))
        if bad:
            lines = [f"{self.estimator}: {len(bad)} conformance check(s) failed"]
            lines += [f"  {r.check_id} [{r.status}]: {r.message}" for r in bad]
            raise ConformanceError("\n".join(lines))

    def to_markdown(self, *, durations: bool = True) -> str:
        """A Markdown table: check, capability, status, (duration,) message."""
        head = ("| check | capability | status |" + (" seconds |" if durations else "")
                + " message |")
        sep = "|---|---|---|" + ("---:|" if durations else "") + "---|"
        lines = [f"### {self.estimator}", "", self.summary() if durations else
                 f"capabilities: {', '.join(self.capabilities)}", "", head, sep]
        for r in self.results:
            msg = r.message.replace("|", "\\|").replace("\n", " ")
            dur = f" {r.duration_s:.3f} |" if durations else ""
            lines.append(f"| `{r.check_id}` | {r.capability} | {_SYMBOL[r.status]} |{dur} {msg} |")
        return "\n".join(lines) + "\n"

    def to_json(self, *, indent: int | None = 2) -> str:
        """JSON object with ``estimator``, ``capabilities``, ``summary`` and ``results`` (each
        result's fields as in :class:`CheckResult`)."""
        payload = {
            "estimator": self.estimator,
            "capabilities": list(self.capabilities),
            "summary": self.summary(),
            "results": [asdict(r) for r in self.results],
        }
        return json.dumps(payload, indent=indent)
