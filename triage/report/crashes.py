"""`triage crashes`: one record per crash, as a table for people or JSON for tools.

The JSON object of a crash holds the columns of the `crashes` table (DESIGN.md §4) plus the
source's `path` (bundle!member); timestamps are ISO 8601, frames a list of objects. Log text is
neutralised the same way as in every report (`sanitize`).
"""

from __future__ import annotations

import json
import math
from typing import Any, TextIO

import pandas as pd

from triage.report.sanitize import sanitize

#: the columns of a crash in the JSON output, in order
JSON_FIELDS = (
    "crash_id", "path", "source_id", "boot_id", "first_line", "last_line", "record", "type",
    "title", "alt_titles", "corrupted", "corrupted_reason", "panicked", "timestamp", "mono",
    "release", "taint", "cpu", "pid", "comm", "function", "module", "frames", "fingerprint",
    "report",
)  # fmt: skip


def crash_records(ds: Any, crashes: pd.DataFrame) -> list[dict[str, Any]]:
    paths = dict(zip(ds.sources["source_id"], ds.sources["display"], strict=False))
    out = []
    for row in crashes.to_dict("records"):
        row["path"] = paths.get(row["source_id"], "")
        rec = {k: _plain(row.get(k)) for k in JSON_FIELDS}
        for k in ("title", "report", "comm", "path", "corrupted_reason"):
            rec[k] = sanitize(rec[k] or "", multiline=k == "report")
        out.append(rec)
    return out


def _plain(v: Any) -> Any:
    """pandas/Arrow scalars → JSON-ready Python values."""
    if v is None:
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if hasattr(v, "tolist"):
        return _plain(v.tolist())
    if v is pd.NaT or (not isinstance(v, str | bytes) and pd.isna(v)):
        return None
    return v


def render_crashes(ds: Any, crashes: pd.DataFrame, fmt: str, out: TextIO) -> None:
    records = crash_records(ds, crashes)
    if fmt == "json":
        json.dump(records, out, indent=1, default=str)
        out.write("\n")
        return
    if fmt == "csv":
        cols = [c for c in JSON_FIELDS if c not in ("frames", "report", "alt_titles")]
        pd.DataFrame(records, columns=list(JSON_FIELDS))[cols].to_csv(out, index=False)
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
