"""The year of a log whose lines have none (RFC 3164 syslog, journalctl short): the year of a
date the log was written before, or the year before when its last line's day comes later in
the year than that date, whichever way the file is read."""

from __future__ import annotations

import datetime as dt
import gzip
import os
from pathlib import Path

import pytest

import triage
from triage import pipeline
from triage.batch import units as units_mod
from triage.model import SourceFile
from triage.parsers import years
from triage.sources import walk
from triage.sources.detect import journal_end


def _syslog(days: list[tuple[str, int]], per_day: int) -> bytes:
    """`per_day` kernel lines for each (month, day), in order, about 100 bytes each."""
    out = []
    for month, day in days:
        for i in range(per_day):
            hh, mm, ss = 12 + i // 3600 % 12, i // 60 % 60, i % 60
            out.append(
                f"{month} {day:2d} {hh:02d}:{mm:02d}:{ss:02d} web07 kernel: e1000: eth0 NIC Link "
                f"is Up 1000 Mbps Full Duplex, Flow Control: None ({i})\n"
            )
    return "".join(out).encode()


def _years(out: str) -> list[tuple[int, int]]:
    """(year, month) of each line's time, in file order."""
    lines = triage.open_dataset(out).lines.sort_values("lineno")
    return [(t.year, t.month) for t in lines["timestamp"]]


def _runs(values: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [v for i, v in enumerate(values) if i == 0 or values[i - 1] != v]


#: (how the file is read, its bytes as stored, what to set to read it so)
WAYS = ["packed", "gzip", "streamed", "gzip-streamed", "chunked"]
LARGE = ("streamed", "gzip-streamed", "chunked")


def _ingest(way: str, path: Path, data: bytes, out: Path, mp: pytest.MonkeyPatch) -> str:
    if way.startswith("gzip"):
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    jobs = 1
    if way in LARGE:
        assert len(data) > 300 << 10
        mp.setattr(pipeline, "LARGE_SOURCE_BYTES", 256 << 10)
    if way == "chunked":
        mp.setattr(units_mod, "CHUNK_SOURCE_BYTES", 256 << 10)
        jobs = 2
    return str(triage.ingest([str(path)], out=str(out), jobs=jobs).out)


#: (days the log covers, the (year, month) runs its lines get) for a log rotated on 2 January
ROTATED = {
    "ends in December: the year before": ([("Dec", 29), ("Dec", 30)], [(2023, 12)]),
    "over New Year: both years": ([("Dec", 30), ("Jan", 1)], [(2023, 12), (2024, 1)]),
}


@pytest.mark.parametrize("case", list(ROTATED))
@pytest.mark.parametrize("way", WAYS)
def test_a_log_rotated_in_january_gets_the_years_its_days_were_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, way: str, case: str
) -> None:
    days, want = ROTATED[case]
    (tmp_path / "in").mkdir()
    data = _syslog(days, 1600 if way in LARGE else 20)
    out = _ingest(way, tmp_path / "in" / "messages-20240102", data, tmp_path / "ds", monkeypatch)
    assert _runs(_years(out)) == want


#: the UTF-8 byte order mark
BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize("way", WAYS)
def test_a_log_saved_with_a_byte_order_mark_takes_its_first_lines_year_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, way: str
) -> None:
    """Its one December line, after the mark, is the New Year the log spans, however read."""
    (tmp_path / "in").mkdir()
    data = BOM + _syslog([("Dec", 31)], 1) + _syslog([("Jan", 1)], 3200 if way in LARGE else 20)
    out = _ingest(way, tmp_path / "in" / "messages-20240102", data, tmp_path / "ds", monkeypatch)
    assert _runs(_years(out)) == [(2023, 12), (2024, 1)]


def test_a_file_stamped_on_new_years_eve_in_utc_can_end_on_new_years_day(tmp_path: Path) -> None:
    """Its lines are in local time, a zone ahead: the last is of the year after the mtime's."""
    log = tmp_path / "messages"
    log.write_bytes(_syslog([("Dec", 31), ("Jan", 1)], 10))
    stamp = dt.datetime(2023, 12, 31, 23, 30, tzinfo=dt.UTC).timestamp()
    os.utime(log, (stamp, stamp))
    assert _runs(_years(str(triage.ingest([str(log)], out=str(tmp_path / "ds")).out))) == [
        (2023, 12),
        (2024, 1),
    ]


JOURNAL_HEAD = (
    b"-- Logs begin at Mon 2024-01-15 09:00:01 UTC, end at Mon 2024-01-15 10:12:44 UTC. --\n"
)


def test_a_journal_export_is_of_the_year_its_header_says_whatever_its_mtime(
    tmp_path: Path,
) -> None:
    log = tmp_path / "journalctl_--no-pager"
    body = _syslog([("Jan", 15)], 30)
    log.write_bytes(JOURNAL_HEAD + body)
    stamp = dt.datetime(2026, 3, 1, tzinfo=dt.UTC).timestamp()
    os.utime(log, (stamp, stamp))
    (src,) = [s for s in walk([str(log)]) if isinstance(s, SourceFile)]
    assert (src.kind, src.year_hint, src.year_from) == ("journal", 2024, "2024-01-15")
    out = str(triage.ingest([str(log)], out=str(tmp_path / "ds")).out)
    assert set(_years(out)) == {(2024, 1)}


def test_journal_headers_of_each_systemd_give_the_end_date() -> None:
    assert journal_end(JOURNAL_HEAD.rstrip()) == "2024-01-15"
    newer = (
        b"-- Journal begins at Sat 2023-12-30 08:00:00 CET, ends at Tue 2024-01-02 11:12:13 CET. --"
    )
    assert journal_end(newer) == "2024-01-02"
    assert journal_end(b"-- Boot 0123456789abcdef0123456789abcdef --") == ""
    assert (
        journal_end(b"-- Logs begin at Mon 2024-01-15 09:00:01 UTC, end at Mon 2024-13-45 x") == ""
    )


def test_the_last_day_is_the_latest_date_no_more_than_a_week_after_the_reference() -> None:
    def shift(ref: str, last: tuple[int, int]) -> int:
        src = SourceFile(disk_path="", year_hint=int(ref[:4]), year_from=ref)
        return years.end_shift(src, last)

    assert shift("2024-01-02", (12, 30)) == 1  # rotated after New Year
    assert shift("2024-01-02", (1, 2)) == 0
    assert shift("2024-06-10", (6, 17)) == 0  # a week of clocks and zones
    assert shift("2024-06-10", (6, 18)) == 1  # later in the year: last year's
    assert shift("2023-12-31", (1, 1)) == -1  # the next year's first day, a zone ahead
    assert shift("2025-03-01", (2, 29)) == 1  # the last 29 February: 2024
    assert shift("2024-03-01", (2, 29)) == 0
    assert years.end_shift(SourceFile(disk_path="", year_hint=2024), (12, 30)) == 0


def _xensource(days: list[tuple[str, int]], per_day: int) -> bytes:
    """A xensource.log of XenServer 6.1+ (syslog header, no year) over `days`, with one audit
    line a day, the start of VM web01, which the facts date."""
    out = []
    for month, day in days:
        for i in range(per_day):
            stamp = f"{month} {day:2d} 10:{i // 60 % 60:02d}:{i % 60:02d}"
            out.append(
                f"{stamp} xs13 xapi: [debug|xs13|50 |dispatch:VM.start D:{i:012x}|api_effect] "
                f"task {i} done\n"
            )
        out.append(
            f"{month} {day:2d} 11:00:00 xs13 xapi: [debug|xs13|50 |VM.start R:{day:012x}|audit] "
            "VM.start: VM = '814c8b22-d896-bc76-a421-7afce8e8a538 (web01)'\n"
        )
    return "".join(out).encode()


@pytest.mark.parametrize("way", ["whole", "gzip", "streamed", "gzip-streamed"])
@pytest.mark.parametrize("case", list(ROTATED))
def test_a_rotated_xensource_log_gets_the_years_its_days_were_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, way: str, case: str
) -> None:
    """As syslog: a status report's `xensource.log.1`, last written on 2 January, whose last
    line is of 30 December, ends the year before. Its lines and the events its facts date
    (read on their own pass) agree, read whole or in blocks, compressed or not."""
    from triage.parsers import xensource

    days, want = ROTATED[case]
    folder = tmp_path / "bug-report-20240102093000" / "var" / "log"
    folder.mkdir(parents=True)
    data = _xensource(days, 2000 if way.endswith("streamed") else 30)
    path = folder / ("xensource.log.1.gz" if way.startswith("gzip") else "xensource.log.1")
    path.write_bytes(gzip.compress(data) if way.startswith("gzip") else data)
    stamp = dt.datetime(2024, 1, 2, 8, 0, tzinfo=dt.UTC).timestamp()
    os.utime(path, (stamp, stamp))
    if way.endswith("streamed"):
        assert len(data) > 300 << 10
        monkeypatch.setattr(pipeline, "LARGE_SOURCE_BYTES", 64 << 10)
        monkeypatch.setattr(xensource, "STREAM_BYTES", 64 << 10)
        monkeypatch.setattr(xensource, "BLOCK_BYTES", 64 << 10)
    read = []
    for name in ("read_for_facts", "read_log"):
        real = getattr(xensource, name)
        spy = lambda *a, real=real, name=name: read.append(name) or real(*a)  # noqa: E731
        monkeypatch.setattr(xensource, name, spy)
    out = str(
        triage.ingest([str(tmp_path / "bug-report-20240102093000")], out=str(tmp_path / "ds")).out
    )
    assert read == (["read_for_facts", "read_log"] if way.endswith("streamed") else [])
    assert _runs(_years(out)) == want
    facts = triage.open_dataset(out).facts
    started = facts[facts["key"] == "vm.event.start"]["time"]
    assert len(started) == len(days)
    assert sorted((t.year, t.month) for t in started) == [
        want[0] if m == "Dec" else want[-1] for m, _ in days
    ]
