"""trustml explain, the metrics and the figure."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from trustml.cli import main
from trustml.counterfactual.metrics import proximity, sparsity, summary, validity
from trustml.errors import InputShapeError, MissingDependencyError, ParameterError

HERE = Path(__file__).resolve().parent

FACTORY = '''
import sys
sys.path.insert(0, {here!r})
from cf_models import NumpyMLP

def make():
    return NumpyMLP(64, 8, 3, seed=9, clip_values=(0.0, 16.0), scale=4.0)
'''


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "cf_factory.py").write_text(FACTORY.format(here=str(HERE)))
    x = np.random.default_rng(0).uniform(0, 16, size=(6, 64)).astype(np.float32)
    np.savez(tmp_path / "data.npz", x=x, y=np.zeros(6, dtype=int))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "cf_factory", raising=False)
    return tmp_path


def test_cli_explain_writes_results_table_and_figure(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    status = main(["explain", "cf_factory:make", "data.npz", "--target", "next", "--out", "res",
                   "--C", "0.1", "--lr", "0.5", "--max-iter", "60", "--plot",
                   "--plot-rows", "3", "--whitelist", ",".join(map(str, range(0, 64, 2)))])
    assert status == 0
    with np.load(workdir / "res" / "counterfactuals.npz") as data:
        x, x_cf, found = data["x"], data["x_cf"], data["found"]
        np.testing.assert_array_equal(x_cf[:, 1::2], x[:, 1::2])
        assert found.mean() >= 0.5
        assert (x_cf >= 0).all() and (x_cf <= 16).all()
    table = (workdir / "res" / "metrics.md").read_text()
    assert "validity" in table and table.count("\n") == 3
    assert (workdir / "res" / "counterfactuals.png").stat().st_size > 1000
    assert "explained 6 inputs" in capsys.readouterr().out


def test_cli_errors_exit_with_status_one(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["explain", "cf_factory:make", "data.npz", "--out", "res"]
    assert main([*base, "--target", "seven"]) == 1
    assert "--target" in capsys.readouterr().err
    assert main([*base, "--target", "5"]) == 1
    assert "y_target" in capsys.readouterr().err
    assert main(["explain", "nope:make", "data.npz", "--out", "r", "--target", "0"]) == 1
    assert "factory" in capsys.readouterr().err


def test_metrics() -> None:
    x = np.array([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]])
    x_cf = np.array([[0.0, 4.0, -2.0], [1.0, 1.0 + 1e-9, 1.0]])
    np.testing.assert_allclose(proximity(x, x_cf, "l1"), [7.0, 1e-9])
    np.testing.assert_allclose(proximity(x, x_cf, "l2"), [5.0, 1e-9])
    np.testing.assert_allclose(proximity(x, x_cf, "linf"), [4.0, 1e-9])
    np.testing.assert_array_equal(sparsity(x, x_cf), [2, 0])  # 1e-9 is below the threshold
    np.testing.assert_array_equal(sparsity(x, x_cf, threshold=0.0), [2, 1])
    with pytest.raises(InputShapeError, match="x_cf"):
        proximity(x, x_cf[:1])
    with pytest.raises(ParameterError, match="norm"):
        proximity(x, x_cf, "l0")

    from cf_models import NumpyMLP

    model = NumpyMLP(3, 4, 3, seed=0)
    pred = np.argmax(model.predict(x_cf), axis=1)
    np.testing.assert_array_equal(validity(model, x_cf, pred), [True, True])
    stats = summary(model, x, x_cf, (pred + 1) % 3)
    assert stats["validity"] == 0.0 and np.isnan(stats["l1"])


def test_plot_without_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    from trustml.counterfactual.plots import plot_counterfactuals

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "trustml\[plots\]"'):
        plot_counterfactuals(np.zeros((1, 4)), np.ones((1, 4)))
