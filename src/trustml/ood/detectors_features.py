"""Detectors on internal features: Mahalanobis, RMDS, DKNN, VIM (higher score = more OOD).

Each is fitted on in-distribution features
(``fit(classifier, x_fit, y_fit, feature_layers_id=...)``) and computes in float64; names, defaults
and signs follow oodeel 0.4. Nearest neighbours are exact (scikit-learn's brute-force
:class:`~sklearn.neighbors.NearestNeighbors`, batched).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import logsumexp

from trustml._deps import require
from trustml.errors import ParameterError, ParameterTypeError
from trustml.ood.base import FeatureBasedDetector, _check_real
from trustml.validation import check_positive_int

__all__ = ["DKNN", "RMDS", "VIM", "Mahalanobis"]

F64 = NDArray[np.float64]


def _pinv(cov: F64) -> F64:
    """Pseudo-inverse of a covariance, singular values below ``D * eps(float64)`` times the
    largest set to zero: the cutoff ``torch.linalg.pinv`` (oodeel's) uses in float64, stated
    here because numpy's default (``rcond=1e-15``) differs."""
    return np.asarray(
        np.linalg.pinv(cov, rcond=cov.shape[0] * np.finfo(np.float64).eps, hermitian=True)
    )


def _squared_mahalanobis(feats: F64, mean: F64, precision: F64) -> F64:
    d = feats - mean
    return np.asarray(((d @ precision) * d).sum(axis=1))


class Mahalanobis(FeatureBasedDetector):
    """Mahalanobis distance to the closest class mean under a shared covariance (Lee, Lee, Lee,
    Shin, NeurIPS 2018): ``0.5 * min_c (f - mu_c)^T Sigma^+ (f - mu_c)``, i.e. minus the best
    class's Gaussian log-density up to a constant (oodeel's score).

    ``mu_c`` are the class means of the fit features, ``Sigma`` the class-weighted average of the
    per-class covariances (``1/N sum_i (f_i - mu_{y_i})(f_i - mu_{y_i})^T``), ``Sigma^+`` its
    pseudo-inverse. ``fit`` needs ``y_fit``. ``eps`` defaults to 0 here (oodeel: 0.0014, ODIN's
    perturbation); set it to perturb as in :class:`~trustml.ood.ODIN`.
    """

    requires_labels = True

    def _prepare_fit(self, n_layers: int) -> None:
        self._means: list[F64] = []
        self._precisions: list[F64] = []
        self._roots: list[F64] = []

    def _class_stats(self, feats: F64, labels: NDArray[np.int64] | None) -> tuple[F64, F64]:
        if labels is None:
            raise ParameterError(
                f"y_fit: expected the labels of x_fit ({type(self).__name__} fits class means), "
                "got None"
            )
        classes = np.unique(labels)
        means = np.stack([feats[labels == c].mean(axis=0) for c in classes])
        centred = feats - means[np.searchsorted(classes, labels)]
        cov = centred.T @ centred / feats.shape[0]
        return means, _pinv(cov)

    def _fit_layer(
        self, i: int, feats: F64, logits: F64, labels: NDArray[np.int64] | None
    ) -> None:
        means, precision = self._class_stats(feats, labels)
        vals, vecs = np.linalg.eigh(precision)
        self._means.append(means)
        self._precisions.append(precision)
        self._roots.append(vecs * np.sqrt(np.clip(vals, 0.0, None)))

    def _class_distances(self, i: int, feats: F64) -> F64:
        """``(N, n_classes)`` squared Mahalanobis distances to each class mean:
        ``(f - mu_c)^T P (f - mu_c) = ||(f - mu_c) P^(1/2)||^2`` with ``P^(1/2)`` from the
        eigen-decomposition of the (positive semi-definite) pseudo-inverse ``P``."""
        root = self._roots[i]
        fw, mw = feats @ root, self._means[i] @ root
        return np.stack([((fw - m) ** 2).sum(axis=1) for m in mw], axis=1)

    def _score_layer(self, i: int, feats: F64, logits: F64, fit: bool = False) -> F64:
        return np.asarray(0.5 * self._class_distances(i, feats).min(axis=1))


class RMDS(Mahalanobis):
    """Relative Mahalanobis distance (Ren et al., "A simple fix to Mahalanobis distance for
    improving near-OOD detection", 2021): ``min_c 0.5 (d_c^2 - d_0^2)`` where ``d_0`` is the
    Mahalanobis distance to a single Gaussian fitted to all fit features (the background)."""

    def _prepare_fit(self, n_layers: int) -> None:
        super()._prepare_fit(n_layers)
        self._bg: list[tuple[F64, F64]] = []

    def _fit_layer(
        self, i: int, feats: F64, logits: F64, labels: NDArray[np.int64] | None
    ) -> None:
        super()._fit_layer(i, feats, logits, labels)
        mean = feats.mean(axis=0)
        centred = feats - mean
        cov = centred.T @ centred / feats.shape[0]
        self._bg.append((mean, _pinv(cov)))

    def _score_layer(self, i: int, feats: F64, logits: F64, fit: bool = False) -> F64:
        background = _squared_mahalanobis(feats, *self._bg[i])
        return np.asarray(0.5 * (self._class_distances(i, feats) - background[:, None]).min(1))


class DKNN(FeatureBasedDetector):
    """Deep k-nearest neighbours (Sun, Ming, Zhu, Li, ICML 2022): the squared L2 distance from the
    L2-normalised feature to its ``nearest``-th nearest L2-normalised fit feature (squared, as
    oodeel's faiss ``IndexFlatL2`` returns it; the ranking is that of the distance).

    Parameters
    ----------
    nearest : int
        ``k`` >= 1 (default 50); at most the number of fit samples. Queries are searched 4096
        rows at a time (bounding the distance matrix held at once).
    """

    def __init__(self, nearest: int = 50, **kwargs: Any) -> None:
        nearest = check_positive_int(nearest, "nearest")
        super().__init__(**kwargs)
        self.nearest: int = nearest

    @staticmethod
    def _normalise(feats: F64) -> F64:
        return np.asarray(feats / (np.linalg.norm(feats, axis=1, keepdims=True) + 1e-10))

    def _prepare_fit(self, n_layers: int) -> None:
        self._indexes: list[Any] = []

    def _fit_layer(
        self, i: int, feats: F64, logits: F64, labels: NDArray[np.int64] | None
    ) -> None:
        if self.nearest > feats.shape[0]:
            raise ParameterError(
                f"nearest: expected at most the number of fit samples ({feats.shape[0]}), "
                f"got {self.nearest}"
            )
        neighbors = require("sklearn.neighbors", "ood", purpose="DKNN")
        index = neighbors.NearestNeighbors(algorithm="brute", metric="euclidean")
        index.fit(self._normalise(feats))
        self._indexes.append(index)

    def _score_layer(self, i: int, feats: F64, logits: F64, fit: bool = False) -> F64:
        index = self._indexes[i]
        k = min(max(self.nearest, 2), index.n_samples_fit_) if fit else self.nearest
        normed = self._normalise(feats)
        out = np.empty(feats.shape[0], dtype=np.float64)
        step = 4096
        for s in range(0, feats.shape[0], step):
            dist, _ = index.kneighbors(normed[s : s + step], n_neighbors=k)
            out[s : s + step] = dist[:, -1] ** 2
        return out


class VIM(FeatureBasedDetector):
    """Virtual-logit matching (Wang, Li, Feng, Zhang, CVPR 2022):
    ``alpha * ||P_res (f - center)|| - logsumexp(z)``, where ``P_res`` projects onto the
    principal subspace's orthogonal complement in the fit features and
    ``alpha = mean(max z) / mean(residual norm)`` on the fit set.

    Parameters
    ----------
    princ_dims : int or float
        Principal dimensions kept: an int in ``[1, D)``, or a ratio in ``(0, 1]`` of explained
        variance (oodeel's rule: the first index where the cumulated explained variance exceeds
        it). Default 0.99.
    pca_origin : {"center", "pseudo"}
        ``"center"`` (default, oodeel's): the fit features' mean. ``"pseudo"`` (the VIM paper's
        origin): ``u = -pinv(W^T) b`` from the head layer's weights (``get_weights``: kernel
        ``W (D, C)``, bias ``b``), the feature point whose logits are zero; the feature layer
        must be the head's input (``D`` units). oodeel 0.4 accepts ``"pseudo"`` but only
        applies it under a condition its layer indices never meet, so it uses the mean.
    """

    def __init__(
        self, princ_dims: int | float = 0.99, pca_origin: str = "center",  # noqa: PYI041
        **kwargs: Any,
    ) -> None:
        if isinstance(princ_dims, bool) or not isinstance(
            princ_dims, (int, float, np.integer, np.floating)
        ):
            raise ParameterTypeError(
                f"princ_dims: expected an int or a float ratio, got {type(princ_dims).__name__}"
            )
        if isinstance(princ_dims, (float, np.floating)):
            _check_real(princ_dims, "princ_dims", 0.0, 1.0, low_open=True)
        else:
            check_positive_int(princ_dims, "princ_dims")
        if pca_origin not in ("center", "pseudo"):
            raise ParameterError(
                f"pca_origin: expected 'center' or 'pseudo', got {pca_origin!r}"
            )
        super().__init__(**kwargs)
        self.princ_dims = princ_dims
        self.pca_origin = pca_origin

    def _prepare_fit(self, n_layers: int) -> None:
        self._centers: list[F64] = []
        self._projections: list[F64] = []
        self._alphas: list[float] = []
        self.princ_dims_list: list[int] = []

    def _fit_layer(
        self, i: int, feats: F64, logits: F64, labels: NDArray[np.int64] | None
    ) -> None:
        dim = feats.shape[1]
        center = feats.mean(axis=0)
        if self.pca_origin == "pseudo":
            ext = self._extractor()
            kernel, bias = (w.astype(np.float64) for w in ext.get_weights(ext.head_layer_name))
            if kernel.ndim != 2 or kernel.shape[0] != dim:
                raise ParameterError(
                    f"pca_origin: 'pseudo' needs a dense head whose input is the feature layer "
                    f"({dim} units), got a head kernel of shape {kernel.shape}"
                )
            center = -np.linalg.pinv(kernel.T) @ bias
        centred = feats - center
        eig_vals, eig_vecs = np.linalg.eigh(centred.T @ centred / feats.shape[0])
        if isinstance(self.princ_dims, (float, np.floating)):
            explained = np.cumsum(eig_vals[::-1]) / eig_vals.sum()
            princ = int(np.flatnonzero(explained > self.princ_dims - 1e-12)[0])
        else:
            princ = int(self.princ_dims)
            if princ >= dim:
                raise ParameterError(
                    f"princ_dims: expected an int in [1, {dim}) for a {dim}-dimensional "
                    f"feature layer, got {princ}"
                )
        proj = eig_vecs[:, : dim - princ]
        resid = np.linalg.norm(centred @ proj, axis=1)
        self._centers.append(center)
        self._projections.append(proj)
        self._alphas.append(float(logits.max(axis=1).mean() / resid.mean()))
        self.princ_dims_list.append(princ)

    def _score_layer(self, i: int, feats: F64, logits: F64, fit: bool = False) -> F64:
        resid = np.linalg.norm((feats - self._centers[i]) @ self._projections[i], axis=1)
        return np.asarray(self._alphas[i] * resid - logsumexp(logits, axis=1))
