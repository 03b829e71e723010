"""Output injection: HTML/JavaScript, ANSI escapes and Unicode bidi controls written into a log
are neutralised in every output format when rendered from a real scanned dataset."""

from __future__ import annotations

import csv
import io
import json

import pytest
from security_helpers import XFS_OOPS
from typer.testing import CliRunner

import triage
from triage.cli import app
from triage.report.sanitize import BIDI_AND_SEPARATORS

XSS = "<script>alert('triage-xss')</script>"
IMG = '<img src=x onerror="alert(2)">'
ANSI = "\x1b[2J\x1b]0;owned\x07\x1b[31mRED\x9b6n"
BIDI = "\u202eexe.gnp\u202c \u2066iso\u2069 \u2028sep"
FORMULA = '=HYPERLINK("http://evil","x")'
PAYLOAD = f"{XSS} {IMG} {ANSI} {BIDI} {FORMULA}"
FORMATS = ["table", "json", "jsonl", "md", "csv", "html"]


def _hostile_log() -> bytes:
    lines = XFS_OOPS.decode().splitlines()
    out = []
    for line in lines:
        if line.startswith("Kernel panic - not syncing"):
            line = f"Kernel panic - not syncing: Fatal exception {PAYLOAD}"
        if line.startswith('Filesystem "dm-2": XFS internal error'):
            line += f" {XSS}{BIDI}"
        out.append(line)
        if line.startswith("Pid: 4410"):
            out.append(f"RIP: {IMG} {ANSI}")
    return ("\n".join(out) + "\n").encode("utf-8")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("inject")
    log = root / "in" / "console.log"
    log.parent.mkdir()
    log.write_bytes(_hostile_log())
    ds_path = root / "ds"
    summary = triage.scan([str(log)], out=str(ds_path))
    ds = summary.dataset
    # the payload reached the dataset (so every renderer really sees it)
    assert "xen-rhel/xfs-panic" in set(ds.findings["signature_id"].astype(str))
    evidence = json.dumps(ds.findings["evidence"].astype(str).tolist())
    assert "triage-xss" in evidence
    assert any("triage-xss" in str(r) for r in ds.crashes["report"])
    out = {}
    runner = CliRunner()
    for fmt in FORMATS:
        target = root / f"report.{fmt}"
        res = runner.invoke(app, ["report", str(ds_path), "--format", fmt, "--output", str(target)])
        assert res.exit_code == 0, (fmt, res.output, res.exception)
        out[fmt] = target.read_text(encoding="utf-8")
        assert "triage-xss" in out[fmt], fmt  # neutralised, not dropped
    return out


def _dangerous(text: str) -> list[str]:
    bad = []
    for ch in text:
        cp = ord(ch)
        if ch == "\x1b" or 0x80 <= cp <= 0x9F or cp in BIDI_AND_SEPARATORS or ch == "\x07":
            bad.append(f"U+{cp:04X}")
    return sorted(set(bad))


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_escape_or_bidi_control_in_any_format(rendered: dict[str, str], fmt: str) -> None:
    assert _dangerous(rendered[fmt]) == [], fmt


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_is_valid_and_values_are_inert(rendered: dict[str, str], fmt: str) -> None:
    text = rendered[fmt]
    docs = [json.loads(text)] if fmt == "json" else [json.loads(x) for x in text.splitlines() if x]
    blob = json.dumps(docs, ensure_ascii=False)  # the decoded values, as a consumer sees them
    assert _dangerous(blob) == []
    assert "triage-xss" in blob  # HTML in JSON is data: kept verbatim for the consumer to escape


def test_html_escapes_markup(rendered: dict[str, str]) -> None:
    html = rendered["html"]
    assert XSS not in html and "alert('triage-xss')</script>" not in html
    assert "<img src=x" not in html and 'onerror="alert' not in html
    assert "&lt;script&gt;" in html or "&lt;script>" in html


def test_markdown_does_not_pass_raw_html(rendered: dict[str, str]) -> None:
    """Log text is either in a code block/span (shown literally) or escaped."""
    fenced = False
    for line in rendered["md"].splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if fenced or line.startswith("    "):
            continue
        outside = "".join(part for i, part in enumerate(line.split("`")) if i % 2 == 0)
        assert "<script" not in outside and "<img" not in outside, line


def test_csv_cells_are_not_formulas_and_parse(rendered: dict[str, str]) -> None:
    rows = list(csv.reader(io.StringIO(rendered["csv"])))
    assert rows
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
