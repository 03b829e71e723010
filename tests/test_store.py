"""The dataset store: parts, manifest, atomic publication, reading back, DuckDB views."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from triage.model import Boot, Crash, ErrorRecord, Fact, Frame, SourceFile
from triage.pipeline import SourceResult
from triage.store import DatasetError, DatasetWriter, PartData, open_dataset


def _result(name: str, release: str) -> SourceResult:
    src = SourceFile(disk_path=f"/logs/{name}", bundle=f"/logs/{name}", path=name, kind="console")
    sid = src.source_id
    r = SourceResult(source=src, sha256="0" * 64, line_count=10)
    r.boots = [
        Boot(
            boot_id=f"{sid}:0", source_id=sid, index=0, first_line=1, last_line=10, release=release
        )
    ]
    r.crashes = [
        Crash(
            crash_id=f"{sid}-c1",
            source_id=sid,
            boot_id=f"{sid}:0",
            first_line=3,
            last_line=9,
            title="BUG: soft lockup in netif_poll",
            type="HANG",
            frames=[Frame("netif_poll", 0x3E, 0x1C0, "xennet", True, "c0115a3e")],
            fingerprint="fp1",
        )
    ]
    r.errors = [ErrorRecord(path=name, stage="parse", error_class="x", message=f"{name}: x")]
    return r


def test_write_commit_and_read_back(tmp_path: Path) -> None:
    out = str(tmp_path / "ds")
    w = DatasetWriter(out)
    part = PartData(
        unit="/logs/a", input_digest="d1", results=[_result("a.log", "2.6.9-78.ELxenU")]
    )
    part.facts = [Fact("b", "host", "h1", "host.memory_total_bytes", str(128 << 30))]
    pid, entry = w.write_part(part)
    w.commit({pid: entry})
    ds = open_dataset(out)
    assert list(ds.boots["release"]) == ["2.6.9-78.ELxenU"]
    frames = ds.crashes["frames"].iloc[0]
    assert frames[0]["function"] == "netif_poll" and frames[0]["offset"] == 0x3E
    assert ds.sql("SELECT count(*) AS n FROM crashes")["n"][0] == 1
    assert ds.sql("SELECT value FROM facts")["value"][0] == str(128 << 30)
    assert ds.manifest["counts"]["errors"] == 1
    assert len(ds.unexplained_crashes()) == 1


def test_replacing_a_unit_drops_its_old_part(tmp_path: Path) -> None:
    out = str(tmp_path / "ds")
    w = DatasetWriter(out)
    for release in ("2.6.9-78.ELxenU", "2.6.9-89.ELxenU"):
        pid, entry = w.write_part(
            PartData(unit="/logs/a", input_digest=release, results=[_result("a.log", release)])
        )
        w.commit({pid: entry})
    ds = open_dataset(out)
    assert list(ds.boots["release"]) == ["2.6.9-89.ELxenU"]
    # the old part is retired, not deleted: a reader of the manifest before may still read it
    (live,) = ds.manifest["parts"]
    (old,) = set(os.listdir(tmp_path / "ds" / "parts")) - {live}
    assert ds.manifest["retired"][f"parts/{old}"] > 0


def _commit_release(w: DatasetWriter, release: str) -> None:
    pid, entry = w.write_part(
        PartData(unit="/logs/a", input_digest=release, results=[_result("a.log", release)])
    )
    w.commit({pid: entry})


def test_a_reader_opened_before_a_commit_still_reads_what_it_opened(tmp_path: Path) -> None:
    """A notebook opens a dataset, then a batch run replaces its parts: the notebook's tables
    and queries are still those of the dataset it opened, until the retired files expire."""
    out = str(tmp_path / "ds")
    w = DatasetWriter(out)
    _commit_release(w, "2.6.9-78.ELxenU")
    before = open_dataset(out)
    _commit_release(w, "2.6.9-89.ELxenU")  # drops the part and the snapshot `before` names
    assert list(before.boots["release"]) == ["2.6.9-78.ELxenU"]
    assert before.sql("SELECT title FROM crashes")["title"].tolist() == [
        "BUG: soft lockup in netif_poll"
    ]
    assert before.sql("SELECT count(*) AS n FROM lines")["n"][0] == 0
    assert list(open_dataset(out).boots["release"]) == ["2.6.9-89.ELxenU"]


def test_retired_files_are_deleted_by_a_commit_after_their_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retired parts and snapshots go once their time is up (disk is not kept forever), and a
    reader that outlived them is told the dataset was rewritten, not that it is damaged."""
    from triage.store import retention

    out = tmp_path / "ds"
    w = DatasetWriter(str(out))
    _commit_release(w, "2.6.9-78.ELxenU")
    stale = open_dataset(str(out))
    (first,) = stale.manifest["parts"]
    _commit_release(w, "2.6.9-89.ELxenU")
    assert (out / "parts" / first).is_dir()
    assert len(list((out / "snapshots").iterdir())) == 2
    DatasetWriter(str(out))  # a writer's sweep keeps what is retired
    assert (out / "parts" / first).is_dir()

    monkeypatch.setattr(retention, "RETAIN_SECONDS", 0.0)
    _commit_release(w, "2.6.9-89.0.1.ELxenU")
    now = open_dataset(str(out))
    assert sorted(os.listdir(out / "parts")) == sorted(now.manifest["parts"])
    assert [p.name for p in (out / "snapshots").iterdir()] == [now.manifest["snapshot"]["id"]]
    assert "retired" not in now.manifest
    for read in (lambda: stale.boots, lambda: stale.sql("SELECT * FROM boots")):
        with pytest.raises(DatasetError, match="rewritten by a run since it was opened"):
            read()


def test_a_writer_takes_the_manifest_read_before_the_lock_only_if_it_is_still_the_file(
    tmp_path: Path,
) -> None:
    """A run reads the manifest before it takes the write lock (to find what is up to date),
    and the writer it opens then need not parse the file again; but a commit made in between
    (another run's) has replaced the file, and the writer must build on that one."""
    from triage.store.manifest import read_local_manifest

    out = str(tmp_path / "ds")
    assert read_local_manifest(out) is None
    first = DatasetWriter(out)
    pid, entry = first.write_part(
        PartData(unit="/logs/a", input_digest="d1", results=[_result("a.log", "2.6.9-78.ELxenU")])
    )
    first.commit({pid: entry})
    seen = read_local_manifest(out)
    assert seen is not None and pid in seen[0]["parts"]
    assert DatasetWriter(out, seen).manifest is seen[0]  # the same file: taken as read

    other = DatasetWriter(out)  # another run commits meanwhile
    pid_b, entry_b = other.write_part(
        PartData(unit="/logs/b", input_digest="d2", results=[_result("b.log", "2.6.9-89.ELxenU")])
    )
    other.commit({pid_b: entry_b})
    late = DatasetWriter(out, seen)
    assert late.manifest is not seen[0]
    assert {pid, pid_b} <= set(late.manifest["parts"])
    assert read_local_manifest("memory://ds") is None  # a URL is read by its filesystem


def test_uncommitted_parts_are_invisible_and_swept(tmp_path: Path) -> None:
    out = str(tmp_path / "ds")
    w = DatasetWriter(out)
    pid, entry = w.write_part(
        PartData(unit="/logs/a", input_digest="1", results=[_result("a.log", "r1")])
    )
    w.commit({pid: entry})
    # a run that wrote a part and died before committing it
    w.write_part(PartData(unit="/logs/b", input_digest="2", results=[_result("b.log", "r2")]))
    (tmp_path / "ds" / "parts" / ".tmp-deadbeef").mkdir()
    assert list(open_dataset(out).boots["release"]) == ["r1"]
    DatasetWriter(out)  # the next writer sweeps what no manifest names
    assert os.listdir(tmp_path / "ds" / "parts") == [pid]


def test_empty_dataset_has_every_table_with_its_schema(tmp_path: Path) -> None:
    out = str(tmp_path / "ds")
    DatasetWriter(out).commit({})
    ds = open_dataset(out)
    for name in ("sources", "lines", "boots", "crashes", "facts", "findings", "errors"):
        assert len(getattr(ds, name)) == 0
        assert ds.sql(f"SELECT count(*) AS n FROM {name}")["n"][0] == 0
    assert "release" in ds.boots.columns and "evidence" in ds.findings.columns


def test_not_a_dataset(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not a triage dataset"):
        open_dataset(str(tmp_path))


def test_manifest_is_json_with_versions(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    DatasetWriter(str(out)).commit({})
    m = json.loads((out / "manifest.json").read_text())
    assert m["schema_version"] == 1 and m["tool_version"] and "parts" in m


def test_the_local_filesystem_does_what_the_store_asks_of_fsspec(tmp_path: Path) -> None:
    from triage.store.localfs import LocalFS, filesystem

    fs, root = filesystem(str(tmp_path / "ds" / "."))
    assert isinstance(fs, LocalFS) and root == str(tmp_path / "ds")
    fs.makedirs(f"{root}/parts/a", exist_ok=True)
    fs.makedirs(f"{root}/parts/a", exist_ok=True)
    with fs.open(f"{root}/manifest.json", "wb") as fh:
        fh.write(b"old")
    with fs.open(f"{root}/.tmp-new", "wb") as fh:
        fh.write(b"new")
    fs.mv(f"{root}/.tmp-new", f"{root}/manifest.json")  # replaces, as publishing needs
    assert Path(root, "manifest.json").read_bytes() == b"new" and not fs.exists(f"{root}/.tmp-new")
    listing = fs.ls(root, detail=True)
    assert [(Path(e["name"]).name, e["type"]) for e in listing] == [
        ("manifest.json", "file"),
        ("parts", "directory"),
    ]
    fs.mv(f"{root}/parts/a", f"{root}/parts/b", recursive=True)
    assert fs.exists(f"{root}/parts/b") and not fs.exists(f"{root}/parts/a")
    fs.rm(f"{root}/parts", recursive=True)
    assert not fs.exists(f"{root}/parts")
    with pytest.raises(FileNotFoundError):
        fs.ls(f"{root}/parts")
    assert type(filesystem("memory://ds")[0]).__name__ == "MemoryFileSystem"


def test_a_run_on_a_local_path_never_imports_fsspec(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    code = (
        "import sys, triage; s = triage.ingest([sys.argv[1]], out=sys.argv[2]); "
        "ds = triage.open_dataset(sys.argv[2]); n = len(ds.lines); "
        "print(n > 0, 'fsspec' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(root / "samples" / "case-xs01"), str(tmp_path / "ds")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["True", "False"]


def test_a_dataset_at_a_url_has_one_writer_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lease in `.lock`: a second claim stops while it holds; an expired one is taken over,
    and its old holder then may not publish."""
    import time

    from triage.store import lock

    monkeypatch.setattr(lock, "SETTLE_SECONDS", 0.0)
    out = f"memory://lease-{os.getpid()}-{time.time_ns()}"
    with lock.writing(out) as first:
        assert first is not None and first.held()
        with (
            pytest.raises(lock.DatasetBusy, match="another triage run is writing"),
            lock.writing(out),
        ):
            pass
        first.confirm()
    with lock.writing(out) as again:  # released: free again
        assert again is not None
    monkeypatch.setattr(lock, "LEASE_SECONDS", -1.0)  # every lease written from here is stale
    with lock.writing(out) as stale:
        assert stale is not None
        with lock.writing(out) as successor:  # takes the expired lease over
            assert successor is not None and successor.held() and not stale.held()
            with pytest.raises(lock.DatasetBusy):
                stale.confirm()
    from triage.store.localfs import filesystem

    fs, root = filesystem(out)
    assert not fs.exists(f"{root}/.lock")  # the last holder removed it; the stale one did not


def test_a_writer_that_lost_its_lease_publishes_nothing(tmp_path: Path) -> None:
    from triage.store.lock import DatasetBusy

    url = f"file://{tmp_path / 'ds'}"
    writer = DatasetWriter(url)
    calls = []

    def lost() -> None:
        calls.append(1)
        raise DatasetBusy("gone")

    writer.before_publish = lost
    with pytest.raises(DatasetBusy):
        writer.commit({})
    assert calls == [1] and not (tmp_path / "ds" / "manifest.json").exists()


SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def test_a_damaged_snapshot_is_only_a_copy_of_the_parts(tmp_path: Path) -> None:
    """A truncated snapshot file made the report say "0 findings" (an unreadable table read as
    empty) and the next run that reused the snapshot stop with an internal error. Reads go
    to the parts instead, the next commit rebuilds the snapshot from them, and a damaged part
    is one line naming the file, not an empty table."""
    import subprocess
    import sys

    import triage

    out = tmp_path / "ds"
    triage.ingest([str(SAMPLES)], out=str(out))
    want = len(open_dataset(str(out)).findings)
    assert want > 0
    (snap,) = (out / "snapshots").iterdir()
    (snap / "findings.parquet").write_bytes(b"PAR1" + bytes(96))
    ds = open_dataset(str(out))
    assert len(ds.findings) == want
    assert ds.sql("select count(*) as n from findings").n[0] == want
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "x.log").write_bytes((SAMPLES / "rhel47-xenU-console.log").read_bytes())
    triage.ingest([str(SAMPLES), str(extra)], out=str(out))  # reuses the damaged snapshot
    ds = open_dataset(str(out))
    snap = out / "snapshots" / ds.manifest["snapshot"]["id"]
    assert ds.files("findings") == [str(snap / "findings.parquet")]
    assert len(ds.findings) >= want
    # a damaged part: the report and the query name it in one line, exit 2
    part = next(p for p in (out / "parts").iterdir() if (p / "findings.parquet").exists())
    (part / "findings.parquet").write_bytes(b"garbage")
    (snap / "findings.parquet").unlink()
    for cmd in (
        ["report", str(out), "--format", "json"],
        ["query", str(out), "select * from findings"],
    ):
        r = subprocess.run(
            [sys.executable, "-m", "triage.cli", *cmd], capture_output=True, text=True
        )
        assert r.returncode == 2, r.stderr
        assert r.stderr.count("\n") == 1 and "findings.parquet" in r.stderr, r.stderr
    r = subprocess.run([sys.executable, "-m", "triage.cli", "query", str(out), "select count(*) from boots"],
                       capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 0, r.stderr
