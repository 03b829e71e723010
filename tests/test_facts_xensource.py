"""xensource.log in its three eras: lines for browsing, and the VM events the facts need."""

from __future__ import annotations

from datetime import datetime

import pytest

from triage.model import LINES_SCHEMA, SourceFile
from triage.parsers import xensource
from triage.parsers.bundle_facts import bundle_facts

UUID = "814c8b22-d896-bc76-a421-7afce8e8a538"
ERA_LINES = (
    b"[20090606 09:11:37.123|info|xs5|291 inet-RPC|VM.start R:1b7d5e3a9c20|audit] VM.start: VM = 'x'\n"
    b"[20100914T14:02:05.405Z|debug|xs-host1|38240 inet-RPC|Async.VM.pool_migrate R:4d1e7a0c2b9f|xapi] hi\n"
    b"Mar 17 00:58:40 srv xapi: [error|srv|1959896 unix-RPC|VM.start R:7321d8dea9e4|xapi] Vmops.start_paused caught\n"
    b"Aug 29 10:05:59 xenserver6 xapi: [ info|xenserver6.fooboo.loc|590924 INET :::80|dispatch:VM.pool_migrate "
    b"D:883d3b5008a3|taskhelper] task forwarded\n"
    b"Jun  7 13:36:44 xenserver19 xapi: [debug||381661 UNIX /var/lib/xcp/xapi|VBD.create R:2b1111e718d1|audit] "
    b"VBD.create: VM = 'd9f623ff-0593-d798-d619-76c9ed53d223 (examplevm.domain.loc)'\n"
    b"Jul 29 16:36:43 ng02 squeezed[812]: plain daemon line\n"
    b"\xffgarbage with a bad byte\n"
)


def test_every_era_parses_into_the_lines_schema():
    t = xensource.parse_xensource(ERA_LINES, "sid", year_hint=2020)
    assert t.schema == LINES_SCHEMA
    rows = t.to_pylist()
    assert [r["lineno"] for r in rows] == list(range(1, 8))
    assert rows[0]["timestamp"] == datetime(2009, 6, 6, 9, 11, 37, 123000)
    assert (rows[0]["host"], rows[0]["tag"], rows[0]["level"]) == ("xs5", "audit", 6)
    assert rows[0]["text"] == "VM.start: VM = 'x'"
    assert rows[1]["timestamp"] == datetime(2010, 9, 14, 14, 2, 5, 405000)
    assert rows[2]["level"] == 3 and rows[2]["text"] == "Vmops.start_paused caught"
    assert rows[3]["level"] == 6 and rows[3]["host"] == "xenserver6.fooboo.loc"  # padded level
    # 2019+: empty host field → the syslog header's host
    assert rows[4]["host"] == "xenserver19" and rows[4]["tag"] == "audit"
    assert rows[5]["tag"] == "squeezed" and rows[5]["pid"] == 812 and rows[5]["level"] is None
    assert rows[6]["timestamp"] is None and rows[6]["text"] == "\\xffgarbage with a bad byte"
    assert rows[6]["flags"] & 2
    assert rows[1]["offset"] == ERA_LINES.index(b"[20100914")
    assert t.column("source_id").to_pylist() == ["sid"] * 7


def test_syslog_era_rolls_back_a_year_across_new_year():
    data = (
        b"Dec 31 23:59:58 h xapi: [debug|h|1 |t R:000000000000|xapi] a\n"
        b"Jan  1 00:00:03 h xapi: [debug|h|1 |t R:000000000000|xapi] b\n"
    )
    ts = xensource.parse_xensource(data, year_hint=2021).column("timestamp").to_pylist()
    assert ts == [datetime(2020, 12, 31, 23, 59, 58), datetime(2021, 1, 1, 0, 0, 3)]
    # without any year the time is unknown rather than invented
    assert xensource.parse_xensource(data).column("timestamp").null_count == 2


def _events(text: str, year: int = 2019) -> list[xensource.XsEvent]:
    return xensource.extract_events(xensource.parse_lines(text.encode(), year))


def test_xenopsd_and_audit_lines_of_one_task_give_one_event():
    evs = _events(
        f"Sep 11 08:58:10 xs13 xapi: [debug|xs13|50 |Async.VM.pool_migrate R:3e35c13ce76f|audit] "
        f"VM.pool_migrate: VM = '{UUID} (web01)'; host = '2f9d8c7b-6a5e-4d3c-8b2a-19f0e8d7c6b5 (xs14)'\n"
        f"Sep 11 08:58:15 xs13 xenopsd-xc: [debug|xs13|18 |Async.VM.pool_migrate R:3e35c13ce76f|xenops] "
        f"VM.migrate {UUID} -> https://10.0.0.2/services/xenops\n"
        f"Sep 11 08:58:15 xs13 xapi: [ info|xs13|50 |Async.VM.pool_migrate R:3e35c13ce76f|xapi] "
        f"xenops: VM.migrate {UUID} to https://10.0.0.2/services/xenops\n"
        f"Sep 11 08:59:01 xs13 xapi: [debug|xs13|50 |Async.VM.pool_migrate R:3e35c13ce76f|xapi] "
        f"VM.pool_migrate_complete {UUID}\n"
    )
    assert [(e.key, e.value, e.vm_uuid, e.vm_name, e.lineno) for e in evs] == [
        ("vm.event.migrate", "pool_migrate start to xs14", UUID, "web01", 1),
        ("vm.event.migrate", "pool_migrate start", UUID, "web01", 2),
        ("vm.event.migrate", "pool_migrate done", UUID, "web01", 4),
    ]
    assert evs[0].time == datetime(2019, 9, 11, 8, 58, 10)


def test_memory_failures_follow_their_task_and_era_units():
    evs = _events(
        f"Jun  7 13:36:44 xs xapi: [debug||38 UNIX /var/lib/xcp/xapi|VM.start R:2b1111e718d1|audit] "
        f"VM.start: VM = '{UUID} (big)'\n"
        "Jun  7 13:36:45 xs xapi: [error||38 UNIX /var/lib/xcp/xapi|VM.start R:2b1111e718d1|backtrace] "
        "VM.start R:2b1111e718d1 failed with exception Server_error(HOST_NOT_ENOUGH_FREE_MEMORY, "
        "[ 8663330816; 4300062720 ])\n"
        f"Jun  7 13:40:00 xs xapi: [debug||40 |Async.VM.migrate_send R:192ac12ef74b|audit] "
        f"VM.migrate_send: VM = '{UUID} (big)'\n"
        "Jun  7 13:40:09 xs xenopsd-xc: [error||20 |Async.VM.migrate_send R:192ac12ef74b|xenops_server] "
        'cannot transmit vm to host: ["Cannot_free_this_much_memory",[8663330816,4300062720]]\n'
    )
    assert [(e.key, e.value) for e in evs] == [
        ("vm.event.start", "start requested"),
        (
            "vm.event.start_failed",
            "HOST_NOT_ENOUGH_FREE_MEMORY required_bytes=8663330816 available_bytes=4300062720",
        ),
        ("vm.event.migrate", "migrate_send start"),
        (
            "vm.event.migrate_failed",
            "Cannot_free_this_much_memory required_bytes=8663330816 available_bytes=4300062720",
        ),
    ]
    assert all(e.vm_uuid == UUID for e in evs)
    # a 2009 error without xapi's explanatory line keeps its raw, era-ambiguous parameters
    old = _events(
        f"[20090615 09:31:05.102|info|xs01|291 inet-RPC|VM.start R:1b7d5e3a9c20|audit] "
        f"VM.start: VM = '{UUID} (big)'\n"
        "[20090615 09:31:05.772|error|xs01|291 inet-RPC|VM.start R:1b7d5e3a9c20|backtrace] VM.start "
        "R:1b7d5e3a9c20 failed with exception Server_error(HOST_NOT_ENOUGH_FREE_MEMORY, [ 1049600; 524288 ])\n"
    )
    assert old[1].value == "HOST_NOT_ENOUGH_FREE_MEMORY params=[1049600; 524288]"


def test_guest_crash_in_the_5x_event_thread_keeps_the_opaque_ref():
    evs = _events(
        "[20100914T14:05:31.011Z|debug|xs|67 xal_listen||event] VM OpaqueRef:9f8e7d6c-5b4a-3928-1706-"
        "f5e4d3c2b1a0 (domid 14) domain has crashed; executing actions_after_crash\n"
        f"Sep 11 08:58:15 xs13 xenopsd-xc: [ warn|xs13|18 |VM.start R:000000000001|xenops] VM {UUID} "
        "crashed too quickly after start (0.52 seconds); shutting down\n"
    )
    assert evs[0].key == "vm.event.crash" and evs[0].domid == 14
    assert evs[0].vm_ref == "OpaqueRef:9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0"
    assert (evs[1].key, evs[1].vm_uuid) == ("vm.event.crash", UUID)


def _one(path: str, data: bytes):
    src = SourceFile(disk_path="/c/" + path, bundle="/c/b.tar", path=path, members=(path,))
    return bundle_facts([src], lambda s: data)


def test_truncated_and_unknown_logs_give_error_rows_not_exceptions():
    cut = ERA_LINES[:-10]  # inside the last line
    facts, errors = _one("bug-report-20200101000000/var/log/xensource.log", cut)
    assert [e.error_class for e in errors] == ["truncated"]
    assert "xensource.log" in errors[0].message and "line 7" in errors[0].message
    facts, errors = _one("bug-report-20200101000000/var/log/xensource.log", b"hello\nworld\n" * 3)
    assert facts == [] and [e.error_class for e in errors] == ["unknown-layout"]
    _, errors = _one("bug-report-20200101000000/var/log/xensource.log", b"")
    assert [e.error_class for e in errors] == ["empty"]


def test_the_parsers_registry_serves_xensource_logs():
    from triage import parsers
    from triage.limits import DEFAULT_LIMITS
    from triage.model import KIND_XENSOURCE

    src = SourceFile(
        disk_path="/c/b.tar",
        members=("bug-report-20200101000000/var/log/xensource.log",),
        bundle="/c/b.tar",
        path="bug-report-20200101000000/var/log/xensource.log",
        kind=KIND_XENSOURCE,
    )
    res = parsers.parse(src, ERA_LINES, DEFAULT_LIMITS)
    assert res.lines.num_rows == 7 and not res.partial
    assert res.lines.column("source_id").to_pylist() == [src.source_id] * 7
    # no year_hint: the bug-report name gives the year of the last lines; Aug → Jun is a New Year
    ts = res.lines.column("timestamp").to_pylist()
    assert ts[2] == datetime(2019, 3, 17, 0, 58, 40) and ts[4] == datetime(2020, 6, 7, 13, 36, 44)
    cut = parsers.parse(src, ERA_LINES[:-10], DEFAULT_LIMITS.override(max_line_bytes=40))
    assert cut.partial and "truncated" in [e.error_class for e in cut.errors]
    assert cut.lines.column("flags")[0].as_py() & 1  # capped at 40 bytes, flagged
    assert len(cut.lines.column("text")[0].as_py()) <= 40


def test_slices_of_lines_give_the_rows_and_events_of_one_pass(monkeypatch):
    """The lines are split and matched a slice at a time (a log of hundreds of MiB must not
    hold its text twice): cut after every line, and across a New Year, the rows and events
    are those of the whole file at once. Only the whole file's bytes say the year."""
    dirty = b"\x1b[31mred\x1b[0m line\r\nbad \xff\xfe utf8\nnul\x00byte\n" + b"x" * 700 + b"\n"
    data = (
        ERA_LINES
        + dirty
        + b"Dec 31 23:59:58 h xapi: [ info|h|1 |VM.start R:000000000001|audit] VM.start: VM = '"
        + UUID.encode()
        + b" (vm1)'\nJan  1 00:00:03 h xapi: [debug|h|1 |t R:000000000000|xapi] b\n"
        + b"Jan  1 00:00:04 h xapi: [error|h|2 |VM.start R:000000000001|xapi] "
        + b"HOST_NOT_ENOUGH_FREE_MEMORY, [ 1049600; 524288 ]\nno newline at the end"
    )
    whole = xensource.parse_lines(data, 2021, 500)
    for size in (1, 2, 5):
        monkeypatch.setattr(xensource, "SLICE_LINES", size)
        sliced = xensource.parse_lines(data, 2021, 500)
        assert sliced.table.num_columns == whole.table.num_columns
        assert sliced.table.to_pylist() == whole.table.to_pylist()
        assert (sliced.era, sliced.matched) == (whole.era, whole.matched)
        assert sliced.task.to_pylist() == whole.task.to_pylist()
        assert [e.__dict__ for e in xensource.extract_events(sliced)] == [
            e.__dict__ for e in xensource.extract_events(whole)
        ]
    rows = whole.table.to_pylist()
    years = [r["timestamp"].year for r in rows if r["timestamp"] and r["text"] in ("b",)]
    assert years == [2021]
    assert any(r["flags"] & 2 for r in rows) and any(r["flags"] & 4 for r in rows)
    assert [e.key for e in xensource.extract_events(whole)][-1].startswith("vm.")


def test_a_large_log_read_for_its_facts_is_not_parsed_again_for_its_lines(monkeypatch):
    """A status report's xensource.log is read for the bundle's facts and then as a source:
    a large one is parsed once, its lines the same as a parse of their own; a line cap that
    would change them, other bytes or another year parse again."""
    from triage.limits import DEFAULT_LIMITS
    from triage.parsers import parse

    monkeypatch.setattr(xensource, "KEEP_BYTES", 1000)
    data = ERA_LINES * 20
    src = SourceFile(
        disk_path="/x/bug-report-20210101000000/var/log/xensource.log",
        bundle="/x/bug-report-20210101000000.tar",
        path="bug-report-20210101000000/var/log/xensource.log",
        kind="xensource",
    )
    alone = parse(src, data, DEFAULT_LIMITS).lines.to_pylist()
    calls = []
    real = xensource.parse_lines
    monkeypatch.setattr(
        xensource, "parse_lines", lambda *a, **k: calls.append(a[1:]) or real(*a, **k)
    )
    xensource.parse_for_facts(src, data)
    assert parse(src, data, DEFAULT_LIMITS).lines.to_pylist() == alone
    assert len(calls) == 1, "the facts' parse served the lines"
    # served once; a cap shorter than a line, or other bytes, are parsed anew
    parse(src, data, DEFAULT_LIMITS)
    xensource.parse_for_facts(src, data)
    capped = parse(src, data, DEFAULT_LIMITS.override(max_line_bytes=60))
    assert any(r["flags"] & 1 for r in capped.lines.to_pylist())
    xensource.parse_for_facts(src, data)
    parse(src, data + b"one more line\n", DEFAULT_LIMITS)
    xensource.parse_for_facts(src, data)
    xensource.forget()
    parse(src, data, DEFAULT_LIMITS)
    assert len(calls) == 8  # 4 for facts, 4 for lines: all but the first served anew


def _new_years_log() -> bytes:
    """Every era, dirty lines, a line of 700 bytes and two New Years, without a final newline."""
    lines = [ERA_LINES]
    for year_end in (b"Dec 30", b"Dec 31"):
        for day in (b"Nov 29", year_end, b"Jan  1", b"Jan  2"):
            lines.append(day + b" 10:00:00 h xapi: [debug|h|1 |t R:000000000000|xapi] tick\n")
            lines.append(b"  a stack trace line without a header\n")
    lines.append(
        b"\x1b[31mred\x1b[0m line\r\nbad \xff\xfe utf8\nnul\x00byte\n" + b"x" * 700 + b"\n"
    )
    lines.append(b"Feb  3 10:00:00 h squeezed[812]: last line, cut")
    return b"".join(lines)


def test_blocks_of_a_log_read_twice_give_the_rows_of_one_pass(monkeypatch):
    """A log too large to hold is read in blocks, twice: the months first (for the New Years
    after each block), then the rows. Whatever the block size, they are those of one pass."""
    import io

    data = _new_years_log()
    years = {
        r["timestamp"].year
        for r in xensource.parse_lines(data, 2021).table.to_pylist()
        if r["timestamp"]
    }
    assert {2019, 2020, 2021} <= years
    # blocks shorter than most lines; a cap keeps a long line to as much as a block holds
    for size, cap in ((170, 40), (404, 100), (1000, 100), (1500, None)):
        monkeypatch.setattr(xensource, "BLOCK_BYTES", size)
        want = xensource.parse_lines(data, 2021, cap)
        runs = xensource.month_runs(io.BytesIO(data), cap)
        assert len(runs) > 1
        after = xensource.wraps_after(runs)
        blocks = [p for _, p in xensource.parse_blocks(io.BytesIO(data), 2021, cap, after)]
        rows = [r for p in blocks for r in p.table.to_pylist()]
        assert rows == want.table.to_pylist(), size
        counts = {k: sum(p.counts[k] for p in blocks) for k in xensource.COUNTS}
        assert (xensource.era_of(counts), xensource.matched_of(counts)) == (
            want.era,
            want.matched,
        )


def test_new_years_after_each_block():
    run = xensource.MonthRun
    nan = float("nan")
    runs = [run(11, 12, 0), run(nan, nan, 0), run(1, 12, 1), run(3, 3, 0), run(1, 2, 0)]
    # a drop between blocks counts for the block before it (12 → 1, 12 → 3, 3 → 1), one inside
    # a block for those before it; a block without a month has those after it
    assert xensource.wraps_after(runs) == [4, 3, 2, 1, 0]


def _facts_both_ways(monkeypatch, data: bytes, size: int = -1):
    """bundle_facts of a xensource.log held whole, and read in blocks through an opener."""
    import io
    from contextlib import contextmanager

    from triage.parsers.blocks import Bounded

    path = "bug-report-20210101000000/var/log/xensource.log"
    src = SourceFile(
        disk_path="/c/" + path, bundle="/c/b.tar", path=path, members=(path,), size=size
    )
    whole = bundle_facts([src], lambda s: data)

    @contextmanager
    def opener(s):
        yield Bounded(io.BytesIO(data))

    monkeypatch.setattr(xensource, "STREAM_BYTES", 100)
    monkeypatch.setattr(xensource, "BLOCK_BYTES", 500)
    streamed = bundle_facts([src], lambda s: pytest.fail("read whole"), opener)
    return whole, streamed


def test_a_log_too_large_to_hold_gives_the_facts_of_one_read_whole(monkeypatch):
    """The events of a xensource.log read in blocks, over New Years and with the task of an
    audit line in one block and its failure in another, are those of the log held whole;
    so are the error rows of a cut log and of one of no known layout."""
    mig = (
        f"Dec 31 08:58:10 xs13 xapi: [debug|xs13|50 |Async.VM.pool_migrate R:3e35c13ce76f|audit] "
        f"VM.pool_migrate: VM = '{UUID} (web01)'; host = '2f9d8c7b-6a5e-4d3c-8b2a-19f0e8d7c6b5 (xs14)'\n"
    ).encode()
    fail = (
        b"Jan  1 13:36:45 xs xapi: [error||38 UNIX /var/lib/xcp/xapi|VM.start R:3e35c13ce76f|backtrace] "
        b"VM.start R:3e35c13ce76f failed with exception Server_error(HOST_NOT_ENOUGH_FREE_MEMORY, "
        b"[ 8663330816; 4300062720 ])\n"
    )
    filler = b"Jan  1 13:36:44 xs squeezed[812]: balancing\n" * 30
    data = _new_years_log() + b"\n" + mig + filler + fail + filler + mig
    whole, streamed = _facts_both_ways(monkeypatch, data)
    assert streamed == whole
    # of a size known before it is read (a plain file or a tar member): no head read first
    assert _facts_both_ways(monkeypatch, data, size=len(data)) == (whole, whole)
    keys = [f.key for f in whole[0]]
    assert "vm.event.migrate" in keys and "vm.event.start_failed" in keys
    assert [e.error_class for e in whole[1]] == []
    times = sorted(f.time.year for f in whole[0] if f.time)
    assert times[0] < times[-1] == 2021
    for bad in (data[:-10], b"hello\nworld\n" * 30):
        whole, streamed = _facts_both_ways(monkeypatch, bad)
        assert streamed == whole and whole[1]
    # a compressed log turns out small: read whole, as before
    whole, streamed = _facts_both_ways(monkeypatch, mig[:90], size=-1)
    assert streamed == whole


def test_a_syslog_header_time_reads_as_the_syslog_parser_reads_it():
    """The same `Mmm dd hh:mm:ss` header in a xensource.log and in /var/log/messages gives the
    same time of the year, the impossible ones (31 June, 29 February of a common year, hour 24)
    none. (The years are each parser's own count of New Years: exact here, sampled there.)"""
    from triage import parsers
    from triage.limits import DEFAULT_LIMITS
    from triage.model import KIND_SYSLOG

    stamps = ["Jun  7 13:36:44", "Jun 31 10:00:00", "Feb 29 10:00:00", "Mar  1 24:00:00"]
    stamps += ["Mar  2 23:59:60", "Dec 31 23:59:59", "Jan  1 00:00:00", "Jan  5 08:00:00"]
    xs = "".join(f"{t} h xapi: [debug|h|1 |t R:000000000000|xapi] x\n" for t in stamps)
    syslog = "".join(f"{t} h kernel: x\n" for t in stamps)
    src = SourceFile(disk_path="/c/messages", path="messages", kind=KIND_SYSLOG, year_hint=2011)
    want = parsers.parse(src, syslog.encode(), DEFAULT_LIMITS).lines.column("timestamp")
    got = xensource.parse_xensource(xs.encode(), year_hint=2011).column("timestamp")

    def of_year(times):
        return [t and (t.month, t.day, t.time()) for t in times.to_pylist()]

    assert of_year(got) == of_year(want)
    assert got.to_pylist()[0] == datetime(2009, 6, 7, 13, 36, 44)  # Jun → Feb, Dec → Jan
    assert got.to_pylist()[-1] == datetime(2011, 1, 5, 8, 0)
    assert got.null_count == 3


def test_the_control_byte_check_agrees_with_the_pattern_that_strips_them() -> None:
    """`_has_control` decides whether a slice goes through the stripping patterns: it must
    say yes exactly when `_CONTROL_RE2` has something to strip."""
    import random
    import re

    pattern = re.compile(xensource._CONTROL_RE2.encode())
    rnd = random.Random(5)
    alphabet = [b"a", b" ", b"\n", b"\t", b"\r", b"\x00", b"\x1b", b"\x7f", b"\x1f", b"\x80", b"~"]
    for _ in range(3000):
        data = b"".join(rnd.choice(alphabet) for _ in range(rnd.randrange(0, 12)))
        assert xensource._has_control(memoryview(data)) == bool(pattern.search(data)), data
