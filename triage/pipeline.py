"""The per-source work: parse → kernel → crashes → match, as one pure function.

It depends only on one source's bytes and its bundle's facts, which is what lets `triage.batch`
run it in a process pool or on a Dask worker and cache it by content hash (DESIGN.md §2).
"""

from __future__ import annotations

import hashlib
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
) -> SourceResult:
    """Turn one source into its rows. Never raises for bad input: errors become rows.

    `data` is given for logs carved out of a dump; otherwise the source is opened here, so the
    caller (possibly another process) only ships the picklable locator.
    """
    result = SourceResult(source=src)
    try:
        if src.kind == KIND_DUMP:
            _process_dump(result, facts, signatures, keep, limits, system_map)
        elif src.kind in LOG_KINDS:
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
    if signatures is not None:
        from triage import match

        result.findings, match_errors = match.evaluate(
            signatures,
            match.SourceContext(
                source=src,
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
    result.lines = lines if keep == "all" else relevant_lines(lines, result)


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
    n = lines.num_rows
    if n == 0:
        return lines
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
