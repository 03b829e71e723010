"""Dump formats × printk generations: the carved log and the header facts."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from dumpbuilder import (
    BANNER_RHEL5,
    RECORDS,
    RELEASE_RHEL5,
    RELEASE_RHEL7,
    RELEASE_RHEL9,
    Image,
    build_elf,
    elf_vmcore,
    expected_text,
    flatten,
    i386_image,
    kdump_compressed,
    legacy_text,
    printk_legacy,
    printk_lockless,
    printk_structured,
    put_uts_ns,
    system_map,
    utsname,
    vmcoreinfo,
    xen_core,
    xend_legacy,
)

from triage.dumps import DumpResult, read_dump, sniff
from triage.model import SourceFile

SRC = SourceFile(
    disk_path="/b/vmcore",
    bundle="case1.tar.xz",
    path="var/crash/127.0.0.1-2024-04-24-23:06:40/vmcore",
)


def run(data: bytes, **kw: object) -> DumpResult:
    return read_dump(SRC, io.BytesIO(data), **kw)  # type: ignore[arg-type]


def facts(r: DumpResult) -> dict[str, str]:
    return {f.key: f.value for f in r.facts}


def symbols(img: Image) -> dict[str, int]:
    return {k[7:-1]: int(v, 16) for k, v in img.entries.items() if k.startswith("SYMBOL(")}


@pytest.mark.parametrize(
    ("gen", "release", "printk"),
    [
        ("legacy", RELEASE_RHEL5, "legacy"),
        ("legacy-i386", RELEASE_RHEL5, "legacy"),
        ("structured", RELEASE_RHEL7, "structured"),
        ("lockless", RELEASE_RHEL9, "lockless"),
    ],
)
def test_elf_vmcore_each_generation(gen: str, release: str, printk: str) -> None:
    core, expected = build_elf(gen)
    assert sniff(core[:4096]) == "elf-vmcore"
    r = run(core)
    assert r.errors == []
    assert r.format == "elf-vmcore"
    assert r.log == expected
    f = facts(r)
    assert f["kernel.release"] == release
    assert f["dump.printk"] == printk
    assert f["dump.hostname"] == "web01.example.com"
    assert f["crash.time"] == "2024-04-24T23:06:40Z"
    assert f["dump.page_size"] == "4096"
    assert f["dump.nr_cpus"] == "2"
    assert f["dump.arch"] == ("i386" if gen == "legacy-i386" else "x86_64")
    assert f["dump.elf_class"] == ("ELF32" if gen == "legacy-i386" else "ELF64")
    assert f["dump.log_lines"] == str(expected.count(b"\n"))
    host = {(x.subject_type, x.subject_id) for x in r.facts}
    assert host == {("host", "web01.example.com")}
    assert all(x.source_path == SRC.display for x in r.facts)
    crash = next(x for x in r.facts if x.key == "crash.time")
    assert crash.time is not None and crash.time.year == 2024


def test_legacy_log_keeps_priority_prefixes_and_raw_bytes() -> None:
    core, _ = build_elf("legacy")
    log = run(core).log or b""
    assert log.startswith(b"<0>[    0.000000] Linux version")
    assert b"<3>[   63.001234] BUG: kernel NULL pointer dereference" in log
    assert b"\xff" in log  # legacy rings are copied raw, as vmcore-dmesg does


def test_structured_and_lockless_escape_like_vmcore_dmesg() -> None:
    for gen in ("structured", "lockless"):
        log = run(build_elf(gen)[0]).log or b""
        assert (
            b"[   63.001260] RIP: 0010:ext4_put_super+0x1a/0x3c0 [ext4]\ttabbed \\x01bell\\xff\n"
            in log
        )
        assert log.splitlines()[0].startswith(b"[    0.000000] Linux version 5.14.0")


def test_legacy_ring_wrapped_keeps_the_tail_rotated() -> None:
    records = [(i * 1_000_000, b"message number %03d with padding text" % i) for i in range(40)]
    core, expected = build_elf("legacy", records=records, buf_len=512)
    log = run(core).log
    assert log == expected
    assert len(log or b"") == 512
    assert (log or b"").endswith(b"message number 039 with padding text\n")


def test_structured_wrapped_drops_oldest_and_the_end_marker() -> None:
    records = [
        (i * 10_000_000, b"structured record %04d " % i + b"x" * (i % 37)) for i in range(300)
    ]
    core, expected = build_elf("structured", records=records, buf_len=4096)
    r = run(core)
    assert r.errors == []
    assert r.log == expected
    lines = (r.log or b"").splitlines()
    assert b"record 0000" not in r.log  # type: ignore[operator]
    assert lines[-1].startswith(b"[    2.990000] structured record 0299")
    assert b"[    0.000000] " not in lines  # vmcore-dmesg's bogus marker line is dropped


def test_lockless_wrapped_ids_and_data_ring() -> None:
    records = [(i * 1000, b"lockless record %03d " % i + b"y" * (i % 23)) for i in range(100)]
    id_mask = (1 << 62) - 1
    core, expected = build_elf(
        "lockless", records=records, size_bits=9, count_bits=3, base_id=id_mask - 40
    )
    r = run(core)
    assert r.errors == []
    assert r.log == expected
    assert (r.log or b"").count(b"\n") <= 8
    assert (r.log or b"").endswith(b"lockless record 099 " + b"y" * (99 % 23) + b"\n")


def test_structured_big_endian_ppc64() -> None:
    img = Image(endian=">", va=0xC000000001E00000)
    put_uts_ns(img, utsname(release="4.18.0-513.el8.ppc64", machine="ppc64"))
    kept = printk_structured(img, RECORDS)
    core = elf_vmcore(img, vmcoreinfo(img, "4.18.0-513.el8.ppc64"), machine=21)
    r = run(core)
    assert r.errors == []
    assert r.log == expected_text(kept)
    assert facts(r)["dump.arch"] == "ppc64"


def test_pre_311_log_struct_name() -> None:
    img = Image()
    kept = printk_structured(img, RECORDS, struct_name="log")
    r = run(elf_vmcore(img, vmcoreinfo(img, "3.8.13-44.el6uek.x86_64")))
    assert r.log == expected_text(kept)


def lockless_image() -> tuple[Image, bytes]:
    img = Image()
    put_uts_ns(img, utsname())
    kept = printk_lockless(img, RECORDS)
    return img, expected_text(kept)


@pytest.mark.parametrize("compress", ["zlib", "zstd", "none"])
def test_kdump_compressed(compress: str) -> None:
    img, expected = lockless_image()
    raw_pfn = img.pa // 4096 + 2  # one page stored uncompressed, as makedumpfile does for noise
    kd = kdump_compressed(
        img.pages(),
        utsname(),
        vmcoreinfo(img, RELEASE_RHEL9),
        compress=compress,
        raw_pfns=frozenset({raw_pfn}),
    )
    assert sniff(kd[:4096]) == "kdump-compressed"
    r = run(kd)
    assert r.errors == []
    assert r.log == expected
    f = facts(r)
    assert f["dump.format"] == "kdump-compressed"
    assert f["dump.compression"] == compress
    assert f["dump.level"] == "31"
    assert f["dump.nr_cpus"] == "4"
    assert f["dump.header_version"] == "6"
    assert f["kernel.release"] == RELEASE_RHEL9
    assert f["kernel.version"].startswith("#1 SMP")
    assert f["dump.hostname"] == "web01.example.com"
    assert f["crash.time"] == "2024-04-24T23:06:40Z"


def test_kdump_compressed_i386_legacy() -> None:
    img = i386_image()
    expected = printk_legacy(img, legacy_text(RECORDS))
    uts = utsname(machine="i686", release=RELEASE_RHEL5, nodename="rhel5-32")
    kd = kdump_compressed(img.pages(), uts, vmcoreinfo(img, RELEASE_RHEL5), bits=32)
    r = run(kd)
    assert r.errors == []
    assert r.log == expected
    assert facts(r)["dump.hostname"] == "rhel5-32"


def test_kdump_structured_via_phys_base() -> None:
    """x86_64 kernel-image VAs translate with the sub-header's phys_base (relocated kernel)."""
    img = Image(pa=0x1E00000 + 0x1000000)  # loaded 16 MiB higher than linked
    kept = printk_structured(img, RECORDS)
    kd = kdump_compressed(
        img.pages(),
        utsname(release=RELEASE_RHEL7),
        vmcoreinfo(img, RELEASE_RHEL7),
        phys_base=0x1000000,
    )
    r = run(kd)
    assert r.errors == []
    assert r.log == expected_text(kept)


def test_flattened_replays_out_of_order_records_later_wins() -> None:
    img, expected = lockless_image()
    kd = kdump_compressed(img.pages(), utsname(), vmcoreinfo(img, RELEASE_RHEL9))
    flat = flatten(kd)
    assert sniff(flat[:4096]) == "flattened"
    r = run(flat)
    assert r.errors == []
    assert r.log == expected
    assert facts(r)["dump.format"] == "flattened kdump-compressed"


def test_flattened_elf_inside() -> None:
    core, expected = build_elf("structured")
    r = run(flatten(core, chunk=5000))
    assert r.log == expected
    assert r.format == "flattened elf-vmcore"


def test_diskdump_header_and_log_with_system_map(tmp_path: Path) -> None:
    img = Image()
    expected = printk_legacy(img, legacy_text(RECORDS))
    uts = utsname(release="2.6.9-89.ELsmp", nodename="rhel4box")
    dd = kdump_compressed(img.pages(), uts, None, signature=b"DISKDUMP", version=1)
    assert sniff(dd[:4096]) == "diskdump"
    bare = run(dd)
    assert bare.log is None
    assert facts(bare)["kernel.release"] == "2.6.9-89.ELsmp"
    assert facts(bare)["dump.hostname"] == "rhel4box"
    smap = tmp_path / "System.map-2.6.9-89.ELsmp"
    smap.write_text(system_map(symbols(img)))
    r = run(dd, system_map=str(smap))
    assert r.errors == []
    assert r.log == expected


def xen_pages(img: Image) -> dict[int, bytes]:
    pages = img.pages()
    pages[0x7] = BANNER_RHEL5.ljust(4096, b"\0")
    pages[0x40000] = b"\x01" * 4096  # high guest frames are not in order with the rest
    return pages


def test_xen_core_pv_x86_64_with_system_map(tmp_path: Path) -> None:
    img = Image(va=0xFFFFFFFF80000000 + 0x1E00000)
    put_uts_ns(img, utsname(release="2.6.18-398.el5xen", nodename="guest7"), export_offset=False)
    expected = printk_legacy(img, legacy_text(RECORDS))
    core = xen_core(xen_pages(img))
    assert sniff(core[:4096]) == "xen-core"
    bare = run(core)
    f = facts(bare)
    assert bare.log is None and bare.errors == []
    assert f["kernel.release"] == "2.6.18-398.el5xen"
    assert f["xen.nr_vcpus"] == "2"
    assert f["xen.nr_pages"] == str(len(xen_pages(img)))
    assert f["xen.domain_type"] == "pv"
    assert f["xen.version"] == "3.1.2-128.1.6.el5"
    assert "hvm-3.0-x86_64" in f["xen.capabilities"]
    smap = tmp_path / "System.map"
    smap.write_text(system_map(symbols(img)))
    r = run(core, system_map=str(smap))
    assert r.errors == []
    assert r.log == expected
    assert facts(r)["dump.hostname"] == "guest7"


def test_xen_core_hvm_i386_guest(tmp_path: Path) -> None:
    img = i386_image()
    expected = printk_legacy(img, legacy_text(RECORDS))
    core = xen_core(xen_pages(img), hvm=True, nr_vcpus=1)
    smap = tmp_path / "System.map"
    smap.write_text(system_map(symbols(img), ptr=4))
    r = run(core, system_map=str(smap))
    assert r.errors == []
    assert r.log == expected
    assert facts(r)["xen.domain_type"] == "hvm"


def test_xen_core_system_map_missing_symbol_is_an_error(tmp_path: Path) -> None:
    img = Image(va=0xFFFFFFFF80000000 + 0x1E00000)
    printk_legacy(img, legacy_text(RECORDS))
    smap = tmp_path / "System.map"
    smap.write_text("ffffffff80000000 T _text\n")
    r = run(xen_core(xen_pages(img)), system_map=str(smap))
    assert r.log is None
    assert [e.error_class for e in r.errors] == ["system-map-invalid"]
    r = run(xen_core(xen_pages(img)), system_map=str(tmp_path / "nope"))
    assert [e.error_class for e in r.errors] == ["system-map-unreadable"]
    assert facts(r)["kernel.release"] == "2.6.18-398.el5xen"  # header facts survive


def test_xend_legacy_header() -> None:
    pages = [bytes(4096), BANNER_RHEL5.ljust(4096, b"\0"), b"\x02" * 4096]
    core = xend_legacy(pages, nr_vcpus=4)
    assert sniff(core[:4096]) == "xen-core-legacy"
    r = run(core)
    f = facts(r)
    assert r.errors == []
    assert f["xen.nr_vcpus"] == "4"
    assert f["xen.nr_pages"] == "3"
    assert f["kernel.release"] == "2.6.18-398.el5xen"
    assert f["dump.format"] == "xen-core-legacy"


def test_elf_without_vmcoreinfo_falls_back_to_banner() -> None:
    img = Image()
    img.put(img.va + 0x3000, BANNER_RHEL5)
    from dumpbuilder import Load, elf_core, note

    core = elf_core([Load(img.va, img.pa, bytes(img.data))], note(b"CORE", 1, bytes(336)))
    r = run(core)
    assert facts(r)["kernel.release"] == "2.6.18-398.el5xen"
    assert [e.error_class for e in r.errors] == ["dump-no-vmcoreinfo"]
    assert r.log is None


def test_real_file_uses_mmap_and_matches_stream(tmp_path: Path) -> None:
    core, expected = build_elf("lockless")
    p = tmp_path / "vmcore"
    p.write_bytes(core)
    with p.open("rb") as fh:
        r = read_dump(SRC, fh)
    assert r.log == expected
    assert r.digest == run(core).digest


def test_digest_is_content_based_and_sampled() -> None:
    core, _ = build_elf("structured")
    d1 = run(core).digest
    assert len(d1) == 64 and d1 == run(core).digest
    changed = bytearray(core)
    changed[-10] ^= 1
    assert run(bytes(changed)).digest != d1
    big = core + bytes(3 * 1024 * 1024)  # beyond the whole-file limit: sampled
    big_changed = bytearray(big)
    big_changed[len(big) // 2 + 100] ^= 1  # inside the block sampled at size/2 (k = 32)
    assert run(big).digest != run(bytes(big_changed)).digest


def test_sniff_rejects_non_dumps() -> None:
    assert sniff(b"") is None
    assert sniff(b"\x7fELF") is None
    assert sniff(b"Apr 24 23:06:40 host kernel: hello\n" * 10) is None
    # a user-space process core: ET_CORE with user-space PT_LOADs
    from dumpbuilder import Load, elf_core, note

    user = elf_core([Load(0x400000, 0, b"\0" * 4096)], note(b"CORE", 3, bytes(136)))
    assert sniff(user[:4096]) is None
    # an executable
    exe = bytearray(user[:64])
    struct.pack_into("<H", exe, 16, 2)
    assert sniff(bytes(exe)) is None
    assert sniff(b"makedumpfile\0\0\0\0" + struct.pack(">QQ", 2, 1)) is None


def test_unknown_file_is_an_error_row() -> None:
    r = run(b"hello world\n" * 100)
    assert [e.error_class for e in r.errors] == ["dump-unknown-format"]
    assert r.errors[0].stage == "dumps"
    assert r.errors[0].message.startswith(SRC.display + ": ")
    assert r.errors[0].source_id == SRC.source_id


@pytest.mark.parametrize("container", ["tar", "zip"])
def test_a_dump_stored_uncompressed_in_an_archive_is_read_at_its_own_offset(
    tmp_path: Path, container: str
) -> None:
    """A vmcore in a plain tar (or a stored zip entry) is read in place, through a window
    onto the archive: its file descriptor is the archive's, which was mapped from byte 0, so
    the dump read the archive's first bytes and was "not a recognised crash dump"."""
    import tarfile
    import zipfile

    import triage

    core, expected = build_elf("structured")
    crash = "var/crash/127.0.0.1-2024-04-24-23:06:40/"
    ahead = b"kdump: saving vmcore-dmesg.txt\n" * 3000  # the dump starts well inside
    path = tmp_path / f"case.{container}"
    if container == "tar":
        with tarfile.open(path, "w") as tar:
            for name, data in ((crash + "kexec-dmesg.log", ahead), (crash + "vmcore", core)):
                ti = tarfile.TarInfo(name)
                ti.size = len(data)
                tar.addfile(ti, io.BytesIO(data))
    else:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
            zf.writestr(crash + "kexec-dmesg.log", ahead)
            zf.writestr(crash + "vmcore", core)
    out = tmp_path / "ds"
    triage.ingest([str(path)], out=str(out))
    ds = triage.open_dataset(str(out))
    assert ds.errors.empty
    kinds = dict(ds.sources[["path", "kind"]].values)
    assert kinds[crash + "vmcore"] == "dump" and kinds[crash + "vmcore#dmesg"] == "vmcore-dmesg"
    dmesg = ds.sources.set_index("path").line_count[crash + "vmcore#dmesg"]
    assert dmesg == expected.count(b"\n")
