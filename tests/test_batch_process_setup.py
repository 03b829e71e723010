"""The settings of triage's own processes, and only of those: the garbage collector, and pool
workers that end with the run that started them."""

from __future__ import annotations

import gc
import multiprocessing
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from helpers_procs import children, many_logs

import triage
from triage.batch.process_setup import GC_THRESHOLDS, batch_gc, for_pool_worker

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def test_a_pool_worker_collects_as_a_batch_process_whatever_its_start_method() -> None:
    """A spawned worker inherits nothing: its initializer sets the thresholds."""
    assert gc.get_threshold() != GC_THRESHOLDS, "the test process keeps Python's own"
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn, initializer=for_pool_worker) as pool:
        assert pool.submit(gc.get_threshold).result() == GC_THRESHOLDS
    with ProcessPoolExecutor(1, mp_context=spawn, initializer=batch_gc) as pool:
        assert pool.submit(gc.get_threshold).result() == GC_THRESHOLDS


def test_the_library_leaves_its_callers_collector_alone(tmp_path: Path) -> None:
    """A notebook's process keeps its settings through `triage.ingest` and `scan`, pools and
    all: only the CLI changes its own."""
    before = gc.get_threshold()
    triage.ingest([str(SAMPLES)], out=str(tmp_path / "ds"), jobs=2)
    triage.scan([str(SAMPLES)], out=str(tmp_path / "scan"))
    assert gc.get_threshold() == before


def test_the_cli_process_collects_as_a_batch_process() -> None:
    import subprocess
    import sys

    probe = (
        "import gc; from triage import cli; "
        "cli.app = lambda: print(tuple(gc.get_threshold())); cli.main()"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(GC_THRESHOLDS)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl and /proc are Linux's")
def test_a_killed_run_takes_its_workers_and_its_lock_with_it(tmp_path: Path) -> None:
    """SIGKILL of a `-j 2` run left its pool workers waiting for work forever, holding the
    dataset's lock through the descriptor they inherited: every later run was told another one
    was writing. Now they end with it, and the next run writes."""
    logs = many_logs(tmp_path / "logs", 4000)
    out = tmp_path / "ds"
    cmd = [sys.executable, "-m", "triage.cli", "ingest", str(logs), "--out", str(out)]
    run = subprocess.Popen([*cmd, "--quiet", "-j", "2"])
    deadline = time.monotonic() + 60
    while len(children(run.pid)) < 2 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = children(run.pid)
    assert run.poll() is None and len(workers) >= 2, "the run ended before its pool started"
    run.kill()
    run.wait()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{w}").exists() for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [w for w in workers if Path(f"/proc/{w}/stat").exists()]
    assert not left, "workers outlived the run"
    again = subprocess.run([*cmd, "--quiet"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr


def test_a_process_forked_while_a_lock_is_held_has_no_copy_of_it(tmp_path: Path) -> None:
    from triage.store import lock

    with lock.writing(str(tmp_path)):
        (fd,) = lock._HELD
        pid = os.fork()
        if pid == 0:  # the child: its copy of the descriptor is closed
            try:
                os.fstat(fd)
            except OSError:
                os._exit(0)
            os._exit(1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        os.fstat(fd)  # the parent's is open, the lock held
