"""`ingest` of a large source streams every line to Parquet: same rows as reading it whole."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import triage
from triage import pipeline
from triage.limits import DEFAULT_LIMITS
from triage.pipeline import windows

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import synth


def _rows(out: str) -> dict:
    ds = triage.open_dataset(out)
    got = {}
    for name in ("lines", "boots", "crashes", "findings"):
        df = ds.frame(name).astype(str)
        got[name] = df.sort_values(list(df.columns)).reset_index(drop=True)
    got["parts"] = ds.manifest["parts"]
    return got


def test_streamed_ingest_equals_whole_file_ingest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = (
        synth.console_log(tmp_path / "in" / "console.log", 3 << 20, crashes=3)
        if (tmp_path / "in").mkdir() is None
        else None
    )
    whole = _rows(str(triage.ingest([str(log)], out=str(tmp_path / "whole")).out))
    monkeypatch.setattr(pipeline, "LARGE_SOURCE_BYTES", 1 << 20)
    streamed = _rows(str(triage.ingest([str(log)], out=str(tmp_path / "streamed")).out))
    files = [f for e in streamed["parts"].values() for f in e["files"]["lines"]]
    assert "lines-1.parquet" in files, "the large source went through the streamed path"
    n = log.read_bytes().count(b"\n")
    assert len(whole["lines"]) == len(streamed["lines"]) == n
    assert len(whole["crashes"]) >= 3
    for name in ("lines", "boots", "crashes", "findings"):
        assert streamed[name].equals(whole[name]), name


def test_streamed_ingest_with_an_over_long_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A line longer than reads and blocks is one line in both passes, as read whole: the
    windows' line numbers (boots, crashes) agree with the spilled lines'."""
    (tmp_path / "in").mkdir()
    log = synth.console_log(tmp_path / "in" / "console.log", 2 << 20, crashes=3)
    text = log.read_bytes().split(b"\n")
    text[5000] += b" " + b"x" * (1 << 20)  # before the first lockup
    log.write_bytes(b"\n".join(text))
    whole = _rows(str(triage.ingest([str(log)], out=str(tmp_path / "whole")).out))
    monkeypatch.setattr(pipeline, "LARGE_SOURCE_BYTES", 1 << 20)
    monkeypatch.setattr(windows, "STREAM_BLOCK", 200_000)
    streamed = _rows(str(triage.ingest([str(log)], out=str(tmp_path / "streamed")).out))
    assert len(whole["crashes"]) >= 3
    for name in ("lines", "boots", "crashes", "findings"):
        assert streamed[name].equals(whole[name]), name


def test_streamed_ingest_of_a_capped_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A source cut by max_file_bytes in the middle of a line: the same lines and error."""
    (tmp_path / "in").mkdir()
    log = synth.console_log(tmp_path / "in" / "console.log", 3 << 20, crashes=3)
    limits = DEFAULT_LIMITS.override(max_file_bytes=2_000_017)

    def ingest(out: str) -> dict:
        done = triage.ingest([str(log)], out=out, limits=limits)
        got = _rows(str(done.out))
        got["errors"] = triage.open_dataset(str(done.out)).frame("errors")["error_class"].tolist()
        return got

    whole = ingest(str(tmp_path / "whole"))
    monkeypatch.setattr(pipeline, "LARGE_SOURCE_BYTES", 1 << 20)
    streamed = ingest(str(tmp_path / "streamed"))
    assert whole["errors"] == streamed["errors"] == ["limit-file-bytes"]
    for name in ("lines", "boots", "crashes", "findings"):
        assert streamed[name].equals(whole[name]), name


@pytest.mark.parametrize("command", ["ingest", "scan"])
def test_a_streamed_compressed_log_gives_its_inflated_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """The walk does not know how large a compressed log inflates; its sources row said −1
    when the log was too large to read whole, though the stream was read to its end. Cut at
    the file cap, how large it is is not known, read whole or streamed."""
    import gzip

    (tmp_path / "in").mkdir()
    log = synth.console_log(tmp_path / "in" / "console.log", 3 << 20, crashes=1)
    inflated = log.stat().st_size
    packed = tmp_path / "in" / "console.log.gz"
    packed.write_bytes(gzip.compress(log.read_bytes(), 1))
    log.unlink()
    run = getattr(triage, command)
    capped = DEFAULT_LIMITS.override(max_file_bytes=1_500_000)

    def size(out: str, limits=DEFAULT_LIMITS) -> int:
        done = run([str(packed)], out=str(tmp_path / out), limits=limits, force=True)
        (got,) = triage.open_dataset(str(done.out)).sources["size"]
        return int(got)

    assert (size("whole"), size("whole-capped", capped)) == (inflated, -1)
    monkeypatch.setattr(pipeline, "LARGE_SOURCE_BYTES", 1 << 20)
    assert (size("streamed"), size("streamed-capped", capped)) == (inflated, -1)
