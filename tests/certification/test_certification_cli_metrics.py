"""certified_accuracy, the curve, the `trustml certify` command, and import lightness."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from trustml.certification import RandomizedSmoothing, certified_accuracy, plot_certified_accuracy
from trustml.cli import main
from trustml.errors import InputShapeError, InputValueError, LabelError, MissingDependencyError

HERE = Path(__file__).parent


# -- certified_accuracy ----------------------------------------------------------------------------


def test_certified_accuracy_counts_correct_and_large_enough() -> None:
    labels = np.array([0, 1, -1, 2, 1])
    radii = np.array([0.3, 0.8, 0.0, 0.5, 0.1])
    y = np.array([0, 1, 1, 0, 1])
    acc = certified_accuracy(labels, radii, y, [0.0, 0.1, 0.3, 0.5, 0.8, 1.0])
    # correct: idx 0 (0.3), 1 (0.8), 4 (0.1); the abstention and the wrong label never count
    np.testing.assert_allclose(acc, [3 / 5, 3 / 5, 2 / 5, 1 / 5, 1 / 5, 0.0])
    assert acc.dtype == np.float64
    assert np.isnan(certified_accuracy([], [], [], [0.0, 1.0])).all()


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (([0, 1], [0.1], [0, 1], [0.0]), InputShapeError),
        (([0, 1], [0.1, -0.2], [0, 1], [0.0]), InputValueError),
        (([0, 1], [0.1, 0.2], [0, 1], [[0.0]]), InputShapeError),
        (([0.5, 1], [0.1, 0.2], [0, 1], [0.0]), LabelError),
    ],
)
def test_certified_accuracy_bad_inputs(args: tuple, error: type) -> None:
    with pytest.raises(error):
        certified_accuracy(*args)


# -- plot ------------------------------------------------------------------------------------------


def test_plot_writes_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    grid = np.linspace(0, 1, 11)
    fig = plot_certified_accuracy({"sigma = 0.25": (grid, 1 - grid)}, tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert fig.axes[0].get_lines()[0].get_ydata().tolist() == (1 - grid).tolist()
    with pytest.raises(InputShapeError):
        plot_certified_accuracy({"bad": (grid, grid[:3])})


def test_plot_without_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "trustml\[plots\]"'):
        plot_certified_accuracy({"a": ([0.0], [1.0])})


# -- CLI -------------------------------------------------------------------------------------------


FACTORY = '''
import numpy as np
import sys
sys.path.insert(0, {here!r})
from certification_models import binary_linear

def make():
    return binary_linear(np.array([1.0, 0.0, 0.0]), 0.0)
'''


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "cert_factory.py").write_text(FACTORY.format(here=str(HERE)))
    x = np.array([[1.0, 0, 0], [-0.5, 0, 0], [0.0, 2, 0], [2.0, 1, 1], [-1.5, 0, 3]])
    y = np.array([1, 0, 1, 0, 0])  # the third is on the boundary, the fourth mislabelled
    np.savez(tmp_path / "data.npz", x=x, y=y)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "cert_factory", raising=False)
    return tmp_path


def test_cli_certify_writes_cohens_columns(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main([
        "certify", "cert_factory:make", "data.npz", "--sigma", "0.5", "--n0", "20", "--n", "500",
        "--alpha", "0.01", "--batch", "64", "--seed", "3", "--out", "results.tsv",
        "--radii", "0,0.5,1", "--plot", "curve.png",
    ])
    assert status == 0
    lines = (workdir / "results.tsv").read_text().splitlines()
    assert lines[0].split("\t") == ["idx", "label", "predict", "radius", "correct", "time"]
    rows = [line.split("\t") for line in lines[1:]]
    assert [int(r[0]) for r in rows] == [0, 1, 2, 3, 4]
    # the same certification through the API: one call over the inputs with the same seed
    sys.path.insert(0, str(HERE))
    from certification_models import binary_linear

    smoothed = RandomizedSmoothing(binary_linear(np.array([1.0, 0.0, 0.0]), 0.0), 0.5,
                                   alpha=0.01, n0=20)
    with np.load(workdir / "data.npz") as data:
        x, y = data["x"], data["y"]
    all_labels, all_radii = smoothed.certify(x, 500, batch_size=64, seed=3)
    expected = [(all_labels[i : i + 1], all_radii[i : i + 1]) for i in range(5)]
    for row, (lab, rad), truth in zip(rows, expected, y):
        assert int(row[1]) == truth and int(row[2]) == lab[0]
        assert float(row[3]) == pytest.approx(rad[0], abs=5e-4)
        assert int(row[4]) == int(lab[0] == truth)
    labels = np.array([e[0][0] for e in expected])
    radii = np.array([e[1][0] for e in expected])
    out = capsys.readouterr().out
    table = out[out.index("radius\tcertified_accuracy") :].splitlines()[1:4]
    acc = certified_accuracy(labels, radii, y, [0, 0.5, 1])
    assert [float(t.split("\t")[1]) for t in table] == pytest.approx(acc, abs=1e-4)
    assert (workdir / "curve.png").exists()


def test_cli_errors_exit_with_status_one(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["certify", "cert_factory:make", "data.npz", "--sigma", "0.5", "--out", "r.tsv"]
    missing = ["certify", "nosuchmodule:make", "data.npz", "--sigma", "0.5", "--out", "r.tsv"]
    assert main(missing) == 1
    assert "factory" in capsys.readouterr().err
    assert main([*base[:3], "--sigma", "-1", "--out", "r.tsv"]) == 1
    assert "sigma" in capsys.readouterr().err
    assert main([*base, "--n", "0"]) == 1
    assert "n: expected" in capsys.readouterr().err
    assert not (workdir / "r.tsv").exists()  # nothing written before the checks
    np.savez(workdir / "bad.npz", inputs=np.zeros((2, 3)))
    assert main([base[0], base[1], "bad.npz", *base[3:]]) == 1
    assert "'x' and 'y'" in capsys.readouterr().err


# -- import lightness ------------------------------------------------------------------------------


def test_importing_certification_stays_light() -> None:
    code = textwrap.dedent(
        """
        import sys
        import trustml.certification
        heavy = [m for m in ("scipy", "matplotlib", "tqdm", "torch", "tensorflow", "sklearn")
                 if m in sys.modules]
        print(heavy)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_skip_and_max(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["certify", "cert_factory:make", "data.npz", "--sigma", "0.5", "--n0", "10", "--n",
            "100", "--seed", "0", "--out", "r.tsv", "--skip", "2", "--max", "2", "--progress"]
    assert main(args) == 0
    rows = (workdir / "r.tsv").read_text().splitlines()[1:]
    assert [int(r.split("\t")[0]) for r in rows] == [0, 2]
    assert "certified 2 inputs" in capsys.readouterr().out
