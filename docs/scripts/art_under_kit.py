"""ART's estimators under the conformance kit: the table in docs/interop-art.md.

Runs :func:`trustml.conformance.check_estimator` on ART's own estimators, unwrapped (the kit
detects capabilities by member names, and ART uses the same names, so no shim is needed), and on
the same estimators through :func:`trustml.interop.art.from_art`; lists the contracts each one
breaks. Rewrites the block between the ``art-under-kit`` markers of ``docs/interop-art.md``.

Needs ART, scikit-learn, PyTorch and TensorFlow / Keras 3 (the ``art`` nox session's environment).
Run from the repository root: ``python docs/scripts/art_under_kit.py``.
"""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "interop-art.md"
START, END = "<!-- art-under-kit:start -->", "<!-- art-under-kit:end -->"
FEATURES, CLASSES, IMAGE = 6, 3, (3, 6, 6)


def _tabular() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    templates = rng.uniform(0.2, 0.8, size=(CLASSES, FEATURES))
    y = np.repeat(np.arange(CLASSES), 10)
    x = np.clip(templates[y] + 0.1 * rng.standard_normal((len(y), FEATURES)), 0.0, 1.0)
    return x.astype(np.float32), y


def art_pytorch() -> Any:
    import torch
    from art.estimators.classification import PyTorchClassifier

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                              torch.nn.Linear(4 * 4 * 4, CLASSES))
    return PyTorchClassifier(
        net, loss=torch.nn.CrossEntropyLoss(), input_shape=IMAGE, nb_classes=CLASSES,
        optimizer=torch.optim.SGD(net.parameters(), lr=0.1), clip_values=(0.0, 1.0),
        preprocessing=(np.array([0.4, 0.5, 0.6]), np.array([0.25, 0.5, 2.0])), device_type="cpu",
    )


def _keras_model() -> Any:
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.Flatten(), keras.layers.Dense(CLASSES)])


def art_tensorflow_v2() -> Any:
    import keras
    from art.estimators.classification import TensorFlowV2Classifier

    return TensorFlowV2Classifier(
        _keras_model(), nb_classes=CLASSES, input_shape=(6, 6, 3), clip_values=(0.0, 1.0),
        loss_object=keras.losses.CategoricalCrossentropy(from_logits=True),
        optimizer=keras.optimizers.Adam(0.01), channels_first=False,
    )


def art_keras() -> Any:
    import keras
    from art.estimators.classification import KerasClassifier

    model = _keras_model()  # ART's KerasClassifier reads the loss from a compiled model
    model.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=True),
                  optimizer=keras.optimizers.Adam(0.01))
    return KerasClassifier(model, use_logits=True, clip_values=(0.0, 1.0))


def _sklearn(model: Any, **kwargs: Any) -> Any:
    from art.estimators.classification import SklearnClassifier

    x, y = _tabular()
    return SklearnClassifier(model.fit(x, y), clip_values=(0.0, 1.0), **kwargs)


def art_sklearn_logistic() -> Any:
    from sklearn.linear_model import LogisticRegression

    return _sklearn(LogisticRegression(max_iter=200))


def art_sklearn_logistic_standardised() -> Any:
    from sklearn.linear_model import LogisticRegression

    return _sklearn(LogisticRegression(max_iter=200),
                    preprocessing=(np.full(FEATURES, 0.5), np.full(FEATURES, 0.25)))


def art_sklearn_svc() -> Any:
    from sklearn.svm import SVC

    return _sklearn(SVC(kernel="linear", probability=False, random_state=0))


def art_sklearn_tree() -> Any:
    from sklearn.tree import DecisionTreeClassifier

    return _sklearn(DecisionTreeClassifier(max_depth=4, random_state=0))


ESTIMATORS: list[tuple[str, Callable[[], Any]]] = [
    ("PyTorchClassifier (CrossEntropyLoss, reduction='mean', standardised)", art_pytorch),
    ("TensorFlowV2Classifier (Keras 3 Sequential, from_logits)", art_tensorflow_v2),
    ("KerasClassifier (Keras 3 Sequential)", art_keras),
    ("SklearnClassifier(LogisticRegression), 3 classes", art_sklearn_logistic),
    ("SklearnClassifier(LogisticRegression), 3 classes, standardised",
     art_sklearn_logistic_standardised),
    ("SklearnClassifier(SVC(kernel='linear')), 3 classes", art_sklearn_svc),
    ("SklearnClassifier(DecisionTreeClassifier)", art_sklearn_tree),
]


def _cell(text: str) -> str:
    text = re.sub(r"\s+", " ", text)
    text = text if len(text) <= 150 else text[:147] + "..."
    # a table cell: no column break, and no [..][..] that Markdown reads as a reference link
    return text.replace("|", "\\|").replace("[", "\\[").replace("]", "\\]")


def _run(estimator: Any) -> tuple[str, str, str]:
    from trustml.conformance import check_estimator

    report = check_estimator(estimator, verbose=False)
    failed = [r for r in report.results if r.status == "failed"]
    caps = ", ".join(c for c in report.capabilities if c != "Any")
    summary = f"{len(report.results) - len(failed)}/{len(report.results)}"
    broken = "<br>".join(f"`{r.check_id}`: {_cell(r.message)}" for r in failed) or "none"
    return caps, summary, broken


def main() -> int:
    from trustml.errors import ParameterError
    from trustml.interop.art import from_art

    rows = [("| ART estimator | capabilities the kit sees | checks passed | contracts broken "
             "(check: message) | through `from_art` |"), "|---|---|---:|---|---|"]
    for name, make in ESTIMATORS:
        print(f"== {name}", flush=True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                estimator = make()
        except Exception as exc:  # noqa: BLE001 - an estimator ART cannot build is a result
            rows.append(f"| {name} | - | - | does not construct: {type(exc).__name__}: "
                        f"{_cell(str(exc))} | - |")
            continue
        caps, summary, broken = _run(estimator)
        note = ""
        try:
            bridge = from_art(estimator)
        except ParameterError as exc:  # the loss reduction cannot be read: say it
            note = f"`loss_reduction='auto'` refused ({_cell(str(exc))}); with `'mean'`: "
            bridge = from_art(estimator, loss_reduction="mean")
        b_caps, b_summary, b_broken = _run(bridge)
        bridged = note + f"{b_summary} passed ({b_caps})" + ("" if b_broken == "none"
                                                             else f"; broken: {b_broken}")
        rows.append(f"| {name} | {caps} | {summary} | {broken} | {bridged} |")
    table = "\n".join(rows)
    print(table)
    text = PAGE.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    PAGE.write_text(f"{head}{START}\n{table}\n{END}{tail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
