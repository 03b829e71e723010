"""Hostile and broken dumps: each problem becomes an error row, nothing raises."""

from __future__ import annotations

import importlib.util
import io
import os
import random
import struct
from pathlib import Path

import pytest
from dumpbuilder import (
    RECORDS,
    RELEASE_RHEL9,
    Image,
    build_elf,
    elf_vmcore,
    flatten,
    kdump_compressed,
    legacy_text,
    printk_legacy,
    printk_lockless,
    printk_structured,
    put_uts_ns,
    utsname,
    vmcoreinfo,
    xen_core,
)

from triage.dumps import DumpResult, read_dump
from triage.model import SourceFile

SRC = SourceFile(disk_path="/x/vmcore", path="vmcore")


def run(data: bytes) -> DumpResult:
    return read_dump(SRC, io.BytesIO(data))


def classes(r: DumpResult) -> list[str]:
    return [e.error_class for e in r.errors]


def facts(r: DumpResult) -> dict[str, str]:
    return {f.key: f.value for f in r.facts}


def test_truncated_elf_keeps_header_facts() -> None:
    core, _ = build_elf("lockless")
    cut = core[: len(core) - 40 * 1024]
    r = run(cut)
    assert "dump-truncated" in classes(r)
    assert facts(r)["kernel.release"] == RELEASE_RHEL9  # from VMCOREINFO, before the cut
    assert all(e.message.startswith("vmcore: ") for e in r.errors)


def test_elf_header_cut_short() -> None:
    core, _ = build_elf("structured")
    assert classes(run(core[:40])) == ["dump-unknown-format"]
    r = run(core[:100])  # header fine, program headers missing
    assert classes(r) == ["dump-truncated"]


def test_implausible_program_header_count() -> None:
    core = bytearray(build_elf("structured")[0])
    struct.pack_into("<H", core, 54, 8)  # e_phentsize smaller than an Elf64_Phdr
    assert classes(run(bytes(core))) == ["dump-bad-header"]


def test_note_size_out_of_range() -> None:
    core = bytearray(build_elf("structured")[0])
    note_off = 64 + 2 * 56
    struct.pack_into("<I", core, note_off + 4, 0x7FFFFFFF)  # first note's descsz
    r = run(bytes(core))
    assert "dump-bad-note" in classes(r)
    assert r.log is None


def test_wrong_endianness_in_elf_header() -> None:
    core = bytearray(build_elf("structured")[0])
    core[5] = 2  # claims big-endian, data is little-endian
    r = run(bytes(core))
    assert r.errors, "a byte-swapped core must say what went wrong"
    assert r.log is None


def test_structured_chain_loop_is_detected() -> None:
    img = Image()
    printk_structured(img, RECORDS, buf_len=8192)
    # point log_next_idx at an index no record starts at: the walk would run forever
    nxt_va = int(img.entries["SYMBOL(log_next_idx)"], 16)
    img.pack(nxt_va, "I", 3)
    r = run(elf_vmcore(img, vmcoreinfo(img, "3.10.0-1160.el7.x86_64")))
    assert classes(r) == ["dump-cycle"]
    assert (r.log or b"").count(b"\n") >= len(RECORDS)  # the text before the loop is kept


def test_structured_index_beyond_buffer() -> None:
    img = Image()
    printk_structured(img, RECORDS)
    img.pack(int(img.entries["SYMBOL(log_first_idx)"], 16), "I", 1 << 30)
    r = run(elf_vmcore(img, vmcoreinfo(img, "3.10.0-1160.el7.x86_64")))
    assert classes(r) == ["dump-bad-offset"]


def test_structured_record_length_overruns() -> None:
    img = Image()
    printk_structured(img, RECORDS)
    buf = int.from_bytes(img.data[int(img.entries["SYMBOL(log_buf)"], 16) - img.va :][:8], "little")
    img.pack(buf + 8, "H", 0xFFF0)  # first record's len
    r = run(elf_vmcore(img, vmcoreinfo(img, "3.10.0-1160.el7.x86_64")))
    assert classes(r) == ["dump-bad-record"]


def test_legacy_buffer_length_out_of_range() -> None:
    img = Image()
    printk_legacy(img, legacy_text(RECORDS))
    img.pack(int(img.entries["SYMBOL(log_buf_len)"], 16), "i", -5)
    r = run(elf_vmcore(img, vmcoreinfo(img, "2.6.18-398.el5")))
    assert classes(r) == ["dump-bad-size"]


def test_log_buf_pointer_outside_the_dump() -> None:
    img = Image()
    printk_legacy(img, legacy_text(RECORDS))
    img.ulong(int(img.entries["SYMBOL(log_buf)"], 16), 0xFFFFFFFFA0000000)
    r = run(elf_vmcore(img, vmcoreinfo(img, "2.6.18-398.el5")))
    assert classes(r) == ["dump-bad-address"]


def test_lockless_ring_sizes_and_ids_out_of_range() -> None:
    img = Image()
    printk_lockless(img, RECORDS)
    rb = int.from_bytes(img.data[int(img.entries["SYMBOL(prb)"], 16) - img.va :][:8], "little")
    img.pack(rb + 0, "I", 40)  # count_bits
    assert classes(run(elf_vmcore(img, vmcoreinfo(img, RELEASE_RHEL9)))) == ["dump-bad-size"]
    img.pack(rb + 0, "I", 4)
    img.pack(rb + 32, "Q", 5)  # tail_id far ahead of head_id
    img.pack(rb + 24, "Q", 1 << 40)
    assert classes(run(elf_vmcore(img, vmcoreinfo(img, RELEASE_RHEL9)))) == ["dump-bad-offset"]


def kdump() -> tuple[Image, bytes]:
    img = Image()
    put_uts_ns(img, utsname())
    printk_lockless(img, RECORDS)
    return img, kdump_compressed(img.pages(), utsname(), vmcoreinfo(img, RELEASE_RHEL9))


def test_kdump_bad_block_size() -> None:
    _, kd = kdump()
    bad = bytearray(kd)
    struct.pack_into("<i", bad, 428, 12345)
    assert classes(run(bytes(bad))) == ["dump-bad-header"]


def test_kdump_bitmaps_beyond_file() -> None:
    _, kd = kdump()
    bad = bytearray(kd)
    struct.pack_into("<I", bad, 436, 0x100000)  # bitmap_blocks
    r = run(bytes(bad))
    assert classes(r) == ["dump-truncated"]
    assert facts(r)["kernel.release"] == RELEASE_RHEL9


def test_kdump_truncated_page_data() -> None:
    _, kd = kdump()
    r = run(kd[: len(kd) - 2000])
    assert classes(r) in (["dump-truncated"], ["dump-bad-page"])
    assert facts(r)["dump.hostname"] == "web01.example.com"


def test_kdump_corrupt_zlib_page() -> None:
    _img, kd = kdump()
    bad = bytearray(kd)
    data_off = (1 + 1 + struct.unpack_from("<I", kd, 436)[0]) * 4096
    off, size, _flags, _ = struct.unpack_from("<qIIQ", kd, data_off)
    bad[off : off + size] = b"\x00" * size
    assert classes(run(bytes(bad))) == ["dump-bad-page"]


def test_kdump_descriptor_offset_out_of_range() -> None:
    _, kd = kdump()
    bad = bytearray(kd)
    data_off = (1 + 1 + struct.unpack_from("<I", kd, 436)[0]) * 4096
    for i in range(20):
        struct.pack_into("<q", bad, data_off + 24 * i, 1 << 50)
    assert classes(run(bytes(bad))) == ["dump-bad-page"]


def test_kdump_lzo_without_extra_names_it() -> None:
    if importlib.util.find_spec("lzo") is not None:
        pytest.skip("python-lzo is installed: the missing-extra path cannot be exercised")
    _, kd = kdump()
    bad = bytearray(kd)
    data_off = (1 + 1 + struct.unpack_from("<I", kd, 436)[0]) * 4096
    for i in range(20):
        off, size, flags, pf = struct.unpack_from("<qIIQ", bad, data_off + 24 * i)
        if flags:
            struct.pack_into("<qIIQ", bad, data_off + 24 * i, off, size, 0x2, pf)
    r = run(bytes(bad))
    assert classes(r) == ["dump-missing-extra"]
    assert "triage[lzo]" in r.errors[0].message


def test_flattened_record_past_end_and_missing_end_marker() -> None:
    _, kd = kdump()
    flat = flatten(kd)
    assert classes(run(flat[:-16])) == ["dump-truncated"]  # no end marker
    assert classes(run(flat[:-16] + struct.pack(">QQ", 0, 1 << 40))) == ["dump-truncated"]


def test_xen_core_pages_truncated() -> None:
    img = Image(va=0xFFFFFFFF81E00000)
    pages = img.pages()
    core = xen_core(pages)
    r = run(core[:-5000])
    assert "dump-truncated" in classes(r)
    assert facts(r)["xen.nr_vcpus"] == "2"


@pytest.mark.parametrize(
    "which", ["elf-legacy", "elf-structured", "elf-lockless", "kdump", "flat", "xen"]
)
def test_random_corruption_never_raises(which: str) -> None:
    if which.startswith("elf-"):
        base = build_elf(which[4:])[0]
    elif which == "xen":
        base = xen_core(Image().pages())
    else:
        base = kdump()[1]
        if which == "flat":
            base = flatten(base)
    rnd = random.Random(which)
    for _ in range(120):
        data = bytearray(base)
        for _ in range(rnd.randint(1, 12)):
            pos = (
                rnd.randrange(min(len(data), 8192))
                if rnd.random() < 0.7
                else rnd.randrange(len(data))
            )
            data[pos] = rnd.randrange(256)
        if rnd.random() < 0.2:
            data = data[: rnd.randrange(len(data))]
        r = run(bytes(data))
        assert isinstance(r, DumpResult)
        assert all(e.stage == "dumps" and e.message for e in r.errors)
        assert "dump-invalid" not in classes(r), r.errors


def test_garbage_where_a_dump_belongs_is_an_error_row(tmp_path: Path) -> None:
    """A kdump directory's `vmcore` with no dump magic was skipped without a word: the one
    file a kernel engineer opens first is not silently passed over."""
    import triage

    crash = tmp_path / "in" / "var" / "crash" / "127.0.0.1-2024-01-05-10:00:00"
    crash.mkdir(parents=True)
    (crash / "vmcore").write_bytes(os.urandom(65536))
    (crash / "vmcore-dmesg.txt").write_bytes(b"<0>[  100.000000] Kernel panic - not syncing: x\n")
    out = tmp_path / "ds"
    triage.ingest([str(tmp_path / "in")], out=str(out))
    ds = triage.open_dataset(str(out))
    assert ds.errors[["path", "stage", "error_class"]].values.tolist() == [
        [str(crash / "vmcore"), "dumps", "dump-unknown-format"]
    ]
    status = {p.rsplit("/", 1)[-1]: st for p, st in ds.sources[["path", "status"]].values}
    assert status == {"vmcore": "skipped", "vmcore-dmesg.txt": "ok"}
