"""``generate_counterfactual``: CEML's entry point, for every trustml classifier."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import prod
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.counterfactual.costs import (
    DummyCost,
    InputCost,
    L1Cost,
    L2Cost,
    LMadCost,
    NegLogLikelihoodCost,
    OutputCost,
    RegularizedCost,
    TargetLossCost,
    check_c,
)
from trustml.counterfactual.exact_linear import LinearDecision, Norm, linear_counterfactual
from trustml.counterfactual.exact_trees import tree_counterfactual
from trustml.counterfactual.optimizers import SCIPY_METHODS, Optimizer, is_gradient_free
from trustml.errors import (
    CapabilityError,
    CounterfactualNotFoundError,
    LabelError,
    ParameterError,
    ParameterTypeError,
    TrustMLError,
    UnsupportedModelError,
)
from trustml.labels import to_index
from trustml.protocols import ClassGradients, Classifier, DecisionTrees, LossGradients, require
from trustml.validation import NONE, POSITIVE_INT, check_batch, check_param

__all__ = ["generate_counterfactual"]

F64 = NDArray[np.float64]
_NORMS = ("l1", "l2", "linf")


def _whitelist(features_whitelist: Any, n_features: int) -> NDArray[np.bool_]:
    free = np.zeros(n_features, dtype=bool)
    if features_whitelist is None:
        free[:] = True
        return free
    try:
        items = list(features_whitelist)
    except TypeError:
        raise ParameterTypeError(
            f"features_whitelist: expected None or a sequence of feature indices, got "
            f"{features_whitelist!r}"
        ) from None
    if not items:
        raise ParameterError(
            "features_whitelist: expected at least one feature index (flat, in "
            f"[0, {n_features})), got an empty sequence"
        )
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, np.integer)):
            raise ParameterTypeError(
                f"features_whitelist: expected int feature indices, got {item!r}"
            )
        if not 0 <= int(item) < n_features:
            raise ParameterError(
                f"features_whitelist: expected flat feature indices in [0, {n_features}), got "
                f"{int(item)}"
            )
        free[int(item)] = True
    return free


def _strengths(c: Any) -> list[float]:
    if isinstance(c, (list, tuple, np.ndarray)):
        values = list(np.asarray(c).reshape(-1))
        if not values:
            raise ParameterError("C: expected a float > 0 or a non-empty list of them, got []")
        return [check_c(v) for v in values]
    return [check_c(c)]


def _regularization(regularization: Any, xb: F64) -> InputCost | str:
    if regularization is None:
        return DummyCost()
    if isinstance(regularization, InputCost):
        return regularization
    if isinstance(regularization, str) and regularization.lower() in _NORMS:
        return regularization.lower()
    raise ParameterError(
        f"regularization: expected 'l1', 'l2', 'linf', None or an InputCost, got "
        f"{regularization!r}"
    )


def _exact_norm(reg: InputCost | str) -> tuple[str, F64 | None] | None:
    """The norm an exact solver minimises for this regularisation (None if it has none)."""
    if isinstance(reg, str):
        return reg, None
    if isinstance(reg, LMadCost):
        return "l1", 1.0 / np.asarray(reg.mad, dtype=np.float64)
    if isinstance(reg, L1Cost):
        return "l1", None
    if isinstance(reg, L2Cost):
        return "l2", None
    return None


def _has(obj: object, protocol: type) -> bool:
    return isinstance(obj, protocol)


def generate_counterfactual(
    model: Classifier,
    x: ArrayLike,
    y_target: int | ArrayLike,
    features_whitelist: Sequence[int] | None = None,
    regularization: str | InputCost | None = "l1",
    C: float | Sequence[float] = 1.0,  # CEML's name
    optimizer: Any = "auto",
    optimizer_args: dict[str, Any] | None = None,
    return_as_dict: bool = True,
    done: Callable[[NDArray[np.float32]], bool] | None = None,
    *,
    max_iter: int | None = None,
    tol: float | None = None,
    outputs: str = "auto",
) -> dict[str, NDArray[Any]] | tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """Counterfactual explanations: the closest inputs the classifier assigns to ``y_target``.

    Minimises Wachter et al.'s regularised loss ``C * distance(x_cf, x) + cost(model(x_cf))`` with
    CEML's names and signature, or solves for the exact minimal distance where the model's structure
    allows (linear classifiers, trees). ``optimizer="auto"`` picks, in order:

    1. **exact**: a model with ``linear_decision`` (:class:`~trustml.counterfactual.exact_linear.
       LinearDecision`; the scikit-learn linear adapter) or with ``get_trees`` (decision trees,
       random forests), when ``regularization`` is a norm (``"l1"``, ``"l2"``, ``"linf"``,
       :class:`~trustml.counterfactual.costs.LMadCost`) and ``done`` is None. ``C`` is then
       irrelevant: the result is the closest input in that norm (with a margin of ``1e-6``
       decision units for linear models).
    2. **gradient-based** (a model with ClassGradients or LossGradients): trustml's batched Adam on
       :class:`~trustml.counterfactual.costs.NegLogLikelihoodCost` chained through
       ``class_gradient`` plus ``C`` times the distance. The model's own loss towards the target
       (:class:`~trustml.counterfactual.costs.TargetLossCost`, through ``loss_gradient``) is used
       instead where the model has no class gradients, or where its outputs are logits and its
       ``compute_loss`` equals that negative log-likelihood on ``x`` (the same function, one
       backward pass instead of ``nb_classes``).
    3. **derivative-free** (any Classifier, ``predict`` only): scipy's Powell, row by row.

    Parameters
    ----------
    model : Classifier
        Any trustml classifier.
    x : array_like
        ``(N, *input_shape)`` original inputs, or one sample ``input_shape`` (then the results
        have no batch axis). Never modified.
    y_target : int or array_like
        The target class for every row, or ``(N,)`` (index or one-hot labels).
    features_whitelist : sequence of int, optional
        Flat indices (C order over ``input_shape``) of the features that may change; every other
        feature of ``x_cf`` equals ``x`` bit for bit. All features by default.
    regularization : {"l1", "l2", "linf"}, InputCost or None
        The distance: :class:`L1Cost`, :class:`L2Cost` (squared Euclidean for the optimisers; the
        exact solvers minimise the Euclidean norm, the same minimiser), ``"linf"`` (exact solvers
        only), any :class:`InputCost` (e.g. :class:`LMadCost`), or None (no distance).
    C : float or sequence of float
        Regularisation strength(s), > 0; a list is tried in order, each row keeping the first
        ``C`` that gives a counterfactual (put the largest first for the closest ones).
    optimizer : "auto", "exact", "adam", scipy method name, torch.optim class or Keras optimizer
        See above and :class:`~trustml.counterfactual.optimizers.Optimizer`.
    optimizer_args : dict, optional
        Passed to the optimiser (``lr`` of ``"adam"`` (default 0.1), the torch optimizer's
        constructor arguments, Keras config overrides, ``{"options": {...}}`` for scipy).
    return_as_dict : bool
        ``{"x_cf", "y_cf", "delta"}`` if True, else the tuple ``(x_cf, y_cf, delta)``.
    done : callable, optional
        ``done(y) -> bool`` on one row of the model's outputs ``(nb_classes,)`` float32: success.
        Default: ``argmax(y) == y_target``.
    max_iter : int, optional
        Steps of the iterative optimisers (default 300), ``maxiter`` of scipy's (default: scipy's).
    tol : float, optional
        Early stop of the optimisers (see :class:`Optimizer`).
    outputs : {"auto", "probabilities", "logits"}
        What ``predict`` returns, for :class:`NegLogLikelihoodCost`; ``"auto"``: probabilities when
        every output row of ``x`` lies in [0, 1] and sums to 1 (within 1e-4), else logits.

    Returns
    -------
    dict or tuple
        ``x_cf`` ``(N, *input_shape)`` in ``x``'s floating dtype (float64 for integer ``x``),
        within ``clip_values``; ``y_cf`` ``(N,)`` int64, the predicted labels of ``x_cf``;
        ``delta = x - x_cf`` (CEML's sign).

    Raises
    ------
    CounterfactualNotFoundError
        Some row has no counterfactual after every ``C``; it carries ``x_cf``, ``y_cf``, ``delta``
        (best candidates) and ``found`` (which rows succeeded).
    InputShapeError, InputValueError
        ``x`` is not ``(N, *input_shape)`` (or ``input_shape``), or not finite.
    LabelError
        ``y_target`` outside ``[0, nb_classes)`` or of the wrong length.
    ParameterError, ParameterTypeError
        A bad whitelist (empty, out of range), ``C <= 0``, an unknown regularisation or optimiser,
        ``"linf"`` without an exact solver, ``mad`` with zeros (from :class:`LMadCost`).
    CapabilityError
        ``model`` is not a Classifier; ``optimizer="exact"`` on a model without an exact solver; a
        gradient optimiser on a model without gradients.

    References
    ----------
    Wachter, Mittelstadt, Russell, "Counterfactual Explanations without Opening the Black Box",
    Harvard JOLT 2018; Artelt, Hammer, "On the computation of counterfactual explanations -- A
    survey", 2019 (CEML).
    """
    clf = require(model, Classifier, "model")
    shape = tuple(clf.input_shape)
    raw = np.asarray(x)
    single = raw.shape == shape
    xb = check_batch(raw[None] if single else raw, shape, dtype=np.float64)
    out_dtype = raw.dtype if np.issubdtype(raw.dtype, np.floating) else np.dtype(np.float64)
    n, n_features = len(xb), prod(shape)
    nb_classes = clf.nb_classes
    t = np.asarray(y_target)
    if t.ndim == 0:
        if isinstance(y_target, bool) or not np.issubdtype(t.dtype, np.integer):
            raise LabelError(f"y_target: expected an int class index, got {y_target!r}")
        t = np.full(n, int(t))
    targets = to_index(t, nb_classes, n=n, name="y_target")
    free = _whitelist(features_whitelist, n_features)
    strengths = _strengths(C)
    reg = _regularization(regularization, xb)
    if optimizer_args is not None and not isinstance(optimizer_args, dict):
        raise ParameterTypeError(
            f"optimizer_args: expected None or a dict, got {type(optimizer_args).__name__}"
        )
    if outputs not in ("auto", "probabilities", "logits"):
        raise ParameterError(
            f"outputs: expected 'auto', 'probabilities' or 'logits', got {outputs!r}"
        )
    check_param(max_iter, "max_iter", NONE, POSITIVE_INT)
    clip = clf.clip_values
    clip_flat = None
    if clip is not None:
        clip_flat = (
            np.broadcast_to(np.asarray(clip[0], np.float64), shape).reshape(-1),
            np.broadcast_to(np.asarray(clip[1], np.float64), shape).reshape(-1),
        )

    def accept(candidates: F64, rows: NDArray[np.intp]) -> NDArray[np.bool_]:
        preds = clf.predict(candidates.astype(out_dtype, copy=False))
        if done is None:
            ok: NDArray[np.bool_] = np.argmax(preds, axis=1) == targets[rows]
            return ok
        return np.array([bool(done(p)) for p in preds], dtype=bool)

    # ------------------------------------------------------------ pick the path
    exact = _exact_norm(reg) if done is None else None
    path = _choose(clf, optimizer, exact, reg)
    flat = xb.reshape(n, n_features)
    if path == "linear" or path == "trees":
        # _choose returns an exact path only when the regularisation names a norm (exact is set)
        norm, weights = cast("tuple[Norm, F64 | None]", exact)
        if weights is not None:
            weights = np.broadcast_to(weights, shape).reshape(-1)
        if path == "linear":
            coef, intercept = cast(LinearDecision, model).linear_decision()
            cf, _ = linear_counterfactual(
                coef, intercept, flat, targets, norm=norm,
                free=free, clip_values=clip_flat, weights=weights, dtype=out_dtype,
            )
        else:
            trees = cast(DecisionTrees, model).get_trees()
            cf, _ = tree_counterfactual(
                trees, flat, targets, nb_classes, norm=norm,
                free=free, clip_values=clip_flat, weights=weights,
            )
        candidates = cf.reshape(xb.shape)
    else:
        if isinstance(reg, str):
            if reg == "linf":
                raise ParameterError(
                    "regularization: 'linf' needs an exact solver (a linear or tree model with "
                    "optimizer 'auto' or 'exact'); use 'l1' or 'l2' with the optimisers"
                )
            reg = L1Cost(xb) if reg == "l1" else L2Cost(xb)
        output = _output_cost(clf, xb, targets, path, outputs)
        optim = optimizer
        if isinstance(optim, str) and optim.lower() == "auto":
            optim = "adam" if path == "gradient" else "powell"
        steps = max_iter if max_iter is not None else (300 if not isinstance(optim, str)
                                                       or optim == "adam" else None)
        args = dict(optimizer_args or {})
        candidates = xb.copy()
        pending = np.arange(n)
        mask = np.broadcast_to(free.reshape(shape), xb.shape).astype(np.float64)
        for c in strengths:
            if pending.size == 0:
                break
            loss = RegularizedCost(
                reg.select(pending, xb.ndim), output.select(pending, xb.ndim), c
            )
            opt = Optimizer()
            opt.init(
                clf, loss, xb[pending], optim, tol=tol, max_iter=steps, grad_mask=mask[pending],
                clip_values=clip, optimizer_args=args, accept=_rows_of(accept, pending),
            )
            result = opt()
            candidates[pending] = result
            ok = accept(result, pending)
            pending = pending[~ok]
    # ------------------------------------------------------------ results
    candidates = candidates.reshape(xb.shape)
    fixed = ~free.reshape(shape)
    x_typed = np.array(raw[None] if single else raw, dtype=out_dtype, copy=True)
    x_cf = candidates.astype(out_dtype)
    x_cf[:, fixed] = x_typed[:, fixed]
    preds = clf.predict(x_cf)
    y_cf = np.argmax(preds, axis=1).astype(np.int64)
    found = accept(x_cf.astype(np.float64), np.arange(n))
    delta = x_typed - x_cf
    if single:
        x_cf, y_cf, delta, found = x_cf[0], y_cf[0], delta[0], found[:1]
    if not found.all():
        raise CounterfactualNotFoundError(
            f"no counterfactual found for {int((~found).sum())} of {len(found)} input(s) "
            f"(rows {np.flatnonzero(~found)[:10].tolist()}); try other C, more max_iter, another "
            f"optimizer or a larger whitelist; the best candidates are attached",
            x_cf, y_cf, delta, found,
        )
    if return_as_dict:
        return {"x_cf": x_cf, "y_cf": y_cf, "delta": delta}
    return x_cf, y_cf, delta


def _rows_of(
    accept: Callable[[F64, NDArray[np.intp]], NDArray[np.bool_]], pending: NDArray[np.intp]
) -> Callable[[F64, NDArray[np.intp]], NDArray[np.bool_]]:
    """``accept`` for a sub-batch whose row ``r`` is row ``pending[r]`` of the full batch."""

    def sub(candidates: F64, rows: NDArray[np.intp]) -> NDArray[np.bool_]:
        return accept(candidates, pending[rows])

    return sub


def _choose(
    model: Classifier, optimizer: Any, exact: tuple[str, F64 | None] | None, reg: Any
) -> str:
    """``"linear"``, ``"trees"``, ``"gradient"`` or ``"derivative-free"``."""
    wants_exact = isinstance(optimizer, str) and optimizer.lower() == "exact"
    if isinstance(optimizer, str) and optimizer.lower() in ("auto", "exact"):
        if exact is not None:
            if _has(model, LinearDecision):
                try:
                    cast(LinearDecision, model).linear_decision()
                    return "linear"
                except UnsupportedModelError:
                    if wants_exact:
                        raise
            if _has(model, DecisionTrees):
                trees = cast(DecisionTrees, model).get_trees()
                if trees and all(t.class_id is None for t in trees):
                    return "trees"
                if wants_exact:
                    raise UnsupportedModelError(
                        "optimizer: 'exact' needs trees holding class scores (decision trees, "
                        "random forests); this model is a boosted ensemble"
                    )
        if wants_exact:
            raise CapabilityError(
                "optimizer: 'exact' needs a model with linear_decision or get_trees and a norm "
                f"regularization ('l1', 'l2', 'linf', LMadCost) with done=None; got "
                f"{type(model).__name__} with regularization {reg!r}"
            )
        if _has(model, ClassGradients) or _has(model, LossGradients):
            return "gradient"
        return "derivative-free"
    if is_gradient_free(optimizer):
        return "derivative-free"
    if isinstance(optimizer, str) and optimizer.lower() not in (*SCIPY_METHODS, "adam"):
        raise ParameterError(
            f"optimizer: expected 'auto', 'exact', 'adam', one of "
            f"{', '.join(map(repr, SCIPY_METHODS))}, a torch.optim optimizer class or a Keras "
            f"optimizer, got {optimizer!r}"
        )
    if not (_has(model, ClassGradients) or _has(model, LossGradients)):
        raise CapabilityError(
            f"model: the gradient optimizer {optimizer!r} needs ClassGradients or LossGradients; "
            f"{type(model).__name__} has neither (use optimizer='auto', 'powell' or 'nelder-mead')"
        )
    return "gradient"


def _output_cost(
    model: Classifier, xb: F64, targets: NDArray[np.int64], path: str, outputs: str
) -> OutputCost | TargetLossCost:
    if path == "gradient" and not _has(model, ClassGradients):
        return TargetLossCost(targets)
    if outputs == "auto":
        y = np.asarray(model.predict(xb), dtype=np.float64)
        probabilities = bool(
            ((y >= 0) & (y <= 1)).all() and np.allclose(y.sum(axis=1), 1.0, atol=1e-4)
        )
    else:
        probabilities = outputs == "probabilities"
    nll = NegLogLikelihoodCost(targets, from_logits=not probabilities)
    if path == "gradient" and not probabilities and _has(model, LossGradients):
        # -log softmax depends on every logit, so chaining it needs the full class Jacobian
        # (nb_classes backward passes); where the adapter's own loss is that same cross-entropy
        # on these inputs, its loss_gradient gives the same gradient in one pass
        own = TargetLossCost(targets)
        try:
            same = np.allclose(own.value(model, xb), nll.value(model, xb), rtol=1e-4, atol=1e-5)
        except TrustMLError:
            same = False
        if same:
            return own
    return nll
