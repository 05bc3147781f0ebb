"""The four smoothed classifiers share their members through private base classes (written once,
not copied between classes) and still differ in exactly the capabilities they declare."""

from __future__ import annotations

import pytest

from trustml.certification import randomized_smoothing as rs
from trustml.certification._smoothed import GradientMembers, SmoothedMembers, TrainingMembers
from trustml.protocols import Certifier, Classifier, Fittable, LossGradients

CLASSES = {
    rs.SmoothedClassifier: (False, False),
    rs.TrainableSmoothedClassifier: (True, False),
    rs.DifferentiableSmoothedClassifier: (False, True),
    rs.TrainableDifferentiableSmoothedClassifier: (True, True),
}


@pytest.mark.parametrize(("cls", "caps"), list(CLASSES.items()))
def test_members_are_inherited_once_not_copied(cls: type, caps: tuple[bool, bool]) -> None:
    fittable, differentiable = caps
    assert issubclass(cls, SmoothedMembers)
    assert issubclass(cls, TrainingMembers) is fittable
    assert issubclass(cls, GradientMembers) is differentiable
    own = set(vars(cls))
    for name in ("predict", "certify", "certify_radius", "sigma", "fit", "compute_loss"):
        assert name not in own  # defined once, in the base
    assert cls.predict is SmoothedMembers.predict
    for other in CLASSES:  # no public class is a subclass of another
        assert other is cls or not issubclass(cls, other)


@pytest.mark.parametrize(("cls", "caps"), list(CLASSES.items()))
def test_the_capabilities_are_exactly_the_declared_ones(cls: type, caps: tuple[bool, bool]) -> None:
    from trustml.protocols import missing_members

    fittable, differentiable = caps
    assert not missing_members(cls, Classifier) and not missing_members(cls, Certifier)
    assert (not missing_members(cls, Fittable)) is fittable
    assert (not missing_members(cls, LossGradients)) is differentiable
