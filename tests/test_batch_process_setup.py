"""The garbage-collector settings of triage's own processes, and only of those."""

from __future__ import annotations

import gc
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

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
