"""NeuralCleanse on a user's adapter (softmax regression written from the protocols): a planted
backdoor is found, seeds reproduce triggers, bad input raises typed errors naming the parameter
and leaves the model unchanged, and `trustml audit` reports and exits non-zero."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from poisoning_user_adapter import SoftmaxRegression, backdoored, digits_like

from trustml.cli import main
from trustml.errors import (
    CapabilityError,
    InputShapeError,
    InputValueError,
    LabelError,
    ParameterError,
    ParameterTypeError,
    TrustMLError,
)
from trustml.poisoning import NeuralCleanse

FAST = {"steps": 30, "channels_first": True}


@pytest.fixture(scope="module")
def planted() -> tuple[SoftmaxRegression, Any, Any]:
    clf = backdoored(0)
    x, y = digits_like(clf, 120, 0)
    return clf, x, y


def test_poisoning_planted_backdoor_is_flagged(planted: Any) -> None:
    clf, x, y = planted
    report = NeuralCleanse(clf, seed=0, **FAST).detect(x, y)
    assert report.flagged == [0]
    assert report.anomaly_indices[0] > 2
    assert report.masks.shape == (6, 6, 6) and report.patterns.shape == (6, 1, 6, 6)
    assert report.masks.dtype == np.float32 and report.patterns.dtype == np.float32
    assert (report.masks >= 0).all() and (report.masks <= 1).all()
    assert (report.patterns >= 0).all() and (report.patterns <= 1).all()
    # the reversed trigger of label 0 sits on the planted pixel and works
    mask = report.masks[0]
    assert mask[5, 5] / mask.sum() > 0.8
    np.testing.assert_allclose(report.l1_norms, report.masks.reshape(6, -1).sum(axis=1),
                               rtol=1e-6)
    assert report.found.all() and (report.attack_success >= 0.99).all()
    json.dumps(report.to_dict())
    assert "| 0 |" in report.table()


def test_poisoning_same_seed_same_triggers(planted: Any) -> None:
    clf, x, y = planted
    a = NeuralCleanse(clf, seed=7, **FAST).generate_backdoor(x, y, 2)
    b = NeuralCleanse(clf, seed=7, **FAST).generate_backdoor(x, y, 2)
    c = NeuralCleanse(clf, seed=8, **FAST).generate_backdoor(x, y, 2)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    # a label's trigger does not depend on the other labels scanned
    rep = NeuralCleanse(clf, seed=7, **FAST).detect(x, y, labels=[4, 2])
    np.testing.assert_array_equal(rep.trigger(2)[1], a[1])
    # one-hot target, one-hot labels
    onehot = np.eye(6)[y]
    d = NeuralCleanse(clf, seed=7, **FAST).generate_backdoor(x, onehot, np.eye(6)[2])
    np.testing.assert_array_equal(d[1], a[1])


def test_poisoning_art_methods(planted: Any) -> None:
    clf, x, y = planted
    nc = NeuralCleanse(clf, seed=0, **FAST)
    outliers = nc.outlier_detection(x, y)
    assert [label for label, _, _ in outliers] == [0]
    _, mask, pattern = outliers[0]
    assert mask.shape == (6, 6) and pattern.shape == (1, 6, 6)
    clean, backdoor, labels = nc.backdoor_examples(x, y)
    keep = y != 0
    assert len(clean) == len(backdoor) == len(labels) == keep.sum()
    np.testing.assert_array_equal(clean, x[keep])
    np.testing.assert_array_equal(np.argmax(labels, axis=1), y[keep])
    assert labels.shape == (keep.sum(), 6)
    assert nc.check_backdoor_effective(backdoor, labels)  # the trigger flips them to 0
    assert not nc.check_backdoor_effective(clean, y[keep])
    assert nc.abstain().tolist() == [0.0] * 6
    np.testing.assert_array_equal(nc.predict(x), clf.predict(x))
    np.testing.assert_array_equal(nc.predict_labels(x), y)


def _weights(clf: SoftmaxRegression) -> tuple[Any, Any]:
    return clf.w.copy(), clf.b.copy()


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"steps": 0}, "steps"), ({"steps": 2.5}, "steps"), ({"norm": 3}, "norm"),
     ({"init_cost": -1.0}, "init_cost"), ({"learning_rate": 0.0}, "learning_rate"),
     ({"attack_success_threshold": 1.5}, "attack_success_threshold"),
     ({"patience": 0}, "patience"), ({"cost_multiplier": 1.0}, "cost_multiplier"),
     ({"batch_size": 0}, "batch_size"), ({"early_stop": "yes"}, "early_stop"),
     ({"early_stop_threshold": 0.0}, "early_stop_threshold"),
     ({"channels_first": None}, "channels_first"), ({"layer": 1.5}, "layer")],
)
def test_poisoning_bad_settings(kwargs: dict[str, Any], name: str) -> None:
    clf = backdoored(0)
    settings = {**FAST, **kwargs}
    wrong_type = kwargs in ({"steps": 2.5},)  # an int parameter given a float: a type error
    with pytest.raises(ParameterTypeError if wrong_type else ParameterError, match=name):
        NeuralCleanse(clf, **settings)


def test_poisoning_bad_seed_and_capability() -> None:
    with pytest.raises(ParameterTypeError, match="seed"):
        NeuralCleanse(backdoored(0), seed="0", **FAST)  # type: ignore[arg-type]

    class PredictOnly:
        input_shape = (4,)
        clip_values = None
        preprocessing = None
        nb_classes = 2

        def predict(self, x: Any, batch_size: int = 128) -> Any:
            return np.zeros((len(x), 2), np.float32)

    with pytest.raises(CapabilityError, match="classifier.*loss_gradient"):
        NeuralCleanse(PredictOnly())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        (lambda nc, x, y: nc.detect(x[:, 0], y), InputShapeError, "x_val"),
        (lambda nc, x, y: nc.detect(np.full_like(x, np.nan), y), InputValueError, "x_val"),
        (lambda nc, x, y: nc.detect(x[:0], y[:0]), ParameterError, "x_val"),
        (lambda nc, x, y: nc.detect(x, y[:-1]), LabelError, "y_val"),
        (lambda nc, x, y: nc.detect(x, y + 6), LabelError, "y_val"),
        (lambda nc, x, y: nc.detect(x, y, labels=[1]), LabelError, "labels"),
        (lambda nc, x, y: nc.detect(x, y, labels=[1, 9]), LabelError, "y_target"),
        (lambda nc, x, y: nc.generate_backdoor(x, y, 6), LabelError, "y_target"),
        (lambda nc, x, y: nc.generate_backdoor(x, y, -1), LabelError, "y_target"),
        (lambda nc, x, y: nc.generate_backdoor(x, y, [0, 1]), LabelError, "y_target"),
        (lambda nc, x, y: nc.generate_backdoor(x, y, "0"), LabelError, "y_target"),
        (lambda nc, x, y: nc.generate_backdoor(x[y == 2], y[y == 2], 2), LabelError, "y_val"),
        (lambda nc, x, y: nc.mitigate(x, y, ["prune"]), ParameterError, "mitigation_types"),
        (lambda nc, x, y: nc.mitigate(x, y, []), ParameterError, "mitigation_types"),
        (lambda nc, x, y: nc.mitigate(x, y, ["unlearning"]), CapabilityError, "Fittable"),
        (lambda nc, x, y: nc.mitigate(x, y, ["pruning"]), CapabilityError, "NeuralNetwork"),
        (lambda nc, x, y: nc.mitigate(x, y, ["filtering"], false_positive_rate=1.0),
         ParameterError, "false_positive_rate"),
        (lambda nc, x, y: nc.check_backdoor_effective(x, y[:3]), LabelError, "backdoor_labels"),
        (lambda nc, x, y: nc.predict(x[:, 0]), InputShapeError, "x"),
    ],
)
def test_poisoning_bad_input_typed_and_model_unchanged(
    planted: Any, call: Any, error: type[Exception], name: str
) -> None:
    clf, x, y = planted
    before = _weights(clf)
    x_before = x.copy()
    nc = NeuralCleanse(clf, seed=0, **{**FAST, "steps": 2})
    with pytest.raises(error, match=name) as info:
        call(nc, x, y)
    assert isinstance(info.value, TrustMLError)
    after = _weights(clf)
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])
    np.testing.assert_array_equal(x, x_before)
    assert not nc.mitigated


def test_poisoning_cli_audit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    clf = backdoored(0)
    x, y = digits_like(clf, 120, 0)
    data = tmp_path / "data.npz"
    np.savez(data, x=x, y=y)
    out = tmp_path / "audit"
    status = main(["audit", "poisoning_user_adapter:backdoored_factory", str(data), "--out",
                   str(out), "--steps", "30", "--seed", "0", "--channels-first", "true"])
    assert status == 3
    numbers = json.loads((out / "report.json").read_text())
    assert numbers["flagged"] == [0]
    assert numbers["anomaly_indices"][0] > 2
    assert (out / "triggers.png").stat().st_size > 0
    with np.load(out / "triggers.npz") as saved:
        assert saved["masks"].shape == (6, 6, 6)
    assert "| 0 |" in (out / "report.md").read_text()
    # scanning labels without the backdoor: nothing flagged, exit 0
    status = main(["audit", "poisoning_user_adapter:backdoored_factory", str(data), "--out",
                   str(tmp_path / "b"), "--steps", "5", "--seed", "0", "--channels-first",
                   "true", "--target-labels", "1", "2"])
    assert status == 0
    assert "no label flagged" in capsys.readouterr().out
    # bad input: status 1, message names the parameter
    assert main(["audit", "nomodule:f", str(data), "--out", str(out)]) == 1
    assert "factory" in capsys.readouterr().err
    assert main(["audit", "poisoning_user_adapter:backdoored_factory", str(data), "--out",
                 str(out), "--norm", "3", "--channels-first", "true"]) == 1
    assert "norm" in capsys.readouterr().err
