"""JSON and JSONL reports, shaped by `report.schema.json` (draft 2020-12).

The dict built here is the single machine view of a report: the HTML report embeds the same
document, so a script that scrapes either gets the same fields. JSONL carries the same content
one object per line (summary first), for `jq -c 'select(.type=="finding")'` and log shippers.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from functools import cache
from importlib import resources
from typing import Any, TextIO

from triage.report.content import CrashGroup, ErrorItem, FindingItem, ReportModel

SCHEMA_FILE = "report.schema.json"


@cache
def _schema_text() -> str:
    return resources.files("triage.report").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


def load_schema() -> dict[str, Any]:
    return json.loads(_schema_text())


def finding_dict(f: FindingItem) -> dict[str, Any]:
    return {
        "finding_id": f.finding_id,
        "signature_id": f.signature_id,
        "title": f.title,
        "confidence": f.confidence,
        "confidence_reason": f.confidence_reason,
        "verdict": f.verdict,
        "verdict_reason": f.verdict_reason,
        "release": f.release,
        "distro": f.distro,
        "host": f.host,
        "vm_name": f.vm_name,
        "vm_uuid": f.vm_uuid,
        "source": f.source,
        "crash_title": f.crash_title,
        "first_time": f.first_time,
        "evidence": [asdict(e) for e in f.evidence],
        "references": list(f.references),
        "fix": f.fix,
        "workaround": f.workaround,
        "commands": f.commands,
    }


def group_dict(g: CrashGroup) -> dict[str, Any]:
    return asdict(g)


def error_dict(e: ErrorItem) -> dict[str, Any]:
    return asdict(e)


def summary_dict(report: ReportModel) -> dict[str, Any]:
    return asdict(report.summary)


def header_dict(report: ReportModel) -> dict[str, Any]:
    return {
        "schema_version": report.schema_version,
        "tool_version": report.tool_version,
        "dataset_schema_version": report.dataset_schema_version,
        "created": report.created,
        "signature_digest": report.signature_digest,
        "inputs": list(report.inputs),
    }


def report_dict(report: ReportModel) -> dict[str, Any]:
    return {
        **header_dict(report),
        "summary": summary_dict(report),
        "findings": [finding_dict(f) for f in report.findings],
        "unexplained": [group_dict(g) for g in report.unexplained],
        "errors": [error_dict(e) for e in report.errors],
    }


def write_json(report: ReportModel, out: TextIO) -> None:
    json.dump(report_dict(report), out, indent=2, ensure_ascii=False)
    out.write("\n")


def jsonl_records(report: ReportModel) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = [
        {"type": "summary", **header_dict(report), **summary_dict(report)}
    ]
    records += [{"type": "finding", **finding_dict(f)} for f in report.findings]
    records += [{"type": "crash-group", **group_dict(g)} for g in report.unexplained]
    records += [{"type": "error", **error_dict(e)} for e in report.errors]
    return records


def write_jsonl(report: ReportModel, out: TextIO) -> None:
    for record in jsonl_records(report):
        out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        out.write("\n")
