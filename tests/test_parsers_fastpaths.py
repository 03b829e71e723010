"""The engine's shortcuts for small sources give exactly the rows of the general path.

A 20 KB source is one block parsed in a few hundred microseconds, so the fixed costs around it
were cut: no thread pool for one block, no RE2 pass whose anchored first byte no line has, numpy instead of compute kernels for lengths and
nulls. Each is checked here against the path it replaces.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage.limits import Limits
from triage.model import LINES_SCHEMA, SourceFile
from triage.parsers import FORMATS, columns, timestamps
from triage.parsers.engine import _leading_byte, _regex_fields, iter_format

SYSLOG_LINES = [
    b"Mar  3 10:00:00 h kernel: eth0: no IPv6 routers present",
    b"Mar  3 10:00:01 h kernel: <4>device-mapper: ioctl: 4.11.5-ioctl initialised",
    b"Mar  3 10:00:02 h kernel: [    2.500000] printk time in the message",
    b"Mar  3 10:00:03 h sshd[77]: Accepted publickey for root",
    b" continuation without header",
    b"Mar  3 10:00:04 h -- MARK --",
    b"Mar  3 10:00:05 h kernel: caf\xc3\xa9 \xff broken",
    b"Mar  3 10:00:06 h kernel: \x1b[1mbold\x1b[0m",
    b"",
]
CONSOLE_LINES = [
    b"[    1.000000] plain",
    b"plain line without a time",
    b"<4>priority only",
    b"[2009-03-02 10:11:12] xenconsoled stamp",
    b"\x1b[1m[    4.000000] bold\x1b[0m",
    b"",
]


def _parse(kind: str, data: bytes, **kw: object) -> pa.Table:
    src = SourceFile(disk_path="", path="m", kind=kind, year_hint=2012)
    fmt = kw.pop("fmt", FORMATS[kind])
    tables = list(iter_format(fmt, data, Limits(), "s", src, **kw))  # type: ignore[arg-type]
    return pa.concat_tables([LINES_SCHEMA.empty_table(), *tables])


def _reference(kind: str) -> object:
    """The format without any fast stage: one pattern, the plain general path."""
    return replace(
        FORMATS[kind],
        header="",
        body="",
        body_fast="",
        fast="",
        header_time_group="",
        header_time_width=0,
    )


@settings(max_examples=80, deadline=None)
@given(picks=st.lists(st.sampled_from(SYSLOG_LINES), min_size=1, max_size=80))
def test_syslog_small_source_equals_the_general_path(picks: list[bytes]) -> None:
    data = b"\n".join(picks) + b"\n"
    got = _parse("syslog", data)
    assert got.equals(_parse("syslog", data, fmt=_reference("syslog")))
    # one block parsed inline equals many blocks through the thread pool
    assert got.equals(_parse("syslog", data, block_bytes=128, workers=2))


@pytest.mark.parametrize("kind", ["console", "vmcore-dmesg", "dmesg"])
@settings(max_examples=40, deadline=None)
@given(picks=st.lists(st.sampled_from(CONSOLE_LINES), min_size=1, max_size=60))
def test_console_small_source_equals_the_general_path(kind: str, picks: list[bytes]) -> None:
    data = b"\r\n".join(picks)
    got = _parse(kind, data)
    assert got.equals(_parse(kind, data, fmt=_reference(kind)))
    assert got.equals(_parse(kind, data, block_bytes=64, workers=3))


def test_leading_byte_is_read_conservatively() -> None:
    assert _leading_byte(FORMATS["console"].fast) == ord("[")
    assert _leading_byte(FORMATS["syslog"].body_fast) == ord("[")
    assert _leading_byte(r"^(?:a)+b") == ord("a")
    for pattern in (
        FORMATS["console"].pattern,  # everything optional
        r"^(?P<pre>\[x|y)",  # alternation inside the group
        r"^(?:ab)|c",  # alternation at the top
        r"^(?:\[)?x",  # optional group
        r"^a*b",
        r"\[",  # not anchored
        r"^\d",
    ):
        assert _leading_byte(pattern) is None, pattern


@settings(max_examples=80, deadline=None)
@given(texts=st.lists(st.sampled_from(["[  1.5] x", "[x", "<4>[ 2.0] y", "", "plain", "[ 3.25] "])))
def test_gated_regex_fields_equal_running_the_pattern(texts: list[str]) -> None:
    arr = pa.array(texts, pa.string())
    first = np.array([ord(t[0]) if t else -1 for t in texts], np.int64)
    for pattern in (FORMATS["console"].fast, FORMATS["syslog"].body_fast):
        gated = _regex_fields(pattern, lambda a=arr: a, first)
        plain = _regex_fields(pattern, arr)
        assert gated.keys() == plain.keys()
        for name in plain:
            assert gated[name].equals(plain[name]), (pattern, name)


STRINGS = st.lists(st.one_of(st.none(), st.sampled_from(["", "a", "kernel", "ünï", "12.5"])))


@settings(max_examples=100, deadline=None)
@given(values=STRINGS, cut=st.integers(0, 3))
def test_lengths_and_empty_to_null_equal_compute_kernels(
    values: list[str | None], cut: int
) -> None:
    full = pa.array(values, pa.string())
    for arr in (full, full.slice(min(cut, len(values)))):
        want_len = pc.fill_null(pc.binary_length(arr), 0).to_numpy(zero_copy_only=False)
        assert columns.lengths(arr).tolist() == want_len.tolist()
        want = pc.if_else(pc.greater(pc.binary_length(arr), 0), arr, pa.scalar(None, pa.string()))
        assert columns.empty_to_null(arr).equals(want)
        assert columns.valid_mask(arr).tolist() == arr.is_valid().to_pylist()


@settings(max_examples=100, deadline=None)
@given(
    year=st.integers(1, 9999),
    rows=st.lists(st.tuples(st.integers(-3, 15), st.integers(-3, 40)), min_size=1, max_size=20),
)
def test_day_table_equals_the_civil_formula(year: int, rows: list[tuple[int, int]]) -> None:
    month = np.array([m for m, _ in rows], np.int64)
    day = np.array([d for _, d in rows], np.int64)
    years = np.full(len(rows), year, np.int64)
    ok = (month >= 1) & (month <= 12)  # other months are never valid rows
    assert (
        timestamps._days(years, month, day)[ok] == timestamps.days_from_civil(years, month, day)[ok]
    ).all()
