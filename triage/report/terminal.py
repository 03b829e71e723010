"""The terminal report: what a support engineer reads first, laid out with rich.

Log text is always handed to rich as `Text` objects, never as markup strings, so a `[` in a log
line (they are everywhere: `[<c0123456>]`, `[ 12.345]`) can neither break the layout nor inject
styles. Commands are printed outside any table or panel, one shell line each (long ones folded
with ` \\` continuations), so that they can be pasted into a shell as they are.
"""

from __future__ import annotations

import io
from typing import TextIO

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from triage.report.content import CrashGroup, FindingItem, ReportModel, Summary
from triage.report.layout import make_console, table_width, want_color
from triage.report.steps import fold_command

MAX_GROUPS_SHOWN = 20
MAX_DETAILED = 30  # findings shown in full; a terminal page of thousands helps nobody
MAX_BRIEF = 200  # further findings listed one line each
MAX_KERNELS_SHOWN = 8

CONFIDENCE_STYLE = {"high": "bold red", "medium": "bold yellow", "low": "cyan"}
VERDICT_STYLE = {"affected": "bold red", "fixed-kernel": "green", "unknown-kernel": "yellow"}
LABEL_STYLE = "bold"
KEY_STYLE = "dim"
LOCATION_STYLE = "cyan"
COMMAND_STYLE = "bold green"


def render_terminal(
    report: ReportModel, out: TextIO, width: int | None = None, color: bool | None = None
) -> None:
    # Render into a buffer, then drop the trailing blanks that rich pads grid cells with: they
    # make copied text and pasted README samples ragged.
    buffer = io.StringIO()
    console = make_console(buffer, table_width(out, width), want_color(out, color))
    for part in _parts(report, console.width):
        console.print(part)
    out.write("\n".join(line.rstrip(" ") for line in buffer.getvalue().split("\n")))


def _parts(report: ReportModel, width: int) -> list[RenderableType]:
    parts: list[RenderableType] = [_header(report), _summary(report.summary), Text("")]
    total = len(report.findings)
    if total:
        for i, f in enumerate(report.findings[:MAX_DETAILED], 1):
            parts.append(_finding(f, i, total, width))
        parts.extend(_brief_findings(report.findings, total, width))
    else:
        parts.append(Text("No documented issue matched.", style=LABEL_STYLE))
        parts.append(Text(""))
    parts.extend(_unexplained(report))
    parts.append(_errors_line(report, width))
    return parts


def _header(report: ReportModel) -> Text:
    t = Text("triage report", style="bold")
    bits = []
    if report.created:
        bits.append(report.created.replace("T", " "))
    if report.tool_version:
        bits.append(f"triage {report.tool_version}")
    if report.signature_digest:
        bits.append(f"signatures {report.signature_digest[:19]}")
    if bits:
        t.append("  ·  " + "  ·  ".join(bits), style=KEY_STYLE)
    return t


def _kv_table() -> Table:
    grid = Table.grid(padding=(0, 2), pad_edge=False)
    grid.add_column(style=KEY_STYLE, no_wrap=True)
    grid.add_column(overflow="fold")
    return grid


def _counts(d: dict[str, int], skip_zero: bool = True) -> str:
    return ", ".join(f"{n} {k}" for k, n in d.items() if n or not skip_zero)


def _summary(s: Summary) -> RenderableType:
    grid = _kv_table()
    src = f"{s.sources:,} read"
    if s.sources_by_status:
        src += f" ({_counts(s.sources_by_status)})"
    if s.lines:
        src += f" · {s.lines:,} lines"
    grid.add_row("Sources", src)
    kernels = Text(f"{s.boots:,}")
    if s.boots_by_kernel:
        kernels.append(" by kernel:")
        for k in s.boots_by_kernel[:MAX_KERNELS_SHOWN]:
            kernels.append(f"\n{k.boots:>5}  {k.release}")
            if k.distro:
                kernels.append(f"  ({k.distro})", style=KEY_STYLE)
        rest = len(s.boots_by_kernel) - MAX_KERNELS_SHOWN
        if rest > 0:
            kernels.append(f"\n       … {rest} more kernels", style=KEY_STYLE)
    grid.add_row("Boots", kernels)
    crashes = f"{s.crashes:,}"
    if s.crashes:
        crashes += (
            f" ({s.explained_crashes:,} explained by findings, {s.unexplained_crashes:,} "
            f"unexplained in {s.crash_groups:,} group{'s' if s.crash_groups != 1 else ''})"
        )
    if s.events:
        crashes += f" · {s.events:,} other event{'s' if s.events != 1 else ''} (OOM kills, …)"
    grid.add_row("Crashes", crashes)
    findings = Text(f"{s.findings:,}")
    if s.findings:
        findings.append(": ")
        first = True
        for conf, n in s.findings_by_confidence.items():
            if not first:
                findings.append(", ")
            first = False
            findings.append(f"{n} {conf}", style=CONFIDENCE_STYLE.get(conf, "") if n else KEY_STYLE)
        verdicts = _counts(s.findings_by_verdict)
        if verdicts:
            findings.append(f" · {verdicts}")
    grid.add_row("Findings", findings)
    errors = f"{s.errors:,}"
    if s.errors:
        errors += f" ({_counts(s.errors_by_class)})"
    grid.add_row("Errors", errors)
    return Group(Text("Summary", style=LABEL_STYLE), Padding(grid, (0, 0, 0, 2)))


def _badge(value: str, styles: dict[str, str]) -> Text:
    return Text(value.upper(), style=styles.get(value, "bold"))


def _finding(f: FindingItem, i: int, total: int, width: int) -> RenderableType:
    head = Text()
    head.append(f"[{i}/{total}] ", style=KEY_STYLE)
    head.append_text(_badge(f.confidence, CONFIDENCE_STYLE))
    head.append(" ")
    head.append_text(_badge(f.verdict, VERDICT_STYLE))
    head.append("  ")
    head.append(f.title or f.signature_id, style="bold")

    grid = _kv_table()
    grid.add_row("signature", Text(f"{f.signature_id}   finding {f.finding_id}"))
    grid.add_row("confidence", _why(f.confidence, f.confidence_reason, CONFIDENCE_STYLE))
    grid.add_row("verdict", _why(f.verdict, f.verdict_reason, VERDICT_STYLE))
    kernel = f.release or "unknown"
    if f.distro:
        kernel += f" ({f.distro})"
    grid.add_row("kernel", Text(kernel))
    where = _host_vm(f)
    if where:
        grid.add_row("host / VM", Text(where))
    grid.add_row("source", Text(f.source))
    if f.crash_title:
        grid.add_row("crash", Text(f.crash_title))
    if f.first_time:
        grid.add_row("first seen", Text(f.first_time.replace("T", " ")))
    if f.references:
        grid.add_row("references", Text(", ".join(f.references)))

    parts: list[RenderableType] = [Rule(style="dim"), head, Padding(grid, (0, 0, 0, 2))]
    if f.evidence:
        parts.append(Text("  Evidence", style=LABEL_STYLE))
        for ev in f.evidence:
            loc = Text(ev.location, style=LOCATION_STYLE, overflow="fold")
            if ev.reason:
                loc.append(f"  ({ev.reason})", style=KEY_STYLE)
            parts.append(Padding(loc, (0, 0, 0, 4)))
            parts.append(Padding(Text(ev.text, overflow="fold"), (0, 0, 0, 6)))
    if f.fix:
        parts.append(Text("  Fix", style=LABEL_STYLE))
        parts.append(Padding(Text(f.fix), (0, 0, 0, 4)))
    if f.steps:
        parts.append(Text("  Workaround", style=LABEL_STYLE))
        parts.extend(_steps(f, width))
    parts.append(Text(""))
    return Group(*parts)


def _brief_findings(findings: list[FindingItem], total: int, width: int) -> list[RenderableType]:
    rest = findings[MAX_DETAILED:]
    if not rest:
        return []
    parts: list[RenderableType] = [
        Rule(style="dim"),
        Text(f"{len(rest):,} more findings, one line each:", style=LABEL_STYLE),
    ]
    for i, f in enumerate(rest[:MAX_BRIEF], MAX_DETAILED + 1):
        line = Text(f"[{i}/{total}] ", style=KEY_STYLE)
        line.append_text(_badge(f.confidence, CONFIDENCE_STYLE))
        line.append(" ")
        line.append_text(_badge(f.verdict, VERDICT_STYLE))
        line.append(f"  {f.signature_id}  {f.release}  {_host_vm(f) or f.source}")
        line.truncate(width, overflow="ellipsis")
        parts.append(line)
    if len(rest) > MAX_BRIEF:
        parts.append(
            Text(f"… {len(rest) - MAX_BRIEF:,} more in the json/html reports", style=KEY_STYLE)
        )
    parts.append(Text(""))
    return parts


def _why(value: str, reason: str, styles: dict[str, str]) -> Text:
    t = Text(value, style=styles.get(value, ""))
    if reason:
        t.append(f" — {reason}")
    return t


def _host_vm(f: FindingItem) -> str:
    vm = f.vm_name
    if f.vm_uuid:
        vm = f"{vm} ({f.vm_uuid})" if vm else f.vm_uuid
    return " / ".join(p for p in (f.host, vm) if p)


def _steps(f: FindingItem, width: int) -> list[RenderableType]:
    out: list[RenderableType] = []
    indent = 4
    for step in f.steps:
        if step.kind == "text":
            out.append(Padding(Text(step.text), (0, 0, 0, indent)))
            continue
        # one plain line per shell line: no padding object, no wrapping by rich
        for line in fold_command(step.text, max(20, width - indent)):
            out.append(
                Text(" " * indent + line, style=COMMAND_STYLE, no_wrap=True, overflow="ignore")
            )
    if f.placeholders:
        out.append(
            Padding(
                Text(f"replace {', '.join(f.placeholders)} before running", style="yellow"),
                (0, 0, 0, indent),
            )
        )
    return out


def _unexplained(report: ReportModel) -> list[RenderableType]:
    groups = report.unexplained
    if not groups:
        return []
    n = sum(g.count for g in groups)
    parts: list[RenderableType] = [
        Rule(style="dim"),
        Text(
            f"Crashes no signature explains: {n:,} in {len(groups):,} "
            f"group{'s' if len(groups) != 1 else ''} (by fingerprint)",
            style=LABEL_STYLE,
        ),
    ]
    for g in groups[:MAX_GROUPS_SHOWN]:
        parts.append(_group(g))
    rest = len(groups) - MAX_GROUPS_SHOWN
    if rest > 0:
        parts.append(Text(f"  … {rest:,} more groups in the json/html reports", style=KEY_STYLE))
    parts.append(Text(""))
    return parts


def _group(g: CrashGroup) -> RenderableType:
    head = Text(f"{g.count:>5}× ", style="bold")
    head.append(g.title, style="bold")
    flags = [x for x in (g.crash_type, f"{g.panicked} panicked" if g.panicked else "") if x]
    if g.corrupted:
        flags.append(f"{g.corrupted} corrupted")
    if flags:
        head.append("  " + " · ".join(flags), style=KEY_STYLE)
    detail = Text()
    seen = g.first_seen.replace("T", " ") if g.first_seen else "time unknown"
    if g.last_seen and g.last_seen != g.first_seen:
        seen = f"first {seen} · last {g.last_seen.replace('T', ' ')}"
    detail.append(seen)
    if g.hosts:
        detail.append(" · " + ", ".join(g.hosts))
    if g.releases:
        detail.append(" · " + ", ".join(g.releases), style=KEY_STYLE)
    where = Text()
    if g.fingerprint:
        where.append(f"fingerprint {g.fingerprint} · ", style=KEY_STYLE)
    where.append(", ".join(g.locations), style=LOCATION_STYLE)
    if g.count > len(g.locations):
        where.append(f", … {g.count - len(g.locations)} more", style=KEY_STYLE)
    return Group(head, Padding(detail, (0, 0, 0, 7)), Padding(where, (0, 0, 0, 7)))


def _errors_line(report: ReportModel, width: int) -> Text:
    s = report.summary
    if not s.errors:
        return Text("No errors: every input was read.", style=KEY_STYLE)
    t = Text(f"{s.errors:,} error{'s' if s.errors != 1 else ''}", style="bold yellow")
    t.append(f" ({_counts(s.errors_by_class)})")
    first = report.errors[0]
    t.append(f"; first: {first.message or first.path}", style=KEY_STYLE)
    t.truncate(width, overflow="ellipsis")
    return t
