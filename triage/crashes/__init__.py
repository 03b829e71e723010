"""Finding crash and hang reports in lines: titles, frames, fingerprints, SysRq dumps.

Public API:
- `extract(lines, source_id, boots) -> list[Crash]` — every report of one source's `lines`
  table (crashes, events such as OOM kills and page allocation failures, SysRq dumps), in log
  order, each of one host's lines when the source holds several. Never raises for bad input.
- `extract_text(text, source_id="") -> list[Crash]` — convenience over raw log text.
- `anchor_patterns() -> list[str]` — the line patterns that can start a report or SysRq dump
  (RE2/Hyperscan-compatible, matched against the message text): a byte prefilter that keeps the
  lines around these finds every report `extract` would.
- `title_stated(crash) -> Crash` — a crash record a format states outright (a crash-utility
  paste's panic and bt, `parsers.crash_tool`), titled and fingerprinted as in a log.
- `describe(text, kind)`, `sanitize_title(title)` (`triage.crashes.titles`) and the format table
  `triage.crashes.rules.KINDS` for tools that title a report they already cut out.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pyarrow as pa

from triage.crashes import sysrq
from triage.crashes.extract import extract_reports
from triage.crashes.stated import title_stated
from triage.kernel.hosts import host_rows
from triage.model import LINES_SCHEMA, Boot, Crash

__all__ = ["anchor_patterns", "extract", "extract_text", "title_stated"]


def anchor_patterns() -> list[str]:
    """Every header (and breaker) regex the extractor starts from, plus the SysRq line."""
    from triage.crashes.extract import PREFILTER

    return [PREFILTER, sysrq._SYSRQ_ANCHOR]


def extract(
    lines: pa.Table,
    source_id: str,
    boots: list[Boot],
    hosts: list[np.ndarray] | None = None,
) -> list[Crash]:
    """Crash reports, events and SysRq dumps of one source, ordered by first line.

    `hosts`: the rows of each host of a source holding several (`kernel.host_rows`, worked
    out here when None). A report is then made of its host's lines, one after the other: the
    lines other machines logged meanwhile are no part of it, nor where it ends."""
    if lines is None or lines.num_rows == 0 or "text" not in lines.column_names:
        return []
    if hosts is None:
        hosts = host_rows(lines) if "host" in lines.column_names else []
    if hosts:
        found = [c for rows in hosts for c in _extract_one(lines.take(rows), source_id, boots)]
        found.sort(key=lambda c: (c.first_line, c.record))
        return found
    return _extract_one(lines, source_id, boots)


def _extract_one(lines: pa.Table, source_id: str, boots: list[Boot]) -> list[Crash]:
    """`extract` of the lines of one host (or of a source naming none)."""
    crashes = extract_reports(lines, source_id, boots)
    # A SysRq dump that cannot be read must not lose the crash reports.
    with contextlib.suppress(Exception):
        crashes.extend(sysrq.extract_sysrq(lines, source_id))
    crashes.sort(key=lambda c: (c.first_line, c.record))
    return crashes


def extract_text(text: str, source_id: str = "") -> list[Crash]:
    """Crash reports of raw log text (any format `triage.parsers` reads)."""
    data = text.encode("utf-8", "surrogateescape")
    try:
        from triage import parsers

        lines = parsers.parse_bytes(data, source_id=source_id)
    except Exception:  # the parsers stage failed or is missing: read the text as plain lines
        lines = _plain_lines(
            text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"), source_id
        )
    return extract(lines, source_id, [])


def _plain_lines(text: str, source_id: str) -> pa.Table:
    texts = text.replace("\r\n", "\n").split("\n")
    n = len(texts)
    return pa.table(
        {
            "source_id": pa.array([source_id] * n, pa.string()),
            "lineno": pa.array(range(1, n + 1), pa.int64()),
            "offset": pa.nulls(n, pa.int64()),
            "timestamp": pa.nulls(n, LINES_SCHEMA.field("timestamp").type),
            "mono": pa.nulls(n, pa.float64()),
            "host": pa.nulls(n, pa.string()),
            "tag": pa.nulls(n, pa.string()),
            "pid": pa.nulls(n, pa.int64()),
            "level": pa.nulls(n, pa.int8()),
            "boot_id": pa.nulls(n, pa.string()),
            "flags": pa.array([0] * n, pa.int32()),
            "text": pa.array(texts, pa.string()),
        },
        schema=LINES_SCHEMA,
    )
