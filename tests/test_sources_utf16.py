"""Logs saved as UTF-16 (PowerShell's `>` and `Out-File`, Notepad's "Unicode") are read as the
UTF-8 text they hold, loose or inside an archive or a compressed file, with nothing lost."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

import triage
from triage.limits import DEFAULT_LIMITS
from triage.model import SourceFile
from triage.sources import read_bytes, walk
from triage.sources.magic import text_encoding_of

OOPS = (
    "Jun 15 10:21:05 web07 kernel: e1000: eth0 NIC Link is Up 1000 Mbps Full Duplex\n"
    "Jun 15 10:22:00 web07 kernel: BUG: unable to handle kernel NULL pointer dereference at "
    "0000000000000008\n"
    "Jun 15 10:22:00 web07 kernel: IP: [<ffffffffa01b2c3d>] xfs_iflush_cluster+0x1ad/0x4a0 [xfs]\n"
    "Jun 15 10:22:00 web07 kernel: Oops: 0000 [#1] SMP\n"
    "Jun 15 10:22:00 web07 kernel: CPU: 1 PID: 512 Comm: xfsaild/dm-2 Not tainted "
    "3.10.0-957.el7.x86_64 #1\n"
    "Jun 15 10:22:00 web07 kernel: Call Trace:\n"
    "Jun 15 10:22:00 web07 kernel:  [<ffffffffa01b5a8e>] xfs_iflush+0x13e/0x230 [xfs]\n"
    "Jun 15 10:22:00 web07 kernel:  [<ffffffff810b1ef1>] kthread+0xd1/0xe0\n"
    "Jun 15 10:22:00 web07 kernel: ---[ end trace 1a2b3c4d5e6f7a8b ]---\n"
)

ENCODINGS = {
    "utf-16le-bom": OOPS.encode("utf-16"),  # CPython writes the machine's order: little
    "utf-16be-bom": b"\xfe\xff" + OOPS.encode("utf-16-be"),
    "utf-16le": OOPS.encode("utf-16-le"),
    "utf-16be": OOPS.encode("utf-16-be"),
}


def _only(out: list) -> SourceFile:
    (src,) = [s for s in out if isinstance(s, SourceFile)]
    return src


@pytest.mark.parametrize("name", list(ENCODINGS))
def test_a_utf16_log_reads_as_its_utf8_text(tmp_path: Path, name: str) -> None:
    path = tmp_path / "messages"
    path.write_bytes(ENCODINGS[name])
    src = _only(list(walk([str(path)])))
    assert src.kind == "syslog" and src.members == ("",)
    assert read_bytes(src, DEFAULT_LIMITS).data == OOPS.encode()


@pytest.mark.parametrize("wrap", ["gzip", "tar.gz"])
def test_a_utf16_log_compressed_or_in_a_bundle_finds_its_crash(tmp_path: Path, wrap: str) -> None:
    data = ENCODINGS["utf-16le-bom"]
    if wrap == "gzip":
        path = tmp_path / "messages.gz"
        path.write_bytes(gzip.compress(data))
    else:
        path = tmp_path / "sosreport-web07-2009-06-15-abcdefg.tar.gz"
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            info = tarfile.TarInfo("sosreport-web07-2009-06-15-abcdefg/var/log/messages")
            info.size, info.mtime = len(data), 1245061400
            tar.addfile(info, io.BytesIO(data))
        path.write_bytes(buf.getvalue())
    ds = triage.open_dataset(str(triage.scan([str(path)], out=str(tmp_path / "ds")).out))
    assert list(ds.sources["kind"]) == ["syslog"]
    (title,) = list(ds.crashes["title"])
    assert title.startswith("BUG: unable to handle kernel NULL pointer dereference")


def test_nothing_is_lost_from_odd_utf16() -> None:
    """A lone surrogate and an odd last byte come through (as invalid UTF-8 and as the byte)."""
    from triage.sources.decompress import DecompressedStream

    raw = b"\xff\xfe" + "ok ".encode("utf-16-le") + b"\x00\xd8" + "x\n".encode("utf-16-le") + b"!"
    stream = DecompressedStream(io.BytesIO(raw), "utf-16le", DEFAULT_LIMITS)
    assert stream.read() == b"ok \xed\xa0\x80x\n!"
    assert stream.error is None


def test_other_heads_are_not_utf16() -> None:
    assert text_encoding_of(OOPS.encode()) is None
    assert text_encoding_of(b"\xff\xfe\x00\x00" + "x".encode("utf-32-le")) is None  # UTF-32
    assert text_encoding_of(bytes(4096)) is None  # zeros: no text at all
    elf = b"\x7fELF\x02\x01\x01" + bytes(9) + b"\x04\x00\x3e\x00" + bytes(2000)
    assert text_encoding_of(elf) is None
    assert text_encoding_of("short".encode("utf-16-le")) is None  # too little to tell
