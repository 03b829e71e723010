"""Packs of small files share a part, archives are listed by the worker, and reruns redo only
what changed — without losing or duplicating a row of what did not."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest
from helpers_dataset import assert_same_rows as assert_same
from helpers_dataset import dataset_rows as rows
from helpers_dataset import folders_on_disk

import triage
from triage.batch import units as units_mod

ROOT = Path(__file__).resolve().parents[1]
OOPS = [
    "BUG: unable to handle kernel paging request at virtual address f8a3c004",
    " printing eip:",
    "c0452c1b",
    "*pde = 00000000",
    "Oops: 0000 [#1]",
    "SMP",
    "CPU:    0",
    "EIP:    0061:[<c0452c1b>]    Not tainted VLI",
    "EIP is at kmem_cache_alloc+0x2b/0x55",
    "Process kswapd0 (pid: 272, threadinfo=c12f4000 task=c12e8550)",
    "Call Trace:",
    " [<c04564d5>] shrink_zone+0xd8/0x1ff",
    " [<c0456c4b>] kswapd+0x2a2/0x3a4",
    " [<c0433c2d>] kthread+0xc0/0xed",
]


def _syslog(host: str, n: int, crash: bool) -> str:
    lines = [
        f"Jun 15 10:{i // 60 % 60:02d}:{i % 60:02d} {host} kernel: eth0: no IPv6 routers present"
        for i in range(n)
    ]
    if crash:
        lines += [f"Jun 15 11:00:00 {host} kernel: {text}" for text in OOPS]
    return "\n".join(lines) + "\n"


def _folder(path: Path, count: int = 12) -> Path:
    path.mkdir(parents=True)
    for i in range(count):
        (path / f"host{i:02d}.log").write_text(_syslog(f"host{i:02d}", 40, crash=i % 4 == 0))
    return path


def _parts(out: str) -> dict:
    return json.loads(Path(out, "manifest.json").read_text())["parts"]


@pytest.fixture
def unpacked(monkeypatch: pytest.MonkeyPatch):
    """Runs under this fixture give every unit its own part (the reference for equality)."""

    def one_each() -> None:
        monkeypatch.setattr(units_mod, "PACK_UNITS", 1)

    return one_each


def test_small_files_share_parts_with_the_same_rows(tmp_path: Path, unpacked) -> None:
    logs = _folder(tmp_path / "logs")
    packed = str(tmp_path / "packed")
    summary = triage.ingest([str(logs)], out=packed)
    assert summary.processed == summary.units == 12
    assert len(_parts(packed)) < 12  # shared parts
    unpacked()
    alone = str(tmp_path / "alone")
    triage.ingest([str(logs)], out=alone)
    assert len(_parts(alone)) == 12
    got, want = rows(packed), rows(alone)
    assert len(want["crashes"]) == 3
    assert_same(got, want)


def test_changing_one_packed_file_redoes_only_that_file(tmp_path: Path) -> None:
    logs = _folder(tmp_path / "logs")
    out = str(tmp_path / "ds")
    triage.scan([str(logs)], out=out)
    before = rows(out)
    changed = logs / "host01.log"
    changed.write_text(_syslog("host01", 40, crash=True))  # now it crashes too
    summary = triage.scan([str(logs)], out=out)
    assert (summary.processed, summary.skipped) == (1, 11)
    after = rows(out)
    fresh = str(tmp_path / "fresh")
    triage.scan([str(logs)], out=fresh)
    assert_same(after, rows(fresh))
    assert_same(after, rows(out, from_parts=True))
    _, snapshots = folders_on_disk(Path(out))
    assert len(snapshots) == 2  # the old snapshot is retired, for the readers that opened it
    assert len(after["crashes"]) == len(before["crashes"]) + 1
    assert len(after["sources"]) == len(before["sources"]) == 12


def test_naming_one_file_of_a_packed_folder_keeps_its_siblings(tmp_path: Path) -> None:
    logs = _folder(tmp_path / "logs")
    out = str(tmp_path / "ds")
    triage.ingest([str(logs)], out=out)
    before = rows(out)
    one = logs / "host05.log"
    one.write_text(_syslog("host05", 10, crash=False))
    summary = triage.ingest([str(one)], out=out)
    assert summary.processed == 1
    after = rows(out)
    others = before["sources"][~before["sources"]["path"].str.endswith("host05.log")]
    kept = after["sources"][~after["sources"]["display"].str.endswith("host05.log")]
    assert kept.reset_index(drop=True).equals(others.reset_index(drop=True))
    mine = after["sources"][after["sources"]["display"].str.endswith("host05.log")]
    assert len(mine) == 1 and mine.iloc[0]["line_count"] == "10"
    assert len(after["lines"]) == len(before["lines"]) - 40 + 10
    assert len(after["crashes"]) == len(before["crashes"])
    assert_same(after, rows(out, from_parts=True))


def _bundle(path: Path, host: str, crash: bool) -> Path:
    name = f"sosreport-{host}-2009-06-15-abc"
    files = {
        # filler first, so that the log lies in the second half of the compressed bytes
        "sos_commands/block/random": os.urandom(96 * 1024).hex(),
        "sos_commands/kernel/uname_-a": f"Linux {host} 2.6.18-128.el5xen #1 SMP Wed Dec 17 "
        "12:22:24 EST 2008 i686 i686 i386 GNU/Linux\n",
        "var/log/messages": _syslog(host, 30, crash),
    }
    with tarfile.open(path, "w:gz") as tar:
        for member, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{name}/{member}")
            info.size, info.mtime = len(data), 1245061265
            tar.addfile(info, io.BytesIO(data))
    return path


def test_an_unchanged_archive_is_not_reopened_on_rerun(tmp_path: Path) -> None:
    """The caller skips an archive by its digest alone: after the first run the second half of
    its bytes is zeroed (same size and mtime), and the rerun neither lists it nor reports it."""
    folder = tmp_path / "bundles"
    folder.mkdir()
    bundles = [_bundle(folder / f"b{i}.tar.gz", f"web{i:02d}", crash=i == 0) for i in range(3)]
    out = str(tmp_path / "ds")
    first = triage.scan([str(folder)], out=out)
    assert first.processed == 3 and not first.errors
    before = rows(out)
    st = os.stat(bundles[1])
    data = bundles[1].read_bytes()
    half = len(data) // 2
    bundles[1].write_bytes(data[:half] + b"\0" * (len(data) - half))
    os.utime(bundles[1], ns=(st.st_atime_ns, st.st_mtime_ns))
    again = triage.scan([str(folder)], out=out)
    assert (again.processed, again.skipped) == (0, 3)
    assert not again.errors
    assert_same(rows(out), before)
    forced = triage.scan([str(folder)], out=out, force=True)  # reading it now finds the damage
    assert any(e.path.startswith(str(bundles[1])) for e in forced.errors)


def test_a_folder_named_another_way_is_found_done_not_added_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`scan logs` from the case folder, then `scan /abs/case/logs` from elsewhere: the same
    files, loose and in archives, so the second run redoes nothing and the dataset holds each
    row once, named as the first run named it; a changed file is redone in place."""
    case = tmp_path / "case"
    _folder(case / "logs", count=4)
    _bundle(case / "logs" / "b0.tar.gz", "web00", crash=True)
    out = str(tmp_path / "ds")
    monkeypatch.chdir(case)
    first = triage.scan(["logs"], out=out)
    assert first.processed == 5
    before = rows(out)
    monkeypatch.chdir(tmp_path)
    again = triage.scan([str(case / "logs")], out=out)
    assert (again.processed, again.skipped) == (0, 5)
    assert_same(rows(out), before)
    assert all(b.startswith("logs") for b in before["sources"]["bundle"])  # as first named
    (case / "logs" / "host01.log").write_text(_syslog("host01", 41, crash=False))
    changed = triage.scan([str(case / "logs")], out=out)
    assert changed.processed == 1
    after = rows(out)
    assert len(after["sources"]) == len(before["sources"])
    assert len(after["findings"]) == len(before["findings"])


def test_a_dataset_keyed_by_relative_paths_reruns_from_its_folder_without_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Datasets written before unit keys were absolute hold the paths as typed: a rerun from
    the same folder reads them from there, finds the files done and adds no row twice."""
    case = tmp_path / "case"
    _folder(case / "logs", count=3)
    _bundle(case / "logs" / "b0.tar.gz", "web00", crash=True)
    out = tmp_path / "ds"
    monkeypatch.chdir(case)
    triage.scan(["logs"], out=str(out))
    before = rows(str(out))
    manifest = json.loads((out / "manifest.json").read_text())
    prefix = str(case) + "/"
    for entry in manifest["parts"].values():  # as an earlier version wrote them
        entry["units"] = {k.removeprefix(prefix): v for k, v in entry["units"].items()}
    (out / "manifest.json").write_text(json.dumps(manifest))
    (case / "logs" / "host01.log").write_text(_syslog("host01", 41, crash=False))
    again = triage.scan(["logs"], out=str(out))
    assert (again.processed, again.skipped) == (1, 3)
    after = rows(str(out))
    assert len(after["sources"]) == len(before["sources"])
    assert len(after["findings"]) == len(before["findings"])


def test_archives_listed_by_workers_give_the_rows_of_a_serial_run(tmp_path: Path) -> None:
    inputs = [str(ROOT / "samples" / "case-xs01"), str(ROOT / "samples" / "var")]
    serial = str(tmp_path / "serial")
    triage.scan(inputs, out=serial, jobs=1)
    pooled = str(tmp_path / "pooled")
    triage.scan(inputs, out=pooled, jobs=2)
    want = rows(serial)
    assert len(want["facts"]) and len(want["findings"])
    assert_same(rows(pooled), want)


def test_an_edited_signature_rematches_every_unit(tmp_path: Path) -> None:
    """The signature digest comes from a memo of the files' bytes on an unchanged rerun; an
    edit must miss the memo and redo every unit with the new set."""
    logs = _folder(tmp_path / "logs", count=3)
    sigs = tmp_path / "sigs" / "xen-rhel"
    sigs.mkdir(parents=True)
    mine = sigs / "xfs-panic.yaml"
    mine.write_text((ROOT / "signatures" / "xen-rhel" / "xfs-panic.yaml").read_text())
    out = str(tmp_path / "ds")
    first = triage.scan([str(logs)], out=out, signatures=[str(tmp_path / "sigs")])
    again = triage.scan([str(logs)], out=out, signatures=[str(tmp_path / "sigs")])
    assert (again.skipped, again.signature_digest) == (3, first.signature_digest)
    mine.write_text(mine.read_text().replace("leads to a kernel panic", "ends in a panic"))
    edited = triage.scan([str(logs)], out=out, signatures=[str(tmp_path / "sigs")])
    assert edited.processed == 3 and edited.signature_digest != first.signature_digest


def test_output_to_fsspec_urls_gives_the_same_rows(tmp_path: Path) -> None:
    """`out` may be any fsspec URL: an in-memory filesystem for an in-process run, and a
    file:// URL for workers in other processes."""
    inputs = [str(ROOT / "samples" / "case-xs01")]
    local = str(tmp_path / "local")
    triage.scan(inputs, out=local)
    want = rows(local)
    assert len(want["findings"])
    mem = f"memory://triage-test-{os.getpid()}"
    summary = triage.scan(inputs, out=mem)
    assert summary.processed == summary.units
    assert_same(rows(mem), want)
    assert triage.scan(inputs, out=mem).skipped == summary.units  # the manifest is read back
    url = (tmp_path / "by-url").as_uri()
    triage.scan(inputs, out=url, jobs=2)
    assert_same(rows(url), want)


@pytest.mark.parametrize("mode", ["ingest", "scan"])
def test_jobs_cut_one_huge_log_into_chunks_with_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """`--jobs 2` on a single huge log spreads its chunks over the pool (the part holds one
    spilled lines file per chunk) and the dataset equals a one-process run."""
    import sys

    from triage import pipeline

    sys.path.insert(0, str(ROOT / "bench"))
    import synth

    log = synth.console_log(tmp_path / "console.log", 3 << 20, crashes=6)
    monkeypatch.setattr(pipeline, "LARGE_SOURCE_BYTES", 512 << 10)  # "huge" at test scale
    monkeypatch.setattr(units_mod, "CHUNK_SOURCE_BYTES", 512 << 10)
    run = getattr(triage, mode)
    one, two = str(tmp_path / "one"), str(tmp_path / "two")
    run([str(log)], out=one, jobs=1)
    run([str(log)], out=two, jobs=2)
    want = rows(one)
    assert len(want["crashes"]) == 6 and len(want["lines"]) > (0 if mode == "scan" else 30_000)
    assert_same(rows(two), want)
    if mode == "ingest":  # one spilled lines file per chunk
        ((single,), (chunked,)) = (_parts(one).values(), _parts(two).values())
        assert (len(single["files"]["lines"]), len(chunked["files"]["lines"])) == (1, 2)


def test_digests_left_to_the_workers_are_the_files_sha256(tmp_path: Path) -> None:
    """A first run does not hash its inputs up front: workers take each unit's digest while
    reading (plain logs) or read the file (archives, compressed logs); either way it is the
    file's sha256, and it lands in the digest cache the next run trusts."""
    import gzip
    import hashlib

    folder = _folder(tmp_path / "logs", count=2)
    (folder / "messages.1.gz").write_bytes(
        gzip.compress(_syslog("host00", 20, crash=True).encode())
    )
    _bundle(folder / "b.tar.gz", "web01", crash=False)
    out = str(tmp_path / "ds")
    triage.scan([str(folder)], out=out)
    manifest = json.loads(Path(out, "manifest.json").read_text())
    digests = {
        k: d["input_digest"] for e in manifest["parts"].values() for k, d in e["units"].items()
    }
    files = sorted(str(p) for p in folder.iterdir())
    assert sorted(digests) == files
    for f in files:
        want = hashlib.sha256(Path(f).read_bytes()).hexdigest()
        assert digests[f] == want == manifest["digest_cache"][f][2], f
    assert triage.scan([str(folder)], out=out).skipped == len(files)


def test_an_unchanged_rerun_leaves_the_dataset_untouched_and_loads_no_arrow(
    tmp_path: Path,
) -> None:
    """A rerun that finds every unit up to date does not rewrite the manifest (a dataset one
    may only read can be rerun) and, in a fresh process, never imports pyarrow, fsspec or
    pandas: they are most of an unchanged rerun's time. Anything that changes still commits."""
    import subprocess
    import sys

    folder = _folder(tmp_path / "logs", count=4)
    _bundle(folder / "b0.tar.gz", "web00", crash=True)
    out = tmp_path / "ds"
    first = triage.ingest([str(folder)], out=str(out))
    manifest = (out / "manifest.json").read_bytes()
    probe = (
        "import sys, triage; s = triage.ingest([sys.argv[1]], out=sys.argv[2]); "
        "print(s.processed, s.skipped, s.counts['lines'], "
        "[m for m in ('pyarrow', 'fsspec', 'pandas') if m in sys.modules])"
    )
    res = subprocess.run(
        [sys.executable, "-c", probe, str(folder), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert res.stdout.split(maxsplit=3) == ["0", "5", str(first.counts["lines"]), "[]\n"]
    assert (out / "manifest.json").read_bytes() == manifest
    # a new input path, even one holding nothing new, is recorded
    more = tmp_path / "more"
    more.mkdir()
    again = triage.ingest([str(folder), str(more)], out=str(out))
    assert again.processed == 0
    assert str(more) in json.loads((out / "manifest.json").read_text())["inputs"]
    # and an edit is redone as before
    (folder / "host01.log").write_text(_syslog("host01", 41, crash=False))
    edited = triage.ingest([str(folder)], out=str(out))
    assert edited.processed == 1
    assert edited.counts["lines"] == first.counts["lines"] + 1


def test_a_cut_log_is_one_errors_row_not_one_per_pass(tmp_path: Path) -> None:
    """A xensource.log read for its facts and for its lines: the facts pass and the parse
    each found it ends mid-line, and a compressed one's read had said its stream ended early.
    One row (and one warning) per cut log."""
    import gzip

    from helpers_sources import XENSOURCE_NEW

    log = XENSOURCE_NEW * 2000
    plain = tmp_path / "plain" / "xensource.log"
    plain.parent.mkdir()
    plain.write_bytes(log[:-10])  # cut inside its last line
    packed = gzip.compress(log)
    cut = tmp_path / "gz" / "xensource.log.gz"
    cut.parent.mkdir()
    cut.write_bytes(packed[: len(packed) // 2])
    warned: list[str] = []
    out = tmp_path / "ds"
    triage.ingest([str(plain.parent), str(cut.parent)], out=str(out), warn=warned.append)
    errors = triage.open_dataset(str(out)).errors
    got = sorted(errors[["path", "stage", "error_class"]].itertuples(index=False, name=None))
    assert got == [
        (str(cut), "sources", "truncated-gzip"),
        (str(plain), "parse", "truncated"),
    ]
    assert len(warned) == 2


def test_a_rerun_that_finds_the_same_unreadable_input_writes_nothing(tmp_path: Path) -> None:
    """A dangling link (or a FIFO) in a folder rerun every night: the run says so again, and
    leaves the dataset as the last run wrote it. It rewrote it every time, and a dataset one
    may only read could not be rerun at all. A new unreadable input still commits."""
    folder = _folder(tmp_path / "logs", count=3)
    os.symlink(tmp_path / "nowhere", folder / "dangling.log")
    out = tmp_path / "ds"
    first = triage.ingest([str(folder)], out=str(out))
    assert [e.error_class for e in first.errors] == ["broken-link"]
    manifest = (out / "manifest.json").read_bytes()
    again = triage.ingest([str(folder)], out=str(out))
    assert again.processed == 0 and [e.error_class for e in again.errors] == ["broken-link"]
    assert (out / "manifest.json").read_bytes() == manifest
    os.symlink(tmp_path / "elsewhere", folder / "dangling2.log")
    triage.ingest([str(folder)], out=str(out))
    errors = triage.open_dataset(str(out)).errors
    assert sorted(errors.path.map(os.path.basename)) == ["dangling.log", "dangling2.log"]
    os.unlink(folder / "dangling.log")
    os.unlink(folder / "dangling2.log")
    triage.ingest([str(folder)], out=str(out))
    assert triage.open_dataset(str(out)).errors.empty


def test_a_dataset_inside_the_folder_it_reads_does_not_read_itself(tmp_path: Path) -> None:
    """`triage ingest case/ --out case/ds`: the dataset's own files became inputs, more of
    them each run, and no rerun was ever unchanged."""
    folder = _folder(tmp_path / "case", count=3)
    out = folder / "ds"
    counts = []
    for _ in range(3):
        s = triage.ingest([str(folder)], out=str(out))
        counts.append((s.counts["sources"], s.processed))
    assert counts == [(3, 3), (3, 0), (3, 0)]
    paths = triage.open_dataset(str(out)).sources.path
    assert not paths.str.startswith("ds/").any()
