"""build_report(): the one content every format shows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
from helpers_report import VM_UUID, build_dataset, empty_dataset

from triage.report import build_report


def test_summary_counts_come_from_the_tables() -> None:
    ds = build_dataset(unexplained=4)
    s = build_report(ds).summary
    assert s.sources == len(ds.sources)
    assert s.sources_by_status == {"ok": 3, "partial": 1}
    assert s.lines == int(ds.sources["line_count"].sum())
    assert s.boots == len(ds.boots)
    assert (lambda k: (k.release, k.distro, k.boots))(s.boots_by_kernel[0]) == (
        "2.6.32-754.35.1.el6.x86_64",
        "CentOS 6.10",
        3,
    )
    assert s.crashes == 2 + 4 + 1 and s.events == 1
    assert s.explained_crashes == 2 and s.unexplained_crashes == 5
    assert s.findings_by_confidence == {"high": 1, "medium": 2, "low": 0}
    assert s.errors_by_class == {"truncated-gzip": 1, "path-traversal": 1}


def test_findings_sorted_by_confidence_and_carry_kernel_distro_vm() -> None:
    report = build_report(build_dataset())
    assert [f.confidence for f in report.findings] == ["high", "medium", "medium"]
    top = report.findings[0]
    assert top.distro == "RHEL 4.7" and top.release == "2.6.9-78.0.1.ELxenU"
    assert (top.host, top.vm_name, top.vm_uuid) == ("xenhost07", "web01", VM_UUID)
    assert top.crash_title.startswith("BUG: unable to handle kernel paging request")
    assert top.evidence[0].location.endswith("!guest-rhel47-web01.log:812")
    # evidence without its own path is located through the sources table
    assert top.evidence[1].location == (
        "bug-report-20091003141502.tar.bz2!guest-rhel47-web01.log:815"
    )
    assert top.commands[-1].startswith(f"xe vm-param-remove uuid={VM_UUID}")
    assert top.placeholders == []


def test_unexplained_crashes_grouped_by_fingerprint_then_title() -> None:
    report = build_report(build_dataset(unexplained=3))
    big, single = report.unexplained
    assert (big.count, big.fingerprint, big.hosts) == (3, "d00df00dcafe0001", ["app01"])
    assert big.first_seen == "2021-03-01T17:30:00" and big.last_seen == "2021-03-03T17:44:00"
    assert big.locations[0] == "app01-console.log:2501" and big.panicked == 1
    assert (single.count, single.fingerprint, single.corrupted) == (1, "", 1)
    assert single.title == "kernel BUG at mm/slab.c:2752"


def test_a_crash_holding_a_findings_evidence_counts_as_explained() -> None:
    ds = build_dataset(unexplained=1)
    gpf = ds.crashes[ds.crashes["fingerprint"] == "d00df00dcafe0001"].iloc[0]
    row = ds.findings.iloc[[0]].copy()
    row["finding_id"] = "manual"
    row["crash_id"] = ""
    row["source_id"] = gpf["source_id"]
    row["evidence"] = [
        [{"source_id": gpf["source_id"], "lineno": int(gpf["first_line"]) + 3, "text": "x"}]
    ]
    ds.findings = pd.concat([ds.findings, row], ignore_index=True)
    report = build_report(ds)
    assert all(g.fingerprint != "d00df00dcafe0001" for g in report.unexplained)
    assert report.summary.explained_crashes == 3


def test_placeholders_left_in_commands_are_reported() -> None:
    ds = build_dataset()
    ds.findings.loc[1, "workaround"] = (
        "xe vm-param-remove uuid=<vm_uuid> param-name=other-config param-key=machine-address-size"
    )
    report = build_report(ds)
    f = next(f for f in report.findings if f.signature_id.endswith("64gib-boot"))
    assert f.placeholders == ["<vm_uuid>"]


def test_malformed_rows_and_missing_tables_never_raise() -> None:
    ds = build_dataset()
    ds.findings.loc[0, "evidence"] = "not a list of structs"  # type: ignore[call-overload]
    del ds.crashes["fingerprint"]
    ds.boots = None  # type: ignore[assignment]
    report = build_report(ds)
    assert any(e.error_class == "bad-finding-row" for e in report.errors)
    assert len(report.findings) == 2
    assert report.unexplained  # grouped by title when fingerprints are missing


def test_empty_dataset_and_arrow_tables() -> None:
    report = build_report(empty_dataset())
    assert report.findings == [] and report.unexplained == [] and report.summary.sources == 0
    ds = build_dataset()
    ds.findings = pa.Table.from_pandas(ds.findings)  # type: ignore[assignment]
    assert len(build_report(ds).findings) == 3


def test_hostile_text_is_sanitized_in_the_model() -> None:
    report = build_report(build_dataset(hostile=True))
    texts = [e.text for f in report.findings for e in f.evidence] + [
        g.title for g in report.unexplained
    ]
    joined = "".join(texts)
    assert "\x1b" not in joined and "\u202e" not in joined and "\x07" not in joined
    assert "\\x1b[2J" in joined and "\\u202e" in joined


def test_a_dataset_is_read_as_arrow_and_a_frame_put_in_its_place_is_honoured(
    tmp_path: Path,
) -> None:
    """The report of a written dataset reads its Arrow tables (no DataFrame is made) and
    shows what the same tables as pandas frames show; a frame the analyst assigned wins."""
    import triage

    cases = Path(__file__).resolve().parents[1] / "samples" / "signatures"
    triage.scan([str(cases / "netfront-deadlock"), str(cases / "xfs-panic")], out=str(tmp_path))
    ds = triage.open_dataset(str(tmp_path))
    from_arrow = build_report(ds)
    assert not {"sources", "boots", "crashes", "findings", "errors"} & set(vars(ds))
    assert from_arrow.findings and from_arrow.summary.crashes

    class Frames:  # the same tables as the pandas frames `open_dataset` offers
        manifest = ds.manifest
        sources, boots, crashes = ds.sources, ds.boots, ds.crashes
        findings, errors = ds.findings, ds.errors

    assert build_report(Frames()) == from_arrow
    first = ds.findings["finding_id"].iloc[0]
    ds.findings = ds.findings[ds.findings["finding_id"] == first]
    assert [f.finding_id for f in build_report(ds).findings] == [first]


def test_cells_from_frames_become_plain_values() -> None:
    import numpy as np

    from triage.report.tables import Columns, plain

    df = pd.DataFrame(
        {
            "n": pd.array([1, None], dtype="Int64"),
            "f": [np.nan, 2.5],
            "t": [pd.NaT, pd.Timestamp("2009-06-15 10:21:05")],
            "a": [np.array([1, 2]), None],
        }
    )
    cols = Columns(df)
    assert cols.col("n") == [1, None] and cols.col("f") == [None, 2.5]
    assert cols.col("t")[0] is None and cols.col("t")[1].isoformat() == "2009-06-15T10:21:05"
    assert cols.col("a") == [[1, 2], None] and cols.col("missing", 0) == [0, 0]
    assert type(plain(np.int64(7))) is int and plain(pd.NA) is None
