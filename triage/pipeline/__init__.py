"""The per-source work: parse → kernel → crashes → match, as one pure function.

It depends only on one source's bytes and its bundle's facts, which is what lets `triage.batch`
run it in a process pool or on a Dask worker and cache it by content hash (DESIGN.md §2).

A large source (`LARGE_SOURCE_BYTES` and up) is never read whole when only the lines that matter
are kept (DESIGN.md §4, §6): it is streamed in blocks through one multi-pattern prefilter over
`anchors.anchor_patterns()` — the union of what every stage looks at — and only windows of lines
around the hits are parsed and analysed. Windows are generous where a stage reads ahead: a crash
header keeps the `MAX_REPORT_LINES` the extractor may read, a SysRq line `SYSRQ_AFTER_LINES`, a
boot banner the lines a `boot` condition counts. Crash extraction runs per window (what it would
see in the whole table), boot segmentation and matching over the sparse table of all windows.

The package's modules, in the order they build on each other:
- `result`: `SourceResult`, what a source turns into.
- `anchors`: which lines matter — the stages' anchors, the prefilter made of them, the windows
  kept around their hits, and `relevant_lines`.
- `windows`: one pass over a large source in blocks, collecting those windows.
- `spill`: a large source's lines written to Parquet as they are parsed (`keep="all"`).
- `analysis`: boots, crashes and matching over a table of lines.
- `large`: a large source from its windows to its result.
- this module: a source of any kind (log, dump, small or large) to its result.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pyarrow as pa

from triage import parsers, sources
from triage.limits import DEFAULT_LIMITS, Limits
from triage.model import KIND_DUMP, KIND_XENSOURCE, LOG_KINDS, Fact, SourceFile, empty_lines
from triage.pipeline.analysis import analyse, analyse_packed
from triage.pipeline.anchors import streamable
from triage.pipeline.large import large_xensource, process_large_log
from triage.pipeline.result import SourceResult, internal_error
from triage.pipeline.spill import spill_all_lines

#: the role of a file where a crash dump belongs (a kdump directory's `vmcore`: sources.layouts)
DUMP_ROLE = "vmcore"

__all__ = [
    "LARGE_SOURCE_BYTES",
    "SourceResult",
    "internal_error",
    "process_source",
    "process_sources",
]

#: sources this large (bytes) are streamed through the prefilter instead of read whole
LARGE_SOURCE_BYTES = 32 << 20


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
            if data is None and src.size < 0 and streamable(src, signatures, keep, threshold):
                data = _read_small(result, limits, threshold)  # None: larger, streamed
            if data is None and streamable(src, signatures, keep, threshold):
                # a compressed log is inflated once for both passes (sources.shared_spools),
                # or, when that is cheaper or there is no pass 2, as each pass reads it
                once = keep != "all" or sources.inflates_fast(src)
                with sources.shared_spools():
                    wraps = process_large_log(result, facts, signatures, limits, sha256, once)
                    if wraps is not None:
                        if keep == "all" and result.status != "error":
                            spill_all_lines(result, limits, wraps, once)
                        return result
                result = SourceResult(source=src)  # not streamable after all: read it whole
            if data is None and src.kind == KIND_XENSOURCE and not 0 <= src.size < threshold:
                if src.size < 0:  # compressed: read whole when it turns out small
                    data = _read_small(result, limits, threshold)
                if data is None and large_xensource(result, facts, signatures, keep, limits):
                    return result
            if data is None:
                data = _read_log(result, limits)
            elif not result.sha256:  # given (a log carved out of a dump), not read here
                result.sha256 = hashlib.sha256(data).hexdigest()
            _process_log(result, data, facts, signatures, keep, limits)
        else:
            result.status = "skipped"
            if src.role == DUMP_ROLE:
                # where a dump belongs, but none triage reads: said, not passed over in silence
                from triage.dumps import not_a_dump

                result.errors.append(not_a_dump(src))
    except Exception as exc:  # a bug in a stage must not lose the other sources
        result.fail(exc)
    return result


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
            result.fail(exc)
            continue
        if data is None:
            results[i] = process_source(
                src, facts, signatures, keep, limits, system_map=system_map, sha256=known
            )
            continue
        pending.append((i, data))
        held += len(data)
        if held >= _PENDING_BYTES or len(pending) >= _PENDING_ITEMS:
            analyse_packed(results, pending, items, signatures, keep, limits)
            _compact_lines(results, [i for i, _ in pending], groups)
            pending, held = [], 0
    analyse_packed(results, pending, items, signatures, keep, limits)
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
    if not any(e.error_class == "limit-file-bytes" for e in read.errors):
        result.content_size = len(read.data)  # (cut at the cap: how much more, nobody knows)
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


def _process_log(
    result: SourceResult,
    data: bytes,
    facts: list[Fact] | None,
    signatures: Any | None,
    keep: str,
    limits: Limits,
) -> None:
    analyse(result, parsers.parse(result.source, data, limits=limits), facts, signatures, keep)


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
