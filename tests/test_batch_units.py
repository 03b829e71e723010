"""Units of work and their context: what a unit's facts may depend on."""

from __future__ import annotations

from pathlib import Path

from triage.batch.units import make_units
from triage.model import KIND_CONFIG, SourceFile


def _loose(path: str, kind: str = "console") -> SourceFile:
    return SourceFile(disk_path=path, bundle="/case", path=path.removeprefix("/case/"), kind=kind)


def test_loose_logs_take_facts_from_bundles_above_them_not_from_each_other() -> None:
    report = SourceFile(
        disk_path="/case/bug-report.tar.bz2",
        members=("bug-report/xapi-db.xml",),
        bundle="/case/bug-report.tar.bz2",
        path="bug-report/xapi-db.xml",
        kind=KIND_CONFIG,
    )
    logs = [_loose(f"/case/guest-{i}.log") for i in range(50)]
    nested = _loose("/case/vm7/messages", "syslog")
    inventory = _loose("/case/xensource-inventory", KIND_CONFIG)
    units = {u.key: u for u in make_units([report, *logs, nested, inventory])}
    assert len(units) == 53
    ctx = {s.disk_path for s in units["/case/guest-3.log"].context}
    assert ctx == {"/case/guest-3.log", "/case/bug-report.tar.bz2", "/case/xensource-inventory"}
    ctx = {s.disk_path for s in units["/case/vm7/messages"].context}
    assert "/case/bug-report.tar.bz2" in ctx and "/case/guest-3.log" not in ctx
    assert units["/case/bug-report.tar.bz2"].context == [report]  # a bundle speaks for itself


def test_packs_group_archives_and_same_folder_logs_and_leave_every_worker_work() -> None:
    from triage.batch.units import Unit, make_packs
    from triage.sources import DeferredArchive

    archives = [
        Unit(key=f"/b/r{i}.tar.gz", archive=DeferredArchive(f"/b/r{i}.tar.gz", "x", 1000, 0.0))
        for i in range(40)
    ]
    for u in archives:
        u._size = 200_000
    logs = [_loose(f"/case/{d}/host{i}.log") for d in ("a", "b") for i in range(30)]
    units = make_units(logs)
    for u in units:
        u._size = 20_000
    packs = make_packs(archives + units, workers=2)
    for p in packs:
        kinds = {u.archive is not None for u in p}
        folders = {u.key.rsplit("/", 1)[0] for u in p}
        assert len(kinds) == 1 and (p[0].archive is not None or len(folders) == 1)
    assert sum(len(p) for p in packs) == 100
    archive_packs = [p for p in packs if p[0].archive is not None]
    assert 8 <= len(archive_packs) < 40  # shared, yet at least four per worker


def test_packs_of_a_group_are_even_and_come_in_whole_rounds_of_workers() -> None:
    """200 equal bundles on 2 workers used to be 11 packs of 18 and one of 2: the last round
    kept one worker busy for a whole pack while the other had two bundles."""
    from triage.batch.units import Unit, make_packs
    from triage.sources import DeferredArchive

    for count, workers in ((200, 2), (201, 2), (97, 3), (40, 4)):
        archives = [
            Unit(key=f"/b/s{i}.tar.xz", archive=DeferredArchive(f"/b/s{i}.tar.xz", "x", 1, 0.0))
            for i in range(count)
        ]
        for i, u in enumerate(archives):
            u._size = 200_000 + 1_000 * (i % 7)
        packs = make_packs(archives, workers=workers)
        assert sorted(u.key for p in packs for u in p) == sorted(u.key for u in archives)
        assert len(packs) % workers == 0 and len(packs) >= 4 * workers
        sizes = [sum(u.size for u in p) for p in packs]
        assert max(sizes) - min(sizes) <= 2 * max(u.size for u in archives)


def test_uneven_units_never_push_a_pack_past_its_bounds() -> None:
    from triage.batch import units as units_mod
    from triage.batch.units import Unit, make_packs
    from triage.sources import DeferredArchive

    archives = [
        Unit(key=f"/b/s{i}.zip", archive=DeferredArchive(f"/b/s{i}.zip", "x", 1, 0.0))
        for i in range(60)
    ]
    for i, u in enumerate(archives):
        u._size = 50_000 if i % 10 else 3_000_000  # a few big bundles among small ones
    for workers in (1, 2, 3):
        packs = make_packs(archives, workers=workers)
        assert sorted(u.key for p in packs for u in p) == sorted(u.key for u in archives)
        count_cap = max(1, min(units_mod.PACK_UNITS, 60 // (workers * units_mod.PACKS_PER_WORKER)))
        for p in packs:
            assert len(p) <= count_cap
            assert len(p) == 1 or sum(u.size for u in p) <= units_mod.ARCHIVE_PACK_BYTES


def test_an_input_given_twice_or_inside_another_is_read_once(tmp_path) -> None:
    """`ingest case/dmesg case/dmesg`, `ingest case case/dmesg` and `ingest case case/../case/.`
    gave each file two to three sources rows, and its crashes as many times: every count and
    group a fleet query makes was inflated. Each input is read once, as first spelled."""
    import os

    import triage
    from triage.sources.walker import distinct_inputs

    case = tmp_path / "case"
    case.mkdir()
    log = case / "dmesg"
    log.write_bytes(
        b"Linux version 2.6.18-128.el5xen (mockbuild@builder10.centos.org) (gcc version 4.1.2 "
        b"20080704 (Red Hat 4.1.2-44)) #1 SMP Wed Jan 21 11:55:02 EST 2009\n"
        b"Kernel panic - not syncing: Fatal exception\n"
    )
    (tmp_path / "link").symlink_to(case)
    spellings = [
        [str(log), str(log)],
        [str(case), str(log)],
        [str(case), f"{case}/../case/."],
        [f"{case}/", str(tmp_path / "link")],
        [str(tmp_path / "link" / "dmesg"), str(case)],
        [str(tmp_path), str(case), str(log)],
    ]
    for paths in spellings:
        (kept,) = distinct_inputs(paths)
        assert kept == os.path.normpath(paths[0]) or kept in (str(case), str(tmp_path))
        ds = triage.ingest(paths, out=str(tmp_path / "ds"), force=True).dataset
        assert len(ds.sources) == 1 and len(ds.crashes) == 1, paths
    # different files and folders side by side are all kept, in the order given, and so is
    # a path that does not exist (the walk says it is missing)
    other = tmp_path / "other"
    other.mkdir()
    paths = [str(other), str(case), str(case / "gone"), str(tmp_path / "x.log")]
    assert distinct_inputs(paths) == paths


def test_a_status_report_unpacked_beside_a_guest_log_is_its_context(tmp_path) -> None:
    """Engineers unpack bundles: `case/guest-rhel47vm.log` beside `case/bug-report-<ts>/…`
    was read as if alone (no VM link, no host facts: the wrong signature and `<vm_uuid>` in
    the workaround), where the same report packed beside it is its context. The report's own
    files keep the context they had (its folder and those above), not each other whole."""
    import shutil
    import tarfile

    import triage

    case = tmp_path / "case"
    case.mkdir()
    sample = Path(__file__).resolve().parents[1] / "samples" / "case-xs01"
    shutil.copy(sample / "guest-rhel47vm.log", case)
    with tarfile.open(sample / "bug-report-20090615103000.tar.bz2") as tar:
        tar.extractall(case, filter="data")
    packed = tmp_path / "packed"
    shutil.copytree(sample, packed)

    def finding(folder: Path) -> tuple[str, str, str]:
        (f,) = triage.scan(
            [str(folder)], out=str(tmp_path / f"ds-{folder.name}")
        ).dataset.findings.itertuples()
        return f.signature_id, f.verdict, f.vm_uuid

    got = finding(case)
    assert got == finding(packed) and got[2]
    # a unit of the report itself does not take the whole report for its context
    walked = [s for s in triage.sources.walk([str(case)]) if isinstance(s, SourceFile)]
    units = {u.key.rsplit("/", 1)[-1]: u for u in make_units(walked)}
    guest = units["guest-rhel47vm.log"]
    assert any(s.disk_path.endswith("xapi-db.xml") for s in guest.context)
    inside = units["xensource-inventory"]
    assert not any(s.disk_path.endswith("/xensource.log") for s in inside.context)
