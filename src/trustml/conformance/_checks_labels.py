"""Label formats: every label-taking member gives the same result for index labels (int64,
int32, a Python list) and one-hot labels.

The reference is int64 index labels; the other formats are the same labels spelled differently
(:data:`FORMATS`), so their results must be equal within the equal tolerance (losses, gradients)
or reach the same training accuracy (``fit``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trustml.conformance._checks_gradients import class_gradient, loss, loss_gradient
from trustml.conformance._checks_predict import assert_close
from trustml.conformance._context import Context, check, fail
from trustml.conformance._failures import NotApplicable

LabelFormat = Callable[[NDArray[np.int64], int], Any]

FORMATS: dict[str, LabelFormat] = {
    "int64 index labels": lambda y, k: np.asarray(y, dtype=np.int64),
    "int32 index labels": lambda y, k: np.asarray(y, dtype=np.int32),
    "a Python list of ints": lambda y, k: [int(v) for v in y],
    "float32 one-hot labels": lambda y, k: np.eye(k, dtype=np.float32)[y],
}
"""The label formats every label-taking member accepts (DESIGN: index ``(N,)`` or one-hot
``(N, nb_classes)``), by description; the first is the reference."""


def _compare_formats(ctx: Context, member: str, call: Callable[[Any], NDArray[Any]],
                     y: NDArray[np.int64]) -> None:
    (ref_name, ref_format), *others = FORMATS.items()
    want = call(ref_format(y, ctx.nb_classes))
    for name, spell in others:
        try:
            got = call(spell(y, ctx.nb_classes))
        except Exception as exc:  # noqa: BLE001 - a refused format is the failure reported
            raise fail(f"{member} with {name}: raised {type(exc).__name__}: {exc} (it accepts "
                       f"{ref_name})") from None
        assert_close(ctx, got, want, f"{member} with {name} vs {ref_name}")


@check("loss_label_formats", "LossGradients")
def check_loss_label_formats(ctx: Context) -> None:
    """compute_loss and loss_gradient give the same results for int64, int32, Python-list and
    one-hot labels."""
    x, y = ctx.inputs(), ctx.labels()
    _compare_formats(ctx, "compute_loss", lambda labels: loss(ctx, x, labels), y)
    _compare_formats(ctx, "loss_gradient", lambda labels: loss_gradient(ctx, x, labels), y)


@check("class_gradient_label_formats", "ClassGradients")
def check_class_gradient_label_formats(ctx: Context) -> None:
    """class_gradient(label=...) gives the same result for per-sample labels as int64, int32,
    a Python list and one-hot labels, and for a class given as a Python int, a numpy int64 and a
    numpy int32."""
    x = ctx.inputs()
    y = ctx.labels(tag="class-labels")
    _compare_formats(ctx, "class_gradient", lambda labels: class_gradient(ctx, x, labels, 1), y)
    k = ctx.nb_classes - 1
    want = class_gradient(ctx, x, k, 1)
    for spelled in (np.int64(k), np.int32(k)):
        what = f"class_gradient(label=numpy.{type(spelled).__name__}({k}))"
        try:
            got = class_gradient(ctx, x, spelled, 1)
        except Exception as exc:  # noqa: BLE001
            raise fail(f"{what}: raised {type(exc).__name__}: {exc}") from None
        assert_close(ctx, got, want, f"{what} vs label={k}")


_BATCH = 8


_FIT_FORMATS = ("int32 index labels", "a Python list of ints")
"""The formats fit_label_formats trains with; ``fit_learns`` covers int64 and one-hot labels."""


@check("fit_label_formats", "Fittable")
def check_fit_label_formats(ctx: Context) -> None:
    """fit accepts int32 and Python-list labels and learns from them (``fit_learns`` covers int64
    and one-hot labels): trained in turn with each, each time of the separable problem with its
    classes shifted by one more than the labelling the model predicts best beforehand, it reaches
    the ``fit_learns`` threshold (halfway between chance and perfect) after each."""
    if not hasattr(ctx.estimator, "predict"):
        raise NotApplicable("the object has no predict to measure what fit learned")
    est = ctx.trainable()
    x, y = ctx.separable_problem()
    k = ctx.nb_classes
    threshold = 0.5 * (1.0 + 1.0 / k)
    try:
        predicted = np.argmax(est.predict(x), axis=1)
    except Exception:  # noqa: BLE001 - an untrained clone may refuse to predict (NotFittedError)
        predicted = None
    known = 0 if predicted is None else max(
        range(k), key=lambda s: float(np.mean(predicted == (y + s) % k)))
    for step, name in enumerate(_FIT_FORMATS, start=1):
        target = (y + known + step) % k
        try:
            est.fit(x, FORMATS[name](target, k), batch_size=_BATCH)
        except Exception as exc:  # noqa: BLE001
            raise fail(f"fit with {name}: raised {type(exc).__name__}: {exc}") from None
        acc = float(np.mean(np.argmax(est.predict(x), axis=1) == target))
        if acc < threshold:
            raise fail(f"after fit with {name} (a labelling the model did not predict before): "
                       f"training accuracy {acc:.2f}, expected >= {threshold:.2f} (chance "
                       f"{1 / k:.2f})")
