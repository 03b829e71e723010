"""The terminal report: 100 columns, safe log text, commands ready to paste."""

from __future__ import annotations

import io
import re

from helpers_report import HOSTILE_TEXT, VM_UUID, build_dataset
from rich.cells import cell_len

from triage.report import render

ANSI = re.compile(r"\x1b\[[0-9;]*m")
BOX = re.compile("[\u2500-\u257f]")


def _table(**kw: object) -> str:
    out = render(build_dataset(**kw), "table", width=100)  # type: ignore[arg-type]
    assert out is not None
    return out


def test_no_line_exceeds_100_columns() -> None:
    out = _table(hostile=True, unexplained=12)
    for line in out.splitlines():
        assert cell_len(line) <= 100, line
    assert not any(line != line.rstrip() for line in out.splitlines())


def test_sections_and_fields_are_present() -> None:
    out = _table()
    for needle in (
        "Summary",
        "4 read (3 ok, 1 partial)",
        "2.6.18-128.el5xen  (RHEL 5.3)",
        "[1/3] HIGH AFFECTED",
        "xen-rhel/spurious-page-fault",
        "confidence  high — RHEL 4 xenU kernel",
        "verdict     affected — ",
        "kernel      2.6.9-78.0.1.ELxenU (RHEL 4.7)",
        f"xenhost07 / web01 ({VM_UUID})",
        "bug-report-20091003141502.tar.bz2!guest-rhel47-web01.log:812",
        "Unable to handle kernel paging request at virtual address c0a4b000",
        "Crashes no signature explains: 4 in 2 groups",
        "3× general protection fault in ext4_journal_start_sb",
        "2 errors (1 truncated-gzip, 1 path-traversal)",
    ):
        assert needle in out, needle


def test_commands_are_plain_lines_that_paste_into_a_shell() -> None:
    out = _table()
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("xe vm-param-set"))
    block = [lines[start]]
    while block[-1].endswith(" \\"):
        block.append(lines[start + len(block)])
    assert not any(BOX.search(line) for line in block)
    pasted = "\n".join(block).replace("\\\n", "").split()
    assert pasted == (
        f"xe vm-param-set uuid={VM_UUID} other-config:suppress-spurious-page-faults=true".split()
    )


def test_log_markup_is_printed_literally_and_escapes_are_neutralised() -> None:
    out = _table(hostile=True)
    assert "[bold red]boom[/]" in out
    assert "<script>alert(1)</script>" in out
    assert "\x1b" not in out and "\u202e" not in out
    assert "\\x1b[2J" in out and "\\u202eevil" in out
    assert HOSTILE_TEXT not in out  # only its neutralised form


def test_colour_only_when_asked_or_on_a_tty_without_no_color(monkeypatch) -> None:
    ds = build_dataset()
    assert not ANSI.search(render(ds, "table", width=100) or "")
    assert ANSI.search(render(ds, "table", width=100, color=True) or "")

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    tty = Tty()
    render(ds, "table", out=tty, width=100)
    assert ANSI.search(tty.getvalue())
    monkeypatch.setenv("NO_COLOR", "1")
    tty = Tty()
    render(ds, "table", out=tty, width=100)
    assert not ANSI.search(tty.getvalue())
    pipe = io.StringIO()
    monkeypatch.delenv("NO_COLOR")
    assert render(ds, "table", out=pipe) is None
    assert not ANSI.search(pipe.getvalue()) and "Summary" in pipe.getvalue()


def test_empty_report_says_so() -> None:
    from helpers_report import empty_dataset

    out = render(empty_dataset(), "table", width=100) or ""
    assert "No documented issue matched." in out and "No errors" in out


def test_many_findings_beyond_the_detailed_ones_are_listed_one_line_each() -> None:
    import pandas as pd

    from triage.report.terminal import MAX_DETAILED

    ds = build_dataset()
    ds.findings = pd.concat([ds.findings] * 14, ignore_index=True)
    ds.findings["finding_id"] = [f"f{i:03d}" for i in range(len(ds.findings))]
    out = render(ds, "table", width=100) or ""
    total = len(ds.findings)
    assert out.count("  Evidence") == MAX_DETAILED
    assert f"{total - MAX_DETAILED} more findings, one line each:" in out
    assert f"[{total}/{total}] MEDIUM AFFECTED  xen-rhel/" in out
    assert all(cell_len(line) <= 100 for line in out.splitlines())
