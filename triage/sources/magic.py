"""Container, compression and text encoding formats recognised from their first bytes, never
from a suffix.

Bundles get renamed by mail gateways and ticket systems (`report.tar.bz2.txt`, `messages.gz`
that is plain text), so the name only ever serves as a tie-break elsewhere.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from triage.sources import journal_formats

#: compression format → leading magic bytes
COMPRESSION_MAGIC: dict[str, tuple[bytes, ...]] = {
    "gzip": (b"\x1f\x8b",),
    "bzip2": (b"BZh",),
    "xz": (b"\xfd7zXZ\x00",),
    "zstd": (b"\x28\xb5\x2f\xfd",),
    "lz4": (b"\x04\x22\x4d\x18",),  # the frame format (`lz4`, logrotate's compressext .lz4)
}

#: formats recognised but not read: the file is named in an error row, not skipped unseen
UNSUPPORTED_MAGIC: dict[str, tuple[bytes, ...]] = {
    "compress (.Z)": (b"\x1f\x9d",),
    "lzip": (b"LZIP\x00", b"LZIP\x01"),
    "lzop": (b"\x89LZO\x00\r\n\x1a\n",),
    "7-Zip": (b"7z\xbc\xaf\x27\x1c",),
    "RAR": (b"Rar!\x1a\x07",),
}

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
TAR_MAGIC = (b"ustar\x0000", b"ustar  \x00", b"ustar\x00")

#: binary dump formats (the dumps stage reads them; here we only recognise them)
DUMP_MAGIC: tuple[tuple[str, int, bytes], ...] = (
    ("kdump-compressed", 0, b"KDUMP   "),
    ("diskdump", 0, b"DISKDUMP"),
    ("flattened", 0, b"makedumpfile\x00"),
    ("xc-core-legacy", 0, struct.pack("<I", 0xF00FEBED)),
    ("xc-core-legacy", 0, struct.pack("<I", 0xF00FEBEE)),
    ("xen-save", 0, b"LinuxGuestRecord"),
)

ET_CORE = 4


def compression_of(head: bytes) -> str | None:
    for fmt, magics in COMPRESSION_MAGIC.items():
        if head.startswith(magics):
            return fmt
    if head[:3] == b"BZh" and head[3:4].isdigit():
        return "bzip2"
    return None


#: UTF-16 text (a log saved on Windows: PowerShell's `>` and `Out-File`, Notepad's "Unicode")
#: is read as UTF-8 through the same layer as a compressed file: byte order mark → encoding
UTF16_BOMS = {b"\xff\xfe": "utf-16le", b"\xfe\xff": "utf-16be"}
#: a head without a byte order mark is UTF-16 when, over this many bytes at least, nearly every
#: byte of one parity is NUL and nearly every byte of the other is printable ASCII
_UTF16_SAMPLE = 512


def text_form_of(head: bytes) -> str | None:
    """A text stream read through a conversion: UTF-16 (`text_encoding_of`) or a journal in
    one of journalctl's structured forms (`journal_formats.py`), else None."""
    return text_encoding_of(head) or journal_formats.form_of(head)


def text_encoding_of(head: bytes) -> str | None:
    """The encoding of UTF-16 text, "utf-16le" or "utf-16be", else None (UTF-8, Latin-1 and
    ASCII are read as they are). A UTF-32 byte order mark (`FF FE 00 00`) is not UTF-16's."""
    if head[:4] == b"\xff\xfe\x00\x00":
        return None
    enc = UTF16_BOMS.get(head[:2])
    if enc:
        return enc
    sample = head[: _UTF16_SAMPLE * 2]
    if len(sample) < 64 or b"\x00" not in sample:  # most heads: one scan in C
        return None
    even, odd = sample[0::2], sample[1::2]
    for text, zeros, enc in ((even, odd, "utf-16le"), (odd, even, "utf-16be")):
        if zeros.count(0) >= 0.95 * len(zeros) and _printable(text) >= 0.9 * len(text):
            return enc
    return None


_NOT_PRINTABLE = bytes(range(0, 9)) + bytes(range(14, 32)) + bytes(range(127, 256))


def _printable(data: bytes) -> int:
    return len(data.translate(None, _NOT_PRINTABLE))


def unsupported_of(head: bytes) -> str | None:
    """The name of a compression or archive format triage recognises but cannot read."""
    for name, magics in UNSUPPORTED_MAGIC.items():
        if head.startswith(magics):
            return name
    return None


def is_zip(head: bytes) -> bool:
    return head.startswith(ZIP_MAGIC)


#: what `zip -s` (split archive) parts begin with: the first part, a spanning marker
SPLIT_ZIP_FIRST = b"PK\x07\x08"
SPLIT_ZIP_ADVICE = (
    "the {part} part of a split zip archive (zip -s), which triage cannot read; join the parts "
    "(zip -s 0 NAME.zip --out whole.zip) and pass the whole"
)
#: the end of central directory record, and how far from a file's end it may start
_EOCD = b"PK\x05\x06"
_EOCD_REACH = 22 + 0xFFFF


def ends_a_split_zip(fh: BinaryIO, size: int) -> bool:
    """Whether the file is the last part of a split zip (`NAME.zip` after `NAME.z01` …): its
    end of central directory record says the directory lies on a disk other than the first.
    The part begins mid-member, so nothing at its head tells it from other binary data."""
    if size < 22:
        return False
    pos = fh.tell()
    try:
        fh.seek(max(0, size - _EOCD_REACH))
        tail = fh.read(_EOCD_REACH)
    finally:
        fh.seek(pos)
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        return False
    disk, cd_disk = struct.unpack_from("<HH", tail, at + 4)
    return disk > 0 or cd_disk > 0


def is_tar(head: bytes) -> bool:
    """POSIX/GNU magic, or a v7 header whose checksum adds up (old RHEL tar files)."""
    if len(head) < 512:
        return False
    if head[257:265] in TAR_MAGIC or head[257:263] == b"ustar\x00":
        return True
    if head[257:262] == b"ustar":
        return True
    field = head[148:156].replace(b"\x00", b" ").strip()
    if not field or not all(48 <= c <= 55 for c in field):
        return False
    stored = int(field, 8)
    block = head[:148] + b" " * 8 + head[156:512]
    if not head[:100].strip(b"\x00"):
        return False
    return stored == sum(block)


def dump_format(head: bytes) -> str | None:
    """The crash-dump format, or None.

    The dumps stage owns the definition (`triage.dumps.sniff`: it also tells a kernel vmcore
    from a user-space process core); its answer is final when it has one. The magic table
    here is only the fallback for when that stage is unavailable.
    """
    try:
        from triage import dumps

        sniff = getattr(dumps, "sniff", None)
        if sniff is not None:
            found = sniff(head)
            return str(found) if found else None
    except Exception:  # the dumps stage may be a stub or broken: use our own table
        pass
    for name, offset, magic in DUMP_MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return name
    if head[:4] == b"\x7fELF" and len(head) >= 18:
        order = "<" if head[5] == 1 else ">"
        (e_type,) = struct.unpack(order + "H", head[16:18])
        if e_type == ET_CORE:
            return "elf-core"
    return None
