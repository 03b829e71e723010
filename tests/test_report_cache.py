"""`triage scan` reruns serve the report kept with the dataset's snapshot — byte for byte the
report a fresh render gives, with the same exit codes — and render anew once the rows change."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "samples" / "signatures"

#: prints what the scan printed, its exit code and which heavy modules it loaded
PROBE = """
import sys
from typer.testing import CliRunner
from triage.cli import app
res = CliRunner().invoke(app, sys.argv[1:])
heavy = [m for m in ("pandas", "pyarrow", "fsspec") if m in sys.modules]
sys.stdout.write(f"{res.exit_code} {','.join(heavy) or '-'}\\n{res.output}")
"""


def scan(folder: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    """(exit code, heavy modules loaded, report) of `triage scan` in a fresh process."""
    res = subprocess.run(
        [sys.executable, "-c", PROBE, "scan", str(folder), "--out", str(out), "-q", *extra],
        capture_output=True,
        text=True,
        timeout=300,
    )
    # the process ends the way a script's does, through the interpreter's teardown (the console
    # script skips it): a crash there is this test's failure, with what the process said
    assert res.returncode == 0, f"exit {res.returncode}: {res.stderr[-2000:]}"
    head, _, report = res.stdout.partition("\n")
    code, heavy = head.split()
    return int(code), heavy, report


def test_an_unchanged_rerun_serves_the_kept_report_without_loading_the_dataset(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "logs"
    shutil.copytree(CASES / "netfront-deadlock", folder)
    out = tmp_path / "ds"
    for fmt in ("json", "md", "csv", "html", "jsonl"):
        first = scan(folder, out, "--format", fmt)
        # findings; the first render reads rows, as Arrow: the report needs no pandas
        assert first[0] == 1 and "pyarrow" in first[1] and "pandas" not in first[1]
        again = scan(folder, out, "--format", fmt)
        assert again[1] == "-", again[1]  # served as kept: no table was read
        assert again[0] == 1 and again[2] == first[2]
        assert scan(folder, out, "--format", fmt, "--fail-on", "never")[0] == 0
    # the terminal table is kept per layout (width, colours): the same destination gets it again
    table = scan(folder, out, "--format", "table")
    assert "pyarrow" in table[1] and "pandas" not in table[1]
    again = scan(folder, out, "--format", "table")
    assert again[1] == "-" and again[2] == table[2] and again[0] == 1
    snapshot = json.loads((out / "manifest.json").read_text())["snapshot"]["id"]
    assert [p.name for p in (out / "reports").iterdir()] == [snapshot]


def test_a_changed_input_renders_a_new_report(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    shutil.copy(CASES / "out-of-memory" / "neg-healthy-boot.log", folder / "a.log")
    out = tmp_path / "ds"
    quiet = scan(folder, out, "--format", "json")
    assert quiet[0] == 0
    assert scan(folder, out, "--format", "json")[1] == "-"
    shutil.copy(CASES / "out-of-memory" / "pos-console.log", folder / "b.log")
    loud = scan(folder, out, "--format", "json")
    assert loud[0] == 1 and "pyarrow" in loud[1]
    fresh = scan(folder, tmp_path / "fresh", "--format", "json")  # the same rows, from scratch
    ids = [[f["signature_id"] for f in json.loads(r[2])["findings"]] for r in (quiet, loud, fresh)]
    assert ids[0] == [] and ids[1] and ids[1] == ids[2]
    assert len(list((out / "reports").iterdir())) == 1  # the earlier snapshot's report is gone


def test_a_table_is_kept_under_the_layout_it_was_made_for(monkeypatch) -> None:
    """Another terminal width or colour system is another key: a table laid out for one is
    never served to another."""
    import io

    from triage.report import layout

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLUMNS", "132")
    wide = layout.table_key(Tty())
    monkeypatch.setenv("COLUMNS", "80")
    narrow = layout.table_key(Tty())
    monkeypatch.setenv("NO_COLOR", "1")
    plain = layout.table_key(Tty())
    assert wide.startswith("table-132-") and narrow.startswith("table-80-")
    assert plain == "table-80-plain" and "plain" not in narrow
    assert layout.table_key(io.StringIO()) == f"table-{layout.DEFAULT_WIDTH}-plain"  # a file
