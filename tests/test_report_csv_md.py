"""CSV (one row per finding) and Markdown (pasteable into a ticket)."""

from __future__ import annotations

import csv
import io

from helpers_report import build_dataset

from triage.report import render
from triage.report.csvout import CSV_COLUMNS
from triage.report.markdown import code_block, md


def test_csv_one_row_per_finding_with_documented_columns() -> None:
    rows = list(csv.reader(io.StringIO(render(build_dataset(hostile=True), "csv") or "")))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 1 + 3
    by = [dict(zip(CSV_COLUMNS, r, strict=True)) for r in rows[1:]]
    assert by[0]["signature_id"] == "xen-rhel/spurious-page-fault"
    assert by[0]["evidence_count"] == "3"
    assert (
        by[0]["evidence"]
        .splitlines()[0]
        .endswith(
            "guest-rhel47-web01.log:812: Unable to handle kernel paging request at virtual address c0a4b000"
        )
    )
    assert "\x1b" not in "".join(r for row in rows for r in row)


def test_csv_cells_never_start_a_spreadsheet_formula() -> None:
    ds = build_dataset()
    ds.findings.loc[0, "title"] = '=HYPERLINK("http://evil","x")'
    ds.findings.loc[0, "fix"] = "-2+3"
    rows = list(csv.reader(io.StringIO(render(ds, "csv") or "")))
    row = next(dict(zip(CSV_COLUMNS, r, strict=True)) for r in rows[1:] if "HYPERLINK" in r[2])
    assert row["title"].startswith("'=") and row["fix"] == "'-2+3"


def test_markdown_tables_keep_their_shape_with_pipes_in_log_text() -> None:
    text = render(build_dataset(hostile=True, unexplained=3), "md") or ""
    ds = build_dataset(hostile=True)
    ds.crashes.loc[2, "title"] = "BUG | in | pipes"
    ds.crashes.loc[3, "title"] = "BUG | in | pipes"
    text = render(ds, "md") or ""
    table = [line for line in text.splitlines() if line.startswith("| ")]
    header = next(line for line in table if line.startswith("| Count |"))
    start = text.splitlines().index(header)
    rows = text.splitlines()[start + 2 : start + 4]

    def cells(line: str) -> int:
        return len(line.replace("\\|", "").split("|"))

    assert all(cells(r) == cells(header) for r in rows)
    assert "BUG \\| in \\| pipes" in text
    assert "## Findings" in text and "```sh\nxe vm-param-set" in text


def test_markdown_escapes_prose_and_fences_survive_backticks() -> None:
    assert md("<script>alert(1)</script> [x](http://e) a|b") == (
        "\\<script\\>alert(1)\\</script\\> \\[x\\](http://e) a\\|b"
    )
    block = code_block(["```", "log line with ``` inside"])
    fence = block.splitlines()[0]
    assert fence == "````" and block.endswith("\n````")
    text = render(build_dataset(hostile=True), "md") or ""
    assert "<script>alert(1)</script>" not in text.replace("```text\n", "").split("```")[0]
