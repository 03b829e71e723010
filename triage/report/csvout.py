"""CSV report: one row per finding, for spreadsheets and ticket-system imports.

Columns (in this order; `CSV_COLUMNS`):
  finding_id, signature_id, title, confidence, confidence_reason, verdict, verdict_reason,
  release, distro, host, vm_name, vm_uuid, source, crash_title, first_time (ISO 8601),
  references (joined with "; "), evidence_count,
  evidence (one `bundle!member:line: text` per evidence line, joined with newlines inside the
  quoted cell), fix, workaround, commands (joined with newlines).

A cell that a spreadsheet would run as a formula (starting with = + - @, TAB or CR) is prefixed
with a single quote: log text must never become a formula in the engineer's spreadsheet.
"""

from __future__ import annotations

import csv
from typing import TextIO

from triage.report.content import FindingItem, ReportModel
from triage.report.jsonout import finding_dict

CSV_COLUMNS = (
    "finding_id",
    "signature_id",
    "title",
    "confidence",
    "confidence_reason",
    "verdict",
    "verdict_reason",
    "release",
    "distro",
    "host",
    "vm_name",
    "vm_uuid",
    "source",
    "crash_title",
    "first_time",
    "references",
    "evidence_count",
    "evidence",
    "fix",
    "workaround",
    "commands",
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _row(f: FindingItem) -> list[str]:
    """The JSON finding, flattened: lists joined, evidence as `location: text` lines."""
    values = finding_dict(f)
    values.update(
        first_time=f.first_time or "",
        references="; ".join(f.references),
        evidence_count=str(len(f.evidence)),
        evidence="\n".join(f"{e.location}: {e.text}" for e in f.evidence),
        commands="\n".join(f.commands),
    )
    return [_cell(values[c]) for c in CSV_COLUMNS]


def write_csv(report: ReportModel, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_COLUMNS)
    for f in report.findings:
        writer.writerow(_row(f))
