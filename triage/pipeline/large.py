"""A large source from the windows of its pass to its result: boots, crashes and findings over
the sparse table of all windows, every line spilled to Parquet (`keep="all"`) or only the
relevant ones kept; a large xensource.log read for its facts as well."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from triage import crashes as crash_stage
from triage import kernel, parsers, sources
from triage.limits import Limits
from triage.model import (
    Crash,
    ErrorRecord,
    Fact,
    SourceFile,
    empty_lines,
)
from triage.parsers import literals
from triage.parsers.blocks import Bounded
from triage.parsers.engine import peek_head
from triage.pipeline.analysis import match_and_settle, merge_format_crashes, stage_patterns
from triage.pipeline.anchors import CONTEXT_LINES, relevant_lines, scan_spec
from triage.pipeline.result import SourceResult
from triage.pipeline.spill import spill_tables, wraps_of
from triage.pipeline.windows import Segment, scan_range


def process_large_log(
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
    from triage.parsers.years import MonthSamples

    src = result.source
    spec = scan_spec(src, signatures, limits)
    if spec is None:
        return None
    months = MonthSamples() if "t_bsd" in parsers.FORMATS[src.kind].groups else None
    try:
        with sources.open_binary(src, limits, errors=result.errors, once=once) as fh:
            head = peek_head(fh)
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
    elif src.size < 0:  # compressed: how much it inflated to, now that it was read through
        result.content_size = found.size
    wraps = months.wraps(src) if months is not None else 0
    finish_windows(result, found.segments, found.lines, facts, signatures, limits, wraps)
    return wraps


class _NotQuiet(Exception):
    """A block of a large xensource.log holds a line some stage looks at."""


def large_xensource(
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
        return large_xensource(result, facts, signatures, keep, limits)
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
    if not cut and src.size < 0:
        result.content_size = fh.size
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
        self.size = 0  # bytes hashed

    def read(self, n: int = -1) -> bytes:
        out = self.fh.read(n)
        self.h.update(out)
        self.size += len(out)
        return out

    def seek(self, pos: int) -> int:
        if pos == 0:
            self.h = hashlib.sha256()
            self.size = 0
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
    hosts = kernel.rows_by_host(lines, src.kind)  # several: each stage reads each alone
    boots, boot_ids = kernel.segment_boots(lines, src.source_id, hosts=hosts)
    lines = lines.set_column(lines.schema.get_field_index("boot_id"), "boot_id", boot_ids)
    result.boots = boots
    # Crash extraction per window: each window holds all a report's extractor reads ahead.
    found: list[Crash] = []
    if lines.num_rows:
        bounds = np.flatnonzero(np.diff(row_window)) + 1
        starts = [0, *bounds.tolist()]
        ends = [*bounds.tolist(), lines.num_rows]
        in_window = None if hosts else []  # a window's hosts, when the source has several
        for a, b in zip(starts, ends, strict=True):
            window = lines.slice(a, b - a)
            found.extend(crash_stage.extract(window, src.source_id, boots, in_window))
    found.sort(key=lambda c: (c.first_line, c.record))
    result.crashes = merge_format_crashes(found, parsed.crashes)
    result.line_count = line_count
    match_and_settle(result, lines, boots, facts, signatures, parsed, hosts=hosts)
    result.lines = relevant_lines(lines, result)
