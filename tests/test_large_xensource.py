"""A xensource.log too large to hold is read in blocks, twice (its New Years, then its rows),
and gives the rows, facts and errors of the log read whole; a log holding a line some stage
looks at is read whole instead."""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

import pandas as pd
import pytest
from test_chunks import _rows

from triage import pipeline, sources
from triage.limits import DEFAULT_LIMITS
from triage.model import KIND_XENSOURCE, SourceFile
from triage.parsers import xensource
from triage.pipeline import anchors

ROOT = Path(__file__).resolve().parents[1]
UUID = "814c8b22-d896-bc76-a421-7afce8e8a538"


def _log(days: int = 70) -> bytes:
    """A syslog-era xensource.log over two New Years, with audit lines, a memory failure, other
    daemons' lines, a stack trace line without a header, and a 2010-era stretch before it."""
    out = [
        b"[20100914T14:02:05.405Z|debug|xs-old|38240 inet-RPC|Async.VM.pool_migrate R:4d1e7a0c2b9f"
        b"|xapi] before the upgrade\n"
    ]
    months = [b"Nov", b"Dec", b"Jan", b"Feb", b"Nov", b"Dec", b"Jan"]
    for m, month in enumerate(months):
        for day in range(1, days // len(months) + 2):
            stamp = month + b" %2d 10:%02d:00" % (day, m)
            task = b"R:%012x" % (m * 100 + day)
            out.append(
                stamp
                + b" xs13 xapi: [debug|xs13|50 |VM.start "
                + task
                + b"|audit] VM.start: VM = '"
                + UUID.encode()
                + b" (web01)'\n"
            )
            out.append(stamp + b" xs13 squeezed[812]: balancing %d\n" % day)
            out.append(b"  raised at file ocaml/xapi/xapi_vm.ml, line 250\n")
            if day == 3:
                out.append(
                    stamp + b" xs13 xapi: [error|xs13|50 |VM.start " + task + b"|backtrace] "
                    b"VM.start failed with exception Server_error(HOST_NOT_ENOUGH_FREE_MEMORY, "
                    b"[ 8663330816; 4300062720 ])\n"
                )
    return b"".join(out)


def _src(path: Path, size: int | None = None) -> SourceFile:
    (src,) = [s for s in sources.walk([str(path)], DEFAULT_LIMITS) if isinstance(s, SourceFile)]
    return SourceFile(**{**src.__dict__, "kind": KIND_XENSOURCE, "year_hint": 2021})


def _both(src: SourceFile, sigset, keep: str) -> tuple[dict, dict, bool]:
    """The rows of `src` read whole and as a large source; whether the blocks path took it."""
    taken = []
    real = pipeline.large_xensource

    def spy(*args, **kwargs):
        taken.append(real(*args, **kwargs))
        return taken[-1]

    whole = pipeline.process_source(src, [], sigset, keep, large_source_bytes=1 << 40)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "large_xensource", spy)
        streamed = pipeline.process_source(src, [], sigset, keep, large_source_bytes=1)
    assert len(taken) == 1, "offered to the blocks path"
    return _rows(whole), _rows(streamed), taken[0]


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xensource, "BLOCK_BYTES", 2000)


@pytest.mark.parametrize("keep", ["all", "relevant"])
def test_a_large_log_read_in_blocks_gives_the_rows_of_the_whole_file(
    tmp_path: Path, sigset, small_blocks, keep: str
) -> None:
    path = tmp_path / "xensource.log"
    path.write_bytes(_log())
    whole, streamed, res = _both(_src(path), sigset, keep)
    assert res, "the blocks path took it"
    assert streamed == whole
    years = {r["timestamp"].year for r in whole["lines"] if r["timestamp"]}
    if keep == "all":
        assert {2010, 2019, 2020, 2021} <= years
        assert whole["line_count"] == len(whole["lines"]) > 200
    else:
        assert 0 < len(whole["lines"]) <= anchors.CONTEXT_LINES + 1
    assert [b["hostname"] for b in whole["boots"]] == ["xs13"]


def test_a_log_whose_hosts_tie_names_its_boot_after_the_first_seen(
    tmp_path: Path, sigset, small_blocks
) -> None:
    """The boot's host is the most frequent one, the first seen among equals: counted over
    the blocks, as over the whole file."""
    lines = [
        f"Jan {d:2d} 10:00:00 {h} xapi: [debug|{h}|1 |t R:000000000000|xapi] tick {d}\n"
        for d in range(1, 29)
        for h in ("xs-b", "xs-a")
    ]
    path = tmp_path / "xensource.log"
    path.write_bytes("".join(lines[1:] + lines[:1]).encode())  # xs-a first, xs-b as often
    whole, streamed, taken = _both(_src(path), sigset, "all")
    assert taken and streamed == whole
    assert [b["hostname"] for b in whole["boots"]] == ["xs-a"]


def test_a_compressed_cut_log_over_the_size_cap_gives_the_rows_of_the_whole_file(
    tmp_path: Path, sigset, small_blocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Of unknown size until read, cut in the middle of its last line, and longer than the
    file cap: the same rows, the same error rows (cut, cap) and the digest of the bytes read."""
    path = tmp_path / "xensource.log.1.gz"
    path.write_bytes(gzip.compress(_log()[:-7]))
    src = _src(path)
    assert src.size < 0
    limits = DEFAULT_LIMITS.override(max_file_bytes=10_000)
    whole = pipeline.process_source(src, [], sigset, "all", limits, large_source_bytes=1 << 40)
    streamed = pipeline.process_source(src, [], sigset, "all", limits, large_source_bytes=1)
    assert streamed.spill_files()
    whole_rows, streamed_rows = _rows(whole), _rows(streamed)
    assert streamed_rows == whole_rows
    assert {e["error_class"] for e in whole_rows["errors"]} == {"limit-file-bytes", "truncated"}


def test_a_log_with_a_line_a_stage_looks_at_is_read_whole(
    tmp_path: Path, sigset, small_blocks
) -> None:
    """A kernel banner (a guest's console copied into the log) starts a boot: the blocks path
    cannot say where, so the log is read whole, with the same rows as ever."""
    banner = (
        b"Jan  5 10:00:00 xs13 xapi: [debug|xs13|50 |t R:000000000000|xapi] "
        b"Linux version 2.6.18-128.el5xen (mockbuild@builder10.centos.org) (gcc version 4.1.2 "
        b"20080704 (Red Hat 4.1.2-44)) #1 SMP Wed Jan 21 11:12:42 EST 2009\n"
    )
    path = tmp_path / "xensource.log"
    path.write_bytes(_log() + banner + _log(14))
    whole, streamed, res = _both(_src(path), sigset, "all")
    assert not res, "read whole"
    assert streamed == whole
    assert [b["release"] for b in whole["boots"]] == ["", "2.6.18-128.el5xen"]


def test_a_status_report_with_a_large_xensource_log_gives_the_dataset_of_one_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end, through `ingest`: a status report's xensource.log read in blocks for its
    facts and for its lines gives the dataset of the run that holds it whole."""
    import tarfile

    import triage

    sample = ROOT / "samples" / "case-xs01" / "bug-report-20090615103000.tar.bz2"
    tar = tmp_path / "in" / "bug-report-20090615103000.tar"
    tar.parent.mkdir()
    with tarfile.open(sample) as src, tarfile.open(tar, "w") as dest:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name.endswith("/var/log/xensource.log"):
                data += _log()  # after its 2009 lines, a later syslog era
                member.size = len(data)
            dest.addfile(member, io.BytesIO(data))
    os.utime(tar, (1245061800, 1245061800))

    def dataset(name: str) -> dict:
        ds = triage.open_dataset(triage.ingest([str(tar.parent)], out=str(tmp_path / name)).out)
        return {
            t: ds.sql(f"select * from {t} order by all")
            for t in ("sources", "lines", "facts", "errors", "boots", "findings")
        }

    held = dataset("whole")
    monkeypatch.setattr(pipeline, "LARGE_SOURCE_BYTES", 1)
    monkeypatch.setattr(xensource, "STREAM_BYTES", 1)
    monkeypatch.setattr(xensource, "BLOCK_BYTES", 3000)
    calls = []
    for name in ("read_for_facts", "read_log", "month_runs"):
        real = getattr(xensource, name)
        monkeypatch.setattr(
            xensource,
            name,
            lambda *a, real=real, name=name, **k: calls.append(name) or real(*a, **k),
        )
    streamed = dataset("blocks")
    # the lines' pass takes the New Years the facts' pass counted: no month pass of its own
    assert calls == ["read_for_facts", "read_log"], "read in blocks for its facts and its lines"
    for name, table in held.items():
        pd.testing.assert_frame_equal(streamed[name], table, obj=name)
    assert "vm.event.start_failed" in set(held["facts"]["key"])
    lines = held["lines"]
    years = lines[lines["tag"] == "squeezed"]["timestamp"].dt.year
    assert len(lines) > 250 and (years.min(), years.max()) == (2007, 2009)  # the report's year


def test_the_new_years_counted_for_the_facts_serve_the_lines_unless_the_log_changed(
    tmp_path: Path, sigset, small_blocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The facts' pass over a log counts its New Years; the pass for its lines that follows in
    the same process takes them instead of counting again — unless the bytes it then reads
    are others (the log was written meanwhile): it counts them again, and its rows are those
    of the new bytes."""
    path = tmp_path / "xensource.log"
    path.write_bytes(_log())
    src = _src(path)
    counted = []
    real = xensource.month_runs
    monkeypatch.setattr(xensource, "month_runs", lambda *a: counted.append(1) or real(*a))

    def facts_then_lines() -> dict:
        with open(path, "rb") as fh:
            xensource.read_for_facts(fh, src)
        return _rows(pipeline.process_source(src, [], sigset, "all", large_source_bytes=1))

    first = facts_then_lines()
    assert counted == []
    assert first == _rows(pipeline.process_source(src, [], sigset, "all", large_source_bytes=1))
    assert counted == [1]
    # written between the two passes: older months first, so that the New Years move
    with open(path, "rb") as fh:
        xensource.read_for_facts(fh, src)
    path.write_bytes(_log().replace(b"Nov ", b"Mar "))
    again = _rows(pipeline.process_source(src, [], sigset, "all", large_source_bytes=1))
    assert counted == [1, 1], "counted again"
    assert again == _rows(
        pipeline.process_source(src, [], sigset, "all", large_source_bytes=1 << 40)
    )
    assert again["lines"] != first["lines"]
    xensource.forget()


@pytest.mark.parametrize("keep", ["all", "relevant"])
def test_a_damaged_compressed_log_gives_the_rows_of_the_whole_file(
    tmp_path: Path, sigset, small_blocks, keep: str
) -> None:
    """A rotated log whose gzip stream ends early: the lines before the damage, the same
    error rows (the damage, the cut last line) and status read in blocks as read whole."""
    blob = gzip.compress(_log())
    path = tmp_path / "xensource.log.2.gz"
    path.write_bytes(blob[: len(blob) * 2 // 3])
    whole, streamed, taken = _both(_src(path), sigset, keep)
    assert taken and streamed == whole
    assert whole["status"][0] == "partial"
    assert [e["error_class"] for e in whole["errors"]] == ["truncated-gzip", "truncated"]


@pytest.mark.parametrize("cut", [False, True])
@pytest.mark.parametrize("too_large_to_hold", [False, True])
def test_a_compressed_status_report_inflates_its_large_xensource_log_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cut: bool, too_large_to_hold: bool
) -> None:
    """A status report is a compressed tar (bug-report-*.tar.bz2), inflated whole to list its
    members. Its xensource.log, too large to hold, is copied into a temporary file as it
    passes (sources/kept.py), and its facts and its lines are read from there; else the
    temporary file its facts inflate it into serves its lines. Either way, the dataset is the
    one of inflating it for each, damage included: a report cut inside the log (which is then
    not kept) has the same error rows."""
    import contextlib
    import tarfile
    import tempfile

    import triage
    from triage.batch import worker as worker_mod
    from triage.sources import kept

    if too_large_to_hold:
        monkeypatch.setattr(kept, "MEMBER_BYTES", 64 << 10)

    root = "bug-report-20110131120000"
    plain = io.BytesIO()
    with tarfile.open(fileobj=plain, mode="w") as tar:
        for name, data in (
            ("etc/xensource-inventory", b"INSTALLATION_UUID='%s'\n" % UUID.encode()),
            ("var/log/xensource.log", _log(700)),
        ):
            member = tarfile.TarInfo(f"{root}/{name}")
            member.size, member.mtime = len(data), 1296475200
            tar.addfile(member, io.BytesIO(data))
    blob = gzip.compress(plain.getvalue())
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / f"{root}.tar.gz").write_bytes(blob[: len(blob) * 9 // 10] if cut else blob)
    monkeypatch.setattr(pipeline, "LARGE_SOURCE_BYTES", 1)
    monkeypatch.setattr(xensource, "STREAM_BYTES", 1)
    monkeypatch.setattr(xensource, "BLOCK_BYTES", 3000)
    spooled: list[int] = []
    real = tempfile.SpooledTemporaryFile
    monkeypatch.setattr(
        tempfile, "SpooledTemporaryFile", lambda *a, **k: spooled.append(1) or real(*a, **k)
    )

    def dataset(name: str) -> dict:
        xensource.forget()
        spooled.clear()
        ds = triage.open_dataset(
            triage.ingest([str(tmp_path / "in")], out=str(tmp_path / name)).out
        )
        return {
            t: ds.sql(f"select * from {t} order by all")
            for t in ("sources", "lines", "facts", "errors", "boots", "findings")
        }

    once = dataset("once")
    assert kept.held() == kept.held_on_disk() == 0  # what the listing kept is gone with its pack
    if too_large_to_hold and not cut:
        assert spooled == [], "read for its facts and its lines where the listing put it"
    else:
        assert spooled == [1], "inflated into one temporary file, read for its facts and lines"

    @contextlib.contextmanager
    def not_shared(staged):  # each reader inflates the log again, as before
        for st in staged:
            if getattr(st, "spools", None):
                st.spools.close()
        yield

    monkeypatch.setattr(worker_mod, "_spools_of", not_shared)
    monkeypatch.setattr(kept, "DISK_BYTES", 0)
    twice = dataset("twice")
    assert spooled == [1, 1]
    for name, table in twice.items():
        pd.testing.assert_frame_equal(once[name], table, obj=name)
    assert cut or (len(once["lines"]) > 2000 and "vm.event.start" in set(once["facts"]["key"]))
    damage = once["errors"][once["errors"]["path"].str.endswith("xensource.log")]
    assert ("truncated-gzip" in set(damage["error_class"])) is cut  # the member's own row
