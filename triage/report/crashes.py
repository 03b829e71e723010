"""`triage crashes`: one record per crash, as a table for people or JSON for tools.

The JSON object of a crash holds the columns of the `crashes` table (DESIGN.md §4) plus the
source's `path` (bundle!member); timestamps are ISO 8601, frames a list of objects. Log text is
neutralised the same way as in every report (`sanitize`).
"""

from __future__ import annotations

import csv
import json
import math
from datetime import date, datetime
from typing import Any, TextIO

from triage.report.sanitize import sanitize
from triage.report.tables import Columns

#: the columns of a crash in the JSON output, in order
JSON_FIELDS = (
    "crash_id", "path", "source_id", "boot_id", "first_line", "last_line", "record", "type",
    "title", "alt_titles", "corrupted", "corrupted_reason", "panicked", "timestamp", "mono",
    "release", "taint", "cpu", "pid", "comm", "function", "module", "frames", "fingerprint",
    "report",
)  # fmt: skip

#: the columns of the CSV output: the JSON's without the nested and multi-line ones
CSV_FIELDS = tuple(c for c in JSON_FIELDS if c not in ("frames", "report", "alt_titles"))


def crash_records(sources: Any, crashes: Any) -> list[dict[str, Any]]:
    """One JSON-ready record per row of `crashes`, its source's path added, in the order they
    stand in the inputs (path, then line): the dataset's own order follows its parts, which
    differs from one run to the next. Both tables may be Arrow tables or DataFrames
    (report/tables.py reads either as plain values)."""
    src, rows = Columns(sources), Columns(crashes)
    paths = dict(zip(src.col("source_id"), src.col("display"), strict=True))
    out = []
    for row in rows.records():
        row["path"] = paths.get(row.get("source_id"), "")
        rec = {k: _json_value(row.get(k)) for k in JSON_FIELDS}
        for k in ("title", "report", "comm", "path", "corrupted_reason"):
            rec[k] = sanitize(rec[k] or "", multiline=k == "report")
        out.append(rec)
    out.sort(key=lambda r: (r["path"], r["first_line"] or 0, r["last_line"] or 0, r["crash_id"]))
    return out


def _json_value(v: Any) -> Any:
    """A plain cell as JSON has it: times in ISO 8601, NaN as null."""
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, list | tuple):
        return [_json_value(x) for x in v]
    if isinstance(v, dict):
        return {k: _json_value(x) for k, x in v.items()}
    return v


def render_crashes(sources: Any, crashes: Any, fmt: str, out: TextIO) -> None:
    """`crashes` (the crash rows to show) as `fmt`: json, csv, or a table for people."""
    records = crash_records(sources, crashes)
    if fmt == "json":
        json.dump(records, out, indent=1, default=str)
        out.write("\n")
        return
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_FIELDS)
        writer.writerows([_csv_cell(r[c]) for c in CSV_FIELDS] for r in records)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False, title=f"{len(records)} crash(es)")
    for col in ("where", "type", "title", "kernel", "cpu/pid/comm", "fingerprint"):
        table.add_column(col, overflow="fold")
    for r in records:
        who = "/".join(str(x) for x in (r["cpu"], r["pid"], r["comm"]) if x not in (None, ""))
        table.add_row(
            f"{r['path']}:{r['first_line']}",
            r["type"] or "",
            r["title"] + (" (corrupted)" if r["corrupted"] else ""),
            r["release"] or "",
            who,
            r["fingerprint"] or "",
        )
    Console(file=out, markup=False, width=None if out.isatty() else 160).print(table)


def _csv_cell(v: Any) -> Any:
    return "" if v is None else v
