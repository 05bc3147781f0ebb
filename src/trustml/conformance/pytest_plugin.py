"""Opt-in pytest plugin: ``pytest --trustml-adapter module:factory``.

Enable it in a ``conftest.py`` with ``pytest_plugins = ["trustml.conformance.pytest_plugin"]``
(importing it loads nothing heavy: the factory and the kit are imported when collection ends).
Each ``--trustml-adapter`` (repeatable) adds one test item per conformance check, named
``trustml[module:factory]::check_id``; ``--trustml-expected-failures FILE`` marks listed checks
as strict expected failures.
"""

from __future__ import annotations

from typing import Any

import pytest

__all__ = ["ConformanceItem", "pytest_addoption", "pytest_collection_modifyitems"]


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("trustml", "trustml conformance kit")
    group.addoption("--trustml-adapter", action="append", default=[], metavar="MODULE:FACTORY",
                    help="run the conformance kit on the object this factory returns "
                         "(repeatable)")
    group.addoption("--trustml-expected-failures", default=None, metavar="FILE",
                    help="expected failures: JSON {check_id: reason} or 'check_id: reason' lines")
    group.addoption("--trustml-seed", type=int, default=0, metavar="SEED",
                    help="base seed of the generated data")


class ConformanceItem(pytest.Item):
    """One conformance check on one object."""

    def __init__(self, *, estimator: object, check_id: str, seed: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.estimator = estimator
        self.check_id = check_id
        self.seed = seed

    def runtest(self) -> None:
        from trustml.conformance._report import ConformanceReport
        from trustml.conformance._runner import run_check

        result = run_check(self.estimator, self.check_id, seed=self.seed)
        if result.status == "skipped":
            pytest.skip(result.message)
        ConformanceReport(type(self.estimator).__name__, (), (result,)).raise_for_failures()

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        return str(excinfo.value)

    def reportinfo(self) -> tuple[str, int | None, str]:
        return "trustml-conformance", None, self.name


def pytest_collection_modifyitems(session: Any, config: Any, items: list[Any]) -> None:
    targets = config.getoption("trustml_adapter")
    if not targets:
        return
    from trustml.conformance._loading import load_expected_failures, load_factory
    from trustml.conformance._runner import _expected, checks_for
    from trustml.errors import TrustMLError

    seed = config.getoption("trustml_seed")
    try:
        file = config.getoption("trustml_expected_failures")
        expected_raw = load_expected_failures(file) if file else {}
        built = [(t, load_factory(t, "--trustml-adapter")()) for t in targets]
        expected_by_target = {t: _expected(est, expected_raw) for t, est in built}
    except TrustMLError as exc:
        raise pytest.UsageError(str(exc)) from exc
    for target, estimator in built:
        expected = expected_by_target[target]
        for check in checks_for(estimator):
            item = ConformanceItem.from_parent(
                session, name=f"trustml[{target}]::{check.id}", estimator=estimator,
                check_id=check.id, seed=seed)
            if check.id in expected:
                item.add_marker(pytest.mark.xfail(reason=expected[check.id], strict=True))
            items.append(item)
