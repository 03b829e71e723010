"""Reports: one logical content (`ReportModel`), many layouts.

Public API:
- `build_report(ds) -> ReportModel` — summary, findings, unexplained crash groups and errors of a
  dataset; every renderer lays out this one object, so the formats never disagree.
- `render(ds, fmt, out=None, width=None, color=None) -> str | None` — `fmt` is one of `FORMATS`
  (table | json | jsonl | md | html | csv). With `out` the report is written there and `None` is
  returned; without, the report is returned as a string. `width` and `color` concern `table`
  only: colour defaults to "when `out` is a terminal and NO_COLOR is unset".
- `sanitize(text)` — the neutralisation of ANSI escapes, bidi controls and undecodable bytes that
  every format applies to log text.
- `report_schema() -> dict` — the JSON Schema (draft 2020-12) of the json/jsonl formats.

`ds` is a dataset as `triage.store.open_dataset` returns it (its tables are read as Arrow, and a
frame the caller assigned, such as a filtered `ds.findings`, is read in its place), or any object
with the tables as pandas DataFrames or Arrow tables (`sources, boots, crashes, findings,
errors`) and a `manifest` dict; a `ReportModel` may be passed instead, to render one content in
several formats.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from triage.lazy import lazy_attributes
from triage.report.sanitize import sanitize

if TYPE_CHECKING:
    from triage.report.content import REPORT_SCHEMA_VERSION, ReportModel, build_report

FORMATS = ("table", "json", "jsonl", "md", "html", "csv")

__all__ = [
    "FORMATS",
    "REPORT_SCHEMA_VERSION",
    "ReportModel",
    "build_report",
    "render",
    "report_schema",
    "sanitize",
]


#: the content model and its dataclasses, which a rerun served from a kept report never needs
__getattr__ = lazy_attributes(
    __name__, dict.fromkeys(("REPORT_SCHEMA_VERSION", "ReportModel", "build_report"), "content")
)


def _writer(fmt: str) -> Callable[..., None]:
    if fmt == "table":
        from triage.report.terminal import render_terminal

        return render_terminal
    if fmt == "json":
        from triage.report.jsonout import write_json

        return write_json
    if fmt == "jsonl":
        from triage.report.jsonout import write_jsonl

        return write_jsonl
    if fmt == "csv":
        from triage.report.csvout import write_csv

        return write_csv
    if fmt == "md":
        from triage.report.markdown import write_markdown

        return write_markdown
    if fmt == "html":
        from triage.report.html import write_html

        return write_html
    raise ValueError(f"unknown report format {fmt!r}; choose one of: {', '.join(FORMATS)}")


def render(
    ds: Any,
    fmt: str,
    out: TextIO | None = None,
    width: int | None = None,
    color: bool | None = None,
) -> str | None:
    """Render `ds` (a dataset or a `ReportModel`) as `fmt`; see the module docstring."""
    from triage.report.content import ReportModel, build_report

    writer = _writer(fmt)
    report = ds if isinstance(ds, ReportModel) else build_report(ds)
    target = out if out is not None else io.StringIO()
    if fmt == "table":
        writer(report, target, width=width, color=bool(color) if out is None else color)
    else:
        writer(report, target)
    return target.getvalue() if out is None else None  # type: ignore[union-attr]


def prepare(fmt: str) -> None:
    """Load what rendering `fmt` needs, so that a caller whose workers are still busy can have
    it ready for when they finish."""
    import triage.report.content  # noqa: F401

    _writer(fmt)


def report_schema() -> dict[str, Any]:
    from triage.report.jsonout import load_schema

    return load_schema()
