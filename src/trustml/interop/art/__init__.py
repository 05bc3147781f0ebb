"""Interoperate with IBM's Adversarial Robustness Toolbox (ART), both ways (extra ``art``).

- :func:`to_art`: any trustml classifier (every shipped adapter, the smoothed classifiers, a
  user's own adapter) as an ART estimator, with exactly the ART mixins its capabilities justify,
  so ART's attacks and defences run on it.
- :func:`from_art`: an ART classifier (``PyTorchClassifier``, ``TensorFlowV2Classifier``,
  ``SklearnClassifier``, ...) as a trustml classifier whose contracts hold (index and one-hot
  labels everywhere, per-sample gradients, typed errors, model modes restored), so the
  conformance kit, certification and trustml's algorithms run on it.

Importing this module needs numpy only; ART (``adversarial-robustness-toolbox``) is imported when
a bridge is called. Without it the call raises :class:`~trustml.errors.MissingDependencyError`
with the line ``pip install "trustml[art]"``.

References
----------
M.-I. Nicolae et al., "Adversarial Robustness Toolbox v1.0.0", arXiv:1807.01069, 2018.
"""

from __future__ import annotations

from typing import Any, Literal

from trustml._deps import require

__all__ = ["from_art", "to_art"]


def _require_art(purpose: str) -> None:
    require("art", "art", purpose=purpose)


def to_art(classifier: Any, *, loss_reduction: Literal["sum", "mean"] = "sum") -> Any:
    """An ART estimator that delegates to a trustml classifier.

    The returned object is an instance of a class composed for ``classifier``'s capabilities:
    ``art.estimators.estimator.BaseEstimator`` and ``art.estimators.classification.ClassifierMixin``
    always; ``LossGradientsMixin`` when it has :class:`~trustml.protocols.LossGradients`;
    ``ClassGradientsMixin`` when it has :class:`~trustml.protocols.ClassGradients`;
    ``NeuralNetworkMixin`` when it has :class:`~trustml.protocols.NeuralNetwork`. ART's attacks
    check these mixins (``estimator_requirements``), so an attack that needs a capability the
    classifier lacks is refused by ART itself.

    At the boundary ART's conventions hold: ``predict``, ``loss_gradient`` and
    ``class_gradient`` return float32 arrays (``art.config.ART_NUMPY_DTYPE``); labels come as
    one-hot ``(N, nb_classes)`` or index ``(N,)``; ``clip_values`` is ART's float32 array of shape
    ``(2, ...)``; ``class_gradient`` takes ``label`` as None, an int, a list or an array. The
    standardisation and defences stay inside the trustml classifier (ART's own ``preprocessing``
    is None), so every gradient is already with respect to the raw input.

    Parameters
    ----------
    classifier : trustml Classifier
        Anything with the :class:`~trustml.protocols.Classifier` capability.
    loss_reduction : {"sum", "mean"}
        Scale of ``loss_gradient``: ``"sum"`` (default) returns each sample's own gradient
        (trustml's contract); ``"mean"`` divides by the batch length, as ART's
        ``PyTorchClassifier`` does with a ``reduction="mean"`` loss. ART's gradient attacks
        (FGSM, PGD, ...) normalise each sample's gradient, so both give the same adversarial
        examples.

    Returns
    -------
    art.estimators.classification.ClassifierMixin
        Also an ``art.estimators.estimator.BaseEstimator``; ``trustml_classifier`` gives back the
        wrapped object.

    Raises
    ------
    MissingDependencyError
        ART is not installed (``pip install "trustml[art]"``).
    CapabilityError
        ``classifier`` lacks the Classifier capability.
    ParameterError
        ``loss_reduction`` is neither ``"sum"`` nor ``"mean"``.

    Notes
    -----
    ART's ``BaseEstimator`` declares ``fit`` abstract, so every ART estimator has one; on a
    classifier without the :class:`~trustml.protocols.Fittable` capability it raises
    :class:`~trustml.errors.CapabilityError`. ART's ``DecisionTreeMixin`` is never added (ART's
    tree attacks read scikit-learn models directly, not ``get_trees``).
    """
    _require_art("trustml.interop.art.to_art")
    from trustml.interop.art._to_art import to_art as _to_art

    return _to_art(classifier, loss_reduction=loss_reduction)


def from_art(
    estimator: Any, *, loss_reduction: Literal["auto", "none", "mean", "sum"] = "auto"
) -> Any:
    """A trustml classifier over an ART classifier.

    The result has :class:`~trustml.protocols.Classifier` always,
    :class:`~trustml.protocols.LossGradients` when the ART estimator has ``LossGradientsMixin``
    and a per-sample loss (its own ``compute_loss``, or the cross-entropy of its probabilities for
    ART's scikit-learn logistic regression), :class:`~trustml.protocols.ClassGradients` when it
    has ``ClassGradientsMixin``, and :class:`~trustml.protocols.Fittable` when it has
    ``NeuralNetworkMixin`` and an optimizer. ART 1.20.1's scikit-learn logistic regression with a
    non-identity ``preprocessing`` gets neither gradient capability: its ``loss_gradient``
    standardises the input twice and its ``class_gradient`` misses the chain rule; nor does its
    SVC, whose ``predict`` returns one-hot labels while ``class_gradient`` differentiates the
    decision function. ART's ``KerasClassifier`` gets no LossGradients: on Keras 3 its
    ``loss_gradient`` is neither the gradient of its ``compute_loss`` nor batch-independent. It
    normalises ART's contract differences:

    - inputs and labels are validated first (typed :mod:`trustml.errors`), labels through
      :mod:`trustml.labels` (index or one-hot everywhere; ART receives one-hot float32);
    - ``loss_gradient`` is the gradient of the **sum** of per-sample losses: a gradient that ART
      scales by the loss's reduction (``"mean"`` divides by N) or, for scikit-learn's
      multinomial logistic regression, by the class count, is rescaled;
    - ``class_gradient`` of ART's multinomial logistic regression (the gradient of
      ``log p_c``) is multiplied by ``p_c``, so it differentiates what ``predict`` returns;
    - empty batches are answered without calling ART;
    - train/eval flags of every torch module the estimator holds are restored after each call
      (ART leaves them in eval mode after ``predict`` and in train mode after ``fit``);
    - ``preprocessing`` describes ART's ``(mean, std)`` standardisation as a trustml
      :class:`~trustml.preprocessing.Standardisation`; ``clip_values`` becomes float32
      ``(min, max)``.

    Parameters
    ----------
    estimator : art.estimators.classification.ClassifierMixin
        An ART classifier.
    loss_reduction : {"auto", "none", "mean", "sum"}
        How ART's ``loss_gradient`` reduces the batch. ``"auto"`` reads it from the estimator
        (the torch loss's ``reduction``, the Keras loss's ``reduction``; ``"sum"`` for ART's
        scikit-learn classifiers, which return per-sample gradients) and raises
        :class:`~trustml.errors.ParameterError` when it cannot.

    Returns
    -------
    trustml classifier
        ``art_estimator`` gives back the wrapped ART object.

    Raises
    ------
    MissingDependencyError
        ART is not installed (``pip install "trustml[art]"``).
    UnsupportedModelError
        ``estimator`` is not an ART classifier.
    ParameterError
        ``loss_reduction`` is not one of the four values, or is ``"auto"`` for an estimator whose
        reduction cannot be read.
    """
    _require_art("trustml.interop.art.from_art")
    from trustml.interop.art._from_art import from_art as _from_art

    return _from_art(estimator, loss_reduction=loss_reduction)
