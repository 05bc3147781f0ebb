"""The optimiser of counterfactual search, written once for every framework (CEML's
``TfOptimizer`` / ``TorchOptimizer`` / ``ScipyOptimizer`` in one class).

``optim`` may be

- a ``scipy.optimize.minimize`` method name (``"nelder-mead"``, ``"powell"``, ``"bfgs"``, ``"cg"``,
  ``"l-bfgs-b"``): each row is minimised on its own; ``clip_values`` are bounds where the method
  takes bounds (nelder-mead, powell, l-bfgs-b), else the candidate is projected onto them;
- a ``torch.optim`` optimizer *class* (e.g. ``torch.optim.Adam``), built on the batch with
  ``optimizer_args``; a Keras optimizer *instance* (e.g. ``keras.optimizers.Adam(0.1)``, cloned for
  each run); or ``"adam"``, trustml's own numpy Adam (Kingma and Ba, ICLR 2015; the default). These
  move the whole batch at once (rows are independent: each row's update depends on its own
  gradient only) and project onto ``clip_values`` after each step.

Neither torch nor tensorflow is imported unless the caller passes one of their objects.

``grad_mask`` multiplies the gradient elementwise; a feature it zeroes keeps its original value bit
for bit (it is never handed to the optimiser). When a success criterion ``done`` is given, the
optimiser also remembers, per row, the accepted iterate with the smallest distance (the input
penalty of a :class:`~trustml.counterfactual.costs.RegularizedCost`, else the loss): Wachter et al.
look for the closest point that changes the decision, not the loss minimiser itself.

With an L1-type input penalty (:class:`~trustml.counterfactual.costs.L1Cost`, ``LMadCost``), the
iterative optimisers stop a feature at its original value when its change would cross zero
(truncated gradient), and the cost's subgradient there is the one of smallest norm: features whose
pull by the output cost is below ``C`` stay exactly unchanged, as the L1 optimum wants.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trustml.counterfactual.costs import Loss, RegularizedCost
from trustml.errors import ParameterError, ParameterTypeError
from trustml.protocols import Classifier
from trustml.validation import (
    NONE,
    POSITIVE_INT,
    ClipValuesLike,
    check_clip_values,
    check_param,
)

__all__ = ["SCIPY_METHODS", "Optimizer", "is_gradient_free"]

F64 = NDArray[np.float64]
Accept = Callable[[F64, NDArray[np.intp]], NDArray[np.bool_]]

SCIPY_METHODS = ("nelder-mead", "powell", "bfgs", "cg", "l-bfgs-b")
_BOUNDED = ("nelder-mead", "powell", "l-bfgs-b")
_DERIVATIVE_FREE = ("nelder-mead", "powell")


def is_gradient_free(optim: Any) -> bool:
    """Whether ``optim`` needs only loss values (a derivative-free scipy method)."""
    return isinstance(optim, str) and optim.lower() in _DERIVATIVE_FREE


def _kind(optim: Any) -> str:
    if isinstance(optim, str):
        name = optim.lower()
        if name == "adam":
            return "adam"
        if name in SCIPY_METHODS:
            return "scipy"
        raise ParameterError(
            f"optim: expected 'adam', one of {', '.join(map(repr, SCIPY_METHODS))}, a torch.optim "
            f"optimizer class or a Keras optimizer, got {optim!r}"
        )
    module = getattr(optim, "__module__", "") or ""
    if isinstance(optim, type) and module.startswith("torch.optim"):
        return "torch"
    if not isinstance(optim, type) and type(optim).__module__.startswith("keras"):
        return "keras"
    raise ParameterTypeError(
        f"optim: expected a scipy.optimize.minimize method name, a torch.optim optimizer class or "
        f"a Keras optimizer instance, got {optim!r}"
    )


def _input_gradient(loss: Loss, model: Classifier, x: F64) -> F64:
    """``loss``'s gradient, skipping its value where the loss offers that (``input_gradient``)."""
    only = getattr(loss, "input_gradient", None)
    if only is not None:
        return np.asarray(only(model, x), dtype=np.float64)
    return loss.value_and_gradient(model, x)[1]


class _Adam:
    """Adam on a numpy array (rows independent)."""

    def __init__(
        self, x: F64, lr: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
        epsilon: float = 1e-8,
    ) -> None:
        self.x = x
        self.lr, self.b1 = float(lr), float(beta_1)
        self.b2, self.eps = float(beta_2), float(epsilon)
        self.m = np.zeros_like(x)
        self.v = np.zeros_like(x)
        self.t = 0

    def step(self, grad: F64) -> F64:
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * grad
        self.v = self.b2 * self.v + (1 - self.b2) * grad * grad
        m_hat = self.m / (1 - self.b1**self.t)
        v_hat = self.v / (1 - self.b2**self.t)
        self.x = self.x - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        return self.x

    def reset(self, x: F64) -> None:
        self.x = x


class _Torch:
    def __init__(self, x: F64, optim: Any, args: dict[str, Any]) -> None:
        import torch

        self.torch = torch
        self.param = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        self.opt = optim([self.param], **args)

    def step(self, grad: F64) -> F64:
        self.opt.zero_grad(set_to_none=False)
        self.param.grad = self.torch.from_numpy(np.ascontiguousarray(grad))
        self.opt.step()
        out: F64 = self.param.detach().numpy().copy()
        return out

    def reset(self, x: F64) -> None:
        with self.torch.no_grad():
            self.param.copy_(self.torch.from_numpy(x))


class _Keras:
    def __init__(self, x: F64, optim: Any, args: dict[str, Any]) -> None:
        import importlib

        keras: Any = importlib.import_module("keras")
        self.keras = keras
        config = {**optim.get_config(), **args}
        self.opt = type(optim).from_config(config)
        self.var = keras.Variable(x, dtype="float64")

    def step(self, grad: F64) -> F64:
        g = self.keras.ops.convert_to_tensor(grad, dtype="float64")
        self.opt.apply_gradients([(g, self.var)])
        value = self.var.value
        out: F64 = np.array(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float64)
        return out

    def reset(self, x: F64) -> None:
        self.var.assign(x)


class Optimizer:
    """Minimise a per-row counterfactual loss over a batch (CEML's ``init`` / ``__call__``
    interface, one class for every framework).

    Usage: ``opt = Optimizer(); opt.init(model, loss, x, optim, max_iter=100); x_cf = opt()``.
    """

    def init(
        self,
        model: Classifier,
        loss: Loss,
        x: ArrayLike,
        optim: Any,
        tol: float | None = None,
        max_iter: int | None = 1,
        grad_mask: ArrayLike | None = None,
        *,
        clip_values: ClipValuesLike | None = None,
        optimizer_args: dict[str, Any] | None = None,
        accept: Accept | None = None,
    ) -> None:
        """Set up a run.

        Parameters
        ----------
        model : Classifier
            What ``loss`` evaluates (with LossGradients / ClassGradients as the loss needs).
        loss : Loss
            E.g. a :class:`~trustml.counterfactual.costs.RegularizedCost`.
        x : array_like
            ``(N, *input_shape)`` starting points (the original inputs); copied, never modified.
        optim : str, torch.optim optimizer class or Keras optimizer
            See the module docstring.
        tol : float, optional
            scipy's ``tol``; for the iterative optimisers, stop once no free feature moved by
            more than ``tol`` in a step.
        max_iter : int or None
            Steps of the iterative optimisers (None: 300); ``options["maxiter"]`` for scipy
            (None: scipy's default).
        grad_mask : array_like, optional
            Broadcastable to ``(N, *input_shape)``; features where it is 0 are left unchanged.
        clip_values : (min, max), optional
            Broadcastable to ``input_shape``; the result stays inside.
        optimizer_args : dict, optional
            Constructor arguments of the torch optimizer class, overrides of the Keras
            optimizer's config, ``lr``/``beta_1``/``beta_2``/``epsilon`` of ``"adam"``, or
            ``options`` of ``scipy.optimize.minimize``.
        accept : callable, optional
            ``accept(x_rows, rows) -> (n,) bool``: which candidates ``x_rows`` (for the rows
            ``rows`` of ``x``) are counterfactuals; the closest accepted iterate of each row is
            returned instead of the last one.

        Raises
        ------
        ParameterError, ParameterTypeError
            Unknown ``optim``, ``max_iter`` < 1, ``tol`` <= 0, a ``grad_mask`` of the wrong shape.
        """
        self._kind = _kind(optim)
        check_param(max_iter, "max_iter", NONE, POSITIVE_INT)
        if tol is not None and (
            isinstance(tol, bool)
            or not isinstance(tol, (int, float, np.integer, np.floating))
            or not (np.isfinite(tol) and tol > 0)
        ):
            raise ParameterError(f"tol: expected None or a float > 0, got {tol!r}")
        if optimizer_args is not None and not isinstance(optimizer_args, dict):
            raise ParameterTypeError(
                f"optimizer_args: expected None or a dict, got {type(optimizer_args).__name__}"
            )
        x0 = np.array(x, dtype=np.float64, copy=True)
        shape = x0.shape[1:]
        if grad_mask is None:
            mask = np.ones_like(x0)
        else:
            m = np.asarray(grad_mask, dtype=np.float64)
            try:
                mask = np.array(np.broadcast_to(m, x0.shape), dtype=np.float64)
            except ValueError:
                raise ParameterError(
                    f"grad_mask: expected a shape broadcastable to {x0.shape}, got {m.shape}"
                ) from None
        clip = check_clip_values(clip_values, shape) if clip_values is not None else None
        if clip is None:
            lo = np.full(x0.shape, -np.inf)
            hi = np.full(x0.shape, np.inf)
        else:
            lo = np.broadcast_to(clip[0].astype(np.float64), x0.shape).copy()
            hi = np.broadcast_to(clip[1].astype(np.float64), x0.shape).copy()
        self._model, self._loss, self._optim = model, loss, optim
        self._x0, self._mask, self._lo, self._hi = x0, mask, lo, hi
        self._tol, self._max_iter = tol, max_iter
        self._args = dict(optimizer_args or {})
        self._accept = accept

    # ----------------------------------------------------------------- bookkeeping
    def _project(self, x: F64, rows: slice | int = slice(None)) -> F64:
        out = np.clip(x, self._lo[rows], self._hi[rows])
        fixed = self._mask[rows] == 0
        out[fixed] = self._x0[rows][fixed]
        return out

    def _record(
        self, loss: Loss, rows: NDArray[np.intp], x: F64, best: F64, best_d: F64
    ) -> None:
        """Keep, per row, the accepted candidate of smallest distance."""
        if self._accept is None:
            return
        ok = np.asarray(self._accept(x, rows), dtype=bool)
        if not ok.any():
            return
        if isinstance(loss, RegularizedCost):
            d = loss.penalize_input(x)
        else:
            d = loss.value(self._model, x)
        better = ok & (d < best_d)
        best[better] = x[better]
        best_d[better] = d[better]

    def __call__(self) -> F64:
        """Run and return the candidates: ``(N, *input_shape)`` float64 (a new array).

        Features masked out by ``grad_mask`` equal the starting point bit for bit; every feature
        lies within ``clip_values``.
        """
        x = self._project(self._x0.copy())
        best = x.copy()
        best_d = np.full(len(x), np.inf)
        if len(x) == 0:
            return x
        if self._kind == "scipy":
            out = self._run_scipy(x, best, best_d)
        else:
            out = self._run_iterative(x, best, best_d)
        found = np.isfinite(best_d)
        out[found] = best[found]
        return out

    # ----------------------------------------------------------------- iterative (batched)
    def _run_iterative(self, x: F64, best: F64, best_d: F64) -> F64:
        if self._kind == "adam":
            allowed = {"lr", "learning_rate", "beta_1", "beta_2", "epsilon"}
            unknown = set(self._args) - allowed
            if unknown:
                raise ParameterError(
                    f"optimizer_args: 'adam' takes {sorted(allowed)}, got {sorted(unknown)}"
                )
            args = dict(self._args)
            if "learning_rate" in args:
                args["lr"] = args.pop("learning_rate")
            backend: Any = _Adam(x.copy(), **args)
        elif self._kind == "torch":
            backend = _Torch(x.copy(), self._optim, self._args)
        else:
            backend = _Keras(x.copy(), self._optim, self._args)
        rows = np.arange(len(x))
        ref = self._l1_reference(x)
        for _ in range(300 if self._max_iter is None else self._max_iter):
            grad = _input_gradient(self._loss, self._model, x)
            self._record(self._loss, rows, x, best, best_d)
            new = self._project(backend.step(grad * self._mask))
            if ref is not None:
                # truncated gradient (Langford, Li, Zhang, JMLR 2009): a feature whose change
                # crosses zero stops at the original value, so L1 gives exact zeros
                crossed = (new - ref) * (x - ref) < 0
                new = np.where(crossed, ref, new)
            backend.reset(new.copy())
            moved = float(np.max(np.abs(new - x))) if new.size else 0.0
            x = new
            if self._tol is not None and moved <= self._tol:
                break
        self._record(self._loss, rows, x, best, best_d)
        return x

    def _l1_reference(self, x: F64) -> F64 | None:
        loss = self._loss
        if not isinstance(loss, RegularizedCost) or loss.penalize_input.l1_weights() is None:
            return None
        ref = getattr(loss.penalize_input, "x_orig", None)
        if ref is None:
            return None
        out: F64 = np.broadcast_to(np.asarray(ref, dtype=np.float64), x.shape)
        return out

    # ----------------------------------------------------------------- scipy (row by row)
    def _run_scipy(self, x: F64, best: F64, best_d: F64) -> F64:
        from scipy import optimize

        minimize: Any = optimize.minimize

        method = str(self._optim).lower()
        gradient_free = method in _DERIVATIVE_FREE
        options = dict(self._args.get("options", {}))
        if self._max_iter is not None:
            options.setdefault("maxiter", self._max_iter)
        out = x.copy()
        shape = x.shape[1:]
        for i in range(len(x)):
            free = np.flatnonzero(self._mask[i].reshape(-1) != 0)
            if free.size == 0:
                continue
            rows = np.array([i])
            loss = self._loss.select(rows, x.ndim)
            base = x[i].reshape(-1).copy()
            lo = self._lo[i].reshape(-1)[free]
            hi = self._hi[i].reshape(-1)[free]
            row_best = best[i : i + 1]
            row_d = best_d[i : i + 1]

            def full(z: F64, base: F64 = base, free: NDArray[np.intp] = free,
                     lo: F64 = lo, hi: F64 = hi) -> F64:
                v = base.copy()
                v[free] = np.clip(z, lo, hi)
                return v.reshape(1, *shape)

            def fun(z: F64, full: Any = full, loss: Loss = loss, rows: NDArray[np.intp] = rows,
                    row_best: F64 = row_best, row_d: F64 = row_d) -> float:
                xi = full(z)
                self._record(loss, rows, xi, row_best, row_d)
                return float(loss.value(self._model, xi)[0])

            def jac(z: F64, full: Any = full, loss: Loss = loss, free: NDArray[np.intp] = free,
                    lo: F64 = lo, hi: F64 = hi, i: int = i) -> F64:
                _, g = loss.value_and_gradient(self._model, full(z))
                gm = (g * self._mask[i : i + 1]).reshape(-1)[free]
                out_g: F64 = np.where((z >= lo) & (z <= hi), gm, 0.0)
                return out_g

            bounds = None
            if method in _BOUNDED:
                bounds = [(None if np.isinf(a) else float(a), None if np.isinf(b) else float(b))
                          for a, b in zip(lo, hi, strict=True)]
            res = minimize(
                fun,
                base[free],
                method=method,
                jac=None if gradient_free else jac,
                bounds=bounds,
                tol=self._tol,
                options=options,
            )
            out[i] = full(np.asarray(res.x, dtype=np.float64))[0]
            self._record(loss, rows, out[i : i + 1], row_best, row_d)
        return out
