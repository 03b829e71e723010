"""Tar members as kdump directories are archived: sparse members (`tar -S`,
`--sparse-version=0.1|1.0`) read with their holes as zeros, whole or cut short; and a vmcore of
zero pages in a tar.gz or tar.bz2, which inflates thousands of times but whose size the tar
header states, read with the members after it rather than stopped as a decompression bomb."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from helpers_sources import DMESG_HEAD, VMCORE_DMESG, compress, tar_bytes, write

import triage
from triage.limits import DEFAULT_LIMITS, Limits
from triage.model import ErrorRecord, SourceFile
from triage.sources import read_bytes, walk

KDUMP = "var/crash/127.0.0.1-2024-03-05-10:11:12"
#: a dmesg whose head is text (so it is detected as one), then a hole, then the panic
HEAD_TEXT = DMESG_HEAD * 20
HOLE = 40 * 1024
PANIC = VMCORE_DMESG[len(DMESG_HEAD) :]
SPARSE_LOG = HEAD_TEXT + bytes(HOLE) + PANIC + bytes(HOLE)  # ends in a hole, as files do
#: (offset, length) of its data; GNU tar closes the map with an empty extent at the end
EXTENTS = [(0, len(HEAD_TEXT)), (len(HEAD_TEXT) + HOLE, len(PANIC)), (len(SPARSE_LOG), 0)]
STAMP = 1709633472


def _stored() -> bytes:
    return b"".join(SPARSE_LOG[o : o + n] for o, n in EXTENTS)


def _padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % tarfile.BLOCKSIZE)


def _gnu_sparse(name: str) -> bytes:
    """An old-GNU `S` member (what `tar -S` writes): the map in the header, then the data."""
    ti = tarfile.TarInfo(name)
    ti.type, ti.size, ti.mtime = tarfile.GNUTYPE_SPARSE, len(_stored()), STAMP
    head = bytearray(ti.tobuf(format=tarfile.GNU_FORMAT))
    for i, (offset, length) in enumerate(EXTENTS):
        head[386 + 24 * i : 410 + 24 * i] = b"%011o\0%011o\0" % (offset, length)
    head[483:495] = b"%011o\0" % len(SPARSE_LOG)
    head[148:156] = b" " * 8
    head[148:155] = b"%06o\0" % sum(head)
    return bytes(head) + _padded(_stored())


def _pax_sparse(name: str, version: str) -> bytes:
    """A pax member with GNU sparse 0.1 (the map in the pax header) or 1.0 (the map in a
    block of its own in front of the data)."""
    ti = tarfile.TarInfo(f"GNUSparseFile.0/{name}")
    ti.mtime = STAMP
    data = _stored()
    if version == "0.1":
        flat = ",".join(str(v) for extent in EXTENTS for v in extent)
        ti.pax_headers = {"GNU.sparse.map": flat, "GNU.sparse.size": str(len(SPARSE_LOG))}
        ti.pax_headers["GNU.sparse.name"] = name
    else:
        lines = [len(EXTENTS), *(v for extent in EXTENTS for v in extent)]
        data = _padded("".join(f"{v}\n" for v in lines).encode()) + data
        ti.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0"}
        ti.pax_headers |= {"GNU.sparse.name": name, "GNU.sparse.realsize": str(len(SPARSE_LOG))}
    ti.size = len(data)
    return ti.tobuf(format=tarfile.PAX_FORMAT) + _padded(data)


def _kdump_tar(fmt: str) -> bytes:
    """A kdump directory with the sparse log first, then an ordinary member after it."""
    name = f"{KDUMP}/vmcore-dmesg.txt"
    sparse = _gnu_sparse(name) if fmt == "gnu" else _pax_sparse(name, fmt)
    return sparse + tar_bytes({f"{KDUMP}/kexec-dmesg.log": b"kdump: saved\n"}, mtime=STAMP)


def _walk(
    path: Path, limits: Limits = DEFAULT_LIMITS
) -> tuple[list[SourceFile], list[ErrorRecord]]:
    out = list(walk([str(path)], limits))
    return [o for o in out if isinstance(o, SourceFile)], [
        o for o in out if isinstance(o, ErrorRecord)
    ]


def test_the_helper_writes_what_tarfile_reads_as_sparse() -> None:
    for fmt in ("gnu", "0.1", "1.0"):
        with tarfile.open(fileobj=io.BytesIO(_kdump_tar(fmt))) as tar:
            ti = tar.getmembers()[0]
            assert ti.name.endswith("vmcore-dmesg.txt") and ti.issparse(), fmt
            assert ti.size == len(SPARSE_LOG), fmt
            assert tar.extractfile(ti).read() == SPARSE_LOG, fmt  # type: ignore[union-attr]


@pytest.mark.parametrize("fmt", ["gnu", "0.1", "1.0"])
@pytest.mark.parametrize("compression", ["", "gz"])
def test_a_sparse_member_is_read_with_its_holes(tmp_path: Path, fmt: str, compression: str) -> None:
    """Its size is that of the file with its holes, more than the archive stores: no
    "the archive ends inside this member", its lines are all read, the member after it too."""
    suffix = f".tar.{compression}" if compression else ".tar"
    path = write(tmp_path / f"kdump{suffix}", compress(_kdump_tar(fmt), compression))
    srcs, errs = _walk(path)
    assert not errs, [e.message for e in errs]
    assert [s.path.rsplit("/", 1)[-1] for s in srcs] == ["kexec-dmesg.log", "vmcore-dmesg.txt"]
    log = srcs[1]
    assert log.kind == "vmcore-dmesg" and log.size == len(SPARSE_LOG)
    got = read_bytes(log)
    assert not got.errors and got.data == SPARSE_LOG


@pytest.mark.parametrize("fmt", ["gnu", "1.0"])
def test_a_sparse_member_cut_short_keeps_what_is_stored_and_says_so(
    tmp_path: Path, fmt: str
) -> None:
    """The archive ends inside the panic extent: the bytes before the cut are read, holes
    included, and the error counts them in the file's own bytes."""
    whole = _kdump_tar(fmt)
    cut = whole.index(PANIC) + 100
    srcs, errs = _walk(write(tmp_path / "cut.tar", whole[:cut]))
    assert [s.path.rsplit("/", 1)[-1] for s in srcs] == ["vmcore-dmesg.txt"]
    present = len(HEAD_TEXT) + HOLE + 100
    assert [e.error_class for e in errs] == ["truncated-archive"]
    assert f"{present:,} of {len(SPARSE_LOG):,} bytes present" in errs[0].message
    assert read_bytes(srcs[0]).data == SPARSE_LOG[:present]


def test_a_sparse_map_that_goes_backwards_is_refused(tmp_path: Path) -> None:
    whole = bytearray(_kdump_tar("gnu"))
    whole[386 + 24 : 398 + 24] = b"%011o\0" % 10  # the second extent inside the first
    whole[148:156] = b" " * 8
    whole[148:155] = b"%06o\0" % sum(whole[:512])
    srcs, errs = _walk(write(tmp_path / "bad.tar", bytes(whole)))
    assert [s.path.rsplit("/", 1)[-1] for s in srcs] == ["kexec-dmesg.log"]
    assert [e.error_class for e in errs] == ["corrupt-tar"] and "sparse" in errs[0].message


# a kdump tarball: `tar czf` / `tar cjf` of the crash directory, vmcore first (readdir order)
VMCORE = b"\x7fELF\x02\x01\x01" + bytes(8 * 1024 * 1024 - 7)  # idle guest memory: zero pages
#: the ratio floor lowered as the 80 MiB vmcore of a real case meets the default 64 MiB one
SMALL_FLOOR = DEFAULT_LIMITS.override(ratio_floor_bytes=1024 * 1024)


def _kdump_tarball(tmp_path: Path, compression: str) -> Path:
    files = {f"{KDUMP}/vmcore": VMCORE, f"{KDUMP}/vmcore-dmesg.txt": VMCORE_DMESG}
    packed = tar_bytes(files, compression=compression, mtime=STAMP)
    assert len(VMCORE) > 200 * len(packed)  # more than max_ratio over the whole archive
    return write(tmp_path / f"case-kdump.tar.{compression}", packed)


@pytest.mark.parametrize("compression", ["gz", "bz2"])
def test_a_vmcore_of_zero_pages_is_no_bomb_and_the_panic_after_it_is_read(
    tmp_path: Path, compression: str
) -> None:
    """The header states the vmcore's size, within the caps: that bounds what inflating it
    costs, so it is read (or skipped) whole and the vmcore-dmesg.txt after it is listed."""
    path = _kdump_tarball(tmp_path, compression)
    srcs, errs = _walk(path, SMALL_FLOOR)
    assert not errs, [e.message for e in errs]
    assert [s.path.rsplit("/", 1)[-1] for s in srcs] == ["vmcore", "vmcore-dmesg.txt"]
    assert read_bytes(srcs[0], SMALL_FLOOR).data == VMCORE
    got = read_bytes(srcs[1], SMALL_FLOOR)
    assert not got.errors and got.data == VMCORE_DMESG
    triage.scan(str(path), out=str(tmp_path / "ds"), limits=SMALL_FLOOR)
    crashes = triage.open_dataset(str(tmp_path / "ds")).crashes
    assert any("NULL pointer dereference" in str(t) for t in crashes["title"]), crashes


def test_a_member_over_the_caps_is_still_stopped_by_the_ratio(tmp_path: Path) -> None:
    """What the header states bounds nothing beyond the caps: a member larger than
    `max_file_bytes` (or past `max_total_bytes`) is inflated only as far as the ratio
    allows, and it is named in the error."""
    path = _kdump_tarball(tmp_path, "gz")
    for limits in (
        SMALL_FLOOR.override(max_file_bytes=4 * 1024 * 1024),
        SMALL_FLOOR.override(max_total_bytes=4 * 1024 * 1024),
    ):
        srcs, errs = _walk(path, limits)
        assert not srcs and [e.error_class for e in errs] == ["decompression-bomb"]
        assert "vmcore:" in errs[0].message
