"""The conformance kit: check that any object honours trustml's contracts.

Users write their own adapters (a JAX model, an ONNX Runtime session, a model behind a service)
against the protocols of :mod:`trustml.protocols`; this kit tells them whether it honours the
contracts every trustml algorithm relies on, as scikit-learn's ``check_estimator`` does for
estimators.

Capabilities are detected structurally (``isinstance`` against the runtime protocols
``Classifier``, ``Fittable``, ``LossGradients``, ``ClassGradients``, ``NeuralNetwork``,
``DecisionTrees``, ``Certifier``, ``ActivationTransforms``) and every check of each capability runs;
the checks of ``Any`` (honesty, no hidden state) run on every object. Check ids are public API; each
is documented with its rule, tolerance and reason in ``conformance/CONTRACTS.md``.

Importing this package loads numpy and trustml's core only (no pytest, hypothesis or framework).

Examples
--------
>>> from trustml.conformance import check_estimator
>>> report = check_estimator(my_adapter)            # doctest: +SKIP
>>> report.raise_for_failures()                      # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from trustml.conformance._parametrize import parametrize_with_checks
from trustml.conformance._reference import ReferenceLinearClassifier
from trustml.conformance._registry import Check, all_checks
from trustml.conformance._report import CheckResult, ConformanceError, ConformanceReport, Status
from trustml.conformance._runner import ExpectedFailures, capabilities_of, checks_for, run_check
from trustml.conformance._runner import check_estimator as _check_estimator

__all__ = [
    "Check",
    "CheckResult",
    "ConformanceError",
    "ConformanceReport",
    "ExpectedFailures",
    "ReferenceLinearClassifier",
    "Status",
    "all_checks",
    "capabilities_of",
    "check_estimator",
    "checks_for",
    "parametrize_with_checks",
    "run_check",
]


def check_estimator(
    estimator: object,
    *,
    expected_failed_checks: ExpectedFailures = None,
    data: Any = None,
    seed: int = 0,
    verbose: bool = True,
) -> ConformanceReport:
    """Run every conformance check of every capability ``estimator`` has.

    Parameters
    ----------
    estimator : object
        Anything: its capabilities are detected structurally with the runtime protocols of
        :mod:`trustml.protocols`. The ``fit_*`` checks (run last) train a ``copy.deepcopy`` of it,
        so its weights are kept; an object that cannot be deep-copied (or whose copy cannot be
        trained) is trained in place.
    expected_failed_checks : mapping of str to str, or callable, optional
        ``{check_id: reason}`` (or a function of ``estimator`` returning one). A listed check that
        fails is reported as ``expected failure``; one that passes as ``unexpected pass``.
    data : (x, y), optional
        ``x`` ``(N, *input_shape)`` and index or one-hot labels ``y``, N >= 2; by default the kit
        generates seeded inputs from ``input_shape``, ``clip_values`` and ``nb_classes`` (uniform in
        the inner 80% of the clip range, standard normal without one) and, for ``fit``, a separable
        problem (one random template per class plus 5% noise).
    seed : int
        Base seed of every generated input, direction and certify call; the same seed gives the
        same inputs on every machine.
    verbose : bool
        Print the summary line (how many checks ran, were skipped, passed, failed).

    Returns
    -------
    ConformanceReport
        One :class:`CheckResult` per check: id, capability, status (``passed``, ``failed``,
        ``expected failure``, ``unexpected pass``, ``skipped``), message and duration.

    Raises
    ------
    ParameterError
        Unknown check id in ``expected_failed_checks``, a non-int ``seed``, or malformed ``data``.
    ParameterTypeError
        ``expected_failed_checks`` is neither a mapping nor a callable returning one.

    Notes
    -----
    A check fails on a violated contract, on any exception the object raises where it should
    not (``NotImplementedError`` in particular: an object that has a member claims the
    capability), and on a skip raised from the object under test; a check is ``skipped`` only
    when the kit itself finds it not applicable, with the reason.
    """
    return _check_estimator(estimator, expected_failed_checks=expected_failed_checks,
                            data=data, seed=seed, verbose=verbose)
