"""Sequential certification: confidence sequences, certify_radius, early stopping, randomized CP."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from certification_models import LinearClassifier, binary_linear
from scipy.stats import beta, binom

from trustml.certification import RandomizedSmoothing, _sequential
from trustml.certification import _confidence_sequences as cs
from trustml.cli import main
from trustml.errors import InputShapeError, ParameterError, ParameterTypeError

HERE = Path(__file__).resolve().parent
SIGMA = 0.5


def _points(distances: Any, spread: float = 0.01) -> np.ndarray:
    """Distinct 2-D inputs at the given signed distances from the boundary x0 = 0 (so their
    noise streams are independent)."""
    d = np.asarray(distances, dtype=np.float64)
    return np.stack([d, np.arange(d.size) * spread], axis=1).astype(np.float32)


def _line() -> LinearClassifier:
    return binary_linear(np.array([1.0, 0.0]), 0.0)


# -- the confidence sequence -----------------------------------------------------------------------


def test_schedule_is_geometric_and_spends_alpha_mostly_at_the_end() -> None:
    schedule = cs.CheckpointSchedule.geometric(100_000, 0.001)
    assert schedule.checkpoints[:4] == (100, 200, 400, 800)
    assert schedule.checkpoints[-1] == 100_000 and len(schedule.checkpoints) == 11
    assert sum(schedule.block_sizes()) == 100_000
    assert sum(schedule.levels) == pytest.approx(0.001) and schedule.alpha == pytest.approx(0.001)
    assert schedule.levels[-1] == pytest.approx(cs.FINAL_SHARE * 0.001)
    assert len(set(schedule.levels[:-1])) == 1
    assert cs.CheckpointSchedule.geometric(50, 0.1) == cs.CheckpointSchedule((50,), (0.1,))
    finer = cs.CheckpointSchedule.geometric(1000, 0.01, growth=1.5, final_share=0.5)
    assert finer.checkpoints == (100, 150, 225, 338, 506, 759, 1000)
    assert finer.levels[-1] == pytest.approx(0.005) and finer.alpha == pytest.approx(0.01)


def _miss_rates(p: float, levels: Any, reps: int) -> float:
    """Monte Carlo P[some checkpoint's lower bound exceeds p] over Bernoulli(p) sequences."""
    schedule = cs.CheckpointSchedule.geometric(3200, 0.05)
    rng = np.random.default_rng(0)
    successes = np.zeros(reps, dtype=np.int64)
    missed = np.zeros(reps, dtype=bool)
    for t, size, level in zip(schedule.checkpoints, schedule.block_sizes(), levels):
        successes += rng.binomial(size, p, size=reps)
        missed |= cs.lower_bound(successes, t, level, "clopper-pearson") > p
    return float(missed.mean())


def test_confidence_sequence_is_time_uniform_and_the_union_bound_is_needed() -> None:
    alpha, reps, p = 0.05, 20_000, 0.8
    schedule = cs.CheckpointSchedule.geometric(3200, alpha)
    slack = 3 * np.sqrt(alpha * (1 - alpha) / reps)
    assert _miss_rates(p, schedule.levels, reps) <= alpha + slack
    # the same bounds at level alpha at every checkpoint are not a confidence sequence
    assert _miss_rates(p, [alpha] * len(schedule.levels), reps) > alpha + slack


def test_upper_bound_is_clopper_pearson() -> None:
    k = np.array([0, 3, 10, 10])
    n = np.array([10, 10, 10, 20])
    expected = np.where(k == n, 1.0, beta.ppf(0.99, k + 1, np.maximum(n - k, 1)))
    np.testing.assert_allclose(cs.upper_bound(k, n, 0.01), expected, rtol=1e-12)


# -- the randomized Clopper-Pearson bound ----------------------------------------------------------


def test_randomized_bound_closed_forms_and_dominates_clopper_pearson() -> None:
    rng = np.random.default_rng(1)
    n = rng.integers(1, 500, size=300)
    k = rng.integers(0, n + 1)
    u = rng.random(300)
    cp = cs.lower_bound(k, n, 0.01, "clopper-pearson")
    rcp = cs.randomized_lower_confidence_bound(k, n, 0.01, u)
    assert (rcp >= cp - 1e-15).all() and (rcp < 1).all()
    # u = 1 is Clopper-Pearson
    np.testing.assert_allclose(cs.randomized_lower_confidence_bound(k, n, 0.01, 1.0), cp,
                               atol=1e-12)
    # k = n: u * p**n = alpha, so p = (alpha / u) ** (1 / n) when u >= alpha
    np.testing.assert_allclose(
        cs.randomized_lower_confidence_bound([50], [50], 0.01, [0.4]), [(0.01 / 0.4) ** (1 / 50)],
        rtol=1e-12,
    )


def test_randomized_bound_has_exact_coverage() -> None:
    # P[p < L] = alpha exactly with U uniform; Clopper-Pearson's is well below alpha at small n
    n, p, alpha, reps = 20, 0.7, 0.1, 40_000
    rng = np.random.default_rng(2)
    k = rng.binomial(n, p, size=reps)
    u = rng.random(reps)
    miss = float((cs.randomized_lower_confidence_bound(k, n, alpha, u) > p).mean())
    tolerance = 4 * np.sqrt(alpha * (1 - alpha) / reps)
    assert abs(miss - alpha) <= tolerance
    cp_miss = float((cs.lower_bound(k, n, alpha, "clopper-pearson") > p).mean())
    exact_cp_miss = float(binom.sf(np.searchsorted(
        cs.lower_bound(np.arange(n + 1), n, alpha, "clopper-pearson"), p, side="right") - 1, n, p))
    assert cp_miss < alpha - tolerance and cp_miss == pytest.approx(exact_cp_miss, abs=tolerance)


# -- certify_radius: soundness and efficiency ------------------------------------------------------


def _false_robust(alpha: float, inputs: int, seed: int) -> tuple[int, np.ndarray]:
    # the smoothed radius of a linear classifier is the distance to its boundary: every input
    # sits just inside the radius asked (distance 0.99 r), so "robust" is always false
    r = 0.5
    smoothed = RandomizedSmoothing(_line(), SIGMA, seed=0)
    x = _points(np.full(inputs, 0.99 * r))
    labels, robust, draws = smoothed.certify_radius(x, r, alpha=alpha, n_max=10_000,
                                                    batch_size=10_000, seed=seed)
    assert (labels == 1).all()
    return int(robust.sum()), draws


def test_certify_radius_is_sound_under_optional_stopping() -> None:
    alpha, inputs = 0.05, 400
    false_robust, draws = _false_robust(alpha, inputs, seed=1)
    assert false_robust <= binom.ppf(0.999, inputs, alpha)
    assert draws.min() < draws.max()  # inputs did stop at different times


def test_the_soundness_test_catches_a_rule_without_the_union_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the same experiment with the full alpha at every checkpoint (no union bound) is unsound,
    # and the soundness test above would see it
    alpha, inputs = 0.05, 400

    class Naive(cs.CheckpointSchedule):
        @classmethod
        def geometric(cls, n_max: int, alpha: float, **kwargs: Any) -> cs.CheckpointSchedule:
            points = cs.CheckpointSchedule.geometric(n_max, alpha).checkpoints
            return cs.CheckpointSchedule(points, (alpha,) * len(points))

    monkeypatch.setattr(_sequential, "CheckpointSchedule", Naive)
    false_robust, _ = _false_robust(alpha, inputs, seed=1)
    assert false_robust > binom.ppf(0.999, inputs, alpha)


def test_certify_radius_is_efficient_on_clear_cases() -> None:
    n_max = 100_000
    smoothed = RandomizedSmoothing(_line(), SIGMA, alpha=0.001, seed=0)
    for r in (0.1, 0.25, 0.5):
        d = np.linspace(2.8 * r, 6 * r, 20)
        for signed in (d, -d):
            labels, robust, draws = smoothed.certify_radius(_points(signed), r, n_max=n_max,
                                                            seed=2)
            assert robust.all() and (labels == (signed > 0)).all()
            assert draws.mean() <= n_max / 10
        # and clearly outside the radius (distance <= r / 2.8): decided "not robust" early
        labels, robust, draws = smoothed.certify_radius(_points(d / 2.8**2), r, n_max=n_max,
                                                        seed=3)
        assert not robust.any() and draws.mean() <= n_max / 10


def test_futility_gives_up_hopeless_radii_early_without_losing_clear_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # inputs at 0.7 r are not robust at r, yet all-cA remaining draws could still lift the
    # bound (the deterministic rule keeps drawing); futility stops them. Inputs at 1.4 r stay
    # robust with or without it.
    smoothed = RandomizedSmoothing(_line(), SIGMA, alpha=0.001, seed=0)
    r, n_max = 0.25, 50_000
    x = _points(np.concatenate([np.full(10, 0.7 * r), np.full(10, 1.4 * r)]))
    _, robust, draws = smoothed.certify_radius(x, r, n_max=n_max, seed=13)
    monkeypatch.setattr(_sequential, "FUTILITY_LEVEL", 1e-300)
    _, robust_off, draws_off = smoothed.certify_radius(x, r, n_max=n_max, seed=13)
    assert not robust[:10].any() and robust[10:].all() and robust_off[10:].all()
    assert draws[:10].mean() < draws_off[:10].mean() / 4
    # the ceiling is the final bound at the optimistic rate, at least the current estimate's
    ceiling = _sequential._futility_ceiling(np.array([900]), np.array([1000]), 10_000, 0.001,
                                            "clopper-pearson", None)
    rate = cs.upper_bound(900, 1000, _sequential.FUTILITY_LEVEL)
    hoped = 900 + np.ceil(rate * 9000)
    assert ceiling[0] == pytest.approx(beta.ppf(0.001, hoped, 10_000 - hoped + 1), rel=1e-12)


def test_certify_radius_grid_is_monotone_and_agrees_with_the_closed_form() -> None:
    smoothed = RandomizedSmoothing(_line(), SIGMA, alpha=0.001, seed=0)
    d = np.array([0.05, 0.2, 0.6, 1.2, 2.5, -0.7])
    grid = np.array([0.0, 0.1, 0.25, 0.5, 1.0])
    labels, robust, draws = smoothed.certify_radius(_points(d), grid, n_max=20_000, seed=4)
    assert robust.shape == (6, 5) and robust.dtype == np.bool_ and draws.dtype == np.int64
    assert (np.diff(robust.astype(int), axis=1) <= 0).all()
    # never robust beyond the true radius |d|; robust well inside it
    assert not (robust & (grid[None, :] >= np.abs(d)[:, None])).any()
    assert robust[np.abs(d)[:, None] >= 2.8 * grid[None, :]].all()
    assert (labels == np.where(d > 0, 1, 0)).all()
    # a scalar radius gives (N,)
    _, one, _ = smoothed.certify_radius(_points(d), 0.25, n_max=20_000, seed=4)
    assert one.shape == (6,)


def test_draws_count_every_model_evaluation() -> None:
    model = _line()
    smoothed = RandomizedSmoothing(model, SIGMA, seed=0)
    _, _, draws = smoothed.certify_radius(_points([0.3, 0.9, 2.0, 0.01]), [0.25, 0.5], n0=50,
                                          n_max=5000, batch_size=700)
    assert sum(model.calls) == draws.sum()
    assert max(model.calls) <= 700
    assert (draws >= 150).all() and (draws <= 5050).all()


def test_certify_radius_ignores_batch_size_order_and_neighbours() -> None:
    d = np.array([0.3, -0.45, 0.9, 0.26, 1.5, 0.0])
    x = _points(d)
    grid = [0.1, 0.25, 0.5]
    smoothed = RandomizedSmoothing(_line(), SIGMA, alpha=0.01, seed=5)
    ref = smoothed.certify_radius(x, grid, n_max=20_000, batch_size=1000)
    small = smoothed.certify_radius(x, grid, n_max=20_000, batch_size=37)
    order = np.array([4, 2, 0, 5, 1, 3])
    perm = smoothed.certify_radius(x[order], grid, n_max=20_000, batch_size=999)
    alone = smoothed.certify_radius(x[2:3], grid, n_max=20_000, batch_size=999)
    for a, b, c in zip(ref, small, perm):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a[order], c)
    for a, c in zip(ref, alone):
        np.testing.assert_array_equal(a[2:3], c)
    other = smoothed.certify_radius(x, grid, n_max=20_000, seed=6)
    assert not np.array_equal(ref[2], other[2])  # the seed matters


def test_certify_radius_randomized_bound_is_sound_and_not_weaker() -> None:
    smoothed = RandomizedSmoothing(_line(), SIGMA, seed=0)
    x = _points(np.full(200, 0.99 * 0.5))
    _, robust, _ = smoothed.certify_radius(x, 0.5, alpha=0.05, n_max=5000, seed=7,
                                           bound="randomized-clopper-pearson")
    assert robust.sum() <= binom.ppf(0.999, 200, 0.05)
    clear = _points(np.linspace(0.3, 1.5, 10))
    _, cp, cp_draws = smoothed.certify_radius(clear, 0.1, n_max=20_000, seed=8)
    _, rcp, rcp_draws = smoothed.certify_radius(clear, 0.1, n_max=20_000, seed=8,
                                                bound="randomized-clopper-pearson")
    assert (rcp >= cp).all() and (rcp_draws <= cp_draws).all()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"radius": -0.1}, ParameterError, "radius"),
        ({"radius": float("nan")}, ParameterError, "radius"),
        ({"radius": [[0.1, 0.2]]}, ParameterError, "radius"),
        ({"radius": []}, ParameterError, "radius"),
        ({"radius": "0.5"}, ParameterTypeError, "radius"),
        ({"radius": True}, ParameterTypeError, "radius"),
        ({"n_max": 0}, ParameterError, "n_max"),
        ({"n0": 1.5}, ParameterTypeError, "n0"),
        ({"alpha": 0.7}, ParameterError, "alpha"),
        ({"batch_size": 0}, ParameterError, "batch_size"),
        ({"bound": "wilson"}, ParameterError, "bound"),
        ({"bound": 3}, ParameterTypeError, "bound"),
        ({"progress": "yes"}, ParameterTypeError, "progress"),
        ({"seed": "0"}, ParameterTypeError, "seed"),
        ({"x": np.zeros((2, 3))}, InputShapeError, "x"),
    ],
)
def test_certify_radius_rejects_bad_arguments_before_drawing(
    kwargs: dict[str, Any], error: type, match: str
) -> None:
    model = _line()
    smoothed = RandomizedSmoothing(model, SIGMA)
    call: dict[str, Any] = {"x": _points([0.5]), "radius": 0.25, **kwargs}
    with pytest.raises(error, match=match):
        smoothed.certify_radius(call.pop("x"), call.pop("radius"), **call)
    assert model.calls == []


def test_empty_batch() -> None:
    smoothed = RandomizedSmoothing(_line(), SIGMA)
    labels, robust, draws = smoothed.certify_radius(np.zeros((0, 2)), [0.1, 0.2])
    assert labels.shape == (0,) and robust.shape == (0, 2) and draws.shape == (0,)


# -- CERTIFY with early stopping and the randomized bound ------------------------------------------


def _three_class() -> LinearClassifier:
    # three classes whose regions meet at the origin; near it the top class has pA about 1/3
    angles = np.array([0.0, 2 * np.pi / 3, 4 * np.pi / 3])
    return LinearClassifier(np.stack([np.cos(angles), np.sin(angles)], axis=1), np.zeros(3))


def test_certify_early_stop_returns_certify_on_the_same_draws_with_fewer_calls() -> None:
    x = np.array([[0.0, 0.0], [0.01, -0.01], [1.5, 0.0], [0.4, 0.3], [-0.6, 0.9]],
                 dtype=np.float32)
    full_model, stop_model = _three_class(), _three_class()
    kwargs: dict[str, Any] = {"n0": 100, "alpha": 0.001, "batch_size": 1000, "bound":
                              "clopper-pearson", "progress": False}
    full = _sequential.certify_in_blocks(
        RandomizedSmoothing(full_model, SIGMA)._smoothing, x, 10_000,
        rng=np.random.default_rng(9), early_stop=False, **kwargs)
    stopped = RandomizedSmoothing(stop_model, SIGMA).certify(
        x, 10_000, n0=100, alpha=0.001, batch_size=1000, seed=9, early_stop=True)
    np.testing.assert_array_equal(full[0], stopped[0])
    np.testing.assert_array_equal(full[1], stopped[1])
    assert (stopped[0][:2] == -1).all() and (stopped[0][2:] >= 0).all()
    assert sum(stop_model.calls) < sum(full_model.calls) - 2 * 2000


def test_certify_randomized_bound_gives_radii_at_least_clopper_pearsons() -> None:
    smoothed = RandomizedSmoothing(_line(), SIGMA, alpha=0.001)
    x = _points(np.linspace(0.05, 1.5, 12))
    cp_labels, cp_radii = smoothed.certify(x, 5000, seed=10, early_stop=True)
    labels, radii = smoothed.certify(x, 5000, seed=10, early_stop=True,
                                     bound="randomized-clopper-pearson")
    certified = cp_labels >= 0
    assert (labels[certified] == cp_labels[certified]).all()
    assert (radii[certified] >= cp_radii[certified]).all()
    assert (radii <= np.abs(x[:, 0]) + 0.1).all()
    # the one-block default path is unchanged by the new options' existence
    plain = smoothed.certify(x, 5000, seed=10)
    again = smoothed.certify(x, 5000, seed=10, early_stop=False, bound="clopper-pearson")
    np.testing.assert_array_equal(plain[1], again[1])


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"early_stop": 1}, ParameterTypeError), ({"bound": "exact"}, ParameterError)],
)
def test_certify_rejects_bad_options(kwargs: dict[str, Any], error: type) -> None:
    model = _line()
    with pytest.raises(error):
        RandomizedSmoothing(model, SIGMA).certify(_points([0.5]), 100, **kwargs)
    assert model.calls == []


# -- the device fast path --------------------------------------------------------------------------


def test_certify_radius_through_the_torch_fast_path() -> None:
    torch = pytest.importorskip("torch")
    from trustml.adapters.torch import PyTorchClassifier

    torch.set_num_threads(1)
    net = torch.nn.Linear(2, 2).double()
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0]], dtype=torch.float64))
        net.bias.zero_()
    model = PyTorchClassifier(net, torch.nn.CrossEntropyLoss(), (2,), 2, device="cpu")
    smoothed = RandomizedSmoothing(model, SIGMA, alpha=0.001, seed=11)
    d = np.array([0.3, 0.9, -1.4, 0.05])
    ref = smoothed.certify_radius(_points(d), [0.1, 0.25], n_max=20_000, batch_size=4000)
    other = smoothed.certify_radius(_points(d)[::-1], [0.1, 0.25], n_max=20_000, batch_size=4000)
    for a, b in zip(ref, other):
        np.testing.assert_array_equal(a, b[::-1])
    assert ref[1][2].all() and not ref[1][3].any()


# -- CLI -------------------------------------------------------------------------------------------


FACTORY = '''
import numpy as np
import sys
sys.path.insert(0, {here!r})
from certification_models import binary_linear

def make():
    return binary_linear(np.array([1.0, 0.0]), 0.0)
'''


def test_cli_sequential_writes_decisions_and_draws(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "seq_factory.py").write_text(FACTORY.format(here=str(HERE)))
    x = _points([1.5, -0.3, 0.05, 2.0])
    y = np.array([1, 0, 1, 0])
    np.savez(tmp_path / "data.npz", x=x, y=y)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "seq_factory", raising=False)
    args = ["certify", "seq_factory:make", "data.npz", "--sigma", "0.5", "--n", "20000",
            "--alpha", "0.001", "--seed", "12", "--out", "d.tsv"]
    assert main([*args, "--sequential", "--radius", "0.25,0.5"]) == 0
    lines = (tmp_path / "d.tsv").read_text().splitlines()
    assert lines[0].split("\t") == ["idx", "label", "predict", "draws", "robust@0.25",
                                    "robust@0.5", "correct"]
    smoothed = RandomizedSmoothing(binary_linear(np.array([1.0, 0.0]), 0.0), 0.5, alpha=0.001)
    labels, robust, draws = smoothed.certify_radius(x, [0.25, 0.5], n_max=20_000, seed=12)
    rows = [line.split("\t") for line in lines[1:]]
    assert [int(r[2]) for r in rows] == labels.tolist()
    assert [int(r[3]) for r in rows] == draws.tolist()
    assert [[int(v) for v in r[4:6]] for r in rows] == robust.astype(int).tolist()
    out = capsys.readouterr().out
    table = out[out.index("radius\tcertified_accuracy") :].splitlines()[1:3]
    expected = (robust & (labels == y)[:, None]).mean(axis=0)
    assert [float(t.split("\t")[1]) for t in table] == pytest.approx(expected, abs=1e-4)
    (tmp_path / "d.tsv").unlink()
    assert main([*args, "--sequential"]) == 1
    assert "--radius" in capsys.readouterr().err
    assert main([*args, "--sequential", "--radius", "-1"]) == 1
    assert main([*args, "--radius", "0.5"]) == 1
    assert not (tmp_path / "d.tsv").exists()
