"""A rendered report kept beside the dataset snapshot it renders.

An unchanged rerun of `triage scan` leaves the dataset as it was, and rendering the same report
again would cost more than the rest of the rerun: reading every table, building
the content. A report is a function of the dataset's snapshot, the tool and the format (the
terminal table also of the width and colours it is laid out for, which its key names:
`report/layout.table_key`): the first render is stored
under `reports/<snapshot id>/` with the findings' confidences that decide the exit code, and
served again while the snapshot is the same. A commit that changes the parts makes a new
snapshot, so a kept report can never describe other rows than the dataset's.

Local datasets only: for a URL the report is rendered each time.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid

from triage.version import __version__

#: the formats whose text depends on the dataset alone
KEPT_FORMATS = ("json", "jsonl", "md", "html", "csv")
REPORTS = "reports"


def keeps(key: str) -> bool:
    """Whether a report of this format (a table: of this layout) is kept."""
    return key in KEPT_FORMATS or key.startswith("table-")


def _folder(out: str, snapshot_id: str) -> str | None:
    if "://" in out or not snapshot_id:
        return None
    return os.path.join(out, REPORTS, snapshot_id)


def load(out: str, snapshot_id: str, fmt: str) -> tuple[str, list[str]] | None:
    """The kept report of the snapshot in `fmt` and the findings' confidences, if kept."""
    folder = _folder(out, snapshot_id)
    if folder is None or not keeps(fmt):
        return None
    try:
        with open(os.path.join(folder, "findings.json"), encoding="utf-8") as fh:
            meta = json.load(fh)
        if meta.get("tool_version") != __version__:
            return None
        with open(os.path.join(folder, f"report.{fmt}"), encoding="utf-8", newline="") as fh:
            return fh.read(), list(meta.get("confidences", []))
    except (OSError, ValueError):
        return None


def save(out: str, snapshot_id: str, fmt: str, text: str, confidences: list[str]) -> None:
    """Keep the report (best effort: a dataset one may not write is rendered each time) and
    drop the reports of earlier snapshots."""
    folder = _folder(out, snapshot_id)
    if folder is None or not keeps(fmt):
        return
    try:
        os.makedirs(folder, exist_ok=True)
        meta = {"tool_version": __version__, "confidences": confidences}
        _write(os.path.join(folder, "findings.json"), json.dumps(meta))
        _write(os.path.join(folder, f"report.{fmt}"), text)
        base = os.path.dirname(folder)
        for name in os.listdir(base):
            if name != snapshot_id:
                shutil.rmtree(os.path.join(base, name), ignore_errors=True)
    except OSError:
        pass


def _write(path: str, text: str) -> None:
    """Write-then-rename, so that a reader never sees half a report."""
    tmp = f"{path}.{uuid.uuid4().hex[:8]}.tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    os.replace(tmp, path)
