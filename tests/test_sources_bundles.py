"""Walking realistic bundles: layouts, roles, rotation order, links, years, nested archives."""

from __future__ import annotations

import gzip
import lzma
import os
from pathlib import Path

import pytest
from helpers_sources import (
    BUG,
    CONSOLE,
    DMESG_HEAD,
    SOS,
    SYSLOG,
    VMCORE_DMESG,
    compress,
    sosreport_files,
    status_report_files,
    tar_bytes,
    write,
    zip_bytes,
)

from triage.limits import DEFAULT_LIMITS
from triage.model import ErrorRecord, SourceFile
from triage.sources import open_binary, read_bytes, walk


def _split(out: list) -> tuple[list[SourceFile], list[ErrorRecord]]:
    return [o for o in out if isinstance(o, SourceFile)], [
        o for o in out if isinstance(o, ErrorRecord)
    ]


def _by_path(files: list[SourceFile]) -> dict[str, SourceFile]:
    return {f.path: f for f in files}


def test_sosreport_tar_xz(tmp_path: Path) -> None:
    files, links = sosreport_files()
    bundle = write(tmp_path / f"{SOS}.tar.xz", tar_bytes(files, links, "xz", mtime=1709600000))
    srcs, errs = _split(list(walk([str(bundle)])))
    by = _by_path(srcs)
    assert all(s.layout == "sosreport" and s.bundle == str(bundle) for s in srcs)
    # the sos root symlink is followed inside the bundle and yields the file once
    uname = [s for s in srcs if s.role == "uname"]
    assert len(uname) == 1 and uname[0].kind == "config"
    assert read_bytes(uname[0]).data.startswith(b"Linux web07 3.10.0-1160")
    # var/log/messages → sos_strings/…tailed: logical path kept, marked truncated, readable
    live = by[f"{SOS}/var/log/messages"]
    assert live.truncated and live.role == "messages" and live.kind == "syslog"
    assert live.members == (f"{SOS}/sos_strings/logs/var.log.messages.tailed",)
    assert read_bytes(live).data == SYSLOG
    assert not any("sos_strings" in s.path for s in srcs)
    # manifest.json says the dmesg command output was truncated
    assert by[f"{SOS}/sos_commands/kernel/dmesg"].truncated
    assert by[f"{SOS}/sos_commands/kernel/dmesg"].kind == "dmesg"
    # rotation: 0 live, newest rotated 1; walk order oldest first
    msgs = [s for s in srcs if s.role == "messages"]
    assert [(m.path.rsplit("/", 1)[1], m.rotation) for m in msgs] == [
        ("messages-20240225", 2),
        ("messages-20240303", 1),
        ("messages", 0),
    ]
    vmd = next(s for s in srcs if s.role == "vmcore-dmesg")
    assert vmd.kind == "vmcore-dmesg" and vmd.year_hint == 2024
    assert next(s for s in srcs if s.role == "journal").kind == "journal"
    assert next(s for s in srcs if s.role == "installed-rpms").kind == "config"
    # the absolute etc/localtime link points at the host: reported, never followed
    assert [e.error_class for e in errs] == ["link-outside-bundle"]
    assert "etc/localtime" in errs[0].message


def test_year_hint_prefers_rotation_date_then_mtime_then_bundle_date(tmp_path: Path) -> None:
    files, links = sosreport_files()
    # member mtimes after the collection date (a re-packed copy): the name's date wins
    late = write(tmp_path / "late.tar.xz", tar_bytes(files, links, "xz", mtime=1893456000))
    by = _by_path(_split(list(walk([str(late)])))[0])
    assert by[f"{SOS}/sos_commands/kernel/dmesg"].year_hint == 2024
    assert by[f"{SOS}/var/log/messages-20240225"].year_hint == 2024
    # an old mtime (a rotated file written long before collection) is trusted
    early = write(
        tmp_path / "early.tar.xz", tar_bytes(files, links, "xz", mtime=1577836800 + 86400)
    )
    by = _by_path(_split(list(walk([str(early)])))[0])
    assert by[f"{SOS}/sos_commands/kernel/dmesg"].year_hint == 2020


def test_status_report_tar_bz2(tmp_path: Path) -> None:
    bundle = write(tmp_path / f"{BUG}.tar.bz2", tar_bytes(status_report_files(), compression="bz2"))
    srcs, errs = _split(list(walk([str(bundle)])))
    assert not errs
    assert {s.layout for s in srcs} == {"status-report"}
    roles = {s.path.split(BUG + "/", 1)[1]: (s.role, s.kind) for s in srcs}
    assert roles["var/log/xensource.log"] == ("xensource", "xensource")
    assert roles["var/log/xensource.log.2.gz"] == ("xensource", "xensource")
    assert roles["xl-info.out"] == ("xl-info", "config")
    assert roles["xapi-db.xml"] == ("xapi-db", "config")
    assert roles["etc/xensource-inventory"] == ("inventory", "config")
    assert roles["var/log/kern.log"] == ("kern-log", "syslog")
    assert roles["xl-dmesg.out"][0] == "xen-dmesg"
    xs = [s for s in srcs if s.role == "xensource"]
    assert [(s.path.rsplit("/", 1)[1], s.rotation) for s in xs] == [
        ("xensource.log.2.gz", 2),
        ("xensource.log.1.gz", 1),
        ("xensource.log", 0),
    ]
    assert all(s.year_hint for s in xs)
    old = xs[0]
    assert old.members[-1] == "" and old.depth == 2
    assert read_bytes(old).data.startswith(b"[20100914T14:02:00.405Z|debug|xs-host1|")


def test_xencenter_zip_of_hosts(tmp_path: Path) -> None:
    # XenCenter: zip of <ts>-bugtool-<host>/bug-report-<ts>/… folders, plus a host .tar
    files = {}
    for host in ("xs01", "xs02"):
        files.update(
            {k: v for k, v in status_report_files(f"2023-04-11-09-30-12-bugtool-{host}/").items()}
        )
    files["xs03-bugtool.tar"] = tar_bytes(status_report_files())
    bundle = write(tmp_path / "status-report.zip", zip_bytes(files))
    srcs, errs = _split(list(walk([str(bundle)])))
    assert not errs
    xs = [s for s in srcs if s.role == "xensource" and s.rotation == 0]
    assert len(xs) == 3
    assert {s.bundle for s in xs} == {str(bundle), f"{bundle}!xs03-bugtool.tar"}
    nested = next(s for s in xs if s.bundle.endswith("xs03-bugtool.tar"))
    assert nested.path == f"{BUG}/var/log/xensource.log" and nested.year_hint == 2023
    assert read_bytes(nested).data.startswith(b"Apr 11 09:00:00 xs01 xenopsd-xc:")
    assert all(s.layout == "status-report" for s in srcs)


def test_kdump_directory_and_guest_console(tmp_path: Path) -> None:
    root = tmp_path / "var" / "crash"
    write(root / "127.0.0.1-2019-12-31-23:59:01" / "vmcore-dmesg.txt", VMCORE_DMESG)
    write(root / "127.0.0.1-2019-12-31-23:59:01" / "vmcore", b"KDUMP   " + bytes(4096))
    cons = tmp_path / "xen" / "console"
    write(cons / "guest-web07.log", CONSOLE)
    write(cons / "guest-db-01.log.1", CONSOLE)
    srcs, errs = _split(list(walk([str(tmp_path)])))
    assert not errs
    by = {s.path: s for s in srcs}
    vmd = by["var/crash/127.0.0.1-2019-12-31-23:59:01/vmcore-dmesg.txt"]
    assert (vmd.layout, vmd.role, vmd.kind) == ("kdump", "vmcore-dmesg", "vmcore-dmesg")
    core = by["var/crash/127.0.0.1-2019-12-31-23:59:01/vmcore"]
    assert (core.role, core.kind) == ("vmcore", "dump")
    assert by["xen/console/guest-web07.log"].vm_name == "web07"
    g = by["xen/console/guest-db-01.log.1"]
    assert (g.vm_name, g.kind, g.layout, g.rotation) == ("db-01", "console", "xen-console", 1)
    # a loose kdump file named directly still gets its layout from its own path
    (loose,) = walk([str(root / "127.0.0.1-2019-12-31-23:59:01" / "vmcore-dmesg.txt")])
    assert isinstance(loose, SourceFile)
    assert (loose.layout, loose.kind, loose.year_hint) == ("kdump", "vmcore-dmesg", 2019)
    assert loose.display == loose.path == loose.bundle
    with open_binary(core) as fh:
        assert fh.read(8) == b"KDUMP   " and hasattr(fh, "fileno")


def test_hourly_dateext_rotations_rank_newest_first(tmp_path: Path) -> None:
    """logrotate's `dateformat -%Y%m%d%H` names a day's several files by hour: the newest
    hour is rotation 1, as the newest day is, and the walk lists them oldest first."""
    logs = tmp_path / "logs"
    write(logs / "messages", SYSLOG)
    for hour in ("04", "08", "12"):
        write(logs / f"messages-20240105{hour}", SYSLOG)
    write(logs / "messages-2024010422.gz", compress(SYSLOG, "gz"))
    srcs, errs = _split(list(walk([str(logs)])))
    assert not errs
    assert [(Path(s.path).name, s.rotation) for s in srcs] == [
        ("messages-2024010422.gz", 4),
        ("messages-2024010504", 3),
        ("messages-2024010508", 2),
        ("messages-2024010512", 1),
        ("messages", 0),
    ]


def test_rotated_messages_compressed_every_way_detected_by_magic(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    write(logs / "messages", SYSLOG)
    write(logs / "messages.1", SYSLOG)
    write(logs / "messages.2.gz", compress(SYSLOG, "gz"))
    write(logs / "messages.3.xz", compress(SYSLOG, "xz"))
    write(logs / "messages.4.zst", compress(SYSLOG, "zst"))
    write(logs / "messages.5.bz2", compress(SYSLOG, "bz2"))
    # wrong suffix: content is xz, name says gz
    write(logs / "messages.6.gz", compress(SYSLOG, "xz"))
    write(logs / "messages.7.lz4", compress(SYSLOG, "lz4"))
    srcs, errs = _split(list(walk([str(logs)])))
    assert not errs
    assert [s.rotation for s in srcs] == [7, 6, 5, 4, 3, 2, 1, 0]
    assert all(s.kind == "syslog" and s.role == "messages" for s in srcs)
    for s in srcs:
        assert read_bytes(s).data == SYSLOG, s.path


def test_formats_triage_cannot_read_are_named_in_errors_and_the_walk_goes_on(
    tmp_path: Path,
) -> None:
    logs = tmp_path / "logs"
    write(logs / "messages", SYSLOG)
    write(logs / "messages.1.Z", b"\x1f\x9d\x90" + bytes(range(200)))  # compress(1)
    write(logs / "bundle.7z", b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(200))
    whole = compress(SYSLOG * 2000, "lz4")
    write(logs / "cut.lz4", whole[: len(whole) // 2])  # a truncated upload
    srcs, errs = _split(list(walk([str(logs)])))
    got = {e.path.replace("!", "/").rsplit("/", 1)[-1]: (e.error_class, e.message) for e in errs}
    assert got["messages.1.Z"][0] == got["bundle.7z"][0] == "unsupported-compression"
    assert "compress (.Z) data" in got["messages.1.Z"][1] and "7-Zip" in got["bundle.7z"][1]
    assert [s.path.rsplit("/", 1)[-1] for s in srcs] == ["cut.lz4", "messages"]
    cut = read_bytes(srcs[0])  # the blocks before the cut
    assert len(SYSLOG) * 100 < len(cut.data) < len(SYSLOG) * 2000
    assert (SYSLOG * 2000).startswith(cut.data)
    assert [e.error_class for e in cut.errors] == ["truncated-lz4"]


def test_damaged_lz4_keeps_the_blocks_before_the_damage(tmp_path: Path) -> None:
    whole = compress(SYSLOG * 2000, "lz4")
    path = write(tmp_path / "messages.1.lz4", whole[:2000] + bytes(5000) + whole[7000:])
    (src,) = _split(list(walk([str(path)])))[0]
    got = read_bytes(src)
    assert got.data and (SYSLOG * 2000).startswith(got.data)
    assert [e.error_class for e in got.errors] == ["corrupt-lz4"]


def test_nested_tar_in_zip_in_tar_gz(tmp_path: Path) -> None:
    inner = tar_bytes(
        {"host/var/log/dmesg": DMESG_HEAD, "host/var/log/messages.1.gz": gzip.compress(SYSLOG)}
    )
    middle = zip_bytes({"case/inner.tar": inner, "case/notes.txt": b"customer says it hangs\n"})
    outer = write(
        tmp_path / "case.tar.gz", tar_bytes({"upload/evidence.zip": middle}, compression="gz")
    )
    srcs, errs = _split(list(walk([str(outer)])))
    assert not errs
    by = {(s.bundle, s.path): s for s in srcs}
    zip_bundle = f"{outer}!upload/evidence.zip"
    tar_bundle = f"{zip_bundle}!case/inner.tar"
    dm = by[(tar_bundle, "host/var/log/dmesg")]
    assert dm.members == ("upload/evidence.zip", "case/inner.tar", "host/var/log/dmesg")
    assert dm.kind == "dmesg" and dm.depth == 3
    gz = by[(tar_bundle, "host/var/log/messages.1.gz")]
    assert gz.depth == 4 and gz.rotation == 1 and read_bytes(gz).data == SYSLOG
    assert read_bytes(dm).data == DMESG_HEAD
    assert by[(zip_bundle, "case/notes.txt")].kind == "unknown"


def test_open_binary_modes(tmp_path: Path) -> None:
    core = b"KDUMP   " + os.urandom(300_000)
    plain = write(tmp_path / "plain.tar", tar_bytes({"var/crash/vmcore": core}))
    packed = write(
        tmp_path / "packed.tar.xz", tar_bytes({"var/crash/vmcore": core}, compression="xz")
    )
    stored = write(tmp_path / "stored.zip", zip_bytes({"vmcore": core}, stored=True))
    for path in (plain, packed, stored):
        (src,) = [s for s in walk([str(path)]) if isinstance(s, SourceFile)]
        assert src.kind == "dump"
        with open_binary(src) as fh:
            fh.seek(200_000)
            assert fh.read(16) == core[200_000:200_016]
            fh.seek(0)
            assert fh.read() == core
    # an uncompressed tar member is a window on the real file, not a copy
    (src,) = [s for s in walk([str(plain)]) if isinstance(s, SourceFile)]
    with open_binary(src) as fh:
        assert fh.fileno() >= 0
        assert fh.raw.base_offset > 0  # type: ignore[attr-defined]


def test_a_compressed_source_is_inflated_once_within_shared_spools(tmp_path: Path) -> None:
    """Two passes over a large compressed log share one spool: the second reads what the
    first inflated (even with the file gone meanwhile), and the spool is closed with the
    block; outside one, every open inflates the source again."""
    from triage.sources import shared_spools

    body = SYSLOG * 300
    path = write(tmp_path / "messages.1.gz", gzip.compress(body, mtime=0))
    (src,) = [s for s in walk([str(path)]) if isinstance(s, SourceFile)]
    with shared_spools():
        with open_binary(src) as fh:
            assert fh.read() == body
            first = fh
        path.unlink()
        with shared_spools(), open_binary(src) as fh:  # a nested block shares the outer's
            assert fh is first and fh.read() == body
        assert not first.closed
    assert first.closed
    with pytest.raises(OSError), open_binary(src):  # outside a block: read from disk again
        pass


def test_read_bytes_cap_and_cache_reuse(tmp_path: Path) -> None:
    body = SYSLOG * 200
    path = write(
        tmp_path / "logs.tar.xz",
        tar_bytes({f"m{i}/messages": body for i in range(5)}, compression="xz"),
    )
    srcs = [s for s in walk([str(path)]) if isinstance(s, SourceFile)]
    small = DEFAULT_LIMITS.override(max_file_bytes=1000)
    r = read_bytes(srcs[0], small)
    assert r.truncated and len(r.data) == 1000 and r.errors[0].error_class == "limit-file-bytes"
    for s in srcs:
        assert read_bytes(s).data == body
    loose = write(tmp_path / "big.log", body)
    (src,) = walk([str(loose)])
    r = read_bytes(src, small)
    assert r.truncated and r.data == body[:1000]
    assert lzma.decompress(path.read_bytes())  # the archive itself was not modified


def test_a_stream_inflates_a_probe_sized_step_first_then_doubles(tmp_path: Path) -> None:
    """Probing a compressed bundle (what a walk that defers archives does) must not inflate
    the whole bundle; reading on must still give every byte, in growing steps."""
    import bz2

    from triage.sources.decompress import FIRST_OUT_CHUNK, OUT_CHUNK, DecompressedStream

    body = os.urandom(64) * 2 + b"".join(b"line %d of the log\n" % i for i in range(200_000))
    for name, packed in (
        ("gzip", gzip.compress(body)),
        ("xz", lzma.compress(body)),
        ("bzip2", bz2.compress(body)),
    ):
        path = tmp_path / f"body.{name}"
        path.write_bytes(packed)
        with open(path, "rb") as raw:
            stream = DecompressedStream(raw, name, DEFAULT_LIMITS)
            buf = bytearray(4 * OUT_CHUNK)
            steps = []
            out = bytearray()
            while n := stream.readinto(buf):
                steps.append(n)
                out += buf[:n]
        assert bytes(out) == body, name
        assert steps[0] <= FIRST_OUT_CHUNK, name
        assert 2 * FIRST_OUT_CHUNK < max(steps) <= OUT_CHUNK, name  # later steps are larger


def test_sos4_hostnamectl_and_utc_date_are_not_taken_for_hostname_and_date() -> None:
    """sos 3/4 save `hostnamectl status` beside `hostname`, and `date --utc` beside `date`: the
    globs `hostname*` and `date*` gave every such sosreport an error row ("no host name in
    it") and a second host.date in another zone."""
    from triage.sources import layouts as L

    root = [L.Root("sosreport", "sosreport-api08-2021-03-01-xqzbtaa/")]
    base = "sosreport-api08-2021-03-01-xqzbtaa/sos_commands/"
    roles = {
        name: L.role_of(base + name, root)
        for name in (
            "host/hostname",
            "host/hostname_-f",
            "host/hostnamectl_status",
            "general/hostname",
            "date/date",
            "date/date_--utc",
        )
    }
    assert roles == {
        "host/hostname": "hostname",
        "host/hostname_-f": "hostname",
        "host/hostnamectl_status": "",
        "general/hostname": "hostname",
        "date/date": "date",
        "date/date_--utc": "",
    }
