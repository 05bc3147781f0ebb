"""``trustml monitor`` end to end on digits (PyTorch MLP): table, JSON and figures written, the
JSON's numbers recomputed from the saved scores; bad arguments give exit status 1."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from ood_cli_factory import digits_split

from trustml.cli import main
from trustml.ood.metrics import bench_metrics


def test_monitor_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).parent)
    x_in, y_in, x_out = digits_split()
    np.savez(tmp_path / "id.npz", x=x_in, y=y_in)
    np.savez(tmp_path / "ood.npz", x=x_out[:200])
    out = tmp_path / "out"
    status = main(["monitor", "ood_cli_factory:build", str(tmp_path / "id.npz"),
                   str(tmp_path / "ood.npz"), "--out", str(out),
                   "--detectors", "MLS,Mahalanobis,DKNN", "--nearest", "5"])
    assert status == 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["settings"]["feature_layers_id"] == ["1"]  # the layer before the head
    scores = np.load(out / "scores.npz")
    for name in ("MLS", "Mahalanobis", "DKNN"):
        again = bench_metrics(scores[f"{name}_in"], scores[f"{name}_out"])
        assert report["metrics"][name] == pytest.approx(again)
        assert len(scores[f"{name}_in"]) == report["settings"]["n_id_scored"]
    assert report["metrics"]["DKNN"]["auroc"] > 0.85
    assert "| DKNN |" in (out / "metrics.md").read_text()
    pytest.importorskip("matplotlib")
    assert (out / "roc.png").stat().st_size > 0 and (out / "hist_DKNN.png").is_file()


def test_monitor_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.savez(tmp_path / "id.npz", x=np.zeros((4, 64), np.float32))
    assert main(["monitor", "ood_cli_factory:build", str(tmp_path / "id.npz"),
                 str(tmp_path / "missing.npz"), "--out", str(tmp_path / "o")]) == 1
    assert "ood_data" in capsys.readouterr().err
    assert main(["monitor", "ood_cli_factory:build", str(tmp_path / "id.npz"),
                 str(tmp_path / "id.npz"), "--out", str(tmp_path / "o"),
                 "--detectors", "Nope"]) == 1
    assert "--detectors" in capsys.readouterr().err
