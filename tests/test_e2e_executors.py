"""The same rows whichever executor runs the units: in-process, a process pool, a Dask cluster."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers_dataset import dataset_rows as rows

import triage

ROOT = Path(__file__).resolve().parents[1]
INPUTS = [
    str(ROOT / "samples" / "case-xs01"),
    str(ROOT / "samples" / "signatures" / "netfront-deadlock"),
]


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    out = str(tmp_path_factory.mktemp("serial") / "ds")
    triage.scan(INPUTS, out=out, jobs=1)
    return rows(out)


def test_process_pool_gives_the_same_rows(serial: dict, tmp_path: Path) -> None:
    out = str(tmp_path / "ds")
    summary = triage.scan(INPUTS, out=out, jobs=2)
    assert summary.processed == summary.units > 1
    got = rows(out)
    assert serial["findings"].shape[0] > 0
    for name, df in serial.items():
        assert got[name].equals(df), name


def test_dask_local_cluster_gives_the_same_rows(serial: dict, tmp_path: Path) -> None:
    distributed = pytest.importorskip("dask.distributed")
    out = str(tmp_path / "ds")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster:
        assert len(cluster.workers) == 2
        summary = triage.scan(INPUTS, out=out, scheduler=cluster.scheduler_address)
    assert summary.processed == summary.units > 1
    got = rows(out)
    for name, df in serial.items():
        assert got[name].equals(df), name


def _readiness() -> tuple[bool, bool, int]:
    import sys

    from triage.batch.sigset import loaded_sets

    return "triage.pipeline" in sys.modules, "pandas" in sys.modules, loaded_sets()


def test_workers_preloading_dask_exec_are_ready_before_their_first_task(tmp_path: Path) -> None:
    """`--preload triage.batch.dask_exec` (as the README starts workers, and as `--scheduler
    local` does) imports the pipeline and compiles the signature set in each worker as it
    starts; the rows are those of a serial run all the same."""
    distributed = pytest.importorskip("dask.distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, preload=["triage.batch.dask_exec"]
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        ready = client.run(_readiness)
        assert len(ready) == 2
        assert all(r == (True, True, 1) for r in ready.values()), ready
        # the statistical profiler, which took the GIL from packs every 10 ms, never started
        callbacks = client.run(_callbacks)
        assert all("heartbeat" in c and "profile" not in c for c in callbacks.values()), callbacks
        out = str(tmp_path / "ds")
        summary = triage.scan(INPUTS, out=out, scheduler=cluster.scheduler_address)
        assert summary.processed == summary.units > 1
        assert set(client.run(_readiness).values()) == {(True, True, 1)}  # the same set served


def _callbacks(dask_worker: Any) -> list[str]:
    return sorted(dask_worker.periodic_callbacks)


_SETTINGS_OF_LOCAL_WORKERS = """
import os
import sys

import psutil

from triage.batch.dask_exec import DaskSession

def settings(dask_worker):
    import pyarrow as pa

    return (os.environ.get("MALLOC_TRIM_THRESHOLD_"), os.environ.get("OMP_NUM_THREADS"),
            sorted(dask_worker.periodic_callbacks), "pandas" in sys.modules,
            " ".join(psutil.Process(os.getppid()).cmdline()), pa.cpu_count())

if __name__ == "__main__":
    session = DaskSession("local", 2)
    servers = [" ".join(c.cmdline()) for c in psutil.Process().children()]
    print(repr([s for s in servers if "forkserver" in s]))
    try:
        print(repr(sorted(session.ready().run(settings).values())))
    finally:
        session.close()
"""


def test_the_cluster_of_scheduler_local_keeps_glibc_malloc_and_no_profiler(tmp_path) -> None:
    """`--scheduler local` starts its workers without the nanny's 64 KiB trim threshold (the
    rest of its environment stays) and without the statistical profiler. Run as the CLI runs
    it, in a process of its own: a cluster started earlier in the same process leaves the
    nanny's variables in its environment, which a fork server started later inherits.

    The workers come from a fork server that runs as soon as the session is made and that
    loaded `distributed` and the worker's preload for all of them; they never load pandas,
    which nothing triage gives Arrow needs."""
    pytest.importorskip("dask.distributed")
    import ast
    import subprocess
    import sys

    script = tmp_path / "settings.py"
    script.write_text(_SETTINGS_OF_LOCAL_WORKERS)
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    r = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=180
    )
    assert r.returncode == 0, r.stderr
    servers, settings = map(ast.literal_eval, r.stdout.strip().splitlines()[-2:])
    assert len(servers) == 1 and "triage.batch.dask_exec" in servers[0], servers
    assert len(settings) == 2
    for trim, omp, callbacks, pandas, parent, arrow_threads in settings:
        assert trim is None and omp == "1" and arrow_threads == 1
        assert "heartbeat" in callbacks and "profile" not in callbacks
        assert not pandas
        assert "forkserver" in parent and "'distributed'" in parent, parent
        assert "triage.batch.forkserver_warm" in parent, parent


_FORK_SERVER_WARM = """
import os
import sys
import threading

import pyarrow as pa  # what the server imports before (NumPy's and jemalloc's threads start)

threads = len(os.listdir("/proc/self/task"))
import triage.batch.forkserver_warm  # noqa: F401
from triage.batch.sigset import loaded_sets

os.environ["OMP_NUM_THREADS"] = "1"  # as a nanny sets it in each worker it starts
print("triage.pipeline" in sys.modules, "triage.batch.worker" in sys.modules,
      "pandas" in sys.modules, loaded_sets())
print(threading.active_count(), len(os.listdir("/proc/self/task")) - threads, pa.cpu_count())
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux's /proc")
def test_the_fork_server_warms_up_without_starting_threads() -> None:
    """`--scheduler local`'s fork server warms up for the workers it forks: the pipeline, the
    module of the task they run (`batch.worker`) and the built-in signature set loaded,
    pandas not. It starts no thread, Arrow's pool
    included, so that each worker forked from it sizes that pool from the environment its
    nanny gives it (OMP_NUM_THREADS=1: one thread per worker, not one per core)."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
    r = subprocess.run(
        [sys.executable, "-c", _FORK_SERVER_WARM],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["True True False 1", "1 0 1"]


def test_an_unreachable_scheduler_is_one_line_and_exit_2(tmp_path: Path) -> None:
    pytest.importorskip("dask.distributed")
    import os
    import subprocess
    import sys

    env = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}
    r = subprocess.run(
        [sys.executable, "-m", "triage.cli", "scan", INPUTS[1], "--quiet",
         "--out", str(tmp_path / "ds"), "--scheduler", "tcp://127.0.0.1:1"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "--scheduler tcp://127.0.0.1:1" in r.stderr
    assert "Traceback" not in r.stderr


def test_scheduler_local_starts_its_own_cluster_with_the_same_rows(
    serial: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--scheduler local`: the run starts (from a fork server) and stops its own LocalCluster,
    of a worker per core when the caller does not say how many."""
    pytest.importorskip("dask.distributed")
    from triage.batch.dask_exec import DaskSession

    workers: list[int] = []
    close = DaskSession.close

    def count_then_close(self: DaskSession, interrupted: bool = False) -> None:
        self._thread.join()  # the real cluster's workers, as it ends
        workers.append(len(self.client.scheduler_info()["workers"]))
        close(self, interrupted)

    monkeypatch.setattr(DaskSession, "close", count_then_close)
    out = str(tmp_path / "ds")
    summary = triage.scan(INPUTS, out=out, scheduler="local")
    assert summary.processed == summary.units > 1
    assert workers == [os.cpu_count() or 1]
    got = rows(out)
    for name, df in serial.items():
        assert got[name].equals(df), name


@pytest.mark.parametrize(
    ("mode", "kind"), [("ingest", "console"), ("scan", "console"), ("ingest", "syslog")]
)
def test_a_huge_log_is_cut_into_chunks_over_the_dask_workers_with_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, kind: str
) -> None:
    """On a cluster, one huge loose log is not left to one worker: the caller cuts it into a
    chunk per worker, whose lines the workers spill into the dataset's temporary folder (which
    the caller can read wherever they run) and the part takes over. A syslog over a New Year
    too, whose chunks are settled as in a process pool."""
    distributed = pytest.importorskip("dask.distributed")
    import sys

    from triage import pipeline
    from triage.batch import units as units_mod

    sys.path.insert(0, str(ROOT / "bench"))
    import synth

    if kind == "syslog":
        log = synth.syslog_log(tmp_path / "messages", 3 << 20, crashes=6)
    else:
        log = synth.console_log(tmp_path / "console.log", 3 << 20, crashes=6)
    small = ROOT / "samples" / "rhel47-xenU-console.log"
    monkeypatch.setattr(pipeline, "LARGE_SOURCE_BYTES", 512 << 10)  # "huge" at test scale
    monkeypatch.setattr(units_mod, "CHUNK_SOURCE_BYTES", 512 << 10)
    run = getattr(triage, mode)
    one, two = tmp_path / "one", tmp_path / "two"
    run([str(log), str(small)], out=str(one), jobs=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster:
        summary = run([str(log), str(small)], out=str(two), scheduler=cluster.scheduler_address)
    assert summary.processed == 2 and not summary.errors
    want = rows(str(one))
    assert len(want["crashes"]) == 6 and len(want["sources"]) == 2
    got = rows(str(two))
    for name, df in want.items():
        assert got[name].equals(df), name
    assert [p.name for p in (two / "parts").iterdir() if p.name.startswith(".tmp-")] == []
    if mode == "ingest":  # the huge log's part holds a spilled lines file per worker
        import json

        parts = json.loads((two / "manifest.json").read_text())["parts"].values()
        assert sorted(len(p["files"]["lines"]) for p in parts) == [1, 2]


def test_a_pool_worker_is_readied_without_pandas_which_stays_importable() -> None:
    """A pool worker settles pyarrow's check for pandas before the pipeline loads (whose
    modules build arrays as they load), so it never pays pandas' import; building arrays and
    tables still works, and so does `to_pandas` should anything ask for it."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from triage.batch.sigset import loaded_sets, signature_files_digest, warm_worker\n"
        "from triage.limits import DEFAULT_LIMITS\n"
        "warm_worker([], DEFAULT_LIMITS, signature_files_digest([]), True)\n"
        "import pyarrow as pa\n"
        "t = pa.table({'a': pa.array(['x', None]), 'b': pa.array([1.5, 2.0])})\n"
        "print('triage.pipeline' in sys.modules, 'pandas' in sys.modules, loaded_sets())\n"
        "print(t.to_pandas()['a'].tolist())\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    ready, frame = r.stdout.splitlines()
    assert ready == "True False 1"
    assert frame.startswith("['x', ")


_WARMING = """
import sys

from triage.batch.run import RunOptions, _WarmPool


def state():
    from triage.batch.sigset import loaded_sets

    return "triage.pipeline" in sys.modules, loaded_sets()


if __name__ == "__main__":
    session = _WarmPool(RunOptions(jobs=1))
    try:
        print(session.submit(state).result())
        session.after_probes()
        session.warm()
        print(session.submit(state).result())
    finally:
        session.close()
"""


def test_a_run_pool_warms_its_workers_when_asked_not_before(tmp_path: Path) -> None:
    """The run's pool warms its workers when the walk has queued the heads it reads (or the
    run asks), not before, so that the heads go first. In a process of its own: a worker
    forked from this one would inherit what it loaded."""
    import subprocess
    import sys

    script = tmp_path / "warming.py"
    script.write_text(_WARMING)
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:2] == ["(False, 0)", "(True, 1)"]


_WARMING_BEFORE_START = """
import multiprocessing
import sys

from triage.batch.run import RunOptions, _WarmPool


def state():
    from triage.batch.sigset import loaded_sets

    return "triage.pipeline" in sys.modules, "pyarrow.parquet" in sys.modules, loaded_sets()


if __name__ == "__main__":
    multiprocessing.set_start_method(sys.argv[1])
    session = _WarmPool(RunOptions(jobs=2))
    try:
        session.after_probes()  # no head went to the pool: no worker has started
        print(state())
        session.warm()  # as the run does after its walk
        print(session.submit(state).result())
    finally:
        session.close()
"""


@pytest.mark.parametrize(
    ("method", "caller"),
    [("fork", "(True, True, 1)"), ("forkserver", "(False, False, 0)")],
)
def test_a_forked_pool_whose_walk_read_every_head_inherits_the_callers_warm_up(
    tmp_path: Path, method: str, caller: str
) -> None:
    """When the walk sent no head to the pool, no worker has started by `after_probes`: a
    forked pool's caller warms up (the pipeline, what a pack imports, the signature set) and
    its workers inherit it, instead of each warming up on its own. A pool whose workers
    inherit nothing (forkserver, spawn) has them warm up as before, the caller staying cold."""
    import subprocess
    import sys

    script = tmp_path / "warming.py"
    script.write_text(_WARMING_BEFORE_START)
    r = subprocess.run(
        [sys.executable, str(script), method], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:2] == [caller, "(True, True, 1)"]


def test_the_caller_loads_what_it_needs_next_while_a_pool_runs(tmp_path: Path) -> None:
    """`meanwhile` (scan: the report's modules) runs once while the workers have the packs,
    and not at all in a run of one process, where nothing would overlap it."""
    from triage.batch.run import RunOptions, run

    calls: list[int] = []
    for jobs in (1, 2):
        opts = RunOptions(jobs=jobs, meanwhile=partial(calls.append, jobs))
        run(INPUTS, str(tmp_path / f"ds{jobs}"), opts)
    assert calls == [2]


def test_opening_a_dataset_writer_loads_no_arrow(tmp_path: Path) -> None:
    """The caller of a pool opens (and sweeps) the dataset before its walk, Arrow-free: it
    loads Arrow for the commit while the workers run."""
    import subprocess
    import sys

    out = tmp_path / "ds"
    triage.ingest(INPUTS[1], out=str(out))
    script = (
        "import sys\n"
        "from triage.store.writer import DatasetWriter\n"
        f"w = DatasetWriter({str(out)!r})\n"
        "print(bool(w.manifest['parts']), 'pyarrow' in sys.modules)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert r.stdout.split() == ["True", "False"]


def test_a_caller_that_hands_arrow_no_pandas_ingests_without_importing_it(tmp_path: Path) -> None:
    """The CLI settles pyarrow's pandas check before its first rows (`without_pandas`): an
    ingest then never imports pandas, and the same process can still read DataFrames."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from triage.batch.run import RunOptions, run\n"
        f"s = run({INPUTS!r}, {str(tmp_path / 'ds')!r}, RunOptions(without_pandas=True))\n"
        "print(s.processed > 1, 'pandas' in sys.modules)\n"
        "import triage\n"
        f"print(len(triage.open_dataset({str(tmp_path / 'ds')!r}).findings) > 0)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True
    )
    assert r.stdout.split() == ["True", "False", "True"]


def test_two_runs_with_their_own_clusters_at_once_say_nothing_of_ports(tmp_path: Path) -> None:
    """Each `--scheduler local` cluster served a dashboard on port 8787: a second run at the
    same time printed a UserWarning that the port was taken, and took another."""
    import subprocess
    import sys

    pytest.importorskip("dask.distributed")

    def start(i: int) -> subprocess.Popen[str]:
        out = str(tmp_path / f"ds{i}")
        cmd = ["ingest", *INPUTS, "--out", out, "--scheduler", "local", "-j", "2", "--quiet"]
        return subprocess.Popen(
            [sys.executable, "-m", "triage.cli", *cmd], stderr=subprocess.PIPE, text=True
        )

    runs = [start(0), start(1)]
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
        assert "8787" not in err and "Warning" not in err, err
