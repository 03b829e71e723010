"""Markdown report, made to be pasted into a ticket (GitHub, GitLab, Jira's markdown mode).

Log text is data: in prose and table cells every Markdown/HTML special character is escaped so a
log line cannot add links, emphasis, raw HTML or extra table columns (`|`); in code blocks the
fence is made longer than any backtick run in the content, so a log line cannot close it.
"""

from __future__ import annotations

import re
from typing import TextIO

from triage.report.content import CrashGroup, FindingItem, ReportModel

MAX_ERRORS_LISTED = 50

_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~&])")


def md(text: str) -> str:
    """Escape `text` for Markdown prose or a table cell (one line)."""
    return _SPECIAL.sub(r"\\\1", text.replace("\r", " ").replace("\n", " "))


def code_span(text: str) -> str:
    """Inline code that survives inside a table cell: backticks fenced, pipes escaped."""
    text = text.replace("\n", " ")
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (run + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}".replace("|", "\\|")


def code_block(lines: list[str], lang: str = "") -> str:
    body = "\n".join(lines)
    run = max((len(m) for m in re.findall(r"`{3,}", body)), default=2)
    fence = "`" * max(3, run + 1)
    return f"{fence}{lang}\n{body}\n{fence}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def write_markdown(report: ReportModel, out: TextIO) -> None:
    out.write("\n".join(_lines(report)).rstrip() + "\n")


def _lines(report: ReportModel) -> list[str]:
    s = report.summary
    meta = [f"triage {report.tool_version}" if report.tool_version else ""]
    if report.created:
        meta.append(f"dataset of {report.created.replace('T', ' ')}")
    if report.signature_digest:
        meta.append(f"signatures {report.signature_digest}")
    lines = ["# triage report", "", "_" + md(" · ".join(m for m in meta if m)) + "_", ""]

    lines += ["## Summary", ""]
    conf = ", ".join(f"{n} {c}" for c, n in s.findings_by_confidence.items())
    verdicts = ", ".join(f"{n} {v}" for v, n in s.findings_by_verdict.items() if n)
    status = ", ".join(f"{n} {k}" for k, n in s.sources_by_status.items())
    lines += _table(
        ["", ""],
        [
            ["**Sources**", md(f"{s.sources:,} read ({status}) · {s.lines:,} lines")],
            ["**Boots**", md(f"{s.boots:,} ({len(s.boots_by_kernel)} kernels)")],
            [
                "**Crashes**",
                md(
                    f"{s.crashes:,}: {s.explained_crashes:,} explained by findings, "
                    f"{s.unexplained_crashes:,} unexplained in {s.crash_groups:,} groups; "
                    f"{s.events:,} other event{'s' if s.events != 1 else ''}"
                ),
            ],
            [
                "**Findings**",
                md(f"{s.findings:,}" + (f": {conf} · {verdicts}" if s.findings else "")),
            ],
            [
                "**Errors**",
                md(
                    f"{s.errors:,}"
                    + (
                        " (" + ", ".join(f"{n} {k}" for k, n in s.errors_by_class.items()) + ")"
                        if s.errors
                        else ""
                    )
                ),
            ],
        ],
    )
    if s.boots_by_kernel:
        lines += ["", "**Boots by kernel**", ""]
        lines += _table(
            ["Boots", "Kernel", "Distribution"],
            [[str(k.boots), code_span(k.release), md(k.distro)] for k in s.boots_by_kernel],
        )
    lines.append("")

    lines += ["## Findings", ""]
    if report.findings:
        lines += _table(
            ["#", "Confidence", "Verdict", "Signature", "Kernel", "Host / VM", "Evidence"],
            [
                [
                    str(i),
                    md(f.confidence),
                    md(f.verdict),
                    code_span(f.signature_id),
                    code_span(f.release) if f.release else "",
                    md(_host_vm(f)),
                    str(len(f.evidence)),
                ]
                for i, f in enumerate(report.findings, 1)
            ],
        )
        lines.append("")
        for i, f in enumerate(report.findings, 1):
            lines += _finding(i, f)
    else:
        lines += ["No documented issue matched.", ""]

    if report.unexplained:
        lines += ["## Crashes no signature explains", ""]
        lines += _table(
            ["Count", "Title", "Type", "First seen", "Last seen", "Hosts", "Kernels", "Where"],
            [_group_row(g) for g in report.unexplained],
        )
        lines.append("")

    if report.errors:
        lines += ["## Errors", ""]
        lines += _table(
            ["Class", "Stage", "Message"],
            [
                [code_span(e.error_class), md(e.stage), md(e.message or e.path)]
                for e in report.errors[:MAX_ERRORS_LISTED]
            ],
        )
        rest = len(report.errors) - MAX_ERRORS_LISTED
        if rest > 0:
            lines += ["", f"… and {rest:,} more errors (see the JSON report)."]
        lines.append("")
    return lines


def _host_vm(f: FindingItem) -> str:
    vm = f.vm_name
    if f.vm_uuid:
        vm = f"{vm} ({f.vm_uuid})" if vm else f.vm_uuid
    return " / ".join(p for p in (f.host, vm) if p)


def _finding(i: int, f: FindingItem) -> list[str]:
    lines = [f"### {i}. {md(f.title or f.signature_id)}", ""]
    facts = [
        ("Signature", f"{code_span(f.signature_id)} (finding {code_span(f.finding_id)})"),
        ("Confidence", md(f"{f.confidence} — {f.confidence_reason}".rstrip(" —"))),
        ("Verdict", md(f"{f.verdict} — {f.verdict_reason}".rstrip(" —"))),
        (
            "Kernel",
            (code_span(f.release) if f.release else "unknown")
            + (f" ({md(f.distro)})" if f.distro else ""),
        ),
        ("Host / VM", md(_host_vm(f))),
        ("Source", code_span(f.source)),
        ("Crash", md(f.crash_title)),
        ("First seen", md((f.first_time or "").replace("T", " "))),
        ("References", md(", ".join(f.references))),
    ]
    lines += [f"- **{k}:** {v}" for k, v in facts if v]
    lines.append("")
    if f.evidence:
        lines += ["**Evidence**", ""]
        lines.append(code_block([f"{e.location}: {e.text}" for e in f.evidence], "text"))
        lines.append("")
    if f.fix:
        lines += ["**Fix**", "", md(f.fix), ""]
    if f.steps:
        lines += ["**Workaround**", ""]
        pending: list[str] = []
        for step in f.steps:
            if step.kind == "command":
                pending.append(step.text)
                continue
            if pending:
                lines += [code_block(pending, "sh"), ""]
                pending = []
            lines += [md(step.text), ""]
        if pending:
            lines += [code_block(pending, "sh"), ""]
        if f.placeholders:
            lines += [f"Replace {md(', '.join(f.placeholders))} before running.", ""]
    return lines


def _group_row(g: CrashGroup) -> list[str]:
    where = ", ".join(g.locations)
    if g.count > len(g.locations):
        where += f", … {g.count - len(g.locations)} more"
    return [
        str(g.count),
        md(g.title),
        md(g.crash_type),
        md((g.first_seen or "").replace("T", " ")),
        md((g.last_seen or "").replace("T", " ")),
        md(", ".join(g.hosts)),
        md(", ".join(g.releases)),
        md(where),
    ]
