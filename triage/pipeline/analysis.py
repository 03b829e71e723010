"""The stages over a table of lines: boots, crash reports, then the signatures matched against
them and the bundle's facts; and the crashes a format states itself (crash utility output)
merged with those found in its lines."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from triage import crashes as crash_stage
from triage import kernel, parsers
from triage.limits import Limits
from triage.model import (
    Boot,
    Crash,
    Fact,
    SourceFile,
)
from triage.parsers import literals
from triage.pipeline.anchors import relevant_lines
from triage.pipeline.result import SourceResult


def analyse_packed(
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
                analyse(result, p, items[i][1], signatures, keep, quiet if still else None, boots)
            except Exception as exc:  # a bug in a stage must not lose the other sources
                result.fail(exc)


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


def analyse(
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
    the boots and boot ids `kernel.segment_boots` would give, when already worked out.

    A source holding several hosts' lines (a loghost's messages) is read one host at a time
    by each stage (`kernel.host_rows`, found out once here): its rows stay one source's."""
    source_id = result.source.source_id
    result.errors.extend(parsed.errors)
    result.facts.extend(parsed.facts)
    lines = parsed.lines
    # boots worked out already are those of one host (`kernel.plain_boots`)
    hosts = [] if segmented else kernel.rows_by_host(lines, result.source.kind)
    boots, boot_ids = segmented or kernel.segment_boots(
        lines, source_id, set() if quiet else None, hosts
    )
    lines = lines.set_column(lines.schema.get_field_index("boot_id"), "boot_id", boot_ids)
    result.boots = boots
    found = [] if quiet else crash_stage.extract(lines, source_id, boots, hosts)
    result.crashes = merge_format_crashes(found, parsed.crashes)
    result.line_count = parsed.lines_read
    match_and_settle(result, lines, boots, facts, signatures, parsed, quiet or frozenset(), hosts)
    result.lines = lines if keep == "all" else relevant_lines(lines, result)


def match_and_settle(
    result: SourceResult,
    lines: pa.Table,
    boots: list[Boot],
    facts: list[Fact] | None,
    signatures: Any | None,
    parsed: parsers.ParseResult,
    no_hits: frozenset[str] = frozenset(),
    hosts: list[np.ndarray] | None = None,
) -> None:
    """Match the signatures over the source's records, then settle its status. `hosts`: the
    rows of each host of a source holding several (`kernel.host_rows`), when known."""
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
                hosts=hosts,
            ),
        )
        result.errors.extend(match_errors)
    if parsed.partial and result.status == "ok":
        result.status = "partial"
        result.error = parsed.errors[0].message if parsed.errors else "partially read"


def merge_format_crashes(found: list[Crash], given: list[Crash]) -> list[Crash]:
    """Add crashes a format states outright (a crash-tool bt of the panic task), titled by
    the crashes stage.

    A stated record is authoritative: it describes the panic the dump was taken for, with the
    panic task's own stack, so it replaces the crash reports read from the same paste's text
    (which would otherwise count that one panic twice); events and SysRq records stay.
    """
    if not given:
        return found
    rest = [c for c in found if c.record != "crash"]
    stated = [crash_stage.title_stated(c) for c in given]
    return sorted(rest + stated, key=lambda c: c.first_line)
