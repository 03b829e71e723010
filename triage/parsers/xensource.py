"""xapi's xensource.log: browsable lines for every era, and the VM lifecycle events it records.

The file changed layout three times (knowledge/xenserver-status-report.md §1.1): xapi wrote its
own `[YYYYMMDD HH:MM:SS.mmm|…` header up to Oct 2009 (local time) and `[YYYYMMDDTHH:MM:SSZ|…`
until 6.0 (UTC); from 6.1 on the same bracket follows a syslog header without a year, the level
is padded to five characters from 2017 and the host field is empty from 2019. Lines are split and
matched with Arrow's vectorised regex kernels because these logs run to hundreds of MiB; Python
only looks at the few lines that carry an event.

Times are naive: local time for the 2009 and syslog eras, UTC for the `…Z` era, as the log states.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import datetime

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
)

# The bracket header shared by all eras (level | host | "tid tname" | task | brand).
_BRACKET = (
    r"\[(?P<level> *[a-z]+)\|(?P<host>[^|]*)\|(?P<tid>\d+) ?(?P<tname>[^|]*)\|"
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
_SP = pa.scalar(" ", pa.large_string())
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


#: the last large log parsed for its facts, kept for the parse of its lines that follows in the
#: same process: a status report's xensource.log is read for both, and a 200 MB one took 4 s each
_KEPT: dict[tuple[object, ...], XsLines] = {}
KEEP_BYTES = 8 << 20


def _key(source_id: str, data: bytes, year_hint: int | None) -> tuple[object, ...]:
    return (source_id, len(data), zlib.crc32(data), year_hint)


def parse_for_facts(source_id: str, data: bytes, year_hint: int | None) -> XsLines:
    """`parse_lines(data, year_hint)`, kept (when large) for `parse` of the same bytes."""
    parsed = parse_lines(data, year_hint)
    _KEPT.clear()
    if len(data) >= KEEP_BYTES:
        _KEPT[_key(source_id, data, year_hint)] = parsed
    return parsed


def forget() -> None:
    """Drop what `parse_for_facts` kept (a batch worker calls it after each pack)."""
    _KEPT.clear()


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
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")


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
    if len(lines) and _CONTROL_BYTES.search(piece):
        dirty = pc.match_substring_regex(lines, _CONTROL_RE2)
        lines = pc.replace_substring_regex(lines, _ANSI_RE2, "")
        lines = pc.replace_substring_regex(lines, _CONTROL_RE2, "")
        flags = flags | np.where(
            dirty.to_numpy(zero_copy_only=False), FLAG_CONTROL_STRIPPED, 0
        ).astype(np.int32)
    return lines, flags


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


def syslog_times(ts: pa.Array, year_hint: int | None) -> pa.Array:
    """`Jun  7 13:36:44` (no year) → timestamp[us], rolling back a year at each New Year.

    The year is the bundle's (its name or mtime: the end of the log); walking backwards, every
    point where the month goes down (Dec → Jan) moves the earlier lines to the previous year.
    Null when no year is known at all, rather than a made-up one.
    """
    if year_hint is None or len(ts) == 0:
        return pa.nulls(len(ts), pa.timestamp("us"))
    padded = pc.replace_substring_regex(ts, r"^(\w{3})  (\d)", r"\1 0\2")
    first = pc.strptime(
        pc.binary_join_element_wise(pa.scalar(str(year_hint), padded.type), padded, _SP),
        format="%Y %b %d %H:%M:%S",
        unit="us",
        error_is_null=True,
    )
    month = pc.month(first).to_numpy(zero_copy_only=False)
    month = np.where(np.isnan(month.astype(float)), np.nan, month.astype(float))
    # carry the last known month forward so unparsed lines do not break the rollover logic
    known = ~np.isnan(month)
    if not known.any():
        return first
    idx = np.where(known, np.arange(len(month)), -1)
    np.maximum.accumulate(idx, out=idx)
    filled = np.where(idx >= 0, month[np.maximum(idx, 0)], month[known][0])
    drop = np.zeros(len(filled), np.int64)
    drop[:-1] = filled[:-1] > filled[1:]  # month decreases going forward → New Year after i
    back = np.cumsum(drop[::-1])[::-1]  # New Years at or after each line
    if not back.any():
        return first
    years = (year_hint - back).astype(str)
    redo = pc.strptime(
        pc.binary_join_element_wise(pa.array(years, padded.type), padded, _SP),
        format="%Y %b %d %H:%M:%S",
        unit="us",
        error_is_null=True,
    )
    return redo


#: lines matched per vectorised step: bounds the regex kernels' intermediate arrays
SLICE_LINES = 65536


def parse_lines(
    data: bytes, year_hint: int | None = None, max_line_bytes: int | None = None
) -> XsLines:
    """Split and match every line once; the table half is what `parse_xensource` returns.

    Lines are split and matched a slice at a time, each slice's columns made final before the
    next (the table's columns are the slices' chunks): these logs run to hundreds of MiB, and
    whole-file intermediates took six times the file in memory. Only the syslog time strings
    are gathered before the year is assigned, because a New Year is a property of the whole
    file.
    """
    starts = line_starts(data)
    n = len(starts)
    parts = []
    for lo in range(0, max(n, 1), SLICE_LINES):
        hi = min(n, lo + SLICE_LINES)
        lines, flags = _slice_lines(data, starts, lo, hi)
        if max_line_bytes and len(lines):
            long = pc.greater(pc.binary_length(lines), max_line_bytes)
            if pc.any(long).as_py():
                lines = pc.if_else(long, pc.utf8_slice_codeunits(lines, 0, max_line_bytes), lines)
                flags = flags | np.where(long.to_numpy(zero_copy_only=False), FLAG_TRUNCATED, 0)
        part = _match_slice(lines)
        part["flags"] = flags
        part["host"] = part["host"].cast(pa.string())
        part["tag"] = part["tag"].cast(pa.string())
        part["text"] = part["text"].cast(pa.string())
        del lines
        parts.append(part)

    def col(name: str) -> pa.ChunkedArray:
        return pa.chunked_array([p[name] for p in parts])

    t_new = syslog_times(pa.concat_arrays([p["syslog_ts"] for p in parts]), year_hint)
    at = np.cumsum([0, *(len(p["flags"]) for p in parts)])
    timestamp = pa.chunked_array(
        [
            _pick(
                p["m_old"], p["t_old"], p["m_any_sys"], t_new.slice(at[i], at[i + 1] - at[i])
            ).cast(pa.timestamp("us"))
            for i, p in enumerate(parts)
        ]
    )
    counts = {k: sum(p[k] for p in parts) for k in ("n_old", "n_new", "n_sys", "n_2010")}
    era = ""
    if counts["n_old"] or counts["n_new"]:
        if counts["n_new"] >= counts["n_old"]:
            era = "syslog"
        else:
            era = "2010" if counts["n_2010"] else "2009"
    table = pa.Table.from_arrays(
        [
            pa.nulls(n, pa.string()),
            pa.array(np.arange(1, n + 1, dtype=np.int64)),
            pa.array(starts),
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
    matched = counts["n_old"] + counts["n_new"] + counts["n_sys"]
    longest = int(np.diff(np.append(starts, len(data))).max()) if n else 0
    return XsLines(table, col("task"), col("brand"), era, matched, longest)


def _match_slice(lines: pa.Array) -> dict:  # type: ignore[type-arg]
    old = pc.extract_regex(lines, OLD_RE)
    new = pc.extract_regex(lines, NEW_RE)
    sysl = pc.extract_regex(lines, SYSLOG_RE)
    m_old, m_new, m_sys = old.is_valid(), new.is_valid(), sysl.is_valid()
    m_sys = pc.and_(m_sys, pc.invert(m_new))
    level_word = _pick(m_old, _field(old, "level"), m_new, _field(new, "level"))
    host_b = _pick(m_old, _field(old, "host"), m_new, _field(new, "host"))
    shost = pc.if_else(m_new, _field(new, "shost"), _field(sysl, "shost"))
    # the bracket's host field is empty since 2019: fall back to the syslog header's host
    host = pc.if_else(pc.equal(pc.fill_null(host_b, ""), ""), shost, host_b)
    ident = pc.if_else(m_new, _field(new, "ident"), _field(sysl, "ident"))
    brand = _pick(m_old, _field(old, "brand"), m_new, _field(new, "brand"))
    pid_s = pc.if_else(m_new, _field(new, "pid"), _field(sysl, "pid"))
    msg = _pick(m_old, _field(old, "msg"), m_new, _field(new, "msg"))
    msg = pc.if_else(m_sys, _field(sysl, "msg"), msg)
    old_ts = _field(old, "ts")
    return {
        "m_old": m_old,
        "m_any_sys": pc.or_(m_new, m_sys),
        "t_old": _old_times(old_ts, _field(old, "ms")),
        "syslog_ts": pc.if_else(m_new, _field(new, "ts"), _field(sysl, "ts")),
        "level": _levels(pc.utf8_trim_whitespace(level_word)),
        "host": host,
        "tag": pc.if_else(pc.is_valid(brand), brand, ident),
        "pid": pc.cast(
            pc.if_else(pc.equal(pid_s, ""), pa.scalar(None, pa.large_string()), pid_s), pa.int64()
        ),
        "text": pc.if_else(pc.is_valid(msg), msg, lines),
        "task": _pick(m_old, _field(old, "task"), m_new, _field(new, "task")),
        "brand": brand,
        "n_old": pc.sum(m_old).as_py() or 0,
        "n_new": pc.sum(m_new).as_py() or 0,
        "n_sys": pc.sum(m_sys).as_py() or 0,
        "n_2010": pc.sum(pc.and_(m_old, pc.match_substring(old_ts, "T"))).as_py() or 0,
    }


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
# The parsers registry entry for kind "xensource"
# --------------------------------------------------------------------------------------------
_BUG_REPORT_YEAR_RE = re.compile(r"bug-report-(\d{4})\d{10}")


def _year_of(src: object) -> int | None:
    hint = getattr(src, "year_hint", None)
    if hint:
        return int(hint)
    m = _BUG_REPORT_YEAR_RE.search(f"{getattr(src, 'bundle', '')}/{getattr(src, 'path', '')}")
    if m:
        return int(m.group(1))
    mtime = getattr(src, "mtime", None)
    return datetime.fromtimestamp(mtime).year if mtime else None


def parse(src, data: bytes, limits):  # type: ignore[no-untyped-def]
    """`parsers.register` entry: lines of a xensource.log, with an error row for a cut or alien file."""
    from triage.parsers import ParseResult

    year = _year_of(src)
    parsed = _kept(src.source_id, data, year, limits.max_line_bytes)
    if parsed is None:
        parsed = parse_lines(data, year, limits.max_line_bytes)
    table = parsed.table
    if table.num_rows:
        table = table.set_column(
            0, "source_id", pa.array([src.source_id] * table.num_rows, pa.string())
        )
    errors: list[ErrorRecord] = []
    partial = False
    n = table.num_rows
    if n and parsed.matched == 0:
        errors.append(
            ErrorRecord(
                src.display,
                "parse",
                "unknown-layout",
                f"{src.display}: none of its {n} lines has a xensource.log layout",
                src.source_id,
            )
        )
    elif data and not data.endswith(b"\n"):
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
