"""The printk time read with numpy (`parsers/printk.py`) gives the rows of the patterns.

Console, dmesg and vmcore-dmesg lines whose fixed-width `[%5lu.%06lu] ` time the numpy reader
takes never reach RE2; every other line does. Lines here are built from the bytes a prefix is
made of, so that shapes one byte away from the fixed width (wider seconds, a digit after a
space, a missing space, a caller id, a tab, a cut line, a CR) meet both paths.
"""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from triage.limits import Limits
from triage.model import LINES_SCHEMA, SourceFile
from triage.parsers import FORMATS, printk
from triage.parsers.blocks import iter_blocks
from triage.parsers.engine import iter_format

KINDS = ["console", "dmesg", "vmcore-dmesg"]


def _parse(kind: str, data: bytes, fmt: object = None, **kw: object) -> pa.Table:
    src = SourceFile(disk_path="", path="m", kind=kind)
    tables = list(iter_format(fmt or FORMATS[kind], data, Limits(), "s", src, **kw))  # type: ignore[arg-type]
    return pa.concat_tables([LINES_SCHEMA.empty_table(), *tables])


def _regex_only(kind: str) -> object:
    """The format with the same fast pattern spelt differently: RE2 for every line."""
    fmt = FORMATS[kind]
    return replace(fmt, fast=fmt.fast.replace(r"(?P<mono>\d+", r"(?P<mono>[0-9]+"))


def _time(secs: int, micro: int, pad: int) -> bytes:
    return b"[" + f"{secs:>{pad}}.{micro:06d}".encode() + b"]"


PIECES = st.one_of(
    st.builds(_time, st.integers(0, 99_999_999), st.integers(0, 999_999), st.integers(1, 9)),
    st.sampled_from(
        [b" ", b"  ", b"\t", b"[", b"]", b".", b"[T12]", b"[C3] ", b"<4>", b"msg", b"12", b"\r"]
    ),
)
#: a prefix-like line byte by byte: a fixed-width time with one byte changed, and the like
NEAR = st.lists(st.sampled_from([b"[", b"]", b" ", b".", b"1", b"0", b"T", b"\t"]), max_size=20)
NEAR_TIME = st.builds(
    lambda line, at, byte: line[:at] + byte + line[at + 1 :],
    st.sampled_from([b"[    1.000000] x", b"[123456.654321] [T1] y", b"[1234567.000001] z"]),
    st.integers(0, 17),
    st.sampled_from([b"", b" ", b"1", b"[", b"]", b".", b"\t", b"x"]),
)
LINE = st.one_of(st.lists(PIECES, max_size=4).map(b"".join), NEAR.map(b"".join), NEAR_TIME)
LINES = st.lists(LINE, min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(lines=LINES, sep=st.sampled_from([b"\n", b"\r\n"]), end=st.booleans())
def test_numpy_times_give_the_rows_of_the_patterns(
    lines: list[bytes], sep: bytes, end: bool
) -> None:
    data = sep.join(lines) + (sep if end else b"")
    for kind in KINDS:
        want = _parse(kind, data, _regex_only(kind))
        assert _parse(kind, data).equals(want), kind
        # small blocks through the thread pool (lines past 64 bytes are cut at 64 there)
        small = _parse(kind, data, _regex_only(kind), block_bytes=64, workers=2)
        assert _parse(kind, data, block_bytes=64, workers=2).equals(small), kind


def test_the_usual_lines_are_read_by_numpy() -> None:
    lines = [b"[    0.000000] a", b"[123456.000001] b", b"[1234567.999999] c", b"[   12.5] d"]
    head = printk.head_bytes(
        np.frombuffer(b"\n".join(lines), np.uint8),
        np.cumsum([0] + [len(x) + 1 for x in lines[:-1]]),
    )
    width, mono = printk.fixed_times(head, np.array([len(x) + 1 for x in lines]))
    assert width.tolist() == [15, 16, 17, 0]  # the last (not 6 micro digits) goes to RE2
    assert mono[:3].tolist() == [0.0, 123456.000001, 1234567.999999]


@settings(max_examples=300, deadline=None)
@given(secs=st.integers(0, 9_999_999), micro=st.integers(0, 999_999))
def test_seconds_equal_the_parse_of_the_digits(secs: int, micro: int) -> None:
    line = _time(secs, micro, 5) + b" x"
    head = printk.head_bytes(np.frombuffer(line, np.uint8), np.array([0]))
    width, mono = printk.fixed_times(head, np.array([len(line)]))
    assert width[0] == len(_time(secs, micro, 5)) + 1
    assert mono[0] == float(f"{secs}.{micro:06d}")


class _Trickle(io.RawIOBase):
    """A stream that returns at most 1000 bytes per read, like a pipe or a decompressor."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        n = min(len(b), 1000, len(self.data) - self.pos)
        b[:n] = self.data[self.pos : self.pos + n]
        self.pos += n
        return n


class _Holding(_Trickle):
    """A stream that keeps the last buffer it was handed, as something holding the frame of
    a read (a profiler's sample) keeps it alive."""

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        self.held = b
        return super().readinto(b)


def test_blocks_of_a_stream_that_keeps_a_view_of_the_buffer_are_read() -> None:
    """The last read of a stream fills a block's buffer in part: the part is kept without
    resizing the buffer, which a view still alive elsewhere forbids (it raised BufferError
    in a Dask worker, now and then)."""
    data = b"".join(b"[%12.6f] line %d\n" % (i / 7, i) for i in range(3000))
    blocks = list(iter_blocks(_Holding(data), block_bytes=8192, cap=4096))
    assert b"".join(bytes(b.data) for b in blocks) == data
    assert blocks[-1].at_eof


def test_blocks_of_a_stream_with_short_reads_are_whole_lines() -> None:
    data = b"".join(b"[%12.6f] line %d\n" % (i / 7, i) for i in range(3000)) + b"no newline"
    blocks = list(iter_blocks(_Trickle(data), block_bytes=8192, cap=4096))
    assert b"".join(bytes(b.data) for b in blocks) == data
    assert all(bytes(b.data).endswith(b"\n") for b in blocks[:-1])
    assert [b.offset for b in blocks] == np.cumsum(
        [0] + [len(b.data) for b in blocks[:-1]]
    ).tolist()
    assert blocks[-1].at_eof
