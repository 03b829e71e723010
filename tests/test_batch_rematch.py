"""A changed signature set is matched against the rows a dataset holds (batch/rematch.py):
the findings of a fresh run, without reading, decompressing or parsing an input again."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from helpers_dataset import assert_same_rows as assert_same
from helpers_dataset import dataset_rows as rows
from helpers_dataset import folders_on_disk

import triage
from triage.batch import rematch, worker

ROOT = Path(__file__).resolve().parents[1]

#: a signature the built-in set lacks, whose line is in the case's guest logs but in no kept
#: evidence of the built-in set: only a match over every line finds it
NEW_SIGNATURE = """\
id: local/xenbus-no-driver
title: A Xen device without a driver in the guest
kind: hang
status: stable
log_shape: source
description: |
  A XENBUS device that no driver claimed.
references:
  - {type: ext, id: EXT-16}
applies_to:
  distros: [rhel, centos, oracle, scientific]
  releases:
    - {min: "4.5", max: "5.3"}
evidence:
  any:
    - name: no_driver
      reason: XENBUS found no driver for a device
      line:
        pattern: 'XENBUS: Device with no driver: device/\\w+/\\d+'
confidence:
  rules:
    - level: low
      when: [no_driver]
      reason: one line, no other evidence
  default: low
  default_reason: one line, no other evidence
fix: |
  Load the frontend driver.
workaround: |
  None.
tests:
  match:
    - {path: samples/case-xs01/rhel45vm/messages}
  no_match:
    - {path: samples/signatures/xfs-panic/neg-rhel54-xfs.log}
"""


def _inputs(root: Path) -> Path:
    """The XenServer case (a status report with facts beside two guest logs) and the XFS
    samples, as the batch would find them."""
    shutil.copytree(ROOT / "samples" / "case-xs01", root / "case-xs01")
    shutil.copytree(ROOT / "samples" / "signatures" / "xfs-panic", root / "xfs")
    return root


def _signatures(root: Path) -> Path:
    """A user folder: the built-in XFS signature made low-confidence, and a new signature."""
    family = root / "xen-rhel"
    family.mkdir(parents=True)
    xfs = (ROOT / "signatures" / "xen-rhel" / "xfs-panic.yaml").read_text()
    assert "level: high" in xfs
    (family / "xfs-panic.yaml").write_text(xfs.replace("level: high", "level: low"))
    (root / "local").mkdir()
    (root / "local" / "xenbus-no-driver.yaml").write_text(NEW_SIGNATURE)
    return root


def _spoil(folder: Path) -> dict[Path, tuple[bytes, os.stat_result]]:
    """Every input's bytes replaced (same size and mtime): a run that read any would see it."""
    kept = {}
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        st = f.stat()
        kept[f] = (f.read_bytes(), st)
        f.write_bytes(b"\xff" * st.st_size)
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    return kept


def _restore(kept: dict[Path, tuple[bytes, os.stat_result]]) -> None:
    for f, (data, st) in kept.items():
        f.write_bytes(data)
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_changed_set_is_matched_against_the_kept_rows_without_reading_an_input(
    tmp_path: Path, jobs: int
) -> None:
    folder = _inputs(tmp_path / "in")
    sigs = [str(_signatures(tmp_path / "sigs"))]
    out = tmp_path / "ds"
    first = triage.ingest([str(folder)], out=str(out))
    before = rows(str(out))
    kept = _spoil(folder)
    again = triage.ingest([str(folder)], out=str(out), signatures=sigs, jobs=jobs)
    assert not again.errors  # the spoiled bytes were never read
    assert again.processed == again.rematched == again.units == first.units
    _restore(kept)
    fresh = tmp_path / "fresh"
    triage.ingest([str(folder)], out=str(fresh), signatures=sigs)
    got, want = rows(str(out)), rows(str(fresh))
    assert_same(got, want)
    assert_same(rows(str(out), from_parts=True), rows(str(fresh), from_parts=True))
    # the new set's findings: the new signature where no old evidence was, XFS at low
    new = set(want["findings"]["signature_id"]) - set(before["findings"]["signature_id"])
    assert new == {"local/xenbus-no-driver"}
    xfs = want["findings"][want["findings"]["signature_id"] == "xen-rhel/xfs-panic"]
    assert len(xfs) and set(xfs["confidence"]) == {"low"}
    assert got["lines"].equals(before["lines"]) and got["crashes"].equals(before["crashes"])
    # the old parts are retired; the new ones hold the same line files (linked, not rewritten)
    manifest = json.loads((out / "manifest.json").read_text())
    parts, _ = folders_on_disk(out)
    assert len(parts) == 2 * len(manifest["parts"])
    assert all(e["signature_digest"] == again.signature_digest for e in manifest["parts"].values())


def test_no_signatures_first_then_a_set_is_matched_from_the_rows(tmp_path: Path) -> None:
    """A dataset made without signatures kept what matching needs all the same."""
    folder = _inputs(tmp_path / "in")
    out = tmp_path / "ds"
    triage.ingest([str(folder)], out=str(out), use_signatures=False)
    assert triage.open_dataset(str(out)).findings.empty
    kept = _spoil(folder)
    again = triage.ingest([str(folder)], out=str(out))
    assert not again.errors and again.processed == again.units
    _restore(kept)
    fresh = tmp_path / "fresh"
    triage.ingest([str(folder)], out=str(fresh))
    assert_same(rows(str(out)), rows(str(fresh)))
    assert len(rows(str(fresh))["findings"]) > 0


def _counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = rematch.rematch_pack

    def counted(pack, opts, out):
        calls.append(len(pack))
        return real(pack, opts, out)

    monkeypatch.setattr(worker, "rematch_pack", counted)
    return calls


def test_scan_datasets_and_force_read_their_inputs_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scan keeps only the lines the old set found relevant: a new pattern may need others,
    so its units are processed from their inputs; so is everything under --force."""
    folder = _inputs(tmp_path / "in")
    sigs = [str(_signatures(tmp_path / "sigs"))]
    calls = _counted(monkeypatch)
    triage.scan([str(folder)], out=str(tmp_path / "scan"))
    again = triage.scan([str(folder)], out=str(tmp_path / "scan"), signatures=sigs)
    assert again.processed == again.units and calls == []
    fresh = tmp_path / "fresh"
    triage.scan([str(folder)], out=str(fresh), signatures=sigs)
    assert_same(rows(str(tmp_path / "scan")), rows(str(fresh)))
    triage.ingest([str(folder)], out=str(tmp_path / "ingest"))
    triage.ingest([str(folder)], out=str(tmp_path / "ingest"), signatures=sigs, force=True)
    assert calls == []


def test_a_dataset_of_another_version_is_made_again_from_its_inputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another version may parse the same bytes into other rows: its parts are neither kept
    nor matched again from their rows, but made again from the inputs."""
    import triage.version
    from triage.batch import uptodate

    folder = _inputs(tmp_path / "in")
    calls = _counted(monkeypatch)
    first = triage.ingest([str(folder)], out=str(tmp_path / "ds"))
    same = triage.ingest([str(folder)], out=str(tmp_path / "ds"))
    assert same.skipped == same.units
    for where in (triage.version, uptodate):
        monkeypatch.setattr(where, "__version__", "99.0.0")
    again = triage.ingest([str(folder)], out=str(tmp_path / "ds"))
    assert again.processed == again.units == first.units and again.rematched == 0
    assert calls == []


def test_a_part_that_cannot_be_matched_again_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _inputs(tmp_path / "in")
    sigs = [str(_signatures(tmp_path / "sigs"))]
    out = tmp_path / "ds"
    triage.ingest([str(folder)], out=str(out))
    manifest = json.loads((out / "manifest.json").read_text())
    damaged = next(pid for pid, e in manifest["parts"].items() if e.get("match_inputs"))
    (out / "parts" / damaged / "match-inputs.json").write_text("{not json")
    calls = _counted(monkeypatch)
    again = triage.ingest([str(folder)], out=str(out), signatures=sigs)
    assert calls and again.processed == again.units and not again.errors
    fresh = tmp_path / "fresh"
    triage.ingest([str(folder)], out=str(fresh), signatures=sigs)
    assert_same(rows(str(out)), rows(str(fresh)))


def test_only_whole_parts_of_unchanged_units_are_matched_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A part with one changed unit is made again from its inputs; the other parts are
    matched again from their rows."""
    folder = _inputs(tmp_path / "in")
    sigs = [str(_signatures(tmp_path / "sigs"))]
    out = tmp_path / "ds"
    first = triage.ingest([str(folder)], out=str(out))
    log = folder / "case-xs01" / "guest-rhel47vm.log"
    log.write_bytes(log.read_bytes() + b"[2009-06-15 09:40:00] eth0: link up\n")
    calls = _counted(monkeypatch)
    again = triage.ingest([str(folder)], out=str(out), signatures=sigs)
    assert again.processed == first.units
    assert 0 < sum(calls) < first.units  # the changed unit's part was read again
    fresh = tmp_path / "fresh"
    triage.ingest([str(folder)], out=str(fresh), signatures=sigs)
    assert_same(rows(str(out)), rows(str(fresh)))


def test_match_inputs_round_trip_and_refuse_what_they_cannot_read() -> None:
    from datetime import datetime
    from types import SimpleNamespace

    from triage.model import Fact, SourceFile
    from triage.store import matchinputs

    src = SourceFile(
        "/cases/b.tar.xz", ("sosreport-x/var/log/messages.gz", ""), "/cases/b.tar.xz", "m.gz"
    )
    shared = Fact("b", "host", "h1", "host.memory", "64 GiB", time=datetime(2009, 6, 15, 9, 30))
    own = Fact("b", "vm", "uuid-1", "vm.name", "rhel45vm", source_path="b!xensource.log", lineno=7)
    results = [
        SimpleNamespace(source=src, match_facts=[shared, own]),
        SimpleNamespace(source=SourceFile("/cases/other.log"), match_facts=[shared]),
        SimpleNamespace(source=SourceFile("/cases/uname"), match_facts=None),  # not matched
    ]
    data = matchinputs.dump(results)
    assert data is not None and data.count(b"host.memory") == 1  # one copy of a shared fact
    back = matchinputs.load(data)
    assert back == {
        src.source_id: (src, [shared, own]),
        SourceFile("/cases/other.log").source_id: (SourceFile("/cases/other.log"), [shared]),
    }
    assert matchinputs.dump(results[2:]) is None
    for bad in (b"{not json", b'{"version": 2}', b'{"version": 1, "sources": {"x": {}}}'):
        with pytest.raises(ValueError):
            matchinputs.load(bad)
