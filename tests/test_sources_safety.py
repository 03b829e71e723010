"""Hostile and broken input: every case becomes an ErrorRecord and the walk goes on."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import shutil
import tarfile
import zipfile
import zlib
from pathlib import Path

from helpers_sources import DMESG_HEAD, SYSLOG, tar_bytes, write, zip_bytes

from triage.limits import DEFAULT_LIMITS
from triage.model import ErrorRecord, SourceFile
from triage.sources import Heads, read_bytes, walk

ZEROS = 200 * 1024 * 1024  # 200 MB of zeros: compresses ~1000x


def _run(paths: list[Path], limits=DEFAULT_LIMITS) -> tuple[list[SourceFile], list[ErrorRecord]]:
    out = list(walk([str(p) for p in paths], limits))
    return [o for o in out if isinstance(o, SourceFile)], [
        o for o in out if isinstance(o, ErrorRecord)
    ]


def _classes(errs: list[ErrorRecord]) -> list[str]:
    return sorted(e.error_class for e in errs)


def _zeros_deflated() -> bytes:
    comp = zlib.compressobj(1, zlib.DEFLATED, 31)
    chunk = bytes(8 * 1024 * 1024)
    parts = [comp.compress(chunk) for _ in range(ZEROS // len(chunk))]
    return b"".join(parts) + comp.flush()


def test_traversal_names_are_skipped(tmp_path: Path) -> None:
    evil = []
    for name in ("../../etc/cron.d/evil", "/etc/passwd", "..\\..\\windows\\evil.log", "a/../../b"):
        ti = tarfile.TarInfo(name)
        evil.append(ti)
    archive = write(tmp_path / "evil.tar", tar_bytes({"ok/messages": SYSLOG}, extra=evil))
    srcs, errs = _run([archive])
    assert [s.path for s in srcs] == ["ok/messages"]
    assert _classes(errs) == ["path-traversal"] * 4
    assert all(e.path.startswith(str(archive)) for e in errs)
    zipped = write(tmp_path / "evil.zip", zip_bytes({"../x.log": SYSLOG, "ok.log": SYSLOG}))
    srcs, errs = _run([zipped])
    assert [s.path for s in srcs] == ["ok.log"] and _classes(errs) == ["path-traversal"]


def test_links_out_of_the_archive_and_special_members(tmp_path: Path) -> None:
    fifo = tarfile.TarInfo("dev/fifo")
    fifo.type = tarfile.FIFOTYPE
    dev = tarfile.TarInfo("dev/sda")
    dev.type = tarfile.BLKTYPE
    data = tar_bytes(
        {"logs/messages": SYSLOG},
        links={
            "logs/shadow": "/etc/shadow",
            "logs/up": "../../../etc/passwd",
            "logs/gone": "nothing",
        },
        hardlinks={"logs/hard": "../etc/passwd", "logs/copy": "logs/messages"},
        extra=[fifo, dev],
    )
    srcs, errs = _run([write(tmp_path / "links.tar", data)])
    assert [s.path for s in srcs] == ["logs/messages"]  # the good hard link is the same file
    assert _classes(errs) == [
        "broken-link",
        "link-outside-bundle",
        "link-outside-bundle",
        "link-outside-bundle",
        "special-file",
        "special-file",
    ]


def test_folder_links_never_leave_the_folder(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside" / "secret.log", SYSLOG)
    case = tmp_path / "case"
    write(case / "var/log/messages", SYSLOG)
    os.symlink(outside, case / "escape.log")
    os.symlink("var/log/messages", case / "alias")
    os.symlink(case, case / "var" / "loop")  # a directory loop back to the top
    os.symlink(case / "missing", case / "dangling")
    os.mkfifo(case / "pipe")
    srcs, errs = _run([case])
    assert [s.path for s in srcs] == ["var/log/messages"]
    assert _classes(errs) == ["broken-link", "link-outside-bundle", "special-file"]


def test_gzip_bomb(tmp_path: Path) -> None:
    bomb = write(tmp_path / "messages.gz", _zeros_deflated())
    srcs, errs = _run([bomb])
    assert not srcs and _classes(errs) == ["decompression-bomb"]
    # without the declared size (a bomb appended after a real member) reading still stops
    sneaky = write(
        tmp_path / "sneaky.gz", gzip.compress(SYSLOG) + _zeros_deflated() + gzip.compress(b"x")
    )
    (src,) = [o for o in walk([str(sneaky)]) if isinstance(o, SourceFile)]
    r = read_bytes(src)
    assert r.truncated and [e.error_class for e in r.errors] == ["decompression-bomb"]
    assert r.data.startswith(SYSLOG) and len(r.data) <= DEFAULT_LIMITS.ratio_floor_bytes + 2**21


def test_bomb_inside_a_compressed_tar_stops_that_archive_only(tmp_path: Path) -> None:
    """A member larger than the file cap is inflated only as far as the ratio allows (one
    within the caps is bounded by its header instead: test_sources_tar_members.py)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        ti = tarfile.TarInfo("a/messages")
        ti.size = len(SYSLOG)
        tar.addfile(ti, io.BytesIO(SYSLOG))
        ti = tarfile.TarInfo("b/zeros")
        ti.size = 100 * 1024 * 1024
        tar.addfile(ti, io.BytesIO(bytes(ti.size)))
    archive = write(tmp_path / "a.tar.xz", lzma.compress(raw.getvalue(), preset=0))
    good = write(tmp_path / "b.log", DMESG_HEAD)
    srcs, errs = _run([archive, good], DEFAULT_LIMITS.override(max_file_bytes=64 * 1024 * 1024))
    assert [s.path for s in srcs] == ["a/messages", str(good)]
    assert _classes(errs) == ["decompression-bomb"] and "b/zeros" in errs[0].message


def test_zip_bomb_and_overlapping_entries(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ok.log", SYSLOG)
        with zf.open("zeros.log", "w") as fh:
            chunk = bytes(8 * 1024 * 1024)
            for _ in range(ZEROS // len(chunk)):
                fh.write(chunk)
    srcs, errs = _run([write(tmp_path / "bomb.zip", buf.getvalue())])
    assert [s.path for s in srcs] == ["ok.log"] and _classes(errs) == ["decompression-bomb"]
    # two central-directory entries pointing at the same local data ("better zip bomb")
    data = bytearray(zip_bytes({"a.log": SYSLOG * 50, "b.log": SYSLOG * 50}))
    zf = zipfile.ZipFile(io.BytesIO(bytes(data)))
    second = zf.infolist()[1]
    cd = data.rfind(b"PK\x01\x02", 0, len(data))
    assert cd > 0
    data[cd + 42 : cd + 46] = (0).to_bytes(4, "little")  # b.log's header offset := a.log's
    srcs, errs = _run(
        [write(tmp_path / "overlap.zip", bytes(data)), write(tmp_path / "ok.log", SYSLOG)]
    )
    assert second.filename == "b.log"
    assert [s.path for s in srcs] == [str(tmp_path / "ok.log")]
    assert _classes(errs) == ["bad-zip"] and "overlapping" in errs[0].message


def test_depth_limit_and_archive_containing_itself(tmp_path: Path) -> None:
    data = tar_bytes({"deep/messages": SYSLOG})
    for level in range(6):
        data = (
            zip_bytes({f"level{level}.bin": data})
            if level % 2
            else tar_bytes({f"level{level}.tar": data})
        )
    srcs, errs = _run([write(tmp_path / "nest.tar", data)])
    assert not srcs and _classes(errs) == ["max-depth"]
    assert errs[0].message.count("!") == DEFAULT_LIMITS.max_depth  # bundle!1!2!3!4
    # `tar czf backup.tgz .` run inside the folder: the archive holds its own beginning (one
    # mtime for both: two clock readings a second apart would make the heads differ)
    stamp = 1709546400
    first = tar_bytes({"etc/hostname": b"web07\n" * 200, "var/log/messages": SYSLOG}, mtime=stamp)
    body = first[: first.index(b"\0" * 1024, 2048)]
    selfish = tar_bytes(
        {"etc/hostname": b"web07\n" * 200, "var/log/messages": SYSLOG, "backup.tar": body},
        mtime=stamp,
    )
    srcs, errs = _run([write(tmp_path / "backup.tar", selfish)])
    assert {s.path for s in srcs} == {"etc/hostname", "var/log/messages"}
    assert _classes(errs) == ["archive-contains-itself"]


def test_member_count_limit(tmp_path: Path) -> None:
    archive = write(tmp_path / "many.tar", tar_bytes({f"f{i:03}.log": SYSLOG for i in range(50)}))
    srcs, errs = _run([archive], DEFAULT_LIMITS.override(max_members=10))
    assert len(srcs) == 10 and _classes(errs) == ["too-many-members"]


def test_truncated_gzip_xz_and_tar(tmp_path: Path) -> None:
    body = b"".join(
        b"Mar  4 10:00:%02d web07 kernel: line %06d\n" % (i % 60, i) for i in range(20000)
    )
    for fmt, packed in (("gzip", gzip.compress(body)), ("xz", lzma.compress(body))):
        path = write(tmp_path / f"messages.{fmt}", packed[: len(packed) // 2])
        (src,) = walk([str(path)])
        assert isinstance(src, SourceFile) and src.kind == "syslog"
        r = read_bytes(src)
        assert [e.error_class for e in r.errors] == [f"truncated-{fmt}"]
        assert 0 < len(r.data) < len(body) and body.startswith(r.data)
    whole = tar_bytes({"a/messages": body, "b/messages": body}, compression="gz")
    srcs, errs = _run([write(tmp_path / "cut.tar.gz", whole[: len(whole) * 3 // 4])])
    assert [s.path for s in srcs] == ["a/messages", "b/messages"]  # b is cut, not lost
    assert _classes(errs) == ["truncated-gzip"]
    assert read_bytes(srcs[0]).data == body and not read_bytes(srcs[0]).errors
    cut = read_bytes(srcs[1])
    assert body.startswith(cut.data) and len(cut.data) < len(body)
    assert [e.error_class for e in cut.errors] == ["truncated-gzip"]
    plain = tar_bytes({"a/messages": body})
    srcs, errs = _run([write(tmp_path / "cut.tar", plain[: len(plain) // 2])])
    assert [s.path for s in srcs] == ["a/messages"] and _classes(errs) == ["truncated-archive"]
    assert body.startswith(read_bytes(srcs[0]).data)


def _inflatable(packed: bytes, fmt: str) -> bytes:
    """Every byte a cut compressed stream still gives before its end."""
    if fmt == "gz":
        return zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(packed)
    if fmt == "xz":
        return lzma.LZMADecompressor().decompress(packed)
    return bz2.BZ2Decompressor().decompress(packed)


def test_a_cut_member_of_a_compressed_tar_keeps_every_byte_before_the_damage(
    tmp_path: Path,
) -> None:
    """A member cut by a truncated upload keeps all it held before the cut, not only whole
    MiB of it (the tar reader raised at the short read and dropped what it got): most of a
    sosreport's messages is its one chance to show the end of the log."""
    body = b"".join(
        b"Mar  4 10:00:%02d web07 kernel: line %06d\n" % (i % 60, i) for i in range(60000)
    )
    first = b"dmesg line\n" * 50
    for fmt, name in (("gz", "gzip"), ("xz", "xz"), ("bz2", "bzip2")):
        whole = tar_bytes({"a/dmesg": first, "a/messages": body}, compression=fmt)
        plain = tar_bytes({"a/dmesg": first, "a/messages": body})
        with tarfile.open(fileobj=io.BytesIO(plain)) as tar:
            at = tar.getmember("a/messages").offset_data
        cut_at = len(whole) * 2 // 3
        expect = _inflatable(whole[:cut_at], fmt)[at : at + len(body)]
        assert 0 < len(expect) < len(body), fmt
        srcs, errs = _run([write(tmp_path / f"cut.tar.{fmt}", whole[:cut_at])])
        assert [s.path for s in srcs] == ["a/dmesg", "a/messages"], fmt
        assert _classes(errs) == [f"truncated-{name}"]
        got = read_bytes(srcs[1])
        # all of it: an inflater may hold back the last few bytes of a cut stream (isal's
        # gzip gives one byte fewer than zlib's), not the up to 1 MiB the reads dropped
        assert expect.startswith(got.data), fmt
        assert len(expect) - len(got.data) < 64, (fmt, len(got.data), len(expect))
        assert [e.error_class for e in got.errors] == [f"truncated-{name}"]


def test_a_compressed_file_cut_before_its_first_block_is_a_row_and_an_error(
    tmp_path: Path,
) -> None:
    """Cut before anything inflates (inside bzip2's first block, up to 900 kB; a gzip's
    header): no byte to read, so no read says why. The walk does, beside the source's row,
    at the top and inside an archive, and again on a rerun (no head is kept for it)."""
    body = b"".join(
        b"Mar  4 10:00:%02d web07 kernel: line %06d\n" % (i % 60, i) for i in range(9000)
    )
    cut_bz2 = bz2.compress(body)[:4000]
    cut_gz = gzip.compress(body)[:20]
    inner = tar_bytes({"a/messages.bz2": cut_bz2})
    paths = [
        write(tmp_path / "messages.bz2", cut_bz2),
        write(tmp_path / "kern.log.gz", cut_gz),
        write(tmp_path / "bundle.tar", inner),
    ]
    heads = Heads(known={})
    for _ in range(2):
        out = list(walk([str(p) for p in paths], DEFAULT_LIMITS, heads=heads))
        srcs = [o for o in out if isinstance(o, SourceFile)]
        errs = [o for o in out if isinstance(o, ErrorRecord)]
        assert sorted(s.display for s in srcs) == sorted(e.path for e in errs)
        assert _classes(errs) == ["truncated-bzip2", "truncated-bzip2", "truncated-gzip"]
        assert all("ends early" in e.message and "\n" not in e.message for e in errs)
        heads = Heads(known=heads.seen)


def test_a_compressed_file_cut_so_early_its_few_bytes_say_nothing_is_an_error(
    tmp_path: Path,
) -> None:
    """A gzip cut at 80 bytes inflates to `[    0` — a kind no read takes, so no read said the
    file was cut either: the walk saw the stream end early, but going back to its start
    forgot it. Said once, beside the source's row, at the top and inside an archive; a cut
    log of a kind that is read keeps its one error row from the read."""
    body = DMESG_HEAD * 20
    tiny, small = gzip.compress(body), lzma.compress(body)

    def cut_to_a_few_bytes(data: bytes, inflate) -> bytes:
        """The longest cut of `data` that inflates to 1-7 bytes: too few to tell a kind."""
        return max((data[:n] for n in range(len(data)) if 0 < len(inflate(data[:n])) < 8), key=len)

    paths = [
        write(
            tmp_path / "upload.gz",
            cut_to_a_few_bytes(tiny, lambda d: zlib.decompressobj(31).decompress(d)),
        ),
        write(
            tmp_path / "bundle.tar",
            tar_bytes(
                {
                    "a/upload.xz": cut_to_a_few_bytes(
                        small[:200], lambda d: lzma.LZMADecompressor().decompress(d)
                    )
                }
            ),
        ),
    ]
    heads = Heads(known={})
    for _ in range(2):
        out = list(walk([str(p) for p in paths], DEFAULT_LIMITS, heads=heads))
        srcs = [o for o in out if isinstance(o, SourceFile)]
        errs = [o for o in out if isinstance(o, ErrorRecord)]
        assert {s.kind for s in srcs} == {"unknown"}
        assert sorted(s.display for s in srcs) == sorted(e.path for e in errs)
        assert _classes(errs) == ["truncated-gzip", "truncated-xz"]
        heads = Heads(known=heads.seen)
    readable = write(tmp_path / "more" / "dmesg.gz", tiny[: len(tiny) - 9])
    out = list(walk([str(readable)], DEFAULT_LIMITS))
    assert [type(o).__name__ for o in out] == ["SourceFile"]  # the read says it, once


def test_a_split_zip_is_said_to_be_one_with_what_to_do(tmp_path: Path) -> None:
    """`zip -s` writes NAME.z01 (begins with a spanning marker), NAME.z02 …, and NAME.zip
    (begins mid-member and ends with the directory, on its last disk). The first was "not a
    readable zip archive (File is not a zip file)", the last skipped without a word."""
    import random
    import struct

    rng = random.Random(7)
    whole = zip_bytes({"logs/messages": SYSLOG, "r.bin": rng.randbytes(200_000)})
    eocd = whole.rfind(b"PK\x05\x06")
    # the directory on disk 2 (the third part), as zip -s numbers them
    last_disk = whole[:eocd] + b"PK\x05\x06" + struct.pack("<HH", 2, 2) + whole[eocd + 8 :]
    paths = [
        write(tmp_path / "case.z01", b"PK\x07\x08" + last_disk[:65532]),
        write(tmp_path / "case.z02", last_disk[65532 : 65532 + 65536]),
        write(tmp_path / "case.zip", last_disk[65532 + 65536 :]),
        write(tmp_path / "plain.zip", whole),
    ]
    out = list(walk([str(p) for p in paths], DEFAULT_LIMITS))
    errs = {Path(e.path).name: e for e in out if isinstance(e, ErrorRecord)}
    assert {n: e.error_class for n, e in errs.items()} == {
        "case.z01": "split-zip",
        "case.zip": "split-zip",
    }
    assert "first part" in errs["case.z01"].message
    assert "last part" in errs["case.zip"].message and "zip -s 0" in errs["case.zip"].message
    read = {s.path for s in out if isinstance(s, SourceFile) and s.kind != "unknown"}
    assert read == {"logs/messages"}  # the whole zip beside them is read as ever


def test_an_archive_holding_no_file_is_said_not_silently_dropped(tmp_path: Path) -> None:
    """An empty zip (or one of folders only) made no sources row and no error: the input
    named left no trace in the dataset. At the top and nested, it is an error row."""
    empty = write(tmp_path / "empty.zip", zip_bytes({}))
    folders = write(tmp_path / "folders.zip", zip_bytes({"case/": b"", "case/logs/": b""}))
    outer = write(
        tmp_path / "outer.tar", tar_bytes({"a/messages": SYSLOG, "b/x.zip": zip_bytes({})})
    )
    srcs, errs = _run([empty, folders, outer])
    assert [s.path for s in srcs] == ["a/messages"]
    assert _classes(errs) == ["empty-archive"] * 3
    assert sorted(e.path for e in errs) == sorted([str(empty), str(folders), f"{outer}!b/x.zip"])


def test_missing_unreadable_empty_and_garbage(tmp_path: Path) -> None:
    empty = write(tmp_path / "empty.log", b"")
    garbage = write(tmp_path / "garbage.bin", os.urandom(8192))
    dangling = tmp_path / "dangling.log"
    os.symlink(tmp_path / "nowhere", dangling)
    through_file = tmp_path / "empty.log" / "child"  # a path through a file (ENOTDIR)
    srcs, errs = _run([tmp_path / "missing.log", empty, garbage, dangling, through_file])
    assert {s.path: s.kind for s in srcs} == {str(empty): "unknown", str(garbage): "unknown"}
    assert _classes(errs) == ["broken-link", "missing", "unreadable"]
    assert all(e.message.startswith(e.path) and "\n" not in e.message for e in errs)
    # the file is replaced by a directory between walk and read (chmod 000 is moot as root)
    victim = write(tmp_path / "victim" / "messages", SYSLOG)
    (src,) = walk([str(victim)])
    victim.unlink()
    victim.mkdir()
    r = read_bytes(src)  # type: ignore[arg-type]
    assert r.data == b"" and [e.error_class for e in r.errors] == ["unreadable"]
    shutil.rmtree(victim)


def _gzip_cases(body: bytes) -> dict[str, bytes]:
    packed = gzip.compress(body)
    flipped = bytearray(packed)
    flipped[len(packed) // 2] ^= 0xFF  # damage mid-stream
    bad_crc = bytearray(packed)
    bad_crc[-6] ^= 0xFF  # the trailer's CRC
    return {
        "whole": packed,
        "members": packed + gzip.compress(body[:5000]),
        "cut": packed[: len(packed) // 2],
        "damaged": bytes(flipped),
        "bad-crc": bytes(bad_crc),
        "trailing-junk": packed + b"\x00garbage",
        "bomb": gzip.compress(body[:3000]) + _zeros_deflated(),
    }


def test_gzip_reads_the_same_with_either_inflater(tmp_path: Path, monkeypatch) -> None:
    """ISA-L inflates gzip when `isal` imports, zlib otherwise: the same bytes and the same
    error rows either way, on whole, multi-member, cut, damaged and bomb streams. Of a cut
    stream ISA-L may hold back the last byte zlib gives (a byte of the cut last line)."""
    from triage.sources import decompress

    if decompress._gzip_inflate is zlib:
        import pytest

        pytest.skip("isal is not installed: only zlib can be tried here")
    body = b"".join(
        b"Mar  4 10:00:%02d web07 kernel: line %06d\n" % (i % 60, i) for i in range(20000)
    )
    got: dict[str, dict[str, tuple[bytes, list[str]]]] = {}
    for name, inflater in (("isal", decompress._gzip_inflate), ("zlib", zlib)):
        monkeypatch.setattr(decompress, "_gzip_inflate", inflater)
        got[name] = {}
        for case, data in _gzip_cases(body).items():
            path = write(tmp_path / name / f"{case}.log.gz", data)
            out = list(walk([str(path)]))
            srcs = [o for o in out if isinstance(o, SourceFile)]
            walk_errs = [o.error_class for o in out if isinstance(o, ErrorRecord)]
            r = read_bytes(srcs[0]) if srcs else None
            got[name][case] = (
                r.data if r else b"",
                walk_errs + ([e.error_class for e in r.errors] if r else []),
            )
    isal_cut, zlib_cut = got["isal"].pop("cut"), got["zlib"].pop("cut")
    assert isal_cut[1] == zlib_cut[1] == ["truncated-gzip"]
    assert zlib_cut[0].startswith(isal_cut[0]) and len(zlib_cut[0]) - len(isal_cut[0]) <= 1
    assert isal_cut[0].count(b"\n") == zlib_cut[0].count(b"\n") > 1000
    assert body.startswith(zlib_cut[0])
    assert got["isal"] == got["zlib"]
    assert got["zlib"]["members"][0] == body + body[:5000]
    assert got["zlib"]["bomb"][1] == ["decompression-bomb"]
