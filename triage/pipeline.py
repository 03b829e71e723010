"""The per-source work: parse → kernel → crashes → match, as one pure function.

It depends only on one source's bytes and its bundle's facts, which is what lets `triage.batch`
run it in a process pool or on a Dask worker and cache it by content hash (DESIGN.md §2).

A large source (`LARGE_SOURCE_BYTES` and up) is never read whole when only the lines that matter
are kept (DESIGN.md §4, §6): it is streamed in blocks through one multi-pattern prefilter over
`anchor_patterns()` — the union of what every stage looks at — and only windows of lines around
the hits are parsed and analysed. Windows are generous where a stage reads ahead: a crash header
keeps the `MAX_REPORT_LINES` the extractor may read, a SysRq line `SYSRQ_AFTER_LINES`, a boot
banner the lines a `boot` condition counts. Crash extraction runs per window (what it would see in
the whole table), boot segmentation and matching over the sparse table of all windows.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from triage import crashes as crash_stage
from triage import kernel, parsers, sources
from triage.limits import DEFAULT_LIMITS, Limits
from triage.model import (
    KIND_DUMP,
    LOG_KINDS,
    Boot,
    Crash,
    ErrorRecord,
    Fact,
    Finding,
    SourceFile,
    empty_lines,
)

#: lines of context kept around each relevant line when `keep="relevant"`
CONTEXT_LINES = 5
#: sources this large (bytes) are streamed through the prefilter instead of read whole
LARGE_SOURCE_BYTES = 32 << 20
#: bytes read per step on the streaming path
STREAM_BLOCK = 16 << 20
#: lines kept after a SysRq line (a Show State of a few hundred tasks; longer dumps are cut)
SYSRQ_AFTER_LINES = 20_000
#: lines kept before every hit, after an ordinary hit, and at the head and tail of the source
BEFORE_LINES = 12
AFTER_LINES = 12
EDGE_LINES = 50
#: kinds whose parser drops lines (syslog keeps kernel lines): windows are this much wider
_SPARSE_KIND_FACTOR = 4


@dataclass
class SourceResult:
    """What one source contributes to the dataset."""

    source: SourceFile
    sha256: str = ""
    status: str = "ok"
    error: str = ""
    lines: pa.Table = field(default_factory=empty_lines)
    line_count: int = 0
    boots: list[Boot] = field(default_factory=list)
    crashes: list[Crash] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    derived: list[SourceResult] = field(default_factory=list)  # logs carved out of a dump
    #: a local Parquet file holding every line of a large source, streamed there by `ingest`
    #: so that memory stays bounded; the store moves it into the dataset part
    lines_spill: str = ""

    def source_row(self) -> dict[str, Any]:
        s = self.source
        return {
            "source_id": s.source_id,
            "bundle": s.bundle,
            "path": s.path,
            "display": s.display,
            "kind": s.kind,
            "layout": s.layout,
            "role": s.role,
            "rotation": s.rotation,
            "vm_name": s.vm_name,
            "parent_id": s.parent_id,
            "size": s.size,
            "sha256": self.sha256,
            "mtime": datetime.fromtimestamp(s.mtime) if s.mtime else None,
            "truncated": s.truncated,
            "status": self.status,
            "error": self.error,
            "line_count": self.line_count,
        }

    def all(self) -> list[SourceResult]:
        out = [self]
        for d in self.derived:
            out.extend(d.all())
        return out


def process_source(
    src: SourceFile,
    facts: list[Fact] | None = None,
    signatures: Any | None = None,
    keep: str = "all",
    limits: Limits = DEFAULT_LIMITS,
    system_map: str | None = None,
    data: bytes | None = None,
    large_source_bytes: int | None = None,
    sha256: str = "",
) -> SourceResult:
    """Turn one source into its rows. Never raises for bad input: errors become rows.

    `data` is given for logs carved out of a dump; otherwise the source is opened here, so the
    caller (possibly another process) only ships the picklable locator. `sha256` is the
    content digest when the caller already knows it (a loose file it hashed), saving a pass.
    """
    result = SourceResult(source=src)
    try:
        if src.kind == KIND_DUMP:
            _process_dump(result, facts, signatures, keep, limits, system_map)
        elif src.kind in LOG_KINDS:
            threshold = LARGE_SOURCE_BYTES if large_source_bytes is None else large_source_bytes
            if data is None and _streamable(src, signatures, keep, threshold):
                if _process_large_log(result, facts, signatures, limits, sha256):
                    if keep == "all" and result.status != "error":
                        _spill_all_lines(result, limits)
                    return result
                result = SourceResult(source=src)  # not streamable after all: read it whole
            if data is None:
                read = sources.read_bytes(src, limits)
                data = read.data
                result.errors.extend(read.errors)
                if read.errors:
                    result.status = "partial"
                    result.error = read.errors[0].message
            result.sha256 = hashlib.sha256(data).hexdigest()
            _process_log(result, data, facts, signatures, keep, limits)
        else:
            result.status = "skipped"
    except Exception as exc:  # a bug in a stage must not lose the other sources
        result.status = "error"
        result.error = f"{type(exc).__name__}: {exc}"
        result.errors.append(
            ErrorRecord(
                path=src.display,
                stage="pipeline",
                error_class="internal-error",
                message=f"{src.display}: internal error while processing: {type(exc).__name__}: {exc}",
                source_id=src.source_id,
            )
        )
    return result


def _process_log(
    result: SourceResult,
    data: bytes,
    facts: list[Fact] | None,
    signatures: Any | None,
    keep: str,
    limits: Limits,
) -> None:
    src = result.source
    parsed = parsers.parse(src, data, limits=limits)
    result.errors.extend(parsed.errors)
    result.facts.extend(parsed.facts)
    lines = parsed.lines
    boots, boot_ids = kernel.segment_boots(lines, src.source_id)
    lines = lines.set_column(lines.schema.get_field_index("boot_id"), "boot_id", boot_ids)
    result.boots = boots
    result.crashes = _merge_format_crashes(
        crash_stage.extract(lines, src.source_id, boots), parsed.crashes
    )
    result.line_count = lines.num_rows
    _match_and_settle(result, lines, boots, facts, signatures, parsed)
    result.lines = lines if keep == "all" else relevant_lines(lines, result)


def _match_and_settle(
    result: SourceResult,
    lines: pa.Table,
    boots: list[Boot],
    facts: list[Fact] | None,
    signatures: Any | None,
    parsed: parsers.ParseResult,
) -> None:
    """Match the signatures over the source's records, then settle its status."""
    if signatures is not None:
        from triage import match

        result.findings, match_errors = match.evaluate(
            signatures,
            match.SourceContext(
                source=result.source,
                lines=lines,
                boots=boots,
                crashes=result.crashes,
                facts=list(facts or []) + result.facts,
            ),
        )
        result.errors.extend(match_errors)
    if parsed.partial and result.status == "ok":
        result.status = "partial"
        result.error = parsed.errors[0].message if parsed.errors else "partially read"


def _merge_format_crashes(found: list[Crash], given: list[Crash]) -> list[Crash]:
    """Add crashes a format states outright (a crash-tool bt of the panic task).

    A stated record is authoritative: it describes the panic the dump was taken for, with the
    panic task's own stack, so it replaces the crash reports read from the same paste's text
    (which would otherwise count that one panic twice); events and SysRq records stay.
    """
    if not given:
        return found
    rest = [c for c in found if c.record != "crash"]
    return sorted(rest + given, key=lambda c: c.first_line)


def _process_dump(
    result: SourceResult,
    facts: list[Fact] | None,
    signatures: Any | None,
    keep: str,
    limits: Limits,
    system_map: str | None,
) -> None:
    from dataclasses import replace

    from triage import dumps
    from triage.model import KIND_VMCORE_DMESG

    src = result.source
    try:
        with sources.open_binary(src, limits, errors=result.errors) as fh:
            dump = dumps.read_dump(src, fh, system_map=system_map, limits=limits)
    except sources.SourceError as exc:
        result.status = "error"
        result.error = exc.message
        result.errors.append(exc.record(src.display, src.source_id))
        return
    result.sha256 = dump.digest
    result.facts.extend(dump.facts)
    result.errors.extend(dump.errors)
    if dump.errors and dump.log is None:
        result.status = "partial"
        result.error = dump.errors[0].message
    if dump.log:
        carved = replace(
            src,
            kind=KIND_VMCORE_DMESG,
            role="vmcore-dmesg",
            parent_id=src.source_id,
            path=(src.path or src.disk_path) + "#dmesg",
            size=len(dump.log),
            members=src.members,
        )
        result.derived.append(
            process_source(
                carved, list(facts or []) + dump.facts, signatures, keep, limits, data=dump.log
            )
        )


def relevant_lines(lines: pa.Table, result: SourceResult) -> pa.Table:
    """Keep banners, crash reports and evidence lines, each with some context."""
    if lines.num_rows == 0:
        return lines
    n = int(pc.max(lines.column("lineno")).as_py())  # the table may be sparse: by line number
    keep: set[int] = set()

    def span(first: int, last: int, ctx: int = CONTEXT_LINES) -> None:
        keep.update(range(max(1, first - ctx), min(n, last + ctx) + 1))

    for b in result.boots:
        span(b.first_line, b.first_line)
    for c in result.crashes:
        span(c.first_line, c.last_line)
    for f in result.findings:
        for e in f.evidence:
            if e.source_id == result.source.source_id:
                span(e.lineno, e.lineno)
    if not keep:
        return lines.slice(0, 0)
    mask = pc.is_in(lines.column("lineno"), value_set=pa.array(sorted(keep), pa.int64()))
    return lines.filter(mask)


# --------------------------------------------------------------------------------------------
# Anchors and the large-source path
# --------------------------------------------------------------------------------------------
#: what `anchor_patterns` puts in place of a pattern it cannot express for the byte prefilter
MATCH_EVERYTHING = r"[\s\S]"


def anchor_patterns(sigset: Any | None = None) -> list[str]:
    """Every anchor any stage looks at, as byte regexes in the Hyperscan/RE2 common subset.

    Crash report headers and SysRq lines (`triage.crashes`), boot banners, journal separators and
    clock restarts (`triage.kernel`), and each loaded signature's line patterns (`triage.match`).
    Each is loosened to match raw lines (prefixes still on): `^`/`$` anchors and look-arounds are
    dropped, back-references widened. A pattern that still cannot be compiled becomes
    `MATCH_EVERYTHING`, which makes the prefilter keep every line rather than lose a hit.
    """
    from triage import match

    raw = [*crash_stage.anchor_patterns(), *kernel.anchor_patterns()]
    if sigset is not None:
        raw.extend(match.anchor_patterns(sigset))
    out: list[str] = []
    for p in raw:
        t = to_byte_regex(p)
        out.append(t if t is not None else MATCH_EVERYTHING)
    return list(dict.fromkeys(out))


def to_byte_regex(pattern: str) -> str | None:
    """`pattern` (the `regex`/RE2 dialect, over message text) widened for raw log lines.

    The result matches every line whose message the original matches (and maybe more); None
    when no such translation compiles.
    """
    try:
        out = _widen(pattern)
    except ValueError:
        return None
    if not out or not _compiles(out):
        return None
    return out


_FLAGS_ONLY = re.compile(r"\(\?([aiLmsux]+)\)")


def _widen(p: str) -> str:
    lead = _FLAGS_ONLY.match(p)
    if lead:  # a leading global flag group becomes a scoped one (alternations stay valid)
        flags = "".join(f for f in lead.group(1) if f in "ims")
        inner = _widen(p[lead.end() :])
        return f"(?{flags}:{inner})" if flags else inner
    out: list[str] = []
    i, n = 0, len(p)
    in_class = False
    while i < n:
        c = p[i]
        if c == "\\" and i + 1 < n:
            nxt = p[i + 1]
            if not in_class and nxt in "AZzG":
                i += 2
                continue
            if not in_class and nxt.isdigit() and nxt != "0":
                out.append(".*")  # a back-reference: any text
                i += 2
                continue
            out.append(p[i : i + 2])
            i += 2
            continue
        if in_class:
            out.append(c)
            if c == "]":
                in_class = False
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            i += 1
            if i < n and p[i] == "^":
                out.append("^")
                i += 1
            if i < n and p[i] == "]":
                out.append("\\]")
                i += 1
            continue
        if c in "^$":
            i += 1
            continue
        if c == "(" and p.startswith("(?", i):
            if p.startswith(("(?=", "(?!", "(?<=", "(?<!"), i):
                i = _group_end(p, i)  # a look-around only narrows: drop it
                continue
            if p.startswith("(?>", i):
                out.append("(?:")
                i += 3
                continue
            if p.startswith("(?P<", i) or (p.startswith("(?<", i)):
                close = p.index(">", i)
                out.append("(?:")
                i = close + 1
                continue
            if p.startswith("(?P=", i) or p.startswith("(?#", i):
                close = p.index(")", i)
                out.append(".*" if p[i + 2] == "P" else "")
                i = close + 1
                continue
        if c in "*+?}" and i + 1 < n and p[i + 1] == "+":
            out.append(c)  # possessive → greedy
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _group_end(p: str, start: int) -> int:
    depth, i, n, in_class = 0, start, len(p), False
    while i < n:
        c = p[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError("unbalanced group")


def _compiles(pattern: str) -> bool:
    import regex

    from triage.batch.prefilter import hyperscan_available

    try:
        regex.compile(pattern.encode())
    except (regex.error, ValueError, OverflowError):
        return False
    if hyperscan_available():
        import hyperscan

        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        try:
            db.compile(expressions=[pattern.encode()], ids=[0], flags=[0])
        except Exception:  # hyperscan.error: unsupported construct or too large
            return False
    return True


_PREFILTERS: dict[tuple[str, ...], Any] = {}


def _prefilter_for(patterns: list[str]) -> Any:
    from triage.batch.prefilter import Prefilter

    key = tuple(sorted(set(patterns)))
    pf = _PREFILTERS.get(key)
    if pf is None:
        pf = _PREFILTERS[key] = Prefilter(list(key))
    return pf


def _spill_all_lines(result: SourceResult, limits: Limits) -> None:
    """Every line of a large source, parsed block by block into a local Parquet file.

    A second pass over the source (the first found boots, crashes and findings through the
    prefilter): each block gets its boot ids from the boots already known, so rows equal those
    of the whole-file path while memory stays one block deep.
    """
    import tempfile

    import numpy as np
    import pyarrow.parquet as pq

    from triage.model import LINES_SCHEMA

    src = result.source
    firsts = np.array([b.first_line for b in result.boots], np.int64)
    ids = [b.boot_id for b in result.boots]
    fd, path = tempfile.mkstemp(prefix="triage-lines-", suffix=".parquet")
    os.close(fd)
    rows = 0
    try:
        with (
            sources.open_binary(src, limits) as fh,
            pq.ParquetWriter(path, LINES_SCHEMA, compression="zstd") as writer,
        ):
            for batch in parsers.iter_parse(src, fh, limits):
                if not batch.num_rows:
                    continue
                if ids:
                    ln = batch.column("lineno").to_numpy(zero_copy_only=False)
                    k = np.clip(np.searchsorted(firsts, ln, side="right") - 1, 0, len(ids) - 1)
                    boot = pa.array([ids[i] for i in k], pa.string())
                    batch = batch.set_column(
                        batch.schema.get_field_index("boot_id"), "boot_id", boot
                    )
                writer.write_table(batch.select(LINES_SCHEMA.names).cast(LINES_SCHEMA))
                rows += batch.num_rows
    except Exception:
        os.unlink(path)
        raise
    result.lines_spill = path
    result.lines = empty_lines()
    result.line_count = rows


def _streamable(src: SourceFile, signatures: Any | None, keep: str, threshold: int) -> bool:
    if src.size < threshold or src.kind not in parsers.FORMATS:
        return False
    if signatures is not None:
        from triage import match

        if match.needs_every_line(signatures):
            return False
    return True


@dataclass
class _Plan:
    """How wide the window around each kind of hit is (in physical lines)."""

    before: int
    after: int
    report_after: int
    sysrq_after: int
    boot_after: int
    edge: int
    report_re: Any
    sysrq_re: Any
    boot_re: Any

    def after_of(self, line: bytes) -> int:
        if self.report_re.search(line):
            return self.report_after
        if self.sysrq_re.search(line):
            return self.sysrq_after
        if self.boot_re.search(line):
            return self.boot_after
        return self.after


def _plan(src: SourceFile, signatures: Any | None) -> _Plan:
    import regex

    from triage.crashes.extract import MAX_REPORT_LINES

    factor = 1 if src.kind in _CONTIGUOUS_KINDS else _SPARSE_KIND_FACTOR
    boot_lines = 0
    if signatures is not None:
        from triage import match

        boot_lines = match.boot_lines_needed(signatures)
    crash_anchor, sysrq_anchor = crash_stage.anchor_patterns()
    k = kernel.anchor_patterns()

    def rx(pats: list[str]) -> Any:
        widened = [to_byte_regex(p) or MATCH_EVERYTHING for p in pats]
        return regex.compile("|".join(f"(?:{w})" for w in widened).encode())

    return _Plan(
        before=BEFORE_LINES * factor,
        after=AFTER_LINES * factor,
        report_after=(MAX_REPORT_LINES + 2 * CONTEXT_LINES) * factor,
        sysrq_after=SYSRQ_AFTER_LINES * factor,
        boot_after=(max(boot_lines, 2 * CONTEXT_LINES) + CONTEXT_LINES) * factor,
        edge=EDGE_LINES * factor,
        report_re=rx([crash_anchor]),
        sysrq_re=rx([sysrq_anchor]),
        boot_re=rx(k[:2]),
    )


_CONTIGUOUS_KINDS = frozenset({"console", "dmesg", "vmcore-dmesg"})


@dataclass
class _Segment:
    first_line: int  # 1-based physical line of the file
    first_offset: int
    last_line: int
    data: bytearray


@dataclass
class _Lines:
    """Some whole lines of the file in memory: the current block or the previous block's tail."""

    first: int  # global number of the first line
    offset: int  # file offset of the first line
    data: bytes
    starts: Any  # np.ndarray of line starts within data
    ends: Any  # np.ndarray of line ends (exclusive, newline included)

    @property
    def last(self) -> int:
        return self.first + len(self.starts) - 1

    def tail(self, k: int) -> _Lines:
        if len(self.starts) <= k:
            return self
        cut = int(self.starts[-k])
        return _Lines(
            self.first + len(self.starts) - k,
            self.offset + cut,
            self.data[cut:],
            self.starts[-k:] - cut,
            self.ends[-k:] - cut,
        )


def _lines_of(data: bytes, first: int, offset: int) -> _Lines:
    import numpy as np

    nl = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
    n = len(nl) + (0 if data.endswith(b"\n") or not data else 1)
    starts = np.zeros(n, np.int64)
    ends = np.zeros(n, np.int64)
    if n:
        starts[1:] = nl[: n - 1] + 1
        ends[: len(nl)] = nl + 1
        if n > len(nl):
            ends[-1] = len(data)
    return _Lines(first, offset, data, starts, ends)


class _WindowCollector:
    """Streams blocks, runs the prefilter, and keeps the lines of every window, merged."""

    def __init__(self, prefilter: Any, plan: _Plan) -> None:
        self.pf = prefilter
        self.plan = plan
        self.segments: list[_Segment] = []
        self.emitted = 0  # last line copied into a segment
        self.open_hi = plan.edge  # the head of the file is a window
        self.prev: _Lines | None = None
        self.last_line = 0

    def _emit(self, src: _Lines, lo: int, hi: int) -> None:
        lo = max(lo, src.first, self.emitted + 1)
        hi = min(hi, src.last)
        if lo > hi:
            return
        a = int(src.starts[lo - src.first])
        b = int(src.ends[hi - src.first])
        seg = self.segments[-1] if self.segments else None
        if seg is not None and seg.last_line == lo - 1:
            seg.data += src.data[a:b]
            seg.last_line = hi
        else:
            self.segments.append(_Segment(lo, src.offset + a, hi, bytearray(src.data[a:b])))
        self.emitted = hi

    def feed_bytes(self, data: bytes, first: int, offset: int) -> int:
        """Take one line-aligned block; returns the number of its last line."""
        if not data:
            return first - 1
        offs = self.pf.line_starts(data)
        if offs or self.open_hi >= first:
            block = _lines_of(data, first, offset)
            self.feed(block, offs)
            return block.last
        # no hit and no window open: count lines, keep the tail for the next block's context
        n = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        keep = max(self.plan.before, self.plan.edge)
        cut = len(data)
        for _ in range(keep + 1):
            cut = data.rfind(b"\n", 0, cut)
            if cut < 0:
                break
        tail = data[cut + 1 :] if cut >= 0 else data
        tail_lines = _lines_of(
            tail,
            first + n - tail.count(b"\n") - (0 if tail.endswith(b"\n") else 1),
            offset + len(data) - len(tail),
        )
        self.prev = tail_lines.tail(keep)
        self.last_line = first + n - 1
        return self.last_line

    def feed(self, block: _Lines, offs: list[int]) -> None:
        import numpy as np

        if not len(block.starts):
            return
        self._emit(block, block.first, self.open_hi)
        if offs:
            idx = np.searchsorted(block.starts, np.asarray(offs, np.int64))
            for i in idx.tolist():
                g = block.first + i
                line = block.data[int(block.starts[i]) : int(block.ends[i])]
                lo = max(1, g - self.plan.before)
                self.open_hi = max(self.open_hi, g + self.plan.after_of(line))
                if lo < block.first and self.prev is not None:
                    self._emit(self.prev, lo, block.first - 1)
                self._emit(block, lo, self.open_hi)
        keep = max(self.plan.before, self.plan.edge)
        self.prev = block.tail(keep)
        self.last_line = block.last

    def finish(self) -> None:
        if self.prev is not None:  # the tail of the file is a window
            self._emit(self.prev, self.last_line - self.plan.edge + 1, self.last_line)


def _read_blocks(fh: Any, limits: Limits, hashing: bool) -> Iterator[tuple[bytes, str, bool]]:
    """(line-aligned block, sha256 so far or "", capped) from a reader thread that reads and
    hashes ahead (both release the GIL) while the caller scans the previous block."""
    import queue
    import threading

    q: queue.Queue[Any] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def reader() -> None:
        try:
            h = hashlib.sha256() if hashing else None
            cap = limits.max_file_bytes
            carry = b""
            got = 0
            capped = False
            while not stop.is_set():
                chunk = fh.read(min(STREAM_BLOCK, cap - got)) if got < cap else b""
                if chunk:
                    if h is not None:
                        h.update(chunk)
                    got += len(chunk)
                    data = carry + chunk
                    cut = data.rfind(b"\n")
                    if cut < 0 and len(data) < limits.max_line_bytes * 4:
                        carry = data
                        continue
                    cut = cut if cut >= 0 else len(data) - 1
                    q.put((data[: cut + 1], "", False))
                    carry = data[cut + 1 :]
                    continue
                if got >= cap and fh.read(1):
                    capped = True
                if carry:
                    q.put((carry, "", False))
                q.put((b"", h.hexdigest() if h is not None else "", capped))
                return
        except BaseException as exc:  # handed to the caller
            q.put(exc)

    t = threading.Thread(target=reader, name="triage-read", daemon=True)
    t.start()
    try:
        while True:
            item = q.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if not item[0]:
                return
    finally:
        stop.set()
        while t.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                t.join(0.05)


def _stream_windows(
    fh: Any, collector: _WindowCollector, limits: Limits, known_sha256: str = ""
) -> tuple[str, bool]:
    """Read `fh` block by block into the collector; (sha256, ended by the cap)."""
    first_line, offset = 1, 0
    digest, capped = known_sha256, False
    for block, sha, cap_hit in _read_blocks(fh, limits, hashing=not known_sha256):
        if not block:
            digest, capped = sha or known_sha256, cap_hit
            break
        first_line = collector.feed_bytes(block, first_line, offset) + 1
        offset += len(block)
    collector.finish()
    return digest, capped


def _process_large_log(
    result: SourceResult,
    facts: list[Fact] | None,
    signatures: Any | None,
    limits: Limits,
    known_sha256: str = "",
) -> bool:
    """The prefilter path for a large source; False when it cannot take this source."""
    import numpy as np

    src = result.source
    patterns = anchor_patterns(signatures)
    if MATCH_EVERYTHING in patterns:
        return False
    try:
        with sources.open_binary(src, limits, errors=result.errors) as fh:
            head = _peek_head(fh)
            if b"\n" not in head and b"\r" in head:
                return False  # a CR-only capture: lines are not what the prefilter counts
            collector = _WindowCollector(_prefilter_for(patterns), _plan(src, signatures))
            result.sha256, capped = _stream_windows(fh, collector, limits, known_sha256)
    except sources.SourceError as exc:
        result.status = "error"
        result.error = exc.message
        result.errors.append(exc.record(src.display, src.source_id))
        return True
    if capped:
        result.errors.append(
            ErrorRecord(
                path=src.display,
                stage="sources",
                error_class="limit-file-bytes",
                message=f"{src.display}: larger than max_file_bytes={limits.max_file_bytes:,}; "
                f"only the first {limits.max_file_bytes:,} bytes were read",
                source_id=src.source_id,
            )
        )
    if result.errors:
        result.status = "partial"
        result.error = result.errors[0].message
    segs = collector.segments
    data = b"".join(bytes(s.data) for s in segs)
    parsed = parsers.parse(src, data, limits=limits)
    lines = parsed.lines
    if lines.num_rows and segs:
        seg_lines = np.array([s.last_line - s.first_line + 1 for s in segs], np.int64)
        seg_bytes = np.array([len(s.data) for s in segs], np.int64)
        cum_lines = np.concatenate([[0], np.cumsum(seg_lines)[:-1]])
        cum_bytes = np.concatenate([[0], np.cumsum(seg_bytes)[:-1]])
        firsts = np.array([s.first_line for s in segs], np.int64)
        offs = np.array([s.first_offset for s in segs], np.int64)
        ln = lines.column("lineno").to_numpy(zero_copy_only=False)
        k = np.searchsorted(cum_lines, ln - 1, side="right") - 1
        new_ln = ln - 1 - cum_lines[k] + firsts[k]
        lines = lines.set_column(
            lines.schema.get_field_index("lineno"), "lineno", pa.array(new_ln, pa.int64())
        )
        off_col = lines.column("offset").combine_chunks()
        off = pc.fill_null(off_col, 0).to_numpy(zero_copy_only=False)
        new_off = pa.array(
            off - cum_bytes[k] + offs[k],
            pa.int64(),
            mask=off_col.is_null().to_numpy(zero_copy_only=False),
        )
        lines = lines.set_column(lines.schema.get_field_index("offset"), "offset", new_off)
        row_seg = k
    else:
        row_seg = np.zeros(lines.num_rows, np.int64)
    result.errors.extend(parsed.errors)
    result.facts.extend(parsed.facts)
    boots, boot_ids = kernel.segment_boots(lines, src.source_id)
    lines = lines.set_column(lines.schema.get_field_index("boot_id"), "boot_id", boot_ids)
    result.boots = boots
    # Crash extraction per window: each window holds all a report's extractor reads ahead.
    found: list[Crash] = []
    if lines.num_rows:
        bounds = np.flatnonzero(np.diff(row_seg)) + 1
        starts = [0, *bounds.tolist()]
        ends = [*bounds.tolist(), lines.num_rows]
        for a, b in zip(starts, ends, strict=True):
            found.extend(crash_stage.extract(lines.slice(a, b - a), src.source_id, boots))
    found.sort(key=lambda c: (c.first_line, c.record))
    result.crashes = _merge_format_crashes(found, parsed.crashes)
    result.line_count = collector.last_line
    _match_and_settle(result, lines, boots, facts, signatures, parsed)
    result.lines = relevant_lines(lines, result)
    return True


def _peek_head(fh: Any) -> bytes:
    peek = getattr(fh, "peek", None)
    if peek is not None:
        try:
            return bytes(peek(1 << 16)[: 1 << 16])
        except (OSError, ValueError):
            pass
    if fh.seekable():
        pos = fh.tell()
        head = fh.read(1 << 16)
        fh.seek(pos)
        return head
    return b""
