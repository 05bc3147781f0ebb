"""to_art: ART's attacks on trustml classifiers give ART's own results (art session only)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("art")
pytest.importorskip("torch")

from art.attacks.evasion import FastGradientMethod, HopSkipJump, ProjectedGradientDescent
from art.estimators.classification.classifier import ClassGradientsMixin, ClassifierMixin
from art.estimators.estimator import BaseEstimator, LossGradientsMixin, NeuralNetworkMixin
from art_models import (
    CLASSES,
    PredictOnly,
    art_torch,
    images,
    labels,
    tabular,
    torch_cnn,
    trustml_torch,
)

from trustml.errors import CapabilityError, ParameterError
from trustml.interop.art import to_art

ATTACKS = [
    ("fgsm-inf", lambda est: FastGradientMethod(est, eps=0.05, norm=np.inf, batch_size=8)),
    ("fgsm-l2", lambda est: FastGradientMethod(est, eps=0.5, norm=2, batch_size=8)),
    ("pgd-inf", lambda est: ProjectedGradientDescent(
        est, eps=0.1, eps_step=0.02, max_iter=5, num_random_init=0, norm=np.inf, batch_size=8,
        verbose=False)),
    ("pgd-l2", lambda est: ProjectedGradientDescent(
        est, eps=0.5, eps_step=0.1, max_iter=5, num_random_init=0, norm=2, batch_size=8,
        verbose=False)),
]


@pytest.mark.parametrize(("name", "make"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_attacks_on_pytorch_match_arts_own_classifier(name, make) -> None:
    net = torch_cnn()
    ours, theirs = to_art(trustml_torch(net)), art_torch(net)
    x, y = images(16), np.eye(CLASSES, dtype=np.float32)[labels(16)]
    adv_ours = make(ours).generate(x, y=y)
    adv_theirs = make(theirs).generate(x, y=y)
    assert np.abs(adv_theirs - x).max() > 1e-3  # the attack moved the inputs
    np.testing.assert_allclose(adv_ours, adv_theirs, rtol=0, atol=1e-5)


def test_pytorch_gradients_follow_arts_convention() -> None:
    net = torch_cnn()
    x, y = images(6), labels(6)
    theirs = art_torch(net)
    mean = to_art(trustml_torch(net), loss_reduction="mean")
    total = to_art(trustml_torch(net))
    onehot = np.eye(CLASSES, dtype=np.float32)[y]
    g_art = theirs.loss_gradient(x, onehot)
    np.testing.assert_allclose(mean.loss_gradient(x, onehot), g_art, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(total.loss_gradient(x, y), 6 * g_art, rtol=1e-4, atol=1e-6)
    assert total.loss_gradient(x, y).dtype == np.float32
    np.testing.assert_allclose(total.class_gradient(x, label=[1, 2, 0, 3, 1, 2]),
                               theirs.class_gradient(x, label=[1, 2, 0, 3, 1, 2]),
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(total.compute_loss(x, onehot), theirs.compute_loss(x, onehot),
                               rtol=1e-5)
    np.testing.assert_allclose(total.clip_values, theirs.clip_values)


def test_mixins_match_capabilities() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    from trustml.adapters.sklearn import wrap

    x, y = tabular()
    nn = to_art(trustml_torch(torch_cnn()))
    linear = to_art(wrap(LogisticRegression(max_iter=200).fit(x, y), clip_values=(0.0, 1.0)))
    tree = to_art(wrap(DecisionTreeClassifier(random_state=0).fit(x, y)))
    for est in (nn, linear, tree):
        assert isinstance(est, ClassifierMixin) and isinstance(est, BaseEstimator)
    assert isinstance(nn, (ClassGradientsMixin, LossGradientsMixin, NeuralNetworkMixin))
    assert isinstance(nn, NeuralNetworkMixin) and nn.channels_first
    assert isinstance(linear, LossGradientsMixin) and isinstance(linear, ClassGradientsMixin)
    assert not isinstance(linear, NeuralNetworkMixin)
    assert not isinstance(tree, (LossGradientsMixin, ClassGradientsMixin, NeuralNetworkMixin))
    assert type(to_art(wrap(DecisionTreeClassifier().fit(x, y)))) is type(tree)  # cached class
    from art.exceptions import EstimatorError

    with pytest.raises(EstimatorError):  # ART itself refuses a white-box attack
        FastGradientMethod(tree, eps=0.1)


def test_sklearn_logistic_regression_runs_fgsm_and_pgd() -> None:
    from art.estimators.classification import SklearnClassifier
    from sklearn.linear_model import LogisticRegression

    from trustml.adapters.sklearn import wrap

    x, y = tabular()
    model = LogisticRegression(max_iter=200).fit(x, y)
    est = to_art(wrap(model, clip_values=(0.0, 1.0)))
    fgsm = FastGradientMethod(est, eps=0.1).generate(x, y=y)
    pgd = ProjectedGradientDescent(est, eps=0.1, eps_step=0.02, max_iter=10, num_random_init=0,
                                   verbose=False).generate(x, y=y)
    clean = model.score(x, y)
    for adv in (fgsm, pgd):
        assert np.abs(adv - x).max() <= 0.1 + 1e-6 and adv.min() >= 0.0 and adv.max() <= 1.0
        assert model.score(adv, y) < clean
    # FGSM follows the sign of the gradient, so ART's own wrapper (whose multinomial gradient is
    # ours divided by the class count) gives the same examples
    art_fgsm = FastGradientMethod(SklearnClassifier(model, clip_values=(0.0, 1.0)),
                                  eps=0.1).generate(x, y=np.eye(3)[y])
    np.testing.assert_allclose(fgsm, art_fgsm, rtol=0, atol=1e-6)


def test_hopskipjump_on_a_predict_only_classifier() -> None:
    from sklearn.tree import DecisionTreeClassifier

    from trustml.adapters.sklearn import wrap

    x, y = tabular()
    model = DecisionTreeClassifier(max_depth=4, random_state=0).fit(x, y)
    est = to_art(PredictOnly(wrap(model, clip_values=(0.0, 1.0))))
    assert not isinstance(est, (LossGradientsMixin, ClassGradientsMixin, NeuralNetworkMixin))
    attack = HopSkipJump(est, targeted=False, max_iter=3, max_eval=200, init_eval=20,
                         init_size=50, verbose=False)
    np.random.seed(0)  # HopSkipJump draws from numpy's global RNG
    adv = attack.generate(x[:6])
    assert adv.shape == (6, 6) and adv.min() >= 0.0 and adv.max() <= 1.0
    assert (model.predict(adv) != model.predict(x[:6])).all()


def test_errors_are_typed() -> None:
    from sklearn.tree import DecisionTreeClassifier

    from trustml.adapters.sklearn import wrap

    x, y = tabular()
    tree = to_art(PredictOnly(wrap(DecisionTreeClassifier().fit(x, y))))
    with pytest.raises(CapabilityError, match="Fittable"):
        tree.fit(x, y)
    with pytest.raises(CapabilityError, match="Classifier"):
        to_art(object())
    clf = trustml_torch(torch_cnn())
    with pytest.raises(ParameterError, match="loss_reduction"):
        to_art(clf, loss_reduction="avg")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="training_mode"):
        to_art(clf).predict(images(2), training_mode=True)


def test_fit_delegates_and_learns() -> None:
    net = torch_cnn()
    est = to_art(trustml_torch(net))
    x = images(32)
    y = (x[:, 0].mean(axis=(1, 2)) > 0.5).astype(np.int64)
    before = est.compute_loss(x, y).mean()
    est.fit(x, np.eye(CLASSES)[y], batch_size=8, nb_epochs=5, verbose=False)
    assert est.compute_loss(x, y).mean() < before


def test_smoothed_classifier_is_bridged_with_its_own_capabilities() -> None:
    from sklearn.linear_model import LogisticRegression

    from trustml.adapters.sklearn import wrap
    from trustml.certification import RandomizedSmoothing
    from trustml.protocols import ClassGradients, LossGradients

    x, y = tabular()
    smoothed = RandomizedSmoothing(wrap(LogisticRegression(max_iter=200).fit(x, y)), sigma=0.25,
                                   n=200, n0=20, batch_size=100, seed=0)
    est = to_art(smoothed)
    assert isinstance(est, LossGradientsMixin) == isinstance(smoothed, LossGradients)
    assert isinstance(est, ClassGradientsMixin) == isinstance(smoothed, ClassGradients)
    np.testing.assert_array_equal(est.predict(x[:5]), smoothed.predict(x[:5], batch_size=128))
