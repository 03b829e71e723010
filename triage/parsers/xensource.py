"""xapi's xensource.log: browsable lines for every era, and the VM lifecycle events it records.

The file changed layout three times (knowledge/xenserver-status-report.md §1.1): xapi wrote its
own `[YYYYMMDD HH:MM:SS.mmm|…` header up to Oct 2009 (local time) and `[YYYYMMDDTHH:MM:SSZ|…`
until 6.0 (UTC); from 6.1 on the same bracket follows a syslog header without a year, the level
is padded to five characters from 2017 and the host field is empty from 2019. Lines are split and
matched with Arrow's vectorised regex kernels because these logs run to hundreds of MiB; Python
only looks at the few lines that carry an event.

Times are naive: local time for the 2009 and syslog eras, UTC for the `…Z` era, as the log states.

A log too large to hold is read in line-aligned blocks (`read_for_facts`, `read_log`): once for
the facts, which count and date every line and parse only the few an event may be on, and once
for its rows, each block parsed with the New Years after it that the first pass counted.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from triage.model import (
    FLAG_CONTROL_STRIPPED,
    FLAG_INVALID_UTF8,
    FLAG_TRUNCATED,
    KIND_XENSOURCE,
    LINES_SCHEMA,
    ErrorRecord,
    SourceFile,
)
from triage.parsers import columns, timestamps
from triage.parsers.blocks import Block, iter_blocks
from triage.parsers.engine import in_order
from triage.parsers.years import end_shift, last_bsd_day

# The bracket header shared by all eras (level | host | "tid tname" | task | brand). The thread
# is not captured: nothing reads it, and its two groups made the extraction a third slower.
_BRACKET = (
    r"\[(?P<level> *[a-z]+)\|(?P<host>[^|]*)\|\d+ ?[^|]*\|"
    r"(?P<task>[^|]*)\|(?P<brand>[^\]]*)\] ?(?P<msg>.*)"
)
#: ≤ 6.0: xapi's own time stamp ("20090615 10:21:05.123" or "20100914T14:02:05.405Z")
OLD_RE = r"^\[(?P<ts>\d{8}[T ]\d{2}:\d{2}:\d{2})(?P<ms>\.\d{3})?Z?\|" + _BRACKET[2:]
#: 6.1+: syslog header, then the bracket
NEW_RE = (
    r"^(?P<ts>[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}) (?P<shost>\S+) "
    r"(?P<ident>[\w.-]+)(?:\[(?P<pid>\d+)\])?: " + _BRACKET
)
#: Other daemons' syslog lines that land in the same file without a bracket
SYSLOG_RE = (
    r"^(?P<ts>[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}) (?P<shost>\S+) "
    r"(?P<ident>[^\s:\[]+)(?:\[(?P<pid>\d+)\])?: ?(?P<msg>.*)"
)
TASK_RE = re.compile(r"^(.*?) ?([RD]:[0-9a-f]{12})$")

#: syslog severities for xapi's level words
LEVELS = {"critical": 2, "error": 3, "warn": 4, "info": 6, "debug": 7}


@dataclass
class XsLines:
    """The parsed columns a caller needs beyond the LINES table (task and brand per line)."""

    table: pa.Table
    task: pa.Array
    brand: pa.Array
    era: str  # "2009" | "2010" | "syslog" | "" when no line had a known layout
    matched: int
    longest: int = 0  # bytes of the longest line, terminator included
    #: lines of each layout (n_old, n_new, n_sys, n_2010): blocks of one log sum theirs
    counts: dict[str, int] | None = None


#: the last large log parsed for its facts, kept for the parse of its lines that follows in the
#: same process: a status report's xensource.log is read for both, and a 200 MB one took 4 s each
_KEPT: dict[tuple[object, ...], XsLines] = {}
KEEP_BYTES = 8 << 20


def _key(source_id: str, data: bytes, year_hint: int | None) -> tuple[object, ...]:
    return (source_id, len(data), zlib.crc32(data), year_hint)


def parse_for_facts(src: SourceFile, data: bytes) -> XsLines:
    """`parse_lines` of `src`'s bytes `data`, kept (when large) for `parse` of the same bytes."""
    year = LogEnd.of(data).year(src)
    parsed = parse_lines(data, year)
    _KEPT.clear()
    if len(data) >= KEEP_BYTES:
        _KEPT[_key(src.source_id, data, year)] = parsed
    return parsed


def forget() -> None:
    """Drop what `parse_for_facts` and `read_for_facts` kept (a batch worker calls it after
    each pack)."""
    _KEPT.clear()
    _AFTER.clear()


def _kept(source_id: str, data: bytes, year_hint: int | None, cap: int | None) -> XsLines | None:
    """The parse `parse_for_facts` kept of these bytes, when the line cap changes nothing in
    it (no line is longer), once."""
    if not _KEPT or len(data) < KEEP_BYTES:
        return None
    parsed = _KEPT.pop(_key(source_id, data, year_hint), None)
    if parsed is None or (cap and parsed.longest > cap):
        return None
    return parsed


#: ANSI sequences and C0 controls (as `triage.parsers.cleanup`), for Arrow's RE2 kernels
_ANSI_RE2 = (
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[()*+][0-~]"
    r"|\x1b[@-Z\\^_=>78]"
)
_CONTROL_RE2 = r"[\x00-\x08\x0b-\x1f\x7f]"


def split_lines(data: bytes) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """The lines of `data` as a string array (terminators and control bytes removed, as every
    kind has them), their byte offsets and flags."""
    starts = line_starts(data)
    lines, flags = _slice_lines(data, starts, 0, len(starts))
    return lines, starts, flags


def line_starts(data: bytes, step: int = 16 << 20) -> np.ndarray:
    """The offset of every line of `data`, found a piece at a time (a mask of the whole file
    would take as much memory as the file)."""
    if not data:
        return np.zeros(0, np.int64)
    buf = np.frombuffer(data, dtype=np.uint8)
    found = [np.zeros(1, np.int64)]
    for at in range(0, len(buf), step):
        found.append(np.flatnonzero(buf[at : at + step] == 10).astype(np.int64) + (at + 1))
    starts = np.concatenate(found)
    if starts[-1] == len(data):  # a final newline does not open another line
        starts = starts[:-1]
    return starts


def _slice_lines(data: bytes, starts: np.ndarray, lo: int, hi: int) -> tuple[pa.Array, np.ndarray]:
    """Lines `lo`..`hi` of `data` (`starts`: every line's offset) and their flags, with ANSI
    escapes, NULs and other control bytes removed. A slice at a time, so that a log of
    hundreds of MiB never has a second copy of its text beside the table being built."""
    a = int(starts[lo]) if hi > lo else 0
    b = int(starts[hi]) if hi < len(starts) else len(data)
    piece = memoryview(data)[a:b]
    lines, flags = _split_lines(piece, starts[lo:hi] - a)
    if len(lines) and _has_control(piece):
        dirty = pc.match_substring_regex(lines, _CONTROL_RE2)
        lines = pc.replace_substring_regex(lines, _ANSI_RE2, "")
        lines = pc.replace_substring_regex(lines, _CONTROL_RE2, "")
        flags = flags | np.where(
            dirty.to_numpy(zero_copy_only=False), FLAG_CONTROL_STRIPPED, 0
        ).astype(np.int32)
    return lines, flags


def _has_control(piece: memoryview) -> bool:
    """Whether `piece` holds a C0 control byte other than tab and newline, or DEL (as
    `_CONTROL_RE2`): counted by numpy's vectorised compares, four times as fast as translating
    a copy of it, which took a tenth of the parse (a regex scan for the class, more)."""
    arr = np.frombuffer(piece, np.uint8)
    low = np.count_nonzero(arr < 0x20)
    if low:
        low -= np.count_nonzero(arr == 0x0A) + np.count_nonzero(arr == 0x09)
    return bool(low) or bool(np.count_nonzero(arr == 0x7F))


def _split_lines(piece: memoryview, starts: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """Lines as a string array and their flags, without a Python loop per line.

    Valid UTF-8 (the normal case) is viewed zero-copy out of the input buffer, each value being
    one line with its terminator, which one vectorised trim then removes. Otherwise each line is
    decoded with backslash escapes (`\\xNN`) so the text stays lossless and valid for Arrow.
    """
    flags = np.zeros(len(starts), np.int32)
    if not len(starts):
        return pa.array([], pa.large_string()), flags
    try:
        str(piece, "utf-8")
    except UnicodeDecodeError:
        bounds = [*starts.tolist(), len(piece)]
        texts = []
        for i in range(len(starts)):
            raw = bytes(piece[bounds[i] : bounds[i + 1]]).rstrip(b"\r\n")
            try:
                texts.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                texts.append(raw.decode("utf-8", "backslashreplace"))
                flags[i] |= FLAG_INVALID_UTF8
        return pa.array(texts, pa.large_string()), flags
    offsets = np.concatenate((starts, [len(piece)])).astype(np.int64)
    arr = pa.LargeStringArray.from_buffers(
        len(starts), pa.py_buffer(offsets.tobytes()), pa.py_buffer(piece)
    )
    return pc.utf8_rtrim(arr, characters="\r\n"), flags


def _field(structs: pa.Array, name: str) -> pa.Array:
    return pc.struct_field(structs, name)


def _pick(mask_a: pa.Array, a: pa.Array, mask_b: pa.Array, b: pa.Array) -> pa.Array:
    """Value from layout a where it matched, else from b where it matched, else null."""
    nulls = pa.nulls(len(a), a.type)
    return pc.if_else(mask_a, a, pc.if_else(mask_b, b, nulls))


def _old_times(ts: pa.Array, ms: pa.Array) -> pa.Array:
    """`20090615 10:21:05` / `20100914T14:02:05` plus `.123` → timestamp[us]."""
    norm = pc.replace_substring(ts, "T", " ")
    base = pc.strptime(norm, format="%Y%m%d %H:%M:%S", unit="us", error_is_null=True)
    frac = pc.cast(pc.utf8_slice_codeunits(pc.fill_null(ms, ".000"), 1), pa.int64(), safe=False)
    micro = pc.multiply(frac, 1000).cast(pa.duration("us"))
    return pc.add(base, micro)


def syslog_times(ts: pa.Array, year_hint: int | None, after: int = 0) -> pa.Array:
    """`Jun  7 13:36:44` (no year) → timestamp[us], rolling back a year at each New Year.

    The year is the bundle's (its name or mtime: the end of the log); walking backwards, every
    point where the month goes down (Dec → Jan) moves the earlier lines to the previous year.
    Null when no year is known at all, rather than a made-up one. `after`: the New Years
    after these lines, when they are a block of a longer log (`wraps_after`).
    """
    if year_hint is None or len(ts) == 0:
        return pa.nulls(len(ts), pa.timestamp("us"))
    parts = _clock(ts)
    years = year_hint - after - _new_years_after(_months(parts))
    return timestamps.to_timestamps(parts, years)


def _new_years_after(month: np.ndarray) -> np.ndarray:
    """For each line, the New Years at or after it: the points where the month goes down,
    the last known month carried over lines without one (so they do not break the count)."""
    known = ~np.isnan(month)
    if not known.any():
        return np.zeros(len(month), np.int64)
    idx = np.where(known, np.arange(len(month)), -1)
    np.maximum.accumulate(idx, out=idx)
    filled = np.where(idx >= 0, month[np.maximum(idx, 0)], month[known][0])
    drop = np.zeros(len(filled), np.int64)
    drop[:-1] = filled[:-1] > filled[1:]  # month decreases going forward → New Year after i
    return np.cumsum(drop[::-1])[::-1]


def _clock(ts: pa.Array) -> timestamps.TimeParts:
    """`Jun  7 13:36:44` strings (null where a line has none) broken down as the syslog
    parser breaks its lines' times down, so that both read one time alike."""
    return timestamps.parse_parts(ts.cast(pa.string()), "bsd")


def _months(parts: timestamps.TimeParts) -> np.ndarray:
    """The month of each time as floats, NaN where there is no valid time."""
    return np.where(parts.valid, parts.month, np.nan)


_BUG_REPORT_YEAR_RE = re.compile(r"bug-report-(\d{4})\d{10}")


def year_of(src: SourceFile) -> int | None:
    """The year of a date the log was written before: the walker's (rotation, trusted mtime,
    collection date), else the status report's name, else the file's mtime."""
    if src.year_hint:
        return int(src.year_hint)
    m = _BUG_REPORT_YEAR_RE.search(f"{src.bundle}/{src.path}")
    if m:
        return int(m.group(1))
    return datetime.fromtimestamp(src.mtime).year if src.mtime else None


#: the end of a log its last line with a syslog time is looked for in
TAIL_BYTES = 1 << 16


class LogEnd:
    """The last bytes of a log, fed whole or block by block, for the year of its last line.

    That is `year_of(src)`, or the year before when the line's day comes more than a week
    after the date that year is of (`years.end_shift`, as for syslog): a log rotated on
    2 January whose last line is of 30 December ends the year before."""

    def __init__(self) -> None:
        self.tail = b""
        self.size = 0

    @classmethod
    def of(cls, data: bytes | memoryview) -> LogEnd:
        end = cls()
        end.feed(data)
        return end

    def feed(self, data: bytes | memoryview) -> None:
        self.size += len(data)
        self.tail = (self.tail + bytes(data[-TAIL_BYTES:]))[-TAIL_BYTES:]

    def year(self, src: SourceFile) -> int | None:
        year = year_of(src)
        if year is None:
            return None
        return year - end_shift(src, last_bsd_day(self.tail, self.size <= TAIL_BYTES))


#: lines matched per vectorised step: bounds the regex kernels' intermediate arrays
SLICE_LINES = 65536


def parse_lines(
    data: bytes,
    year_hint: int | None = None,
    max_line_bytes: int | None = None,
    first_line: int = 1,
    first_offset: int = 0,
    after: int = 0,
) -> XsLines:
    """Split and match every line once; the table half is what `parse_xensource` returns.

    Lines are split and matched a slice at a time, each slice's columns made final before the
    next (the table's columns are the slices' chunks): these logs run to hundreds of MiB, and
    whole-file intermediates took six times the file in memory. Only the syslog time strings
    are gathered before the year is assigned, because a New Year is a property of the whole
    file. `data` may be a block of a longer log (`iter_blocks`): its first line is line
    `first_line` of the log, at byte `first_offset`, with `after` New Years after the block.
    """
    starts = line_starts(data)
    n = len(starts)
    parts = []
    for lo in range(0, max(n, 1), SLICE_LINES):
        hi = min(n, lo + SLICE_LINES)
        lines, flags = _capped_slice(data, starts, lo, hi, max_line_bytes)
        part = _match_slice(lines)
        part["flags"] = flags
        part["host"] = part["host"].cast(pa.string())
        part["tag"] = part["tag"].cast(pa.string())
        part["text"] = part["text"].cast(pa.string())
        del lines
        parts.append(part)

    def col(name: str) -> pa.ChunkedArray:
        return pa.chunked_array([p[name] for p in parts])

    t_new = syslog_times(pa.concat_arrays([p["syslog_ts"] for p in parts]), year_hint, after)
    at = np.cumsum([0, *(len(p["flags"]) for p in parts)])
    timestamp = pa.chunked_array(
        [
            _pick(
                p["m_old"], p["t_old"], p["m_any_sys"], t_new.slice(at[i], at[i + 1] - at[i])
            ).cast(pa.timestamp("us"))
            for i, p in enumerate(parts)
        ]
    )
    counts = {k: sum(p[k] for p in parts) for k in COUNTS}
    table = pa.Table.from_arrays(
        [
            pa.nulls(n, pa.string()),
            pa.array(np.arange(first_line, first_line + n, dtype=np.int64)),
            pa.array(starts + first_offset),
            timestamp,
            pa.nulls(n, pa.float64()),
            col("host"),
            col("tag"),
            col("pid"),
            col("level"),
            pa.nulls(n, pa.string()),
            pa.chunked_array([pa.array(p["flags"], pa.int32()) for p in parts]),
            col("text"),
        ],
        schema=LINES_SCHEMA,
    )
    longest = int(np.diff(np.append(starts, len(data))).max()) if n else 0
    return XsLines(
        table, col("task"), col("brand"), era_of(counts), matched_of(counts), longest, counts
    )


#: the layout counts `parse_lines` keeps
COUNTS = ("n_old", "n_new", "n_sys", "n_2010")


def era_of(counts: dict[str, int]) -> str:
    """The era the layout counts of a log say it is from ("" when no line had an xapi layout)."""
    if not (counts["n_old"] or counts["n_new"]):
        return ""
    if counts["n_new"] >= counts["n_old"]:
        return "syslog"
    return "2010" if counts["n_2010"] else "2009"


def matched_of(counts: dict[str, int]) -> int:
    """Lines of a known layout."""
    return counts["n_old"] + counts["n_new"] + counts["n_sys"]


def _capped_slice(
    data: bytes, starts: np.ndarray, lo: int, hi: int, max_line_bytes: int | None
) -> tuple[pa.Array, np.ndarray]:
    """`_slice_lines`, lines over `max_line_bytes` cut there and flagged."""
    lines, flags = _slice_lines(data, starts, lo, hi)
    if max_line_bytes and len(lines):
        long = pc.greater(pc.binary_length(lines), max_line_bytes)
        if pc.any(long).as_py():
            lines = pc.if_else(long, pc.utf8_slice_codeunits(lines, 0, max_line_bytes), lines)
            flags = flags | np.where(long.to_numpy(zero_copy_only=False), FLAG_TRUNCATED, 0)
    return lines, flags


#: each layout's part before the message, as one `pre` group around the named fields: the
#: message is the rest of the line, cut off at the length of `pre` (RE2 took twice as long to
#: capture it); after the `.*` of the message any prefix match is a whole match, so the fields
#: are those the full patterns give
_MSG = "(?P<msg>.*)"
OLD_PRE_RE, NEW_PRE_RE, SYSLOG_PRE_RE = (
    "^(?P<pre>" + rx[1 : -len(_MSG)] + ")" for rx in (OLD_RE, NEW_RE, SYSLOG_RE)
)


def _match_slice(lines: pa.Array) -> dict:  # type: ignore[type-arg]
    """The fields of each line from the layout it has, each layout's pattern run only on the
    lines that could have it: the old one on lines opening with `[`, the syslog ones on lines
    opening with a capital (and the bare syslog one only where xapi's did not match)."""
    n = len(lines)
    offsets, data = _line_buffers(lines)
    first = np.full(n, -1, np.int16)
    filled = offsets[1:] > offsets[:-1]
    first[filled] = data[offsets[:-1][filled]]
    up = np.flatnonzero((first >= ord("A")) & (first <= ord("Z")))
    old = _Layout(lines, np.flatnonzero(first == ord("[")), OLD_PRE_RE)
    new = _Layout(lines, up, NEW_PRE_RE)
    sysl = _Layout(lines, up[~new.ok], SYSLOG_PRE_RE)
    skip = np.zeros(n, np.int64)
    for layout in (old, new, sysl):
        skip[layout.matched] = columns.lengths(layout.field("pre"))[layout.ok]
    text = columns.slices_to_strings([data], offsets[:-1] + skip, offsets[1:])
    m_old, m_new, m_sys = (_mask(n, x.matched) for x in (old, new, sysl))
    brand = _gather(n, (old, new), "brand")
    old_ts = _gather(n, (old,), "ts")
    shost = _gather(n, (new, sysl), "shost")
    host_b = _gather(n, (old, new), "host")
    pid_s = _gather(n, (new, sysl), "pid")
    return {
        "m_old": m_old,
        "m_any_sys": pa.array(
            m_new.to_numpy(zero_copy_only=False) | m_sys.to_numpy(zero_copy_only=False)
        ),
        "t_old": _old_times(old_ts, _gather(n, (old,), "ms")),
        "syslog_ts": _gather(n, (new, sysl), "ts"),
        "level": _levels(pc.utf8_trim_whitespace(_gather(n, (old, new), "level"))),
        # the bracket's host field is empty since 2019: the syslog header's host instead
        "host": pc.if_else(pc.equal(pc.fill_null(host_b, ""), ""), shost, host_b),
        "tag": pc.if_else(pc.is_valid(brand), brand, _gather(n, (new, sysl), "ident")),
        "pid": pc.cast(
            pc.if_else(pc.equal(pid_s, ""), pa.scalar(None, pid_s.type), pid_s), pa.int64()
        ),
        "text": text,
        "task": _gather(n, (old, new), "task"),
        "brand": brand,
        "n_old": len(old.matched),
        "n_new": len(new.matched),
        "n_sys": len(sysl.matched),
        "n_2010": pc.sum(pc.match_substring(old.field("ts"), "T")).as_py() or 0,
    }


class _Layout:
    """One layout's pattern run over some rows of a slice: its fields there, which matched."""

    def __init__(self, lines: pa.Array, rows: np.ndarray, pattern: str) -> None:
        self.rows = rows
        sub = lines.take(pa.array(rows)) if len(rows) < len(lines) else lines
        self.struct = pc.extract_regex(sub, pattern)
        self.ok = columns.valid_mask(self.struct) if len(rows) else np.zeros(0, bool)
        self.matched = rows[self.ok]

    def field(self, name: str) -> pa.Array:
        return pc.struct_field(self.struct, name)


def _line_buffers(lines: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The offsets (n + 1, int64) and bytes of a large string array."""
    bufs = lines.buffers()
    n = len(lines)
    offsets = np.frombuffer(bufs[1], np.int64, count=n + 1, offset=8 * lines.offset)
    data = np.frombuffer(bufs[2], np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    return offsets, data


def _mask(n: int, rows: np.ndarray) -> pa.Array:
    out = np.zeros(n, bool)
    out[rows] = True
    return pa.array(out)


def _gather(n: int, layouts: tuple[_Layout, ...], name: str) -> pa.Array:
    """Field `name` of each row from the layout that matched it (null where none did)."""
    idx = np.full(n, -1, np.int64)
    parts, base = [], 0
    for layout in layouts:
        local = np.flatnonzero(layout.ok)
        idx[layout.rows[local]] = base + local
        parts.append(layout.field(name))
        base += len(layout.rows)
    values = pa.concat_arrays(parts) if len(parts) > 1 else parts[0]
    return values.take(pa.array(idx, mask=idx < 0))


def _levels(words: pa.Array) -> pa.Array:
    keys = pa.array(list(LEVELS), pa.large_string())
    idx = pc.index_in(words.cast(pa.large_string()), value_set=keys)
    lut = pa.array(list(LEVELS.values()), pa.int8())
    return pc.take(lut, idx)


def parse_xensource(
    data: bytes,
    source_id: str = "",
    year_hint: int | None = None,
    max_line_bytes: int | None = None,
) -> pa.Table:
    """xensource.log → LINES_SCHEMA rows (timestamp, host, tag = brand or ident, level, text).

    Lines of no known layout (a truncated first line, stack traces) keep their raw text with
    null fields, so line numbers stay the file's.
    """
    t = parse_lines(data, year_hint, max_line_bytes).table
    if source_id:
        t = t.set_column(0, "source_id", pa.array([source_id] * t.num_rows, pa.string()))
    return t


# --------------------------------------------------------------------------------------------
# VM lifecycle events
# --------------------------------------------------------------------------------------------
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

#: audit API name → (fact key, value). Audit lines exist in every era on the pool master.
AUDIT_EVENTS: dict[str, tuple[str, str]] = {
    "VM.start": ("vm.event.start", "start requested"),
    "VM.start_on": ("vm.event.start", "start requested"),
    "VM.clean_shutdown": ("vm.event.shutdown", "clean_shutdown requested"),
    "VM.hard_shutdown": ("vm.event.shutdown", "hard_shutdown requested"),
    "VM.shutdown": ("vm.event.shutdown", "shutdown requested"),
    "VM.clean_reboot": ("vm.event.reboot", "clean_reboot requested"),
    "VM.hard_reboot": ("vm.event.reboot", "hard_reboot requested"),
    "VM.pool_migrate": ("vm.event.migrate", "pool_migrate start"),
    "VM.pool_migrate_complete": ("vm.event.migrate", "pool_migrate done"),
    "VM.migrate_send": ("vm.event.migrate", "migrate_send start"),
    "VM.suspend": ("vm.event.suspend", "suspend requested"),
    "VM.resume": ("vm.event.resume", "resume requested"),
    "VM.resume_on": ("vm.event.resume", "resume requested"),
}
AUDIT_RE = re.compile(
    r"^(?P<api>VM\.[a-z_]+): VM = '(?:(?P<uuid>"
    + _UUID
    + r") \((?P<name>.*?)\)|(?P<ref>OpaqueRef:[0-9a-f-]+))'"
    r"(?:;.*?host(?: =)? '(?:" + _UUID + r") \((?P<host>[^']*?)\)')?"
)

#: Non-audit markers: (regex on the message, key, value). Named groups: uuid, ref, domid,
#: detail. Each states the event itself; lines that only hint at one are left out.
EVENT_RULES: list[tuple[re.Pattern[str], str, str]] = [
    # 5.x/6.0 event thread: a guest-internal crash / halt / reboot
    (
        re.compile(
            r"^VM (?P<ref>OpaqueRef:[0-9a-f-]+)\b[^;]*?\(domid:? (?P<domid>\d+)\)[^;]*?domain has crashed"
        ),
        "vm.event.crash",
        "crashed (guest-internal)",
    ),
    (
        re.compile(
            r"^VM (?P<ref>OpaqueRef:[0-9a-f-]+)\b[^;]*?\(domid:? (?P<domid>\d+)\)[^;]*?shutdown with reason 'halt'"
        ),
        "vm.event.shutdown",
        "halt (guest-internal)",
    ),
    (
        re.compile(
            r"^VM (?P<ref>OpaqueRef:[0-9a-f-]+)\b[^;]*?\(domid:? (?P<domid>\d+)\)[^;]*?shutdown with reason 'reboot'"
        ),
        "vm.event.reboot",
        "reboot (guest-internal)",
    ),
    # 6.1+ xenopsd
    (
        re.compile(r"^VM (?P<uuid>" + _UUID + r") crashed too quickly after start"),
        "vm.event.crash",
        "crashed too quickly after start",
    ),
    (re.compile(r"^VM\.start (?P<uuid>" + _UUID + r")"), "vm.event.start", "start"),
    (re.compile(r"^VM\.shutdown (?P<uuid>" + _UUID + r")"), "vm.event.shutdown", "shutdown"),
    (re.compile(r"^VM\.reboot (?P<uuid>" + _UUID + r")"), "vm.event.reboot", "reboot"),
    (re.compile(r"^VM\.suspend (?P<uuid>" + _UUID + r")"), "vm.event.suspend", "suspend"),
    (re.compile(r"^VM\.resume (?P<uuid>" + _UUID + r")"), "vm.event.resume", "resume"),
    # migration, source side
    (
        re.compile(r"^Sender 1\. Logging into remote server"),
        "vm.event.migrate",
        "pool_migrate start",
    ),
    (
        re.compile(r"^(?:xenops: )?VM\.migrate (?P<uuid>" + _UUID + r"): caught"),
        "vm.event.migrate_failed",
        "migrate failed",
    ),
    (
        re.compile(r"^(?:xenops: )?VM\.migrate (?P<uuid>" + _UUID + r") (?:to|->) "),
        "vm.event.migrate",
        "pool_migrate start",
    ),
    # migration, destination side
    (re.compile(r"^Receiver 9a Success"), "vm.event.migrate", "pool_migrate done"),
    (re.compile(r"^Receiver 9b Failure"), "vm.event.migrate_failed", "pool_migrate failed"),
    (
        re.compile(r"^VM\.pool_migrate_complete (?P<uuid>" + _UUID + r")"),
        "vm.event.migrate",
        "pool_migrate done",
    ),
    (
        re.compile(r"SMPERF vm\.migrate_send: migration complete vm:(?P<uuid>" + _UUID + r")"),
        "vm.event.migrate",
        "migrate_send done",
    ),
    # domid assignments, so that a later "(XEN) Domain N crashed" can name the VM
    (re.compile(r"Created domain with (?:domid:|id:) ?(?P<domid>\d+)"), "vm.event.domid", ""),
]
#: one prefilter over all lines; Python only runs the rules above on the hits
ANCHOR_RE = (
    r"VM = '|domain has crashed|shutdown with reason|crashed too quickly|^VM\.[a-z_]+ [0-9a-f]{8}-"
    r"|^Sender 1\.|^Receiver 9|^xenops: VM\.migrate|migration complete vm:|Created domain with"
    r"|HOST_NOT_ENOUGH_FREE_MEMORY|Cannot_free_this_much_memory|available_memory = "
)
MEMORY_HINT_RE = re.compile(
    r"host (?P<host>\S+); available_memory = (?P<avail>\d+); memory_required = (?P<req>\d+)"
)
NOT_ENOUGH_RE = re.compile(r"HOST_NOT_ENOUGH_FREE_MEMORY,? *\[ *(?P<a>\d+) *; *(?P<b>\d+) *\]")
CANNOT_FREE_RE = re.compile(
    r"Cannot_free_this_much_memory\"?,? *[\[(] *(?P<a>\d+) *[,;] *(?P<b>\d+)"
)


@dataclass
class XsEvent:
    """One VM event as the log states it; `bundle_facts` resolves refs and domids to VMs."""

    key: str
    value: str
    time: datetime | None
    lineno: int
    vm_uuid: str = ""
    vm_name: str = ""
    vm_ref: str = ""
    domid: int | None = None
    task_ref: str = ""


def _failure_key(task_name: str) -> str:
    t = task_name.lower()
    if "migrate" in t:
        return "vm.event.migrate_failed"
    if "start" in t or "resume" in t:
        return "vm.event.start_failed"
    return "vm.event.failed"


def extract_events(parsed: XsLines) -> list[XsEvent]:
    """VM lifecycle events and their failures, in file order, without duplicates.

    The task ref in the bracket ties the lines of one API call together: the audit line names
    the VM, and later lines of the same task (xenopsd's, the failure) inherit it. The same event
    logged by xapi and xenopsd for one task is kept once.
    """
    t = parsed.table
    hits = pc.match_substring_regex(t.column("text"), ANCHOR_RE)
    idx = pc.indices_nonzero(hits).to_pylist()
    if not idx:
        return []
    texts = pc.take(t.column("text"), idx).to_pylist()
    times = pc.take(t.column("timestamp"), idx).to_pylist()
    linenos = pc.take(t.column("lineno"), idx).to_pylist()
    tasks = pc.take(parsed.task, idx).to_pylist()
    task_vm: dict[str, tuple[str, str, str]] = {}
    mem_hint: dict[str, tuple[int, int]] = {}
    out: list[XsEvent] = []
    seen: set[tuple[str, str, str, str]] = set()

    def add(ev: XsEvent) -> None:
        ident = ev.vm_uuid or ev.vm_ref or (f"domid:{ev.domid}" if ev.domid is not None else "")
        if ev.task_ref and ident:
            k = (ident, ev.key, ev.value, ev.task_ref)
            if k in seen:
                return
            seen.add(k)
        out.append(ev)

    for text, time, lineno, task in zip(texts, times, linenos, tasks, strict=True):
        task_name, task_ref = "", ""
        if task:
            tm = TASK_RE.match(task)
            task_name, task_ref = (tm.group(1), tm.group(2)) if tm else (task, "")
        vm_of_task = task_vm.get(task_ref, ("", "", "")) if task_ref else ("", "", "")
        a = AUDIT_RE.match(text)
        if a:
            uuid, name, ref = a.group("uuid") or "", a.group("name") or "", a.group("ref") or ""
            if task_ref:
                task_vm[task_ref] = (uuid, name, ref)
            kv = AUDIT_EVENTS.get(a.group("api"))
            if kv:
                where = " to " if kv[0] == "vm.event.migrate" else " on "
                value = kv[1] + (where + a.group("host") if a.group("host") else "")
                add(XsEvent(kv[0], value, time, lineno, uuid, name, ref, None, task_ref))
            continue
        h = MEMORY_HINT_RE.search(text)
        if h and task_ref:
            mem_hint[task_ref] = (int(h.group("req")), int(h.group("avail")))
            continue
        f = NOT_ENOUGH_RE.search(text)
        c = CANNOT_FREE_RE.search(text) if not f else None
        if f or c:
            value = _memory_failure_value(f, c, mem_hint.get(task_ref), parsed.era)
            uuid, name, ref = vm_of_task
            add(
                XsEvent(
                    _failure_key(task_name), value, time, lineno, uuid, name, ref, None, task_ref
                )
            )
            continue
        for rx, key, value in EVENT_RULES:
            m = rx.search(text)
            if not m:
                continue
            g = m.groupdict()
            uuid = g.get("uuid") or vm_of_task[0]
            name = vm_of_task[1] if uuid == vm_of_task[0] else ""
            ref = g.get("ref") or ("" if g.get("uuid") else vm_of_task[2])
            domid = int(g["domid"]) if g.get("domid") else None
            if key == "vm.event.domid":
                value = str(domid)
            if not (uuid or ref or domid is not None):
                break  # a marker whose VM cannot be told: not a fact
            add(XsEvent(key, value, time, lineno, uuid, name, ref, domid, task_ref))
            break
    return out


def _memory_failure_value(
    f: re.Match[str] | None, c: re.Match[str] | None, hint: tuple[int, int] | None, era: str
) -> str:
    """Say what memory was missing, in bytes where the era makes the units certain.

    The two parameters changed order and units over time (§1.4): xenopsd's
    Cannot_free_this_much_memory and 6.1+ errors are [required; available] bytes; 2009-era
    errors may be KiB or reversed, so those keep their raw parameters unless xapi's preceding
    "available_memory = …; memory_required = …" line states them.
    """
    name = "HOST_NOT_ENOUGH_FREE_MEMORY" if f else "Cannot_free_this_much_memory"
    m = f or c
    assert m is not None
    a, b = int(m.group("a")), int(m.group("b"))
    if hint:
        return f"{name} required_bytes={hint[0]} available_bytes={hint[1]}"
    if c or era == "syslog":
        return f"{name} required_bytes={a} available_bytes={b}"
    return f"{name} params=[{a}; {b}]"


# --------------------------------------------------------------------------------------------
# A log too large to hold: two passes over line-aligned blocks
# --------------------------------------------------------------------------------------------
#: the part of SYSLOG_RE that decides whether a line has a syslog time (its message matches any
#: rest), for the first pass
_SYSLOG_TS_RE = r"^(?P<ts>[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}) \S+ [^\s:\[]+(?:\[\d+\])?:"
#: bytes of a block: a few MiB, so that a block's columns stay a small multiple of it
BLOCK_BYTES = 4 << 20
#: a log of at least this many bytes is read in blocks, not held whole
STREAM_BYTES = 32 << 20


@dataclass(frozen=True)
class MonthRun:
    """The months of a block's lines with a syslog time: all the first pass keeps of it."""

    first: float  # NaN when no line has one
    last: float
    drops: int  # New Years between its lines


def month_run(data: bytes, max_line_bytes: int | None = None) -> MonthRun:
    """The `MonthRun` of a block, its lines read as `parse_lines` reads them."""
    starts = line_starts(data)
    months = [np.zeros(0)]
    for lo in range(0, len(starts), SLICE_LINES):
        hi = min(len(starts), lo + SLICE_LINES)
        lines, _ = _capped_slice(data, starts, lo, hi, max_line_bytes)
        months.append(_months_of(lines, pc.match_substring_regex(lines, _SYSLOG_TS_RE)))
    return _run_of(np.concatenate(months))


def _months_of(lines: pa.Array, dated: pa.Array) -> np.ndarray:
    """`_months` of the lines with a syslog header (`dated`): their time is their first 15
    characters."""
    ts = pc.if_else(dated, pc.utf8_slice_codeunits(lines, 0, 15), pa.scalar(None, lines.type))
    return _months(_clock(ts))


def wraps_after(runs: list[MonthRun]) -> list[int]:
    """For each block, the New Years after its lines: in the blocks after it and between
    them, its own last month included (`syslog_times` counts those inside a block)."""
    out = [0] * len(runs)
    total, later = 0, np.nan
    for i in range(len(runs) - 1, -1, -1):
        r = runs[i]
        if not np.isnan(r.first):
            if r.last > later:  # (False against NaN: no month after it yet)
                total += 1
            out[i] = total
            total += r.drops
            later = r.first
        else:
            out[i] = total
    return out


def month_runs(
    fh: BinaryIO, max_line_bytes: int | None, end: LogEnd | None = None
) -> list[MonthRun]:
    """Pass 1: the `MonthRun` of each block of `fh`, its bytes fed to `end` as they pass."""
    runs = []
    for b in iter_blocks(fh, BLOCK_BYTES, BLOCK_BYTES):
        data = _block_bytes(b)
        if end is not None:
            end.feed(data)
        runs.append(month_run(data, max_line_bytes))
    return runs


def parse_blocks(
    fh: BinaryIO, year_hint: int | None, max_line_bytes: int | None, after: list[int]
) -> Iterator[tuple[Block, XsLines]]:
    """Pass 2: each block of `fh` and its lines as `parse_lines` of the whole log gives them
    (`after`: `wraps_after` of pass 1, or nothing when no year is known)."""

    def numbered() -> Iterator[tuple[Block, int]]:
        line = 1
        for b in iter_blocks(fh, BLOCK_BYTES, BLOCK_BYTES):  # a longer line: a block of it kept
            yield b, line
            line += _lines_in(b.data)

    def parse(item: tuple[Block, int]) -> XsLines:
        b, line = item
        wraps = after[b.index] if b.index < len(after) else 0
        return parse_lines(_block_bytes(b), year_hint, max_line_bytes, line, b.offset, wraps)

    for (b, _), parsed in in_order(parse, numbered()):
        yield b, parsed


def _lines_in(data: bytes | bytearray | memoryview) -> int:
    """The lines `line_starts` finds in `data`: one after each newline but a final one."""
    if not len(data):
        return 0
    buf = np.frombuffer(data, np.uint8)
    return int(np.count_nonzero(buf == 10)) + int(buf[-1] != 10)


#: the year of the last line and the New Years after each block of the large logs
#: `read_for_facts` read (and a checksum of the blocks), for `read_log` of the same log in the
#: same process: its first pass then has nothing left to find. A status report's xensource.log
#: is read for both.
_AFTER: dict[tuple[str, int | None], tuple[int | None, list[int], int]] = {}


class StaleYears(Exception):
    """`read_log` read other bytes than those its New Years were counted on: read it again."""


def read_log(
    fh: BinaryIO, src: SourceFile, max_line_bytes: int | None = None
) -> Iterator[tuple[Block, XsLines]]:
    """Both passes over `src`'s seekable `fh`: each block and its lines, as `parse_lines` of
    the whole log gives them, in memory a block deep. The first pass is left out when
    `read_for_facts` counted the New Years of `src`; when its bytes turn out to be others,
    StaleYears is raised after the last block."""
    year = year_of(src)
    known = _AFTER.pop((src.source_id, year), None)
    after: list[int] = []
    if known is not None:
        year, after, _ = known
    elif year is not None:  # without a year, no New Year to count
        start = fh.tell()
        end = LogEnd()
        after = wraps_after(month_runs(fh, max_line_bytes, end))
        year = end.year(src)
        fh.seek(start)
    crc = 0
    for b, parsed in parse_blocks(fh, year, max_line_bytes, after):
        if known:
            crc = zlib.crc32(b.data, crc)
        yield b, parsed
    if known and crc != known[2]:
        raise StaleYears


@dataclass
class LogTotals:
    """What the blocks of a log add up to: its line count, layouts and cut last line."""

    lines: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    ends_with_newline: bool = True  # (no bytes, no cut line)

    def add(self, block: Block, parsed: XsLines) -> None:
        self.add_block(block, parsed.table.num_rows, parsed.counts or {})

    def add_block(self, block: Block, lines: int, counts: dict[str, int]) -> None:
        self.lines += lines
        for k in COUNTS:
            self.counts[k] += counts.get(k, 0)
        if len(block.data):
            self.ends_with_newline = block.long_line or bytes(block.data[-1:]) == b"\n"

    @property
    def era(self) -> str:
        return era_of(self.counts)

    @property
    def matched(self) -> int:
        return matched_of(self.counts)


#: ANCHOR_RE for a whole line: a line's message is part of it, so this finds at least the
#: lines whose message ANCHOR_RE finds
_ANCHOR_LINE_RE = ANCHOR_RE.replace("|^", "|")
_OLD_2010_RE = r"^\[\d{8}T"


def read_for_facts(fh: BinaryIO, src: SourceFile) -> tuple[XsLines, LogTotals]:
    """What the facts read of a log too large to hold, in one pass over its blocks: the rows
    `extract_events` looks at, parsed as `parse_lines` of the whole log parses them (the log's
    era and line counts with them), and the totals its error rows need.

    Facts want a few rows of millions, so the pass matches each line against the layouts only
    to count them, and keeps the raw bytes of the lines the events' anchors may be on; those
    alone are parsed, once the New Years after each of them are known. The New Years after
    each block are kept for `read_log` of `src`."""
    year_hint = year_of(src)
    end = LogEnd()
    totals = LogTotals()
    crc = 0
    runs: list[MonthRun] = []
    # of each line kept: its block, the New Years after it in that block, its number, offset
    # and bytes
    kept: list[tuple[int, int, int, int, bytes]] = []
    line = 1

    def count(b: Block) -> tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray]:
        data = _block_bytes(b)
        starts = line_starts(data)
        counts = dict.fromkeys(COUNTS, 0)
        months, hits = [np.zeros(0)], [np.zeros(0, np.int64)]
        for lo in range(0, len(starts), SLICE_LINES):
            hi = min(len(starts), lo + SLICE_LINES)
            lines, _ = _slice_lines(data, starts, lo, hi)
            month, hit = _count_slice(lines, year_hint is not None, counts)
            months.append(month)
            hits.append(hit.astype(np.int64) + lo)
        return counts, starts, np.concatenate(months), np.concatenate(hits)

    blocks = iter_blocks(fh, BLOCK_BYTES, BLOCK_BYTES)
    for b, (counts, starts, month, hits) in in_order(count, blocks):
        data = _block_bytes(b)
        crc = zlib.crc32(data, crc)
        end.feed(data)
        bounds = np.append(starts, len(data))
        back = _new_years_after(month)
        runs.append(_run_of(month))
        for i in hits.tolist():
            raw = bytes(data[bounds[i] : bounds[i + 1]])
            kept.append((b.index, int(back[i]), line + i, b.offset + int(starts[i]), raw))
        totals.add_block(b, len(starts), counts)
        line += len(starts)
    after = wraps_after(runs) if year_hint is not None else [0] * len(runs)
    year = end.year(src)
    _AFTER[(src.source_id, year_hint)] = (year, after, crc)
    groups: dict[int, list[tuple[int, int, bytes]]] = {}
    for block, back_in_block, lineno, offset, raw in kept:
        groups.setdefault(after[block] + back_in_block, []).append((lineno, offset, raw))
    parts = [_parse_rows(rows, year, wraps) for wraps, rows in groups.items()]
    parts.sort(key=lambda p: p.table.column("lineno")[0].as_py())
    return _joined(parts, totals.era, totals.matched), totals


def _count_slice(
    lines: pa.Array, dated: bool, counts: dict[str, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Add the layout counts of `lines` to `counts`; their months (NaN where a line has no
    syslog time), and the indices of the lines the events' anchors may be on."""
    m_old = pc.match_substring_regex(lines, OLD_RE)
    m_new = pc.match_substring_regex(lines, NEW_RE)
    m_sys = pc.match_substring_regex(lines, _SYSLOG_TS_RE)  # as SYSLOG_RE: its message is any
    counts["n_old"] += pc.sum(m_old).as_py() or 0
    counts["n_new"] += pc.sum(m_new).as_py() or 0
    counts["n_sys"] += pc.sum(pc.and_(m_sys, pc.invert(m_new))).as_py() or 0
    in_2010 = pc.and_(m_old, pc.match_substring_regex(lines, _OLD_2010_RE))
    counts["n_2010"] += pc.sum(in_2010).as_py() or 0
    # no year known: no syslog time either, nor New Years to count
    month = _months_of(lines, m_sys) if dated else np.full(len(lines), np.nan)
    hits = pc.indices_nonzero(pc.match_substring_regex(lines, _ANCHOR_LINE_RE))
    return month, hits.to_numpy()


def _run_of(month: np.ndarray) -> MonthRun:
    known = month[~np.isnan(month)]
    if not len(known):
        return MonthRun(np.nan, np.nan, 0)
    return MonthRun(
        float(known[0]), float(known[-1]), int(np.count_nonzero(known[:-1] > known[1:]))
    )


def _parse_rows(rows: list[tuple[int, int, bytes]], year_hint: int | None, wraps: int) -> XsLines:
    """Lines of one year of a log, parsed together, with their own line numbers and offsets
    (between lines of one year the month never goes down: no New Year among them)."""
    data = b"".join(raw if raw.endswith(b"\n") else raw + b"\n" for _, _, raw in rows)
    parsed = parse_lines(data, year_hint, None, after=wraps)
    t = parsed.table
    for name, values in (("lineno", [r[0] for r in rows]), ("offset", [r[1] for r in rows])):
        i = t.schema.get_field_index(name)
        t = t.set_column(i, t.schema.field(i), pa.array(values, pa.int64()))
    parsed.table = t
    return parsed


def _joined(parts: list[XsLines], era: str, matched: int) -> XsLines:
    """The rows of several parses (of one log, in line order) as one, of the log's era."""
    if not parts:
        empty = pa.chunked_array([], pa.large_string())
        return XsLines(LINES_SCHEMA.empty_table(), empty, empty, era, matched)
    return XsLines(
        pa.concat_tables([p.table for p in parts]),
        pa.chunked_array([c for p in parts for c in p.task.chunks], parts[0].task.type),
        pa.chunked_array([c for p in parts for c in p.brand.chunks], parts[0].brand.type),
        era,
        matched,
    )


def _block_bytes(b: Block) -> bytes | memoryview:
    return b.data if isinstance(b.data, bytes) else memoryview(b.data)


# --------------------------------------------------------------------------------------------
# The parsers registry entry for kind "xensource"
# --------------------------------------------------------------------------------------------
def parse(src, data: bytes, limits):  # type: ignore[no-untyped-def]
    """`parsers.register` entry: lines of a xensource.log, with an error row for a cut or alien file."""
    year = LogEnd.of(data).year(src)
    parsed = _kept(src.source_id, data, year, limits.max_line_bytes)
    if parsed is None:
        parsed = parse_lines(data, year, limits.max_line_bytes)
    table = parsed.table
    if table.num_rows:
        table = table.set_column(
            0, "source_id", pa.array([src.source_id] * table.num_rows, pa.string())
        )
    cut = bool(data) and not data.endswith(b"\n")
    return parse_outcome(src, table.num_rows, parsed.matched, not cut, table)


def parse_outcome(src, n: int, matched: int, ends_with_newline: bool, table: pa.Table):  # type: ignore[no-untyped-def]
    """The parse result of a log of `n` lines (`table`), with an error row for a cut or alien
    file: of the whole file, or of what its blocks add up to."""
    from triage.parsers import ParseResult

    errors: list[ErrorRecord] = []
    partial = False
    if n and matched == 0:
        errors.append(
            ErrorRecord(
                src.display,
                "parse",
                "unknown-layout",
                f"{src.display}: none of its {n} lines has a xensource.log layout",
                src.source_id,
            )
        )
    elif n and not ends_with_newline:
        partial = True
        errors.append(
            ErrorRecord(
                src.display,
                "parse",
                "truncated",
                f"{src.display}: ends in the middle of line {n}: the log is cut",
                src.source_id,
            )
        )
    return ParseResult(lines=table, errors=errors, partial=partial)


def _register() -> None:
    try:
        from triage.parsers import register
    except ImportError:  # the registry is optional: parse_xensource works on its own
        return
    register(KIND_XENSOURCE, parse)


_register()
