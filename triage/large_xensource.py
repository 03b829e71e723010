"""A xensource.log too large to hold, read in blocks: the rows of the whole-file path, in memory
a block deep.

xapi's log runs to hundreds of MiB on a busy pool, and parsed whole it took four times its size.
Its lines hold what no stage after parsing looks for (no kernel banner, no crash report, no
signature's line pattern: "quiet", as most small logs of a folder are), so its boots, crashes
and findings follow from totals the blocks add up to: one boot without a kernel, no crash, the
findings of a source with no line hit. Each block is checked for that as it is parsed; a log
where some line is not quiet is left to the whole-file path, whose stages then look at it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from triage import pipeline, sources
from triage.limits import Limits
from triage.model import Boot, ErrorRecord, Fact, SourceFile
from triage.parsers import ParseResult, literals, xensource
from triage.parsers.blocks import Limited


class _NotQuiet(Exception):
    """A block holds a line some stage looks at: the log is read whole instead."""


def process(
    result: pipeline.SourceResult,
    facts: list[Fact] | None,
    signatures: Any | None,
    keep: str,
    limits: Limits,
) -> bool:
    """Fill `result` for its xensource.log read in blocks; False, with `result` untouched, when
    this path cannot give the whole-file rows (a line a stage looks at, or a signature that
    needs every line)."""
    from triage import match

    src = result.source
    if signatures is not None and match.needs_every_line(signatures):
        return False
    patterns = tuple(dict.fromkeys(pipeline.stage_patterns(signatures)))
    errors: list[ErrorRecord] = []
    totals = _Totals(src, patterns, keep)
    try:
        with sources.open_binary(src, limits, errors=errors) as raw:
            capped = Limited(raw, limits.max_file_bytes)
            fh = _Hashing(capped)
            year = xensource.year_of(src)
            blocks = xensource.read_log(fh, year, limits.max_line_bytes, -1, src.source_id)
            tables = totals.tables(blocks)
            if keep == "all":
                spill, _ = pipeline.spill_tables(src, tables, [1], [totals.boot_id])
            else:
                for _ in tables:
                    pass
    except _NotQuiet:
        return False
    except xensource.StaleYears:  # changed since its facts were read: counted again
        return process(result, facts, signatures, keep, limits)
    except sources.SourceError as exc:
        result.status = "error"
        result.error = exc.message
        result.errors.extend(errors)
        result.errors.append(exc.record(src.display, src.source_id))
        return True
    if capped.more:
        errors.append(pipeline.cap_error(src, limits))
    if errors:
        result.status, result.error = "partial", errors[0].message
    result.errors.extend(errors)
    result.sha256 = fh.digest()
    result.line_count = totals.log.lines
    result.boots = totals.boots()
    parsed = totals.parse_result(result.line_count)
    result.errors.extend(parsed.errors)
    pipeline.match_and_settle(
        result, parsed.lines, result.boots, facts, signatures, parsed, frozenset(patterns)
    )
    if keep == "all":
        result.lines_spill = spill
    else:
        result.lines = pipeline.relevant_lines(totals.head(), result)
    return True


class _Totals:
    """What the parsed blocks add up to, each checked for quiet on its way to the caller."""

    def __init__(self, src: SourceFile, patterns: tuple[str, ...], keep: str) -> None:
        self.src = src
        self.patterns = patterns
        self.gate = literals.gate_for(patterns)
        self.keep = keep
        self.log = xensource.LogTotals()
        self.boot_id = f"{src.source_id}:0"
        self.hosts: dict[str, int] = {}
        self.start_time: object = None
        self.first: list[pa.Table] = []  # the lines `relevant_lines` may keep: the boot's first

    def tables(self, blocks: Iterator[tuple[Any, xensource.XsLines]]) -> Iterator[pa.Table]:
        for block, parsed in blocks:
            table = parsed.table
            if not self._quiet(table.column("text")):
                raise _NotQuiet
            self.log.add(block, parsed)
            self._note(table)
            yield table

    def _quiet(self, text: pa.ChunkedArray) -> bool:
        possible = self.gate.possible(text)
        if not possible:
            return True
        try:
            return not literals.any_matches(text, sorted(possible)).any()
        except pa.ArrowInvalid:  # a pattern RE2 cannot run: the stages must ask themselves
            return False

    def _note(self, table: pa.Table) -> None:
        if self.start_time is None:
            times = table.column("timestamp").drop_null()
            if len(times):
                self.start_time = times[0].as_py()
        counts = pc.value_counts(table.column("host").drop_null())
        for value, n in zip(
            counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
        ):
            if value:
                self.hosts[value] = self.hosts.get(value, 0) + n
        if self.keep != "all" and self.log.lines - table.num_rows <= pipeline.CONTEXT_LINES + 1:
            lineno = table.column("lineno")
            self.first.append(table.filter(pc.less_equal(lineno, pipeline.CONTEXT_LINES + 1)))

    def head(self) -> pa.Table:
        """The first lines with their source and boot ids, as the whole-file path keeps them."""
        table = pa.concat_tables(self.first) if self.first else _empty()
        n = table.num_rows
        table = table.set_column(0, "source_id", pa.array([self.src.source_id] * n, pa.string()))
        i = table.schema.get_field_index("boot_id")
        return table.set_column(i, "boot_id", pa.array([self.boot_id] * n, pa.string()))

    def boots(self) -> list[Boot]:
        """The one boot of a log with no kernel banner (`kernel.segment_boots`)."""
        if not self.log.lines:
            return []
        # the most frequent host, the first seen among equals
        hostname = max(self.hosts, key=self.hosts.__getitem__) if self.hosts else ""
        return [
            Boot(
                boot_id=self.boot_id,
                source_id=self.src.source_id,
                index=0,
                first_line=1,
                last_line=self.log.lines,
                release="",
                distro="",
                distro_release="",
                flavour="",
                vendor="",
                arch="",
                hostname=hostname,
                banner="",
                start_time=self.start_time,
            )
        ]

    def parse_result(self, n: int) -> ParseResult:
        """The parse result's errors and partial flag (`xensource.parse`), without its lines."""
        return xensource.parse_outcome(
            self.src, n, self.log.matched, self.log.ends_with_newline, _empty()
        )


def _empty() -> pa.Table:
    from triage.model import LINES_SCHEMA

    return LINES_SCHEMA.empty_table()


class _Hashing:
    """The SHA-256 of what a pass reads (a second pass, from the start, starts it anew)."""

    def __init__(self, fh: Limited) -> None:
        self.fh = fh
        self.h = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        out = self.fh.read(n)
        self.h.update(out)
        return out

    def seek(self, pos: int) -> int:
        if pos == 0:
            self.h = hashlib.sha256()
        return self.fh.seek(pos)

    def tell(self) -> int:
        return self.fh.tell()

    def seekable(self) -> bool:
        return self.fh.seekable()

    def digest(self) -> str:
        return self.h.hexdigest()
