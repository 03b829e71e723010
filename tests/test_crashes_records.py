"""Crash records (frames, SysRq tasks) become the same Arrow rows as the general conversion.

`records_to_table` builds nested rows without `dataclasses.asdict` and fills the table column by
column; the reference here is the plain `asdict` + `Table.from_pylist` it replaced.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from triage.crashes import extract_text
from triage.model import (
    BOOTS_SCHEMA,
    CRASHES_SCHEMA,
    FINDINGS_SCHEMA,
    Boot,
    Crash,
    Evidence,
    Finding,
    Frame,
    SysrqTask,
    records_to_table,
)

ROOT = Path(__file__).resolve().parents[1]


def _reference(records: list[object], schema: pa.Schema) -> pa.Table:
    rows = []
    for r in records:
        d = {f.name: getattr(r, f.name) for f in fields(r)}  # type: ignore[arg-type]
        row = {}
        for n in schema.names:
            v = d.get(n)
            if isinstance(v, list) and v and hasattr(v[0], "__dataclass_fields__"):
                v = [asdict(x) for x in v]
            row[n] = v
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=schema)


def test_crashes_from_sample_logs_equal_the_reference() -> None:
    text = (ROOT / "samples" / "rhel47-xenU-console.log").read_text(errors="replace")
    found = extract_text(text, "s")
    task = SysrqTask(comm="xenwatch", pid=9, state="D", frames=[Frame(function="xs_talkv")])
    found.append(
        Crash(
            crash_id="c1",
            source_id="s",
            boot_id="",
            first_line=1,
            last_line=2,
            record="sysrq",
            type="SYSRQ",
            title="SysRq: Show State",
            tasks=[task],
            timestamp=datetime(2009, 6, 15, 10, 0, 0),
        )
    )
    assert found
    got = records_to_table(found, CRASHES_SCHEMA)
    assert got.equals(_reference(found, CRASHES_SCHEMA))


def test_other_records_equal_the_reference() -> None:
    boot = Boot(boot_id="s:0", source_id="s", index=0, first_line=1, last_line=9, banner="x")
    ev = Evidence(source_id="s", lineno=3, text="Oops", reason="why", path="p")
    finding = Finding(
        finding_id="f",
        signature_id="a/b",
        title="t",
        source_id="s",
        boot_id="s:0",
        crash_id="",
        confidence="low",
        confidence_reason="",
        verdict="affected",
        verdict_reason="",
        evidence=[ev],
        references=["RHBZ#1"],
    )
    assert records_to_table([boot], BOOTS_SCHEMA).equals(_reference([boot], BOOTS_SCHEMA))
    assert records_to_table([finding], FINDINGS_SCHEMA).equals(
        _reference([finding], FINDINGS_SCHEMA)
    )
    assert records_to_table([], FINDINGS_SCHEMA).equals(FINDINGS_SCHEMA.empty_table())
