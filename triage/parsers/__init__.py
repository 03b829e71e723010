"""One module per text format turning bytes into the `lines` table (and facts).

Public API:
- `parse(src, data, limits) -> ParseResult` — lines as an Arrow table of LINES_SCHEMA
- `iter_parse(src, data_or_reader, limits) -> Iterator[pa.Table]` — the same in blocks, bounded memory
- `parse_many(items, limits) -> list[ParseResult]` — `parse` of many (src, data) at once: small
  sources of one line format share engine calls (`packed.py`), with the same rows
- `parse_bytes(data, kind=None, source_id="") -> pa.Table` — convenience for tests and tools
- `bundle_facts(sources, read) -> (facts, errors)` — facts a bundle states, read once per bundle
- `register(kind, func)` / `parser_for(kind)` — the registry of per-kind parse functions
- `FORMATS` — the line formats of the built-in kernel-log and syslog kinds (`LineFormat` data)

Line semantics (all kinds): `lineno` is the 1-based physical line of the file (lines end at LF, or
at CR in a CR-only capture), `offset` its byte offset. `text` is the message with every prefix
removed (syslog header, `<N>`, `[ts]`, caller id, xenconsoled and `dmesg -T`/iso/`-x` prefixes,
and before them a UTF-8 byte order mark opening the line, `model.UTF8_BOM`).
Syslog-like kinds keep only kernel lines and the few programs that matter to hang detection, so
their line numbers are not contiguous. A lone CR splits a line into records that share its number.
ANSI escapes, NULs and other control bytes are removed (FLAG_CONTROL_STRIPPED); bytes that are not
UTF-8 are written `\\xNN` with literal backslashes doubled in that line (FLAG_INVALID_UTF8,
reversible with `cleanup.unescape`); lines longer than `limits.max_line_bytes` are cut
(FLAG_TRUNCATED). Timestamps are the log's wall-clock time with any UTC offset dropped; year-less
syslog takes `SourceFile.year_hint` (else the file's mtime year) as the year of its last line, or
the year before when that line's day is later in the year than `year_from` (`years.end_shift`).

Plug-ins: a module for another kind calls `register(kind, func)` at import time with
`func(src, data, limits) -> ParseResult`; `_PLUGIN_MODULES` names the module to import the first
time that kind is parsed.
"""

from __future__ import annotations

import contextlib
import importlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa

from triage.limits import DEFAULT_LIMITS, Limits
from triage.model import (
    FLAG_TRUNCATED,
    KIND_CONSOLE,
    KIND_CRASH_TOOL,
    KIND_DMESG,
    KIND_JOURNAL,
    KIND_SYSLOG,
    KIND_SYSLOG_RFC3339,
    KIND_VMCORE_DMESG,
    KIND_XENSOURCE,
    LINES_SCHEMA,
    Crash,
    ErrorRecord,
    Fact,
    SourceFile,
    empty_table,
)
from triage.parsers import blocks, console, dmesg, journal, packed, syslog, vmcore_dmesg
from triage.parsers.blocks import line_separator
from triage.parsers.engine import Cut, iter_format
from triage.parsers.lineformat import LineFormat
from triage.parsers.sniff import sniff_kind
from triage.parsers.years import sampled_wraps, year_end


@dataclass
class ParseResult:
    lines: pa.Table
    facts: list[Fact] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    partial: bool = False
    #: records a format carries beyond lines, read by later stages (e.g. crash-tool bt crashes)
    crashes: list[Crash] = field(default_factory=list)
    #: the lines read (physical lines; a multi-program log keeps only some as rows); -1: a
    #: format whose rows are its lines
    line_count: int = -1

    @property
    def lines_read(self) -> int:
        return self.line_count if self.line_count >= 0 else self.lines.num_rows


ParserFunc = Callable[[SourceFile, bytes, Limits], ParseResult]

#: the built-in line formats, by source kind
FORMATS: dict[str, LineFormat] = {
    KIND_CONSOLE: console.FORMAT,
    KIND_DMESG: dmesg.FORMAT,
    KIND_VMCORE_DMESG: vmcore_dmesg.FORMAT,
    KIND_SYSLOG: syslog.RFC3164,
    KIND_SYSLOG_RFC3339: syslog.RFC3339,
    KIND_JOURNAL: journal.FORMAT,
}

#: kinds parsed by another helper's module, imported on first use; the module registers itself
_PLUGIN_MODULES: dict[str, str] = {
    KIND_CRASH_TOOL: "triage.parsers.crash_tool",
    KIND_XENSOURCE: "triage.parsers.xensource",
}
#: what a kind falls back to while its plug-in is missing: its lines are still kernel-like text
_FALLBACK_FORMAT: dict[str, str] = {KIND_CRASH_TOOL: KIND_DMESG, KIND_XENSOURCE: KIND_SYSLOG}

_REGISTRY: dict[str, ParserFunc] = {}


def register(kind: str, func: ParserFunc) -> None:
    """Make `func(src, data, limits) -> ParseResult` the parser of `kind`."""
    _REGISTRY[kind] = func


def parser_for(kind: str) -> ParserFunc | None:
    """The registered parser of a plug-in kind (importing its module once), else None."""
    if kind not in _REGISTRY and kind in _PLUGIN_MODULES:
        try:
            importlib.import_module(_PLUGIN_MODULES[kind])
        except ImportError:
            return None
    return _REGISTRY.get(kind)


def _format_of(src: SourceFile, data: bytes | memoryview | None) -> LineFormat:
    kind = src.kind
    if kind not in FORMATS:
        kind = _FALLBACK_FORMAT.get(kind, "")
    if kind not in FORMATS:
        kind = sniff_kind(bytes(memoryview(data)[: 1 << 16])) if data is not None else KIND_CONSOLE
    return FORMATS[kind]


def _error(src: SourceFile, cls: str, message: str) -> ErrorRecord:
    return ErrorRecord(
        path=src.display,
        stage="parse",
        error_class=cls,
        message=f"{src.display}: {message}",
        source_id=src.source_id,
    )


def iter_parse(
    src: SourceFile,
    data_or_reader: bytes | memoryview | BinaryIO,
    limits: Limits = DEFAULT_LIMITS,
    workers: int | None = None,
) -> Iterator[pa.Table]:
    """LINES_SCHEMA tables, one per block of the source, in file order; memory stays bounded.

    Only the line formats stream; for a plug-in kind the whole input is read and parsed at once.
    Exceptions propagate here (use `parse` for the never-raises contract).
    """
    if src.kind in _PLUGIN_MODULES and parser_for(src.kind) is not None:
        data = data_or_reader if isinstance(data_or_reader, bytes) else _read_all(data_or_reader)
        yield parse(src, data, limits).lines
        return
    head = data_or_reader if isinstance(data_or_reader, bytes | bytearray | memoryview) else None
    fmt = _format_of(src, head)
    yield from iter_format(fmt, data_or_reader, limits, src.source_id, src, workers=workers)


def _read_all(reader: Any) -> bytes:
    if isinstance(reader, bytes | bytearray | memoryview):
        return bytes(reader)
    return bytes(reader.read())


def parse(
    src: SourceFile, data: bytes, limits: Limits = DEFAULT_LIMITS, wraps: int | None = None
) -> ParseResult:
    """All lines of one source. Never raises: a failure becomes an ErrorRecord, with the lines
    parsed before it kept and the result marked partial. `wraps`: the New Years from a year-less
    log's first line to `year_end(src)`, when `data` is only part of it (`years.sampled_wraps`)."""
    return _parse(src, data, limits, src.source_id, wraps)


def _parse(
    src: SourceFile, data: bytes, limits: Limits, source_id: str, wraps: int | None = None
) -> ParseResult:
    func = parser_for(src.kind) if src.kind in _PLUGIN_MODULES else None
    if func is not None:
        try:
            result = func(src, data, limits)
            if not any("truncat" in e.error_class for e in result.errors):  # not said already
                result.errors.extend(_long_line_errors(src, result.lines, limits))
            return result
        except Exception as exc:  # a plug-in bug must not stop the run
            return ParseResult(
                lines=empty_table(LINES_SCHEMA),
                errors=[_error(src, "parser-error", f"{src.kind} parser failed: {exc}")],
                partial=True,
            )
    tables: list[pa.Table] = []
    errors: list[ErrorRecord] = []
    read = Cut(None)
    try:
        fmt = _format_of(src, data)
        deadline = time.monotonic() + limits.max_seconds_per_file
        over = False
        for table in iter_format(fmt, data, limits, source_id, src, wraps=wraps, cut=read):
            if over:  # checked between blocks: this block and the rest are dropped
                errors.append(
                    _error(
                        src,
                        "limit-seconds",
                        f"parsing took longer than max_seconds_per_file="
                        f"{limits.max_seconds_per_file:g}; the rest was not read",
                    )
                )
                break
            tables.append(table)
            over = time.monotonic() > deadline
    except Exception as exc:  # bad input must not stop the run
        errors.append(_error(src, "parse-error", f"parse failed: {type(exc).__name__}: {exc}"))
    if len(tables) > 1:
        lines = pa.concat_tables(tables).combine_chunks()
    else:
        lines = tables[0].combine_chunks() if tables else empty_table(LINES_SCHEMA)
    partial = bool(errors)
    errors.extend(_long_line_errors(src, lines, limits))  # reported; the lines are all there
    # a parse stopped early (an error, the time limit) read at least the lines it gave
    count = read.lines if read.end is not None else -1
    return ParseResult(lines=lines, errors=errors, partial=partial, line_count=count)


#: sources up to this size are parsed packed with others of their format by `parse_many`
PACKED_SOURCE_BYTES = 1 << 20


def parse_many(
    items: list[tuple[SourceFile, bytes]], limits: Limits = DEFAULT_LIMITS
) -> list[ParseResult]:
    """`parse` of each (src, data), in order. Never raises.

    Small sources of the built-in line formats are grouped by format and line separator and
    parsed packed (`packed.py`); the rest, and any group whose packed parse fails, one by one.
    """
    out: list[ParseResult | None] = [None] * len(items)
    groups: dict[tuple[int, bytes], list[int]] = {}
    for i, (src, data) in enumerate(items):
        sep = line_separator(data)
        try:
            fmt = None if src.kind in _PLUGIN_MODULES else _format_of(src, data)
        except Exception:  # `parse` reports it, as a row of this source
            fmt = None
        if fmt is None or not _one_block(data, sep):
            out[i] = parse(src, data, limits)
            continue
        groups.setdefault((id(fmt), sep), []).append(i)
    for (_, sep), idx in groups.items():
        for i, res in zip(idx, _parse_packed([items[i] for i in idx], sep, limits), strict=True):
            out[i] = res
    return [r for r in out if r is not None]


def _one_block(data: bytes, sep: bytes) -> bool:
    """Small enough to pack: the engine would read it as one block (whose parse no time
    limit interrupts: `max_seconds_per_file` is checked between blocks)."""
    if len(data) > min(PACKED_SOURCE_BYTES, blocks.DEFAULT_BLOCK_BYTES):
        return False
    limit = blocks.MAX_LINES_PER_BLOCK
    return len(data) <= limit or data.count(sep) <= limit


def _parse_packed(
    items: list[tuple[SourceFile, bytes]], sep: bytes, limits: Limits
) -> list[ParseResult]:
    try:
        fmt = _format_of(*items[0])
        wants_wraps = "t_bsd" in fmt.groups
        packs = [
            packed.Packed(
                data=data,
                source_id=src.source_id,
                year_end=year_end(src),
                wraps=sampled_wraps(data, src=src) if wants_wraps else 0,
            )
            for src, data in items
        ]
        tables = packed.parse_packed(fmt, sep, packs, limits.max_line_bytes)
    except Exception:  # the one-by-one path says which source failed, as a row of its own
        return [parse(src, data, limits) for src, data in items]
    return [
        ParseResult(lines=t, errors=_cut_lines_error(src, cut, limits), line_count=read)
        for (src, _), (t, cut, read) in zip(items, tables, strict=True)
    ]


def _long_line_errors(src: SourceFile, lines: pa.Table, limits: Limits) -> list[ErrorRecord]:
    """One row naming how many lines were cut at `max_line_bytes` (none when no line was)."""
    if not lines.num_rows or "flags" not in lines.column_names:
        return []
    col = lines.column("flags")
    if col.null_count:  # a plug-in left some unset
        col = col.fill_null(0)
    cut = (col.to_numpy() & FLAG_TRUNCATED) != 0
    if not cut.any():
        return []
    # a line cut counts once, however many records (lone CRs: a progress bar) it holds
    lineno = lines.column("lineno").to_numpy()
    return _cut_lines_error(src, len(np.unique(lineno[cut])), limits)


def _cut_lines_error(src: SourceFile, n: int, limits: Limits) -> list[ErrorRecord]:
    if not n:
        return []
    return [
        _error(
            src,
            "limit-line-bytes",
            f"{n:,} line(s) longer than max_line_bytes={limits.max_line_bytes:,} were cut",
        )
    ]


def parse_bytes(
    data: bytes,
    kind: str | None = None,
    source_id: str = "",
    year_hint: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> pa.Table:
    """Lines of `data` as `kind` (guessed from the first lines when None); never raises."""
    kind = kind or sniff_kind(data)
    src = SourceFile(disk_path="", path=source_id or "<bytes>", kind=kind, year_hint=year_hint)
    return _parse(src, data, limits, source_id).lines


def bundle_facts(
    sources: list[SourceFile],
    read: Callable[[SourceFile], bytes],
    open_stream: Callable[[SourceFile], Any] | None = None,
) -> tuple[list[Fact], list[ErrorRecord]]:
    """Facts a bundle states (implemented in `triage.parsers.bundle_facts`)."""
    from triage.parsers.bundle_facts import bundle_facts as impl

    return impl(sources, read, open_stream)


# The first `import triage.parsers.bundle_facts` rebinds this package's attribute `bundle_facts`
# to the module; importing it here, then restoring the function, keeps `parsers.bundle_facts`
# callable whoever imports the module later.
_BUNDLE_FACTS_API = bundle_facts
with contextlib.suppress(Exception):  # missing or broken: the call above reports it when used
    importlib.import_module("triage.parsers.bundle_facts")
bundle_facts = _BUNDLE_FACTS_API
