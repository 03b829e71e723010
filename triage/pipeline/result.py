"""`SourceResult`: what one source turns into — its rows, its errors, and what a stage after
it (matching, a Parquet writer) needs to know of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from triage.model import (
    Boot,
    Crash,
    ErrorRecord,
    Fact,
    Finding,
    SourceFile,
    empty_lines,
)


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
    #: the bytes of content read, when the source was read to its end (whole, or as a stream)
    #: and not cut at the file cap: the size its row gives a compressed source, whose inflated
    #: size the walk does not know
    content_size: int = -1

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
            "size": s.size if s.size >= 0 else self.content_size,
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

    def fail(self, exc: BaseException) -> None:
        """Mark the source failed on a bug (not on its input), with its errors row."""
        self.status = "error"
        self.error = f"{type(exc).__name__}: {exc}"
        self.errors.append(internal_error(self.source, exc))


def internal_error(src: SourceFile, exc: BaseException) -> ErrorRecord:
    """The errors row of a source whose processing failed on a bug, not on its input."""
    return ErrorRecord(
        path=src.display,
        stage="pipeline",
        error_class="internal-error",
        message=f"{src.display}: internal error while processing: {type(exc).__name__}: {exc}",
        source_id=src.source_id,
    )
