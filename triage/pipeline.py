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

import functools
import hashlib
import os
import re
from collections.abc import Iterable, Iterator
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
    KIND_XENSOURCE,
    LINES_SCHEMA,
    LOG_KINDS,
    Boot,
    Crash,
    ErrorRecord,
    Fact,
    Finding,
    SourceFile,
    empty_lines,
)
from triage.parsers import literals
from triage.parsers.blocks import Bounded

#: lines of context kept around each relevant line when `keep="relevant"`
CONTEXT_LINES = 5
#: sources this large (bytes) are streamed through the prefilter instead of read whole
LARGE_SOURCE_BYTES = 32 << 20
#: bytes read per step on the streaming path. Blocks this small are reused by the allocator
#: (a 16 MiB one is mapped afresh each time, and faulting its pages in cost a third more)
STREAM_BLOCK = 4 << 20
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
    line_count: int = 0  # lines read (physical; a syslog's rows are its kept lines only)
    boots: list[Boot] = field(default_factory=list)
    crashes: list[Crash] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    derived: list[SourceResult] = field(default_factory=list)  # logs carved out of a dump
    #: a local Parquet file holding every line of a large source, streamed there by `ingest`
    #: so that memory stays bounded; the store moves it into the dataset part
    lines_spill: str = ""
    #: more such files, holding the lines after those of `lines_spill` in order (one per chunk
    #: when the source was processed in chunks, see `triage.batch.chunks`)
    extra_spills: list[str] = field(default_factory=list)
    #: the facts the signatures were (or, without a set, would have been) matched with: what
    #: matching a later set against the rows kept needs besides them (`triage.store.matchinputs`)
    match_facts: list[Fact] | None = None

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

    def spill_files(self) -> list[str]:
        """The Parquet files holding this source's lines beyond `lines`, in line order."""
        return [self.lines_spill, *self.extra_spills] if self.lines_spill else []

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
            if data is None and src.size < 0 and _streamable(src, signatures, keep, threshold):
                data = _read_small(result, limits, threshold)  # None: larger, streamed
            if data is None and _streamable(src, signatures, keep, threshold):
                # a compressed log is inflated once for both passes (sources.shared_spools),
                # or, when that is cheaper or there is no pass 2, as each pass reads it
                once = keep != "all" or sources.inflates_fast(src)
                with sources.shared_spools():
                    wraps = _process_large_log(result, facts, signatures, limits, sha256, once)
                    if wraps is not None:
                        if keep == "all" and result.status != "error":
                            _spill_all_lines(result, limits, wraps, once)
                        return result
                result = SourceResult(source=src)  # not streamable after all: read it whole
            if data is None and src.kind == KIND_XENSOURCE and not 0 <= src.size < threshold:
                if src.size < 0:  # compressed: read whole when it turns out small
                    data = _read_small(result, limits, threshold)
                if data is None and _large_xensource(result, facts, signatures, keep, limits):
                    return result
            if data is None:
                data = _read_log(result, limits)
            elif not result.sha256:  # given (a log carved out of a dump), not read here
                result.sha256 = hashlib.sha256(data).hexdigest()
            _process_log(result, data, facts, signatures, keep, limits)
        else:
            result.status = "skipped"
    except Exception as exc:  # a bug in a stage must not lose the other sources
        _failed(result, exc)
    return result


def internal_error(src: SourceFile, exc: BaseException) -> ErrorRecord:
    """The errors row of a source whose processing failed on a bug, not on its input."""
    return ErrorRecord(
        path=src.display,
        stage="pipeline",
        error_class="internal-error",
        message=f"{src.display}: internal error while processing: {type(exc).__name__}: {exc}",
        source_id=src.source_id,
    )


def process_sources(
    items: list[tuple[SourceFile, list[Fact] | None, str]],
    signatures: Any | None = None,
    keep: str = "all",
    limits: Limits = DEFAULT_LIMITS,
    system_map: str | None = None,
    groups: list[int] | None = None,
) -> list[SourceResult]:
    """`process_source(src, facts, ..., sha256=known)` of each (src, facts, known) in order.

    The same rows, made faster for many small logs: their bytes are parsed in shared engine
    calls (`parsers.parse_many`), which a folder of thousands of small files spends most of its
    parse time on otherwise. Everything else stays per source, and never raises either.

    `groups` (one key per item: the unit it belongs to) lets the rows of neighbouring small
    logs of one group be held as one table (`_compact_lines`); without it each keeps its own.
    """
    results: list[SourceResult | None] = [None] * len(items)
    pending: list[tuple[int, bytes]] = []
    held = 0
    for i, (src, facts, known) in enumerate(items):
        if src.kind not in parsers.FORMATS or src.size > parsers.PACKED_SOURCE_BYTES:
            results[i] = process_source(
                src, facts, signatures, keep, limits, system_map=system_map, sha256=known
            )
            continue
        result = results[i] = SourceResult(source=src)
        try:  # a compressed log of unknown size: read here only when it is small
            data = _read_small(result, limits, parsers.PACKED_SOURCE_BYTES)
        except Exception as exc:  # as in `process_source`: a row, not a stopped run
            _failed(result, exc)
            continue
        if data is None:
            results[i] = process_source(
                src, facts, signatures, keep, limits, system_map=system_map, sha256=known
            )
            continue
        pending.append((i, data))
        held += len(data)
        if held >= _PENDING_BYTES or len(pending) >= _PENDING_ITEMS:
            _analyse_packed(results, pending, items, signatures, keep, limits)
            _compact_lines(results, [i for i, _ in pending], groups)
            pending, held = [], 0
    _analyse_packed(results, pending, items, signatures, keep, limits)
    _compact_lines(results, [i for i, _ in pending], groups)
    return [r for r in results if r is not None]


#: results with fewer rows than this are gathered (see `_compact_lines`)
COMPACT_ROWS = 4096


def _compact_lines(
    results: list[SourceResult | None], done: list[int], groups: list[int] | None
) -> None:
    """Hold the rows of each run of neighbouring results of one group in one table.

    Every Arrow table, even a slice, carries some 7 KB of column objects; the 20,000 members
    of one archive are one unit, held whole until its part is written, and their tables took
    140 MB. The run's first result holds the run's rows and the others the shared empty table:
    the part writes its results' rows in order, so it writes the same rows in the same order.
    Only results next to each other in `results` are joined, never across a group."""
    if groups is None or len(done) < 2:
        return
    run: list[SourceResult] = []

    def flush() -> None:
        if len(run) > 1:
            tables = [r.lines for r in run]
            schema = tables[0].schema
            if all(t.schema.equals(schema) for t in tables):
                run[0].lines = pa.concat_tables(tables).combine_chunks()
                for r in run[1:]:
                    r.lines = empty_lines()
        run.clear()

    previous = -2
    for i in done:
        result = results[i]
        small = result is not None and 0 < result.lines.num_rows < COMPACT_ROWS
        if not small or i != previous + 1 or groups[i] != groups[previous]:
            flush()
        if small:
            run.append(result)  # type: ignore[arg-type]
        previous = i
    flush()


#: bytes of small logs read ahead before their packed parse (bounds the memory they hold)
_PENDING_BYTES = 16 << 20
#: and their number: each parsed log is a table of its own until `_compact_lines` joins them
_PENDING_ITEMS = 2048


def _analyse_packed(
    results: list[SourceResult | None],
    pending: list[tuple[int, bytes]],
    items: list[tuple[SourceFile, list[Fact] | None, str]],
    signatures: Any | None,
    keep: str,
    limits: Limits,
) -> None:
    """Parse the pending logs together, then run the later stages on each."""
    if not pending:
        return
    parsed = parsers.parse_many([(items[i][0], data) for i, data in pending], limits)
    # the stages' literal gates scan the shared text buffers once, not each source's part
    texts = [p.lines.column("text") for p in parsed]
    with literals.shared_region(texts):
        patterns = stage_patterns(signatures)
        quiet = frozenset(patterns)
        stills = list(literals.quiet_columns(texts, patterns))
        plain = _plain_boots(parsed, stills, [items[i][0].source_id for i, _ in pending])
        for (i, _), p, still, boots in zip(pending, parsed, stills, plain, strict=True):
            result = results[i]
            assert result is not None
            try:
                _analyse(result, p, items[i][1], signatures, keep, quiet if still else None, boots)
            except Exception as exc:  # a bug in a stage must not lose the other sources
                _failed(result, exc)


def _plain_boots(
    parsed: list[parsers.ParseResult], stills: list[bool], source_ids: list[str]
) -> list[tuple[list[Boot], pa.Array] | None]:
    """The boots of the quiet sources among `parsed` (`kernel.plain_boots`), worked out
    together; None for the others, and for all when that fails (each then segmented alone,
    where a failure is that source's row)."""
    at = [k for k, still in enumerate(stills) if still]
    out: list[tuple[list[Boot], pa.Array] | None] = [None] * len(parsed)
    try:
        got = kernel.plain_boots([parsed[k].lines for k in at], [source_ids[k] for k in at])
    except Exception:
        return out
    for k, boots in zip(at, got, strict=True):
        out[k] = boots
    return out


def stage_patterns(signatures: Any | None) -> list[str]:
    """Every line pattern the stages after parsing ask their gates about: boots, crash
    reports and SysRq dumps, and the signatures' line conditions."""
    from triage import match

    return [
        *kernel.gate_patterns(),
        *crash_stage.anchor_patterns(),
        *match.anchor_patterns(signatures),
    ]


def _read_log(result: SourceResult, limits: Limits) -> bytes:
    """The bytes of a log read whole; read errors make the result partial."""
    return _taken(result, sources.read_bytes(result.source, limits))


def _taken(result: SourceResult, read: sources.ReadResult) -> bytes:
    """The bytes `read` holds, its errors and digest recorded in `result`."""
    result.errors.extend(read.errors)
    if read.errors:
        result.status = "partial"
        result.error = read.errors[0].message
    result.sha256 = hashlib.sha256(read.data).hexdigest()
    return read.data


def _read_small(result: SourceResult, limits: Limits, threshold: int) -> bytes | None:
    """The bytes of a log, read as `_read_log` reads them, when it is known to be small or,
    its size not known (compressed), holds at most `threshold` bytes; None when it holds
    more, to be streamed instead: read whole, a 500 MB log in 60 MB of gzip took 3 GB."""
    if result.source.size >= 0 or threshold >= limits.max_file_bytes:
        return _read_log(result, limits)
    read = sources.read_bytes(result.source, limits.override(max_file_bytes=threshold))
    if read.truncated and any(e.error_class == "limit-file-bytes" for e in read.errors):
        return None
    return _taken(result, read)


def _failed(result: SourceResult, exc: BaseException) -> None:
    result.status = "error"
    result.error = f"{type(exc).__name__}: {exc}"
    result.errors.append(internal_error(result.source, exc))


def _process_log(
    result: SourceResult,
    data: bytes,
    facts: list[Fact] | None,
    signatures: Any | None,
    keep: str,
    limits: Limits,
) -> None:
    _analyse(result, parsers.parse(result.source, data, limits=limits), facts, signatures, keep)


def _analyse(
    result: SourceResult,
    parsed: parsers.ParseResult,
    facts: list[Fact] | None,
    signatures: Any | None,
    keep: str,
    quiet: frozenset[str] | None = None,
    segmented: tuple[list[Boot], pa.Array] | None = None,
) -> None:
    """The stages after parsing: boots, crashes, findings, and the lines kept.

    `quiet`: the stages' line patterns (`stage_patterns`), when no line of the source matches
    any of them: one plain boot (unless its clock restarts), no crash report, and no pattern
    for the signatures to run — the same rows, without each stage asking again. `segmented`:
    the boots and boot ids `kernel.segment_boots` would give, when already worked out."""
    source_id = result.source.source_id
    result.errors.extend(parsed.errors)
    result.facts.extend(parsed.facts)
    lines = parsed.lines
    boots, boot_ids = segmented or kernel.segment_boots(lines, source_id, set() if quiet else None)
    lines = lines.set_column(lines.schema.get_field_index("boot_id"), "boot_id", boot_ids)
    result.boots = boots
    found = [] if quiet else crash_stage.extract(lines, source_id, boots)
    result.crashes = _merge_format_crashes(found, parsed.crashes)
    result.line_count = parsed.lines_read
    match_and_settle(result, lines, boots, facts, signatures, parsed, quiet or frozenset())
    result.lines = lines if keep == "all" else relevant_lines(lines, result)


def match_and_settle(
    result: SourceResult,
    lines: pa.Table,
    boots: list[Boot],
    facts: list[Fact] | None,
    signatures: Any | None,
    parsed: parsers.ParseResult,
    no_hits: frozenset[str] = frozenset(),
) -> None:
    """Match the signatures over the source's records, then settle its status."""
    result.match_facts = list(facts or []) + result.facts
    if signatures is not None:
        from triage import match

        result.findings, match_errors = match.evaluate(
            signatures,
            match.SourceContext(
                source=result.source,
                lines=lines,
                boots=boots,
                crashes=result.crashes,
                facts=result.match_facts,
                no_hits=no_hits,
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
    import numpy as np

    if lines.num_rows == 0:
        return lines
    lineno = lines.column("lineno").to_numpy()  # the table may be sparse: by line number
    n = int(lineno.max())
    spans: list[tuple[int, int]] = [(b.first_line, b.first_line) for b in result.boots]
    spans += [(c.first_line, c.last_line) for c in result.crashes]
    spans += [
        (e.lineno, e.lineno)
        for f in result.findings
        for e in f.evidence
        if e.source_id == result.source.source_id
    ]
    if not spans:
        return lines.slice(0, 0)
    # merged [lo, hi] ranges, then each row looked up among them: memory follows the rows and
    # the ranges, never the line count of the file (a sparse table of a huge log)
    bounds = sorted(
        (max(1, first - CONTEXT_LINES), min(n, last + CONTEXT_LINES)) for first, last in spans
    )
    los: list[int] = []
    his: list[int] = []
    for lo, hi in bounds:
        if lo > hi:
            continue
        if his and lo <= his[-1] + 1:
            his[-1] = max(his[-1], hi)
        else:
            los.append(lo)
            his.append(hi)
    if not los:
        return lines.slice(0, 0)
    if len(los) == 1 and not np.any(lineno[1:] < lineno[:-1]):
        # one range over rows in line order (a quiet source: its boot's first lines): a slice,
        # not a filter, which copies every column of every row kept
        a = int(np.searchsorted(lineno, los[0], side="left"))
        return lines.slice(a, int(np.searchsorted(lineno, his[0], side="right")) - a)
    k = np.searchsorted(np.asarray(los), lineno, side="right") - 1
    kept = (k >= 0) & (lineno <= np.asarray(his)[np.clip(k, 0, None)])
    return lines.filter(pa.array(kept))


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
    vouch_for(raw)
    out: list[str] = []
    for p in raw:
        t = to_byte_regex(p)
        out.append(t if t is not None else MATCH_EVERYTHING)
    return list(dict.fromkeys(out))


#: widened patterns known to compile in both engines, vouched for as a set (`vouch_for`)
_VOUCHED: set[str] = set()


def vouch_for(patterns: list[str]) -> None:
    """Check the widenings of `patterns` in one compile of the set, not one each: Hyperscan's
    fixed cost per database made the one-by-one check (~65 ms) as dear as the prefilter's own
    compile of the set, which this one is (`prefilter.hyperscan_database`). When the set fails,
    nothing is vouched for and `_compiles` finds the culprits one by one."""
    widened = set()
    for p in patterns:
        try:
            w = _prefilter_form(p)
        except ValueError:
            continue
        if w:
            widened.add(w)
    if widened and not widened <= _VOUCHED and _all_compile(tuple(sorted(widened))):
        _VOUCHED.update(widened)


def _all_compile(patterns: tuple[str, ...]) -> bool:
    """Whether every one of `patterns` compiles in `regex` and, when it imports, all of them
    together in Hyperscan (whose database is then the prefilter's, kept)."""
    import regex

    from triage.prefilter import hyperscan_available, hyperscan_database

    try:
        for p in patterns:
            regex.compile(p.encode())
        if hyperscan_available():
            hyperscan_database(patterns)
    except Exception:  # regex.error, hyperscan.error (unsupported, too large), ValueError...
        return False
    return True


def to_byte_regex(pattern: str) -> str | None:
    """`pattern` (the `regex`/RE2 dialect, over message text) widened for raw log lines.

    The result matches every line whose message the original matches (and maybe more); None
    when no such translation compiles.
    """
    try:
        out = _prefilter_form(pattern)
    except ValueError:
        return None
    if not out or not _compiles(out):
        return None
    return out


def _prefilter_form(pattern: str) -> str:
    """`pattern` widened for raw lines (`_widen`), then without a leading run of one character
    class (a SysRq task line's name before its state `D`): a line with a match of the whole
    holds a match of the rest, and Hyperscan no longer starts a match at every word of every
    line (that one pattern made the whole prefilter three times slower)."""
    from triage.parsers.engine import has_alternation

    out = _widen(pattern)
    if has_alternation(out, 0, len(out)):
        return out
    run = _LEADING_RUN.match(out)
    if run is None or run.end() == len(out) or out[run.end()] in "?*+{":
        return out
    return out[run.end() :]


#: an optional `\b`, then one character class, class escape or `.` repeated without bound
_LEADING_RUN = re.compile(r"(?:\\b)?(?:\[(?:\\.|[^\]\\])+\]|\\[wWsSdD]|\.)[+*]")


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


@functools.lru_cache(maxsize=1024)  # a pure test, asked again for every spec and plan
def _compiles(pattern: str) -> bool:
    return pattern in _VOUCHED or _all_compile((pattern,))


_PREFILTERS: dict[tuple[str, ...], Any] = {}


def _prefilter_for(patterns: list[str]) -> Any:
    from triage.prefilter import Prefilter

    key = tuple(sorted(set(patterns)))
    pf = _PREFILTERS.get(key)
    if pf is None:
        pf = _PREFILTERS[key] = Prefilter(list(key))
    return pf


# --------------------------------------------------------------------------------------------
# The large-source path, pass 1: windows of lines around the prefilter's hits
# --------------------------------------------------------------------------------------------
def _streamable(src: SourceFile, signatures: Any | None, keep: str, threshold: int) -> bool:
    """Whether `src` may take the two-pass path: a line format, no signature that needs every
    line, and not known to be smaller than `threshold` (a compressed log's size is not known
    until it is read: see `_read_small`)."""
    if 0 <= src.size < threshold or src.kind not in parsers.FORMATS:
        return False
    if signatures is not None:
        from triage import match

        if match.needs_every_line(signatures):
            return False
    return True


_CONTIGUOUS_KINDS = frozenset({"console", "dmesg", "vmcore-dmesg"})


@dataclass(frozen=True)
class ScanSpec:
    """What pass 1 needs to know about a source and the signatures, small enough to ship to
    another process (which compiles it once, see `compiled`)."""

    patterns: tuple[str, ...]
    factor: int  # window widths are multiplied by this for kinds whose parser drops lines
    boot_lines: int  # lines after a banner some `boot` condition counts
    keep_bytes: int  # a line longer than this is kept as its first `keep_bytes` bytes


def scan_spec(src: SourceFile, signatures: Any | None, limits: Limits) -> ScanSpec | None:
    """The pass-1 spec of `src`, or None when the prefilter cannot stand for every stage."""
    patterns = anchor_patterns(signatures)
    if MATCH_EVERYTHING in patterns:
        return None
    boot_lines = 0
    if signatures is not None:
        from triage import match

        boot_lines = match.boot_lines_needed(signatures)
    return ScanSpec(
        patterns=tuple(sorted(set(patterns))),
        factor=1 if src.kind in _CONTIGUOUS_KINDS else _SPARSE_KIND_FACTOR,
        boot_lines=boot_lines,
        keep_bytes=4 * limits.max_line_bytes,
    )


@dataclass
class _Plan:
    """How wide the window around each kind of hit is (in physical lines)."""

    before: int
    after: int
    report_after: int
    sysrq_after: int
    boot_after: int
    edge: int
    keep_bytes: int
    report_re: Any
    sysrq_re: Any
    boot_re: Any

    @property
    def context(self) -> int:
        """Lines kept from one block for the next: a hit's before-context or the tail edge."""
        return max(self.before, self.edge)

    def after_of(self, line: bytes) -> int:
        if self.report_re.search(line):
            return self.report_after
        if self.sysrq_re.search(line):
            return self.sysrq_after
        if self.boot_re.search(line):
            return self.boot_after
        return self.after


_PLANS: dict[ScanSpec, _Plan] = {}


def compiled(spec: ScanSpec) -> tuple[Any, _Plan]:
    """The prefilter and window plan of `spec`, compiled once per process."""
    plan = _PLANS.get(spec)
    if plan is None:
        plan = _PLANS[spec] = _plan(spec)
    return _prefilter_for(list(spec.patterns)), plan


def _plan(spec: ScanSpec) -> _Plan:
    import regex

    from triage.crashes.extract import MAX_REPORT_LINES

    factor = spec.factor
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
        boot_after=(max(spec.boot_lines, 2 * CONTEXT_LINES) + CONTEXT_LINES) * factor,
        edge=EDGE_LINES * factor,
        keep_bytes=spec.keep_bytes,
        report_re=rx([crash_anchor]),
        sysrq_re=rx([sysrq_anchor]),
        boot_re=rx(k[:2]),
    )


@dataclass
class Segment:
    """Consecutive window lines, as the bytes they are stored as (see `_Lines`)."""

    first_line: int
    first_offset: int  # file offset of the first line
    last_line: int
    data: bytearray
    #: its last line was cut short (an over-long line): the bytes of the next line do not follow
    closed: bool = False
    #: it starts right after a closed segment: the same window, for crash extraction
    joined: bool = False


@dataclass
class _Lines:
    """Some whole lines of the file in memory: a block, or the context kept from earlier blocks.

    Lines are stored as they are, except that a line longer than the plan's `keep_bytes` is
    stored as its first `keep_bytes` bytes and a newline (`cut`): the parsers keep far less of
    it, and the bytes stored never depend on where blocks or chunks were cut.
    """

    first: int  # number of the first line
    data: bytes
    starts: Any  # np.ndarray of line starts within data
    ends: Any  # np.ndarray of line ends (exclusive, newline included)
    offsets: Any  # np.ndarray of each line's offset in the file
    cut: Any  # np.ndarray of bool: stored cut short

    @property
    def last(self) -> int:
        return self.first + len(self.starts) - 1

    def line(self, i: int) -> bytes:
        return self.data[int(self.starts[i]) : int(self.ends[i])]

    def tail(self, k: int) -> _Lines:
        if len(self.starts) <= k:
            return self
        at = int(self.starts[-k])
        return _Lines(
            self.first + len(self.starts) - k,
            self.data[at:],
            self.starts[-k:] - at,
            self.ends[-k:] - at,
            self.offsets[-k:],
            self.cut[-k:],
        )

    def then(self, nxt: _Lines) -> _Lines:
        """These lines followed by `nxt`, which starts on the next line."""
        import numpy as np

        n = len(self.data)
        return _Lines(
            self.first,
            self.data + nxt.data,
            np.concatenate([self.starts, nxt.starts + n]),
            np.concatenate([self.ends, nxt.ends + n]),
            np.concatenate([self.offsets, nxt.offsets]),
            np.concatenate([self.cut, nxt.cut]),
        )


def _stored_lines(data: bytes, first: int, offset: int, keep_bytes: int) -> tuple[_Lines, Any]:
    """The lines of `data` (read from file offset `offset`) as stored, and where each line
    starts in `data` itself (to place prefilter hits)."""
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
    offsets = starts + offset
    content = ends - starts
    content[: len(nl)] -= 1
    long = content > keep_bytes
    if not long.any():
        return _Lines(first, data, starts, ends, offsets, long), starts
    pieces: list[bytes] = []
    lengths = np.where(long, keep_bytes + 1, ends - starts)
    for i, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        pieces.append(data[a : a + keep_bytes] + b"\n" if long[i] else data[a:b])
    new_ends = np.cumsum(lengths)
    stored = _Lines(first, b"".join(pieces), new_ends - lengths, new_ends, offsets, long)
    return stored, starts


def _newlines(data: bytes) -> int:
    """How many newlines `data` holds (numpy counts twice as fast as `bytes.count`)."""
    import numpy as np

    return int(np.count_nonzero(np.frombuffer(data, np.uint8) == 10))


class _WindowCollector:
    """Takes blocks in file order, runs the prefilter, and keeps the lines of every window.

    The windows are the head and tail of the file and, around every hit, `before` lines and
    as many after as the hit's kind needs; where they overlap or touch they merge. What is kept
    is a pure function of the file's lines and the plan, whatever the blocks: one collector can
    take a whole file, or several can each take a line-aligned chunk (`behind` is then the
    chunk's preceding lines, numbered up to 0, and `feed_bytes(..., scan=False)` the lines after
    it that a window opened in the chunk still covers) and their segments merge to the same.
    """

    def __init__(
        self, prefilter: Any, plan: _Plan, head: bool = True, behind: _Lines | None = None
    ) -> None:
        self.pf = prefilter
        self.plan = plan
        self.segments: list[Segment] = []
        self.prev = behind
        self.floor = behind.first if behind is not None else 1  # the first line there is
        self.emitted = self.floor - 1  # last line copied into a segment
        self.open_hi = plan.edge if head else self.floor - 1  # the head of the file is a window
        self.last_line = self.floor - 1 if behind is None else behind.last

    def _emit(self, src: _Lines, lo: int, hi: int) -> None:
        import numpy as np

        lo = max(lo, src.first, self.emitted + 1)
        hi = min(hi, src.last)
        while lo <= hi:
            i, j = lo - src.first, hi - src.first
            cuts = np.flatnonzero(src.cut[i : j + 1])
            if len(cuts):
                j = i + int(cuts[0])  # a cut line ends its segment
            piece = src.data[int(src.starts[i]) : int(src.ends[j])]
            seg = self.segments[-1] if self.segments else None
            touches = seg is not None and seg.last_line == lo - 1
            if seg is not None and touches and not seg.closed:
                seg.data += piece
                seg.last_line = src.first + j
            else:
                seg = Segment(lo, int(src.offsets[i]), src.first + j, bytearray(piece))
                seg.joined = touches
                self.segments.append(seg)
            seg.closed = bool(len(cuts))
            self.emitted = src.first + j
            lo = self.emitted + 1

    def _hits(self, data: bytes) -> list[int]:
        """Starts (in `data`) of the lines holding a hit within their first `keep_bytes`."""
        out = set()
        keep = self.plan.keep_bytes
        for e in self.pf.match_ends(data):
            s = data.rfind(b"\n", 0, e) + 1
            if e - s < keep:
                out.add(s)
        return sorted(out)

    def _context(self, block: _Lines) -> _Lines:
        keep = self.plan.context
        if len(block.starts) < keep and self.prev is not None and self.prev.last == block.first - 1:
            block = self.prev.tail(keep).then(block)
        return block.tail(keep)

    def feed_bytes(self, data: bytes, first: int, offset: int, scan: bool = True) -> int:
        """Take the lines of `data` (from file offset `offset`, numbered from `first`); returns
        the number of its last line. With `scan` False only open windows are continued."""
        if not data:
            return first - 1
        offs = self._hits(data) if scan else []
        if offs or self.open_hi >= first:
            block, raw_starts = _stored_lines(data, first, offset, self.plan.keep_bytes)
            self.feed(block, raw_starts, offs)
            return block.last
        # no hit and no window open: count lines, keep the tail for the next block's context
        n = _newlines(data) + (0 if data.endswith(b"\n") else 1)
        cut = len(data)
        for _ in range(self.plan.context + 1):
            cut = data.rfind(b"\n", 0, cut)
            if cut < 0:
                break
        tail = data[cut + 1 :] if cut >= 0 else data
        in_tail = tail.count(b"\n") + (0 if tail.endswith(b"\n") else 1)
        stored, _ = _stored_lines(
            tail, first + n - in_tail, offset + len(data) - len(tail), self.plan.keep_bytes
        )
        self.prev = self._context(stored)
        self.last_line = first + n - 1
        return self.last_line

    def feed(self, block: _Lines, raw_starts: Any, offs: list[int]) -> None:
        import numpy as np

        if not len(block.starts):
            return
        self._emit(block, block.first, self.open_hi)
        if offs:
            idx = np.searchsorted(raw_starts, np.asarray(offs, np.int64))
            for i in idx.tolist():
                g = block.first + i
                lo = max(self.floor, g - self.plan.before)
                self.open_hi = max(self.open_hi, g + self.plan.after_of(block.line(i)))
                if lo < block.first and self.prev is not None:
                    self._emit(self.prev, lo, block.first - 1)
                self._emit(block, lo, self.open_hi)
        self.prev = self._context(block)
        self.last_line = block.last

    @property
    def open(self) -> bool:
        """Does a window opened so far reach past the lines taken?"""
        return self.open_hi > self.last_line

    def finish(self) -> None:
        if self.prev is not None:  # the tail of the file is a window
            self._emit(self.prev, self.last_line - self.plan.edge + 1, self.last_line)


class _BlockReader:
    """Line-aligned blocks of `fh` from file offset `start` up to `stop`, read (and hashed) by a
    thread ahead of the caller, which scans the previous block meanwhile (both release the GIL).

    A line longer than `keep_bytes` that no read completes is delivered as its first
    `keep_bytes + 1` bytes, and the rest of it is skipped: memory stays bounded, and the
    collector stores such a line cut short whichever way it arrived. After iterating,
    `sha256` holds the digest of the bytes read (when hashing) and `more` whether the source
    went on past `stop` (when asked).
    """

    def __init__(
        self,
        fh: Any,
        start: int,
        stop: int,
        keep_bytes: int,
        hashing: bool = False,
        probe_more: bool = False,
        months: Any = None,
    ) -> None:
        self.fh, self.start, self.stop, self.keep_bytes = fh, start, stop, keep_bytes
        self.hashing, self.probe_more, self.months = hashing, probe_more, months
        self.sha256 = ""
        self.more = False

    def _read(self, put: Any, stopped: Any) -> None:
        fh, keep = self.fh, self.keep_bytes
        h = hashlib.sha256() if self.hashing else None
        at = pos = self.start  # bytes read so far / offset of the next byte delivered
        carry = b""
        skipping = False
        while at < self.stop and not stopped.is_set():
            chunk = fh.read(min(STREAM_BLOCK, self.stop - at))
            if not chunk:
                break
            if h is not None:
                h.update(chunk)
            if self.months is not None:
                self.months.feed(at, chunk)
            at += len(chunk)
            if skipping:  # the rest of an over-long line
                i = chunk.find(b"\n")
                if i < 0:
                    pos += len(chunk)
                    continue
                pos += i + 1
                chunk = chunk[i + 1 :]
                skipping = False
            # `carry` (the rest of a line) holds no newline: the block ends at the chunk's last
            # one, and is made with one copy (none when it is the whole chunk)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                whole = cut + 1 == len(chunk) and not carry
                piece = chunk if whole else b"".join((carry, memoryview(chunk)[: cut + 1]))
                put((pos, piece))
                pos += len(piece)
                carry = chunk[cut + 1 :]
            else:
                carry += chunk
            if len(carry) > keep:
                put((pos, carry[: keep + 1]))
                pos += len(carry)
                carry = b""
                skipping = True
        if carry:
            put((pos, carry))
        if self.probe_more and at >= self.stop:
            self.more = bool(fh.read(1))
        self.sha256 = h.hexdigest() if h is not None else ""

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        import queue
        import threading

        q: queue.Queue[Any] = queue.Queue(maxsize=2)
        stopped = threading.Event()
        done = object()

        def run() -> None:
            try:
                self._read(q.put, stopped)
                q.put(done)
            except BaseException as exc:  # handed to the caller
                q.put(exc)

        t = threading.Thread(target=run, name="triage-read", daemon=True)
        t.start()
        try:
            while (item := q.get()) is not done:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stopped.set()
            while t.is_alive():
                try:
                    q.get_nowait()
                except queue.Empty:
                    t.join(0.05)


@dataclass
class Windows:
    """What pass 1 over one range of a file found (line numbers local to the range: its first
    line is 1)."""

    segments: list[Segment]
    lines: int  # lines in the range
    sha256: str = ""
    more: bool = False  # the source went on past the range (read with `probe_more`)


def scan_range(
    fh: Any,
    spec: ScanSpec,
    start: int,
    stop: int,
    *,
    head: bool = True,
    tail: bool = True,
    limit: int | None = None,
    hashing: bool = False,
    probe_more: bool = False,
    months: Any = None,
) -> Windows:
    """Pass 1 over the lines in `fh`'s bytes [start, stop), `fh` positioned at `start`; the
    bytes read are fed to `months` (an `engine.MonthSamples`) when given.

    A range that is not the head of the file reads the lines before it for its hits' context,
    and one that is not the tail reads on (up to `limit`) while a window opened in it is open.
    """
    pf, plan = compiled(spec)
    behind = None
    if start > 0:
        behind = _lines_before(fh, start, plan.context, plan.keep_bytes)
        fh.seek(start)
    collector = _WindowCollector(pf, plan, head=head, behind=behind)
    reader = _BlockReader(fh, start, stop, plan.keep_bytes, hashing, probe_more, months)
    line = 1
    for offset, block in reader:
        line = collector.feed_bytes(block, line, offset) + 1
    lines = line - 1
    if tail:
        collector.finish()
    elif collector.open and limit is not None and limit > stop:
        fh.seek(stop)
        for offset, block in _BlockReader(fh, stop, limit, plan.keep_bytes):
            line = collector.feed_bytes(block, line, offset, scan=False) + 1
            if not collector.open:
                break
    return Windows(collector.segments, lines, reader.sha256, reader.more)


#: how far back `_lines_before` reads for the lines before a chunk, at most
MAX_LOOKBEHIND = 64 << 20


class LookbehindTooLong(ValueError):
    """The lines before a chunk are too long to read back: process the file whole instead."""


def _lines_before(fh: Any, start: int, count: int, keep_bytes: int) -> _Lines:
    """The `count` lines ending right before offset `start` (fewer at the head of the file),
    numbered so that the last is line 0."""
    size = 1 << 16
    while True:
        lo = max(0, start - size)
        fh.seek(lo)
        data = fh.read(start - lo)
        skip = 0 if lo == 0 else data.find(b"\n") + 1  # the first line may begin before lo
        complete = data.count(b"\n", skip)
        if lo == 0 or (skip > 0 and complete >= count):
            break
        if size >= MAX_LOOKBEHIND:
            raise LookbehindTooLong(f"no {count} lines within {size:,} bytes before {start:,}")
        size *= 4
    stored, _ = _stored_lines(data[skip:], 0, lo + skip, keep_bytes)
    stored = stored.tail(count)
    stored.first = 1 - len(stored.starts)
    return stored


def merge_segments(parts: list[list[Segment]]) -> list[Segment]:
    """Segments of several ranges (numbered alike) as one collector over the file keeps them:
    overlapping and touching windows merged, a closed segment ending its run."""
    from dataclasses import replace

    import numpy as np

    out: list[Segment] = []
    for s in sorted((s for p in parts for s in p), key=lambda s: (s.first_line, -s.last_line)):
        m = out[-1] if out else None
        if m is None or s.first_line > m.last_line + 1:
            out.append(replace(s, data=bytearray(s.data)))
            continue
        if s.last_line <= m.last_line:
            continue
        if m.closed:  # touches a cut line: the same window, another segment
            out.append(replace(s, data=bytearray(s.data), joined=True))
            continue
        skip = m.last_line + 1 - s.first_line  # lines of s that m holds already
        at = 0
        if skip:
            nl = np.flatnonzero(np.frombuffer(bytes(s.data), np.uint8) == 10)
            at = int(nl[skip - 1]) + 1
        m.data += s.data[at:]
        m.last_line = s.last_line
        m.closed = s.closed
    return out


def _process_large_log(
    result: SourceResult,
    facts: list[Fact] | None,
    signatures: Any | None,
    limits: Limits,
    known_sha256: str = "",
    once: bool = False,
) -> int | None:
    """The prefilter path for a large source; None when it cannot take this source, else
    the New Years its year-less times span (sampled as it is read, for pass 2). `once`: no
    pass 2 follows (`sources.open_binary`)."""
    from triage.parsers.engine import MonthSamples

    src = result.source
    spec = scan_spec(src, signatures, limits)
    if spec is None:
        return None
    months = MonthSamples() if "t_bsd" in parsers.FORMATS[src.kind].groups else None
    try:
        with sources.open_binary(src, limits, errors=result.errors, once=once) as fh:
            head = _peek_head(fh)
            if b"\n" not in head and b"\r" in head:
                return None  # a CR-only capture: lines are not what the prefilter counts
            found = scan_range(
                fh,
                spec,
                0,
                limits.max_file_bytes,
                hashing=not known_sha256,
                probe_more=True,
                months=months,
            )
    except sources.SourceError as exc:
        result.status = "error"
        result.error = exc.message
        result.errors.append(exc.record(src.display, src.source_id))
        return 0
    result.sha256 = known_sha256 or found.sha256
    if found.more:
        result.errors.append(cap_error(src, limits))
    wraps = months.wraps(src) if months is not None else 0
    finish_windows(result, found.segments, found.lines, facts, signatures, limits, wraps)
    return wraps


class _NotQuiet(Exception):
    """A block of a large xensource.log holds a line some stage looks at."""


def _large_xensource(
    result: SourceResult,
    facts: list[Fact] | None,
    signatures: Any | None,
    keep: str,
    limits: Limits,
) -> bool:
    """A xensource.log too large to hold, read in blocks (`xensource.read_log`); False, with
    `result` untouched, when that cannot give the rows of the whole-file path.

    A xensource.log holds nothing a stage after parsing looks for (no kernel banner, crash
    report or signature line pattern: quiet, as most small logs of a folder are), so its boot,
    crashes and findings follow from what its blocks add up to: one plain boot, no crash, the
    findings of a source without a line hit. Each block is checked for that as it is parsed;
    a log with a line that is not quiet (a guest's console copied into it), or read under a
    signature that needs every line, is left to the whole-file path.
    """
    from triage import match
    from triage.parsers import xensource

    src = result.source
    if signatures is not None and match.needs_every_line(signatures):
        return False
    patterns = stage_patterns(signatures)
    boot = kernel.PlainBoot(src.source_id)
    log = xensource.LogTotals()
    head: list[pa.Table] = []  # the lines `relevant_lines` may keep of a plain boot: its first

    def tables(fh: Any) -> Iterator[pa.Table]:
        for block, parsed in xensource.read_log(fh, src, limits.max_line_bytes):
            table = parsed.table
            if literals.matches_somewhere(table.column("text"), patterns):
                raise _NotQuiet
            log.add(block, parsed)
            boot.add(table)
            if keep != "all" and log.lines - table.num_rows <= CONTEXT_LINES + 1:
                head.append(table.filter(pc.less_equal(table.column("lineno"), CONTEXT_LINES + 1)))
            yield table

    errors: list[ErrorRecord] = []
    spill = ""
    try:
        with sources.open_binary(src, limits, errors=errors) as raw:
            capped = Bounded(raw, limits.max_file_bytes)
            fh = _Hashing(capped)
            if keep == "all":
                spill, _ = spill_tables(src, tables(fh), [1], [boot.boot_id])
            else:
                for _ in tables(fh):
                    pass
            cut = capped.more()
    except _NotQuiet:
        return False
    except xensource.StaleYears:  # changed since its facts were read: counted again
        return _large_xensource(result, facts, signatures, keep, limits)
    except sources.SourceError as exc:
        result.status, result.error = "error", exc.message
        result.errors.extend([*errors, exc.record(src.display, src.source_id)])
        return True
    if cut:
        errors.append(cap_error(src, limits))
    if errors:
        result.status, result.error = "partial", errors[0].message
    result.errors.extend(errors)
    result.sha256 = fh.hexdigest()
    result.line_count = log.lines
    result.boots = boot.boots()
    parsed = xensource.parse_outcome(
        src, log.lines, log.matched, log.ends_with_newline, empty_lines()
    )
    result.errors.extend(parsed.errors)
    match_and_settle(
        result, parsed.lines, result.boots, facts, signatures, parsed, frozenset(patterns)
    )
    if spill:
        result.lines_spill = spill
    else:
        kept = pa.concat_tables(head) if head else empty_lines()
        n = kept.num_rows
        kept = kept.set_column(0, "source_id", pa.array([src.source_id] * n, pa.string()))
        i = kept.schema.get_field_index("boot_id")
        kept = kept.set_column(i, "boot_id", pa.array([boot.boot_id] * n, pa.string()))
        result.lines = relevant_lines(kept, result)
    return True


class _Hashing:
    """A reader's SHA-256 of what a pass reads (a second pass, from the start, starts anew)."""

    def __init__(self, fh: Any) -> None:
        self.fh = fh
        self.h = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        out = self.fh.read(n)
        self.h.update(out)
        return out

    def seek(self, pos: int) -> int:
        if pos == 0:
            self.h = hashlib.sha256()
        return int(self.fh.seek(pos))

    def tell(self) -> int:
        return int(self.fh.tell())

    def seekable(self) -> bool:
        return bool(self.fh.seekable())

    def hexdigest(self) -> str:
        return self.h.hexdigest()


def cap_error(src: SourceFile, limits: Limits) -> ErrorRecord:
    return ErrorRecord(
        path=src.display,
        stage="sources",
        error_class="limit-file-bytes",
        message=f"{src.display}: larger than max_file_bytes={limits.max_file_bytes:,}; "
        f"only the first {limits.max_file_bytes:,} bytes were read",
        source_id=src.source_id,
    )


def finish_windows(
    result: SourceResult,
    segs: list[Segment],
    line_count: int,
    facts: list[Fact] | None,
    signatures: Any | None,
    limits: Limits,
    wraps: int | None = None,
) -> None:
    """Boots, crashes, findings and the relevant lines of a source from its windows. Their
    year-less times take the file's New Years (`wraps`; sampled from the file when None), as
    its lines do in pass 2."""
    import numpy as np

    src = result.source
    if result.errors and result.status == "ok":
        result.status = "partial"
        result.error = result.errors[0].message
    data = b"".join(bytes(s.data) for s in segs)
    if wraps is None:
        wraps = wraps_of(src, limits)
    parsed = parsers.parse(src, data, limits=limits, wraps=wraps)
    lines = parsed.lines
    row_window = np.zeros(lines.num_rows, np.int64)
    if lines.num_rows and segs:
        seg_lines = np.array([s.last_line - s.first_line + 1 for s in segs], np.int64)
        seg_bytes = np.array([len(s.data) for s in segs], np.int64)
        cum_lines = np.concatenate([[0], np.cumsum(seg_lines)[:-1]])
        cum_bytes = np.concatenate([[0], np.cumsum(seg_bytes)[:-1]])
        firsts = np.array([s.first_line for s in segs], np.int64)
        offs = np.array([s.first_offset for s in segs], np.int64)
        window = np.cumsum([not s.joined for s in segs]) - 1
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
        row_window = window[k]
    result.errors.extend(parsed.errors)
    result.facts.extend(parsed.facts)
    boots, boot_ids = kernel.segment_boots(lines, src.source_id)
    lines = lines.set_column(lines.schema.get_field_index("boot_id"), "boot_id", boot_ids)
    result.boots = boots
    # Crash extraction per window: each window holds all a report's extractor reads ahead.
    found: list[Crash] = []
    if lines.num_rows:
        bounds = np.flatnonzero(np.diff(row_window)) + 1
        starts = [0, *bounds.tolist()]
        ends = [*bounds.tolist(), lines.num_rows]
        for a, b in zip(starts, ends, strict=True):
            found.extend(crash_stage.extract(lines.slice(a, b - a), src.source_id, boots))
    found.sort(key=lambda c: (c.first_line, c.record))
    result.crashes = _merge_format_crashes(found, parsed.crashes)
    result.line_count = line_count
    match_and_settle(result, lines, boots, facts, signatures, parsed)
    result.lines = relevant_lines(lines, result)


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


# --------------------------------------------------------------------------------------------
# The large-source path, pass 2 (`ingest`): every line to Parquet
# --------------------------------------------------------------------------------------------
#: How spilled lines are written. Dictionaries only where values repeat (ids, hosts, tags,
#: messages); the numeric columns, unique per row, get encodings that suit them instead; no
#: min/max statistics for the text (no query prunes row groups by it). The id columns, one
#: value per source or boot, reach the writer as dictionary arrays, which it writes as they are
#: instead of hashing every value; without the Arrow schema stored, they read back as the plain
#: strings of LINES_SCHEMA (and every other column as its own type). The rows are those of the
#: defaults; encoding takes a third of the time, and the file is half the size.
SPILL_PARQUET: dict[str, Any] = {
    "compression": "zstd",
    "use_dictionary": ["source_id", "host", "tag", "boot_id", "text"],
    "column_encoding": {
        "lineno": "DELTA_BINARY_PACKED",
        "offset": "DELTA_BINARY_PACKED",
        "mono": "BYTE_STREAM_SPLIT",
    },
    "store_schema": False,
    "write_statistics": [name for name in LINES_SCHEMA.names if name != "text"],
}
_IDS = pa.dictionary(pa.int32(), pa.string())


def _spill_all_lines(
    result: SourceResult, limits: Limits, wraps: int = 0, once: bool = False
) -> None:
    """Every line of a large source, parsed block by block into a local Parquet file.

    A second pass over the source (the first found boots, crashes and findings through the
    prefilter): each block gets its boot ids from the boots already known, so rows equal those
    of the whole-file path while memory stays one block deep. `once`: a compressed source is
    inflated again (`sources.open_binary`); its damage is a row of pass 1 already.
    """
    src = result.source
    firsts = [b.first_line for b in result.boots]
    ids = [b.boot_id for b in result.boots]
    with sources.open_binary(src, limits, once=once) as fh:
        path, _ = spill_lines(
            src,
            Bounded(fh, limits.max_file_bytes),
            1,
            0,
            firsts,
            ids,
            limits,
            wraps=wraps,
        )
    result.lines_spill = path
    result.lines = empty_lines()  # (`line_count` is the first pass's: the lines read)


def spill_lines(
    src: SourceFile,
    fh: Any,
    first_line: int,
    start: int,
    firsts: list[int],
    ids: list[str],
    limits: Limits,
    workers: int | None = None,
    lead: bytes = b"",
    folder: str | None = None,
    wraps: int | None = None,
    cut: Any = None,
) -> tuple[str, int]:
    """Parse the lines of `fh` (from file offset `start`, the first numbered `first_line`) into
    a new Parquet file (in `folder`, else the temporary folder), boot ids from the boots' first
    lines; (its path, rows).

    `lead` is a line parsed before them and dropped, and `cut` (an `engine.Cut`) the state they
    start in: the parse of a chunk from the middle of a file starts in the state the lines
    before it left (see `triage.batch.chunks`). `wraps`: see `engine.iter_format`.
    """
    from triage.parsers.engine import iter_format

    fmt = parsers.FORMATS[src.kind]
    if lead:
        fh = Bounded(fh, -1, lead)

    def tables() -> Iterator[pa.Table]:
        drop = 1 if lead else 0  # the lead line's row, first of all
        for table in iter_format(
            fmt,
            fh,
            limits,
            src.source_id,
            src,
            block_bytes=STREAM_BLOCK,
            workers=workers,
            text_view=True,
            wraps=wraps,
            cut=cut,
        ):
            if drop:
                table, drop = table.slice(drop), max(0, drop - table.num_rows)
            if first_line - 1 - bool(lead) or start - len(lead):
                table = _shifted(table, first_line - 1 - bool(lead), start - len(lead))
            yield table

    return spill_tables(src, tables(), firsts, ids, threaded=workers != 1, folder=folder)


def spill_tables(
    src: SourceFile,
    tables: Iterable[pa.Table],
    firsts: list[int],
    ids: list[str],
    threaded: bool = True,
    folder: str | None = None,
) -> tuple[str, int]:
    """Line tables of `src`, in line order, into a new Parquet file (in `folder`, else the
    temporary folder), boot ids from the boots' first lines; (its path, rows). The file is
    removed when `tables` raises."""
    import tempfile

    from triage.parsers.engine import LINES_VIEW_SCHEMA

    fd, path = tempfile.mkstemp(prefix="triage-lines-", suffix=".parquet", dir=folder)
    os.close(fd)
    boots = _BootIds(firsts, ids)
    source_id = pa.array([src.source_id], pa.string())
    rows = 0
    try:
        with _ParquetSink(path, SPILL_SCHEMA, threaded=threaded) as sink:
            for table in tables:
                if not table.num_rows:
                    continue
                if table.schema != LINES_VIEW_SCHEMA:
                    table = table.select(LINES_SCHEMA.names).cast(LINES_VIEW_SCHEMA)
                sink.write(_spill_table(table, source_id, boots))
                rows += table.num_rows
    except BaseException:
        os.unlink(path)
        raise
    return path, rows


def wraps_of(src: SourceFile, limits: Limits) -> int:
    """The New Years a large year-less log spans, sampled from its file where `iter_format`
    samples bytes it holds whole: for the chunks of a plain file on disk, which no one pass
    reads. A log read as a stream has them sampled as pass 1 reads it (`_process_large_log`);
    a compressed file or a member, which cannot be read out of order, gets none here."""
    fmt = parsers.FORMATS.get(src.kind)
    if fmt is None or "t_bsd" not in fmt.groups or src.members or not src.disk_path:
        return 0
    from triage.parsers.engine import sampled_wraps_file

    try:
        size = src.size if src.size >= 0 else os.path.getsize(src.disk_path)
        return sampled_wraps_file(src.disk_path, min(size, limits.max_file_bytes), src=src)
    except OSError:  # the pass that reads it says why, as a row
        return 0


def _shifted(table: pa.Table, lines: int, offset: int) -> pa.Table:
    """Line numbers and offsets of a table parsed from the middle of a file made global."""
    for name, by in (("lineno", lines), ("offset", offset)):
        if by:
            i = table.schema.get_field_index(name)
            table = table.set_column(i, table.schema.field(i), pc.add(table.column(i), by))
    return table


def _spill_schema() -> pa.Schema:
    """LINES_SCHEMA as the spill writer takes it: ids as dictionaries, the text as views into
    the parsed blocks (the writer copies the bytes once; a plain string column would be one
    more copy). Without the Arrow schema stored, the file reads back as LINES_SCHEMA."""
    schema = LINES_SCHEMA
    for name, to in (("source_id", _IDS), ("boot_id", _IDS), ("text", pa.string_view())):
        i = schema.get_field_index(name)
        schema = schema.set(i, schema.field(i).with_type(to))
    return schema


SPILL_SCHEMA = _spill_schema()


class _BootIds:
    """The boot_id of each line, from the sorted first lines of the source's boots."""

    def __init__(self, firsts: list[int], ids: list[str]) -> None:
        import numpy as np

        self.firsts = np.asarray(firsts, np.int64)
        self.labels = pa.array(ids, pa.string())

    def column(self, lineno: pa.ChunkedArray) -> pa.Array:
        """The boot ids of lines `lineno`, as a dictionary array."""
        import numpy as np

        n = len(self.labels)
        if not n:
            return pa.nulls(len(lineno), _IDS)
        k = np.searchsorted(self.firsts, lineno.to_numpy(), side="right") - 1
        np.clip(k, 0, n - 1, out=k)
        return pa.DictionaryArray.from_arrays(pa.array(k.astype(np.int32)), self.labels)


def _spill_table(table: pa.Table, source_id: pa.Array, boots: _BootIds) -> pa.Table:
    """A parsed table as the spill writer takes it: ids as dictionary arrays."""
    import numpy as np

    n = table.num_rows
    sid = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), source_id)
    columns = dict(zip(table.column_names, table.columns, strict=True))
    columns["source_id"] = sid
    columns["boot_id"] = boots.column(table.column("lineno"))
    return pa.Table.from_arrays([columns[f.name] for f in SPILL_SCHEMA], schema=SPILL_SCHEMA)


#: rows per row group of a spilled file (a block holds tens of thousands of lines)
ROW_GROUP_ROWS = 1 << 18


class _ParquetSink:
    """A Parquet file written from tables as they come, by a thread of its own when `threaded`
    (encoding releases the GIL: the caller parses the next block meanwhile)."""

    def __init__(self, path: str, schema: pa.Schema, threaded: bool = True) -> None:
        import pyarrow.parquet as pq

        self.writer = pq.ParquetWriter(path, schema, **SPILL_PARQUET)
        self.threaded = threaded
        self.pending: list[pa.Table] = []
        self.rows = 0
        self.error: BaseException | None = None
        if threaded:
            import queue
            import threading

            self.q: queue.Queue[pa.Table | None] = queue.Queue(maxsize=2)
            self.thread = threading.Thread(target=self._run, name="triage-spill", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        while (table := self.q.get()) is not None:
            if self.error is None:
                try:
                    self.writer.write_table(table)
                except BaseException as exc:  # handed to the caller
                    self.error = exc

    def write(self, table: pa.Table) -> None:
        """Queue `table`; a row group is written once `ROW_GROUP_ROWS` rows are queued."""
        self.pending.append(table)
        self.rows += table.num_rows
        if self.rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self.error is not None:
            raise self.error
        if not self.pending:
            return
        table = pa.concat_tables(self.pending)
        self.pending, self.rows = [], 0
        if self.threaded:
            self.q.put(table)
        else:
            self.writer.write_table(table)

    def __enter__(self) -> _ParquetSink:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self._flush()
        if self.threaded:
            self.q.put(None)
            self.thread.join()
        self.writer.close()
        if self.error is not None and exc[0] is None:
            raise self.error
