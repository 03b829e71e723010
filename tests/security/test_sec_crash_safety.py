"""Crash safety: `triage ingest` / `triage scan` killed with SIGKILL at random points leaves the
dataset either as it was (the previous manifest and its parts, same row counts) or complete —
never partial; the rerun completes and equals a clean run's row counts."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from security_helpers import ROOT

import triage
from triage.model import TABLES

SAMPLES = ROOT / "samples"
PREVIOUS = SAMPLES / "rhel53-guest"  # what the dataset held before the killed run
KILLS = {"ingest": 6, "scan": 4}  # ten kill points in all


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "triage.cli", *args]


def _command(cmd: str, out: Path) -> list[str]:
    if cmd == "ingest":
        return _cli("ingest", str(SAMPLES), "--out", str(out), "-q")
    return _cli(
        "scan", str(SAMPLES), "--out", str(out), "-q", "--format", "json", "--fail-on", "never"
    )


def _counts(path: Path) -> dict[str, int]:
    """Row counts read from the parts the manifest names (they must agree with the manifest)."""
    ds = triage.open_dataset(str(path))
    rows = {name: ds.table(name).num_rows for name in TABLES}
    stated = {k: v for k, v in ds.manifest.get("counts", {}).items() if k in TABLES}
    assert rows == {**dict.fromkeys(TABLES, 0), **stated}, (rows, stated)
    return rows


def _previous_state(cmd: str, root: Path) -> Path:
    prev = root / f"prev-{cmd}"
    sub = "ingest" if cmd == "ingest" else "scan"
    args = [sub, str(PREVIOUS), "--out", str(prev), "-q"]
    if sub == "scan":
        args += ["--format", "json", "--fail-on", "never"]
    subprocess.run(_cli(*args), check=True, capture_output=True, cwd=ROOT, timeout=120)
    return prev


@pytest.mark.timeout(300)
@pytest.mark.parametrize("cmd", list(KILLS))
def test_sigkill_at_random_points(tmp_path: Path, cmd: str) -> None:
    prev = _previous_state(cmd, tmp_path)
    before = _counts(prev)
    # the complete state: a clean, unkilled run over the previous dataset
    complete_ds = tmp_path / "complete"
    shutil.copytree(prev, complete_ds)
    t0 = time.monotonic()
    subprocess.run(_command(cmd, complete_ds), capture_output=True, cwd=ROOT, timeout=120)
    full_seconds = time.monotonic() - t0
    complete = _counts(complete_ds)
    assert complete != before
    rnd = random.Random(f"kill-{cmd}")
    delays = [rnd.uniform(0.15, full_seconds * 1.05) for _ in range(KILLS[cmd])]
    outcomes = []
    for batch in range(0, len(delays), 2):  # two at a time: the machine may have two cores
        runs = []
        for i in range(batch, min(batch + 2, len(delays))):
            ds = tmp_path / f"ds{i}"
            shutil.copytree(prev, ds)
            proc = subprocess.Popen(
                _command(cmd, ds), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            runs.append((i, ds, proc, time.monotonic() + delays[i]))
        for _i, _ds, proc, at in sorted(runs, key=lambda r: r[3]):
            time.sleep(max(0.0, at - time.monotonic()))
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
        for i, ds, _proc, _at in runs:
            got = _counts(ds)
            assert got in (before, complete), (i, got)
            outcomes.append("previous" if got == before else "complete")
    # the rerun over a killed dataset completes and equals a clean run
    last = tmp_path / f"ds{len(delays) - 1}"
    subprocess.run(_command(cmd, last), capture_output=True, cwd=ROOT, timeout=120)
    assert _counts(last) == complete
    # no stray temporaries are left once a writer ran again
    assert not [p for p in (last / "parts").iterdir() if p.name.startswith(".tmp-")]
    print(f"{cmd}: kills at {[round(d, 2) for d in delays]} s -> {outcomes}")
