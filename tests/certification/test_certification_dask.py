"""Sharded certification over a real Dask LocalCluster (2 worker processes, 1 thread each).

Every sharded result is compared with the in-process result of the same call: the labels and
radii must be bit-identical whatever the workers, the shard size and the order of completion.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from trustml.certification import RandomizedSmoothing
from trustml.certification._sampling import count_seeded
from trustml.certification._sharding import DRAW_BLOCK, count_blocks
from trustml.cli import main
from trustml.errors import (
    ClusterError,
    MissingDependencyError,
    ParameterError,
    ParameterTypeError,
)
from trustml.rng import block_seed

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
        silence_logs=40,
    ) as cluster, distributed.Client(cluster) as c:
        c.wait_for_workers(2)
        yield c


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    sklearn = pytest.importorskip("sklearn.datasets")
    data = sklearn.load_digits()
    return (data.data / 16.0).astype(np.float32), data.target.astype(np.int64)


@pytest.fixture(scope="module")
def mlp(digits: tuple[np.ndarray, np.ndarray]) -> Any:
    pytest.importorskip("sklearn")
    from sklearn.neural_network import MLPClassifier

    from trustml.adapters.sklearn import wrap

    x, y = digits
    model = MLPClassifier((32,), max_iter=300, random_state=0).fit(x[:1000], y[:1000])
    return wrap(model, clip_values=(0.0, 1.0))


@pytest.fixture(scope="module")
def cnn(digits: tuple[np.ndarray, np.ndarray]) -> Any:
    torch = pytest.importorskip("torch")
    from trustml.adapters.torch import PyTorchClassifier

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(8 * 4 * 4, 10),
    )
    classifier = PyTorchClassifier(net, torch.nn.CrossEntropyLoss(), (1, 8, 8), 10,
                                   clip_values=(0.0, 1.0), device="cpu")
    x, y = digits
    classifier.fit(x[:1000].reshape(-1, 1, 8, 8), y[:1000], batch_size=64, nb_epochs=4, seed=0)
    return classifier


def _same(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> None:
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])  # bit-identical radii, not approximately


def _one_worker(client: Any) -> Any:
    first = min(client.scheduler_info()["workers"])
    return client.get_executor(workers=[first], allow_other_workers=False)


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_identical_to_in_process_for_workers_shards_and_batches(
    model: str, client: Any, digits: tuple[np.ndarray, np.ndarray], request: pytest.FixtureRequest
) -> None:
    classifier = request.getfixturevalue(model)
    x = digits[0][1000:1012].reshape(-1, *classifier.input_shape)
    smoothed = RandomizedSmoothing(classifier, 0.25, n0=30, alpha=0.01)
    executors = {"1 worker": _one_worker(client), "2 workers": client.get_executor()}
    certified = 0
    for batch_size in (64, 500):  # n <= batch and n > batch: both counting loops
        reference = smoothed.certify(x, 300, batch_size=batch_size, seed=7)
        predicted = smoothed.predict(x, n=200, batch_size=batch_size, seed=8)
        certified += int((reference[0] >= 0).sum())
        for executor in executors.values():
            for shard_size in (2, 5):
                got = smoothed.certify(x, 300, batch_size=batch_size, seed=7, executor=executor,
                                       shard_size=shard_size)
                _same(got, reference)
        got_predict = smoothed.predict(x, n=200, batch_size=batch_size, seed=8,
                                       executor=executors["2 workers"], shard_size=3)
        np.testing.assert_array_equal(got_predict, predicted)
    assert certified > 16  # the models are accurate: the comparison is not between abstentions


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_certify_radius_over_workers_identical_to_in_process(
    model: str, client: Any, digits: tuple[np.ndarray, np.ndarray], request: pytest.FixtureRequest
) -> None:
    classifier = request.getfixturevalue(model)
    x = digits[0][1000:1012].reshape(-1, *classifier.input_shape)
    smoothed = RandomizedSmoothing(classifier, 0.25, n0=30, alpha=0.01, batch_size=200)
    radii = [0.0, 0.25, 0.5]
    labels, robust, draws = smoothed.certify_radius(x, radii, n_max=3_000, seed=7)
    assert robust[:, 0].sum() > 8 and len(set(draws.tolist())) > 1  # real early stops
    executors = [_one_worker(client), client.get_executor(), ThreadPoolExecutor(2)]
    for executor, shard_size in zip(executors, (None, 5, 2)):
        got = smoothed.certify_radius(x, radii, n_max=3_000, seed=7, executor=executor,
                                      shard_size=shard_size)
        np.testing.assert_array_equal(got[0], labels)
        np.testing.assert_array_equal(got[1], robust)
        np.testing.assert_array_equal(got[2], draws)
    executors[2].shutdown()
    with pytest.raises(ParameterError, match="executor"):
        smoothed.certify_radius(x, radii, n_max=300, executor=executors[2])
    with pytest.raises(ParameterTypeError, match="shard_size"):
        smoothed.certify_radius(x, radii, n_max=300, executor=client.get_executor(),
                                shard_size=2.5)


def test_one_input_split_in_draw_blocks_across_workers(client: Any, mlp: Any,
                                                       digits: tuple[np.ndarray, np.ndarray]
                                                       ) -> None:
    x = digits[0][1100:1101]
    n = 2 * DRAW_BLOCK + 1  # three blocks: 100000, 100000, 1
    smoothed = RandomizedSmoothing(mlp, 0.5, n0=20, batch_size=20_000)
    reference = smoothed.certify(x, n, seed=3)
    with distributed.get_task_stream(client) as stream:
        got = smoothed.certify(x, n, seed=3, executor=client.get_executor())
    _same(got, reference)
    tasks = [t for t in stream.data if "_count_task" in str(t.get("key", ""))]
    assert len(tasks) == 3  # one task per block of the single input, each free to run anywhere
    # (which worker runs which block is the scheduler's choice and varies with load; the result
    # above is identical whatever it chose, which is the property that matters)
    assert reference[0][0] >= 0  # certified, so the radius compared is a real one


def test_blocks_sum_block_seeded_counts() -> None:
    """In process: n > DRAW_BLOCK is the sum of the blocks, each with block_seed; n <= DRAW_BLOCK
    is exactly the unsplit noise (block 0 keeps the seed)."""
    sys.path.insert(0, str(HERE))
    from certification_models import binary_linear

    model = binary_linear(np.array([1.0, -1.0]), 0.1)
    x = np.array([[0.05, 0.0], [0.3, 0.1]], dtype=np.float32)
    n = DRAW_BLOCK + 7
    total = count_blocks(model, x, 1.0, n, batch_size=50_000, seed=11)
    parts = count_seeded(model, x, 1.0, DRAW_BLOCK, batch_size=50_000, seed=11) + count_seeded(
        model, x, 1.0, 7, batch_size=50_000, seed=block_seed(11, 1)
    )
    np.testing.assert_array_equal(total, parts)
    assert (total.sum(axis=1) == n).all()
    small = count_blocks(model, x, 1.0, 999, batch_size=100, seed=11)
    np.testing.assert_array_equal(small, count_seeded(model, x, 1.0, 999, batch_size=100, seed=11))


def test_worker_killed_mid_run_gives_the_same_result(
    client: Any, mlp: Any, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    x = digits[0][1200:1216]
    smoothed = RandomizedSmoothing(mlp, 0.25, n0=50, batch_size=1000)
    reference = smoothed.certify(x, 10_000, seed=5)
    result: dict[str, Any] = {}

    def certify() -> None:
        try:
            result["got"] = smoothed.certify(x, 10_000, seed=5, executor=client.get_executor(),
                                             shard_size=1)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            result["error"] = exc

    pids = client.run(os.getpid)
    victim = sorted(pids)[1]
    thread = threading.Thread(target=certify)
    thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until the victim is counting a shard
        if any("_count_task" in str(k) for k in client.processing().get(victim, ())):
            break
        time.sleep(0.02)
    else:
        pytest.fail("no task reached the worker")
    os.kill(pids[victim], signal.SIGKILL)
    thread.join(120)
    assert not thread.is_alive()
    assert "error" not in result, result.get("error")
    _same(result["got"], reference)
    client.wait_for_workers(2, timeout=60)  # the nanny restarted it, for the next tests


def test_process_and_thread_pools_give_the_same_result(
    mlp: Any, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    x = digits[0][1300:1312]
    smoothed = RandomizedSmoothing(mlp, 0.25, n0=20, batch_size=256)
    reference = smoothed.certify(x, 400, seed=2)
    with ThreadPoolExecutor(2) as threads:
        _same(smoothed.certify(x, 400, seed=2, executor=threads, shard_size=5), reference)
    with ProcessPoolExecutor(2) as processes:
        _same(smoothed.certify(x, 400, seed=2, executor=processes, shard_size=4), reference)


# -- bad inputs ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_bad_executors(client: Any, mlp: Any) -> None:
    smoothed = RandomizedSmoothing(mlp, 0.25, n0=10)
    x = np.zeros((2, 64), dtype=np.float32)
    with pytest.raises(ParameterTypeError, match="executor: expected a concurrent.futures"):
        smoothed.certify(x, 50, executor=object())  # type: ignore[arg-type]
    with pytest.raises(ParameterTypeError, match="client.get_executor"):
        smoothed.certify(x, 50, executor=client)
    with pytest.raises(ParameterTypeError, match="shard_size"):
        smoothed.predict(x, n=50, shard_size=1.5)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="shard_size"):
        smoothed.certify(x, 50, shard_size=0)
    closed = distributed.Client(client.scheduler.address)
    executor = closed.get_executor()
    closed.close()
    with pytest.raises(ParameterError, match="closed"):
        smoothed.certify(x, 50, executor=executor)
    pool = ThreadPoolExecutor(1)
    pool.shutdown()
    with pytest.raises(ParameterError, match="shut down"):
        smoothed.predict(x, n=50, executor=pool)


def test_unreachable_scheduler_is_a_typed_error_within_the_timeout() -> None:
    from trustml.certification.cluster import dask_executor

    address = f"tcp://127.0.0.1:{_free_port()}"
    start = time.monotonic()
    with pytest.raises(ClusterError, match="no Dask scheduler answered") as info, dask_executor(
        scheduler=address, connect_timeout=1.0
    ):
        pass  # pragma: no cover
    assert isinstance(info.value, ConnectionError)
    assert time.monotonic() - start < 15  # 1 s, plus Dask's own retry; never a hang
    with pytest.raises(ParameterError, match="exactly one"), dask_executor():
        pass  # pragma: no cover


def test_missing_distributed_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from trustml.certification.cluster import dask_executor

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "trustml\[dask\]"'), (
        dask_executor(workers=1)
    ):
        pass  # pragma: no cover


# -- CLI: streaming, resume, cluster options -------------------------------------------------------

FACTORY = '''
import pickle

def make():
    with open({path!r}, "rb") as f:
        return pickle.load(f)
'''


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlp: Any,
            digits: tuple[np.ndarray, np.ndarray]) -> Path:
    import pickle

    (tmp_path / "model.pkl").write_bytes(pickle.dumps(mlp))
    (tmp_path / "dask_factory.py").write_text(FACTORY.format(path=str(tmp_path / "model.pkl")))
    x, y = digits
    np.savez(tmp_path / "data.npz", x=x[1400:1416], y=y[1400:1416])
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "dask_factory", raising=False)
    return tmp_path


def _rows(path: Path) -> list[list[str]]:
    """The rows without the time column (the only one that differs between runs)."""
    return [line.split("\t")[:5] for line in path.read_text().splitlines()]


ARGS = ["certify", "dask_factory:make", "data.npz", "--sigma", "0.25", "--n0", "20", "--n",
        "400", "--alpha", "0.01", "--batch", "128", "--seed", "4"]


def test_cli_resume_after_a_stop_gives_the_uninterrupted_file(
    workdir: Path, client: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from trustml.certification import cli

    assert main([*ARGS, "--out", "full.tsv"]) == 0
    full = _rows(workdir / "full.tsv")
    assert len(full) == 17 and full[0][0] == "idx"
    written: list[int] = []
    real_write = cli._write_row

    def stop_after_six(f: Any, *args: Any) -> None:
        if len(written) == 6:
            f.write("7\t3\t")  # the kill cut a row short
            f.flush()
            raise KeyboardInterrupt
        written.append(args[0])
        real_write(f, *args)

    monkeypatch.setattr(cli, "_write_row", stop_after_six)
    with pytest.raises(KeyboardInterrupt):
        main([*ARGS, "--out", "part.tsv", "--shard-size", "1"])
    monkeypatch.setattr(cli, "_write_row", real_write)
    assert len(_rows(workdir / "part.tsv")) == 8  # header, six rows, the cut one
    # resumed on the cluster (by its scheduler address): the same file
    assert main([*ARGS, "--out", "part.tsv", "--resume", "--scheduler", client.scheduler.address,
                 "--connect-timeout", "5"]) == 0
    assert "resumed: 6 rows kept" in capsys.readouterr().out
    assert _rows(workdir / "part.tsv") == full
    # resuming a finished run certifies nothing and keeps the file
    assert main([*ARGS, "--out", "part.tsv", "--resume"]) == 0
    assert _rows(workdir / "part.tsv") == full
    # other settings than the earlier run's: an error, the file untouched
    before = (workdir / "part.tsv").read_bytes()
    assert main([*ARGS[:-1], "5", "--out", "part.tsv", "--resume"]) == 1
    assert "seed=4 (now 5)" in capsys.readouterr().err
    assert (workdir / "part.tsv").read_bytes() == before


def test_cli_local_workers_and_unreachable_scheduler(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*ARGS, "--out", "full.tsv", "--max", "4"]) == 0
    assert main([*ARGS, "--out", "local.tsv", "--max", "4", "--workers", "2",
                 "--shard-size", "2"]) == 0
    assert _rows(workdir / "local.tsv") == _rows(workdir / "full.tsv")
    capsys.readouterr()
    address = f"tcp://127.0.0.1:{_free_port()}"
    start = time.monotonic()
    assert main([*ARGS, "--out", "never.tsv", "--scheduler", address,
                 "--connect-timeout", "1"]) == 1
    assert time.monotonic() - start < 15
    assert "no Dask scheduler answered" in capsys.readouterr().err
    assert not (workdir / "never.tsv").exists()  # nothing written before the connection
    assert main([*ARGS, "--out", "never.tsv", "--workers", "2", "--scheduler", address]) == 1
    assert "at most one" in capsys.readouterr().err
