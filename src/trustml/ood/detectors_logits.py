"""Detectors on the logits: MLS, MSP, Energy, Entropy, GEN, ODIN (higher score = more OOD).

Each needs only the head's logits (no fit set, unless ``use_react`` calibrates the ReAct threshold);
names, defaults and signs follow oodeel 0.4.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import entr, logsumexp, softmax

from trustml.errors import ParameterError
from trustml.ood.base import OODBaseDetector, _check_real
from trustml.validation import check_positive_int

__all__ = ["GEN", "MLS", "MSP", "ODIN", "Energy", "Entropy"]

F64 = NDArray[np.float64]


class MLS(OODBaseDetector):
    """Maximum logit score (Hendrycks et al., "Scaling out-of-distribution detection for
    real-world settings", ICML 2022): ``-max_c z_c``; with ``output_activation="softmax"`` it is
    the maximum softmax probability (:class:`MSP`).

    Parameters
    ----------
    output_activation : {"linear", "softmax"}
        Applied to the logits before the max.
    **kwargs
        ``use_react``, ``react_quantile``, ``eps``, ``temperature``: see
        :class:`~trustml.ood.base.OODBaseDetector`.
    """

    def __init__(self, output_activation: str = "linear", **kwargs: Any) -> None:
        if output_activation not in ("linear", "softmax"):
            raise ParameterError(
                f"output_activation: expected 'linear' or 'softmax', got {output_activation!r}"
            )
        super().__init__(**kwargs)
        self.output_activation = output_activation

    def _score(self, feats: list[F64], logits: F64) -> F64:
        out = softmax(logits, axis=1) if self.output_activation == "softmax" else logits
        return np.asarray(-out.max(axis=1))


class MSP(MLS):
    """Maximum softmax probability (Hendrycks & Gimpel, ICLR 2017): ``-max_c softmax(z)_c``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(output_activation="softmax", **kwargs)


class Energy(OODBaseDetector):
    """Energy score (Liu, Wang, Owens, Li, NeurIPS 2020): ``-logsumexp_c z_c``."""

    def _score(self, feats: list[F64], logits: F64) -> F64:
        return np.asarray(-logsumexp(logits, axis=1))


class Entropy(OODBaseDetector):
    """Shannon entropy of the softmax, in nats: ``-sum_c p_c log p_c`` (0 log 0 = 0)."""

    def _score(self, feats: list[F64], logits: F64) -> F64:
        return np.asarray(entr(softmax(logits, axis=1)).sum(axis=1))


class GEN(OODBaseDetector):
    """Generalized entropy (Liu, Lochman, Zach, CVPR 2023):
    ``sum over the k largest p_c of p_c^gamma (1 - p_c)^gamma`` (oodeel's definition), in
    float64 with ``1 - p_max`` summed from the other probabilities (no cancellation when
    ``p_max`` is close to 1).

    Parameters
    ----------
    gamma : float
        Exponent, > 0 (default 0.1).
    k : int
        Number of largest probabilities summed, >= 1 (default 100; capped at ``nb_classes``).
    """

    def __init__(self, gamma: float = 0.1, k: int = 100, **kwargs: Any) -> None:
        self.gamma: float = _check_real(gamma, "gamma", 0.0, low_open=True)
        self.k: int = check_positive_int(k, "k")
        super().__init__(**kwargs)

    def _score(self, feats: list[F64], logits: F64) -> F64:
        probs = softmax(logits, axis=1)
        # 1 - p_c without cancellation: for the largest probability (the only one that can
        # exceed 1/2) it is the sum of the others. oodeel computes 1 - p in float32, where it is
        # 0 (or a multiple of 6e-8) once p rounds to 1, and (1 - p)^gamma amplifies that rounding
        # (gamma = 0.1: 1e-9 ** 0.1 = 0.13 against 0); see docs/ood_oodeel_agreement.md.
        rows, top = np.arange(len(probs)), probs.argmax(axis=1)
        others = probs.copy()
        others[rows, top] = 0.0
        rest = 1.0 - probs
        rest[rows, top] = others.sum(axis=1)
        order = np.argsort(probs, axis=1, kind="stable")[:, -self.k :]
        p = np.take_along_axis(probs, order, axis=1)
        q = np.take_along_axis(rest, order, axis=1)
        return np.asarray((p**self.gamma * q**self.gamma).sum(axis=1))


class ODIN(OODBaseDetector):
    """ODIN (Liang, Li, Srikant, ICLR 2018): temperature-scaled maximum softmax probability
    ``-max_c softmax(z(x') / T)_c`` of the perturbed input
    ``x' = x - eps * sign(grad_x CE(z(x) / T, argmax z(x)))``.

    Parameters
    ----------
    temperature : float
        ``T`` > 0 (default 1000).
    eps : float
        Perturbation size in raw input units, >= 0 (default 0.014, oodeel's); > 0 needs the
        :class:`~trustml.protocols.ClassGradients` capability (gradients of the logits).
    """

    def __init__(self, temperature: float = 1000.0, eps: float = 0.014, **kwargs: Any) -> None:
        super().__init__(temperature=temperature, eps=eps, **kwargs)

    def _score(self, feats: list[F64], logits: F64) -> F64:
        return np.asarray(-softmax(logits / self.temperature, axis=1).max(axis=1))
