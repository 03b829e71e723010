"""A minimal ELF reader for core files: header, program headers, section headers, notes.

Only what crash dumps use, in either class and byte order. Counts and sizes come from an
untrusted file, so each table is bounded by the file size and a sane maximum before it is read.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from triage.dumps.access import DumpError, RandomAccess, read_exact

ET_CORE = 4
PT_LOAD = 1
PT_NOTE = 4
SHT_NOTE = 7
MAX_HEADERS = 65536  # e_phnum is 16 bits, PN_XNUM extension ignored: kdump never needs it
MAX_NOTES_BYTES = 64 * 1024 * 1024

EM_NAMES = {
    3: "i386",
    8: "mips",
    20: "ppc",
    21: "ppc64",
    22: "s390x",
    40: "arm",
    50: "ia64",
    62: "x86_64",
    183: "aarch64",
    243: "riscv64",
}


@dataclass(frozen=True)
class Segment:
    type: int
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int


@dataclass(frozen=True)
class Section:
    name: str
    type: int
    offset: int
    size: int
    entsize: int


@dataclass(frozen=True)
class Note:
    name: bytes
    type: int
    desc: bytes


@dataclass
class ElfHeader:
    bits: int  # 32 | 64
    endian: str  # "<" | ">"
    type: int
    machine: int
    phoff: int
    shoff: int
    phentsize: int
    phnum: int
    shentsize: int
    shnum: int
    shstrndx: int

    @property
    def arch(self) -> str:
        name = EM_NAMES.get(self.machine, f"em{self.machine}")
        if name == "ppc64" and self.endian == "<":
            return "ppc64le"
        return name


def parse_header(head: bytes) -> ElfHeader:
    if len(head) < 52 or head[:4] != b"\x7fELF":
        raise DumpError("dump-bad-header", "not an ELF file")
    cls, data = head[4], head[5]
    if cls not in (1, 2) or data not in (1, 2):
        raise DumpError("dump-bad-header", f"unknown ELF class {cls} or byte order {data}")
    e = "<" if data == 1 else ">"
    if cls == 2:
        if len(head) < 64:
            raise DumpError("dump-truncated", "ELF64 header cut short")
        t, m, _v, _entry, phoff, shoff, _fl, _eh, phes, phn, shes, shn, shs = struct.unpack_from(
            e + "HHIQQQIHHHHHH", head, 16
        )
        bits = 64
    else:
        t, m, _v, _entry, phoff, shoff, _fl, _eh, phes, phn, shes, shn, shs = struct.unpack_from(
            e + "HHIIIIIHHHHHH", head, 16
        )
        bits = 32
    return ElfHeader(bits, e, t, m, phoff, shoff, phes, phn, shes, shn, shs)


def _table(f: RandomAccess, off: int, entsize: int, num: int, minsize: int, what: str) -> bytes:
    if num == 0:
        return b""
    if entsize < minsize or num > MAX_HEADERS:
        raise DumpError("dump-bad-header", f"implausible {what} table ({num} × {entsize} bytes)")
    return read_exact(f, off, entsize * num)


def segments(f: RandomAccess, h: ElfHeader) -> list[Segment]:
    minsize = 56 if h.bits == 64 else 32
    raw = _table(f, h.phoff, h.phentsize, h.phnum, minsize, "program header")
    out = []
    for i in range(h.phnum):
        base = i * h.phentsize
        if h.bits == 64:
            pt, _fl, off, va, pa, fsz, msz, _al = struct.unpack_from(
                h.endian + "IIQQQQQQ", raw, base
            )
        else:
            pt, off, va, pa, fsz, msz, _fl, _al = struct.unpack_from(
                h.endian + "IIIIIIII", raw, base
            )
        out.append(Segment(pt, off, va, pa, fsz, msz))
    return out


def sections(f: RandomAccess, h: ElfHeader) -> list[Section]:
    minsize = 64 if h.bits == 64 else 40
    raw = _table(f, h.shoff, h.shentsize, h.shnum, minsize, "section header")
    rows = []
    for i in range(h.shnum):
        base = i * h.shentsize
        if h.bits == 64:
            nm, st, _fl, _ad, off, sz, _ln, _in, _al, es = struct.unpack_from(
                h.endian + "IIQQQQIIQQ", raw, base
            )
        else:
            nm, st, _fl, _ad, off, sz, _ln, _in, _al, es = struct.unpack_from(
                h.endian + "IIIIIIIIII", raw, base
            )
        rows.append((nm, st, off, sz, es))
    strtab = b""
    if 0 < h.shstrndx < len(rows):
        _, _, soff, ssz, _ = rows[h.shstrndx]
        if ssz > 1024 * 1024:
            raise DumpError("dump-bad-header", f"section name table of {ssz} bytes")
        strtab = read_exact(f, soff, ssz)
    out = []
    for nm, st, off, sz, es in rows:
        end = strtab.find(b"\0", nm) if nm < len(strtab) else -1
        name = strtab[nm:end].decode("latin-1") if end >= 0 else ""
        out.append(Section(name, st, off, sz, es))
    return out


def iter_notes(data: bytes, endian: str) -> Iterator[Note]:
    """Notes of a PT_NOTE segment or SHT_NOTE section; stops at the first one that overruns."""
    pos = 0
    n = len(data)
    while pos + 12 <= n:
        namesz, descsz, ntype = struct.unpack_from(endian + "III", data, pos)
        name_at = pos + 12
        desc_at = name_at + ((namesz + 3) & ~3)
        nxt = desc_at + ((descsz + 3) & ~3)
        if desc_at + descsz > n:
            raise DumpError(
                "dump-bad-note",
                f"note at {pos:#x} claims {descsz} bytes past the end of its segment",
            )
        if namesz == 0 and descsz == 0 and ntype == 0:
            return  # zero padding after the last note
        yield Note(
            data[name_at : name_at + namesz].rstrip(b"\0"), ntype, data[desc_at : desc_at + descsz]
        )
        pos = nxt


def read_notes(f: RandomAccess, offset: int, size: int) -> bytes:
    if size > MAX_NOTES_BYTES:
        raise DumpError("dump-bad-note", f"note segment of {size} bytes is implausibly large")
    return read_exact(f, offset, size)
