"""``parametrize_with_checks`` used as a user would: one pytest item per (estimator, check)."""

from __future__ import annotations

from typing import Any

from conformance_mutants import ClassGradientIgnoresLabel, build
from gaussian_certifier import make as make_certifier
from softmax_regression import make as make_softmax

from trustml.conformance import check_estimator, parametrize_with_checks


def _expected(estimator: Any) -> dict[str, str]:
    if isinstance(estimator, ClassGradientIgnoresLabel):
        return {"class_gradient_labels": "this mutant ignores the label on purpose",
                "class_gradient_bad_label": "so it does not validate it either"}
    return {}


@parametrize_with_checks([make_softmax(), make_certifier(), build(ClassGradientIgnoresLabel)],
                         expected_failed_checks=_expected)
def test_conformance(estimator: Any, check: Any) -> None:
    check(estimator)


def test_items_have_readable_ids() -> None:
    mark = parametrize_with_checks([make_softmax()])
    ids = [p.id for p in mark.args[1]]
    assert ids[0] == "SoftmaxRegression-metadata_input_shape"
    assert len(ids) == len(check_estimator(make_softmax(), verbose=False))
