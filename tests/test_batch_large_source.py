"""A batch run over a large source (prefilter path) writes the same rows as the in-memory path."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from triage import pipeline
from triage.batch.run import RunOptions, run

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_pipeline_large import make_log


def _rows(out: Path) -> dict:
    from triage.store import open_dataset

    ds = open_dataset(str(out))
    return {
        "sources": ds.table("sources").select(["source_id", "sha256", "status"]).to_pylist(),
        "boots": ds.table("boots").to_pylist(),
        "crashes": ds.table("crashes").sort_by("first_line").to_pylist(),
        "findings": ds.table("findings").select(["signature_id", "evidence"]).to_pylist(),
        "lines": ds.table("lines").sort_by("lineno").select(["lineno", "text"]).to_pylist(),
    }


def test_streamed_run_equals_in_memory_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "in").mkdir()
    log = make_log(tmp_path / "in" / "console.log", 2 << 20)
    whole = run([str(log)], str(tmp_path / "whole"), RunOptions())
    monkeypatch.setattr(pipeline, "LARGE_SOURCE_BYTES", 1)
    streamed = run([str(log)], str(tmp_path / "streamed"), RunOptions())
    a, b = _rows(Path(whole.out)), _rows(Path(streamed.out))
    assert a == b
    assert a["sources"][0]["sha256"] == hashlib.sha256(log.read_bytes()).hexdigest()
    assert a["crashes"]
