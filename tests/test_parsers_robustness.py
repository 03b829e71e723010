"""Hostile and broken input: invalid UTF-8, control bytes, huge lines, odd line ends, blocks."""

from __future__ import annotations

import io
import time

import pyarrow as pa
import pytest

from triage.limits import Limits
from triage.model import (
    FLAG_CONTINUATION,
    FLAG_CONTROL_STRIPPED,
    FLAG_INVALID_UTF8,
    FLAG_TRUNCATED,
    LINES_SCHEMA,
    SourceFile,
)
from triage.parsers import FORMATS, iter_parse, parse, parse_bytes, parse_many
from triage.parsers.cleanup import unescape
from triage.parsers.engine import iter_format


def test_invalid_utf8_round_trips_and_is_flagged():
    raw = b"bad \xff\xfe byte and a literal \\x41 and caf\xc3\xa9"
    t = parse_bytes(b"[    1.000000] " + raw + b"\nok line\n", "dmesg").to_pylist()
    assert t[0]["flags"] & FLAG_INVALID_UTF8
    assert t[0]["mono"] == 1.0
    assert unescape(t[0]["text"]) == raw
    assert t[1]["text"] == "ok line" and t[1]["flags"] == FLAG_CONTINUATION  # no printk time
    pa.array([r["text"] for r in t], pa.string()).validate(full=True)


def test_ansi_nul_and_lone_cr():
    data = b"\x1b[1;31m[    2.000000] Kernel panic\x1b[0m\x00\nLoading...\r[    0.000000] Linux version 2.6.18\n"
    t = parse_bytes(data, "console").to_pylist()
    assert t[0]["text"] == "Kernel panic" and t[0]["mono"] == 2.0
    assert t[0]["flags"] & FLAG_CONTROL_STRIPPED
    # a lone CR separates two records; both keep the physical line's number
    assert [(r["lineno"], r["text"]) for r in t[1:]] == [
        (2, "Loading..."),
        (2, "Linux version 2.6.18"),
    ]
    assert t[2]["mono"] == 0.0


def test_cr_cr_lf_and_cr_only_files():
    t = parse_bytes(b"a\r\r\nb\r\n", "console").to_pylist()
    assert [r["text"] for r in t] == ["a", "b"]
    t = parse_bytes(b"first\rsecond\rthird", "console").to_pylist()
    assert [(r["lineno"], r["text"]) for r in t] == [(1, "first"), (2, "second"), (3, "third")]


def test_ten_megabyte_line_is_capped_fast():
    data = b"[    1.000000] start\n" + b"[    2.000000] " + b"x" * (10 * 1024 * 1024) + b"\nend\n"
    t0 = time.perf_counter()
    t = parse_bytes(data, "dmesg", limits=Limits(max_line_bytes=4096)).to_pylist()
    assert time.perf_counter() - t0 < 5
    assert [r["lineno"] for r in t] == [1, 2, 3]
    assert t[1]["flags"] & FLAG_TRUNCATED and len(t[1]["text"]) == 4096 - 15
    assert t[2]["text"] == "end" and t[2]["offset"] == len(data) - 4


def test_truncation_never_splits_utf8():
    line = "é" * 100
    t = parse_bytes(line.encode() + b"\n", "console", limits=Limits(max_line_bytes=51)).to_pylist()
    assert t[0]["text"] == "é" * 25 and t[0]["flags"] == FLAG_TRUNCATED


def test_line_longer_than_a_block_from_a_reader():
    big = b"y" * 300_000
    data = b"one\n" + big + b"\ntwo\n"
    src = SourceFile(disk_path="", path="mem", kind="console")
    limits = Limits(max_line_bytes=1000)
    tables = list(
        iter_format(FORMATS["console"], io.BytesIO(data), limits, "s", src, block_bytes=65536)
    )
    t = pa.concat_tables(tables).to_pylist()
    assert [r["lineno"] for r in t] == [1, 2, 3]
    assert t[1]["flags"] & FLAG_TRUNCATED and len(t[1]["text"]) == 1000
    assert t[2]["text"] == "two" and t[2]["offset"] == 4 + len(big) + 1


def test_small_blocks_give_the_same_rows_as_one_block():
    lines = []
    for i in range(3000):
        if i % 7 == 0:
            lines.append(f"Mar  3 10:00:{i % 60:02d} h sshd[{i}]: noise")
        elif i % 11 == 0:
            lines.append(" continuation without header")
        else:
            lines.append(f"Mar  3 10:00:{i % 60:02d} h kernel: [{i:5d}.000000] line {i}")
    data = ("\n".join(lines) + "\n").encode()
    src = SourceFile(disk_path="", path="m", kind="syslog", year_hint=2011)
    whole = pa.concat_tables(list(iter_format(FORMATS["syslog"], data, Limits(), "s", src)))
    small = pa.concat_tables(
        list(iter_format(FORMATS["syslog"], data, Limits(), "s", src, block_bytes=4096, workers=2))
    )
    assert whole.equals(small)
    expected, keep = [], False
    for i, line in enumerate(lines, 1):
        if not line.startswith(" "):
            keep = " kernel: " in line
        if keep:
            expected.append(i)
    assert whole.column("lineno").to_pylist() == expected


def test_iter_parse_reader_matches_parse():
    data = b"".join(b"[%5d.000000] msg %d\n" % (i, i) for i in range(5000))
    src = SourceFile(disk_path="", path="m", kind="dmesg")
    streamed = pa.concat_tables(list(iter_parse(src, io.BytesIO(data))))
    assert streamed.equals(parse(src, data).lines)
    assert streamed.schema == LINES_SCHEMA


def test_garbage_never_raises():
    for data in (b"", b"\n", b"\x00" * 100, bytes(range(256)) * 50, b"\r" * 10, b"\xff\n" * 10):
        for kind in FORMATS:
            t = parse_bytes(data, kind)
            assert t.schema == LINES_SCHEMA
            t.column("text").combine_chunks().validate(full=True)


def test_fast_syslog_path_equals_the_reference_pattern():
    from dataclasses import replace

    tricky = [
        b"Mar  3 10:00:00 h kernel: [    1.000000] [    T12] plain",
        b"Mar  3 10:00:00 h kernel: <4>[    2.500000] with priority",
        b"Mar  3 10:00:00 h kernel:  [<c0123456>] indented trace",
        b"Mar  3 10:00:00 h kernel:no space after colon",
        b"Mar  3 10:00:00 h <4>odd: tag starting with a bracket",
        b"Mar  3 10:00:00 h -- MARK --",
        b"Mar  3 10:00:00 h last message repeated 3 times",
        b"Mar  3 10:00:00 h syslogd 1.4.1: restart.",
        b"Mar  3 10:00:00.123456 h kernel: precise time",
        b"Mar  3 10:00:00 h klogd[77]: <6>relayed",
        b"not a syslog line at all",
        b"Mar  3 10:00:00 h kernel: caf\xc3\xa9 \xff broken",
    ]
    data = b"\n".join(tricky * 3) + b"\n"
    src = SourceFile(disk_path="", path="m", kind="syslog", year_hint=2012)
    fast = FORMATS["syslog"]
    reference = replace(
        fast, header="", body="", body_fast="", header_time_group="", header_time_width=0
    )
    got = pa.concat_tables(list(iter_format(fast, data, Limits(), "s", src)))
    want = pa.concat_tables(list(iter_format(reference, data, Limits(), "s", src)))
    assert got.equals(want)
    assert got.num_rows == 3 * 11  # all but the `<4>odd` tag; the header-less line continues klogd


def test_fast_console_path_equals_the_reference_pattern():
    from dataclasses import replace

    tricky = [
        b"[    1.000000] plain",
        b"[    1.000000] [    T12] caller id after the time",
        b"[    1.000000][    C1] no space between",
        b"[2009-03-02 10:11:12] [    0.120000] xenconsoled stamp",
        b"<4>[    2.500000] priority first",
        b"[    3.000000]  [<c0123456>] indented trace",
        b"[not a time] bracketed text",
        b"",
        b"plain line",
        b"\x1b[1m[    4.000000] bold\x1b[0m",
        b"[    5.000000] ",
    ]
    data = b"\r\n".join(tricky * 2)  # no final newline: the last line ends the buffer
    src = SourceFile(disk_path="", path="m", kind="console")
    for kind in ("console", "vmcore-dmesg"):
        fast = FORMATS[kind]
        reference = replace(fast, fast="")
        got = pa.concat_tables(list(iter_format(fast, data, Limits(), "s", src)))
        want = pa.concat_tables(list(iter_format(reference, data, Limits(), "s", src)))
        assert got.equals(want), kind
        assert got.num_rows == 2 * len(tricky)


#: the UTF-8 byte order mark
BOM = b"\xef\xbb\xbf"
#: two lines of each kind, as a Windows editor saves them (CR LF in some), the first opening
#: with what Notepad's "UTF-8 with BOM" writes there
BOM_LINES = {
    "dmesg": (b"[    0.000000] Linux version 5.15.0-91-generic", b"[    1.000000] Freeing"),
    "syslog": (
        b"Mar  3 10:15:01 web1 kernel: [ 8123.456789] EXT4-fs error (device sda1)\r",
        b"Mar  3 10:15:02 web1 kernel: [ 8124.000001] Buffer I/O error on dev sda1\r",
    ),
    "syslog-rfc3339": (
        b"2024-03-03T10:15:01+00:00 web1 kernel: [ 8123.456789] EXT4-fs error",
        b"2024-03-03T10:15:02+00:00 web1 kernel: Buffer I/O error",
    ),
    "console": (b"\x1b[0m[    2.000000] Kernel panic - not syncing\r", b"Rebooting in 5\r"),
    "journal": (
        b"Mar 03 10:15:01 web1 kernel: EXT4-fs error (device sda1)",
        b"Mar 03 10:15:02 web1 kernel: Buffer I/O error on dev sda1",
    ),
}


@pytest.mark.parametrize("kind", sorted(BOM_LINES))
def test_a_utf8_byte_order_mark_is_no_part_of_the_line_it_opens(kind: str) -> None:
    """The mark opens the file, or a line where a file saved with it was added to another:
    the line is read from after it, as if it were a prefix, and keeps its offset on disk."""
    first, second = BOM_LINES[kind]
    plain = first + b"\n" + second + b"\n"
    marked = BOM + first + b"\n" + BOM + second + b"\n"
    want = parse_bytes(plain, kind, year_hint=2024)
    got = parse_bytes(marked, kind, year_hint=2024)
    assert got.num_rows == want.num_rows == 2
    assert got.drop_columns(["offset"]).equals(want.drop_columns(["offset"]))
    assert got.column("offset").to_pylist() == [0, len(BOM + first) + 1]
    # parsed with other small files in one engine call, it gets the same rows
    src = SourceFile(disk_path="", path="m", kind=kind, year_hint=2024)
    other = SourceFile(disk_path="", path="o", kind=kind, year_hint=2024)
    packed = parse_many([(other, plain), (src, marked), (other, marked)])
    assert packed[1].lines.equals(parse(src, marked).lines)
    assert packed[2].lines.drop_columns(["source_id"]).equals(got.drop_columns(["source_id"]))


def test_a_line_cut_at_the_cap_is_counted_once_whatever_its_records() -> None:
    """A serial console's progress bar (`Loading vmlinuz... 42%\\r` over and over) is one
    line of many records: cut at max_line_bytes, it was counted once per record ("2,437
    line(s) … were cut" for one line). Read alone and packed with other small sources."""
    from triage import parsers
    from triage.limits import DEFAULT_LIMITS
    from triage.model import SourceFile

    limits = DEFAULT_LIMITS.override(max_line_bytes=1000)
    bar = b"".join(b"Loading vmlinuz....... %d%%\r" % (i % 100) for i in range(200)) + b"\n"
    data = b"[    0.000000] Linux version 2.6.18-128.el5xen\n" + bar + b"[    1.0] ok\n" + bar

    def src(name: str) -> SourceFile:
        return SourceFile(disk_path=f"/c/{name}", bundle="/c", path=name, kind="console")

    alone = parsers.parse(src("a.log"), data, limits)
    packed = parsers.parse_many([(src(f"{n}.log"), data) for n in "bcd"], limits)
    for result in (alone, *packed):
        (error,) = result.errors
        assert error.message.endswith(": 2 line(s) longer than max_line_bytes=1,000 were cut")
