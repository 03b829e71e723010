"""kdump-compressed (`KDUMP   `, makedumpfile -c/-l/-p/-z) and RHEL 4 diskdump (`DISKDUMP`).

Layout (makedumpfile `diskdump_mod.h`): a header block, a sub-header block (kdump only; it
holds phys_base, dump level and where VMCOREINFO and the ELF notes were copied), two bitmaps
(RAM, then dumpable pages), an array of page descriptors, one per dumpable pfn in pfn order,
and the page data. The header follows the *dumped* machine's word size and byte order, so the
layout is chosen by `utsname.machine` and confirmed by a plausible `block_size`.
Diskdump has no descriptors: dumpable pages are stored raw, one block each, in pfn order.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from dataclasses import dataclass

from triage.dumps import compression, elf, harvest
from triage.dumps.access import DumpError, RandomAccess, read_exact
from triage.dumps.banner import scan_banner
from triage.dumps.collect import Collected, parse_utsname
from triage.dumps.memory import KernelMemory, Layout, kernel_va_to_pa, x86_64_page_walk
from triage.dumps.system_map import as_vmcoreinfo, read_symbols
from triage.dumps.vmcoreinfo import VmcoreInfo

BLOCK_SIZES = (4096, 8192, 16384, 65536)
STATUS_INCOMPLETE = 0x8
UTS_OFFSET = 12
BITS32_MACHINES = ("i386", "i486", "i586", "i686", "arm", "armv7l", "ppc", "s390", "mips")
BIG_ENDIAN_MACHINES = ("ppc64", "ppc", "s390x", "s390", "mips", "sparc64")
X86_32 = ("i386", "i486", "i586", "i686")
MAX_MAPNR = 1 << 40  # 4 PiB of 4 KiB pages
BITMAP_BLOCK = 4096  # bytes of bitmap per cached rank step


@dataclass(frozen=True)
class HeaderLayout:
    bits: int
    endian: str
    # offsets of: timestamp, status, block_size, sub_hdr_size, bitmap_blocks, max_mapnr, nr_cpus
    time_fmt: str
    offsets: tuple[int, int, int, int, int, int, int]


LAYOUT64 = (408, 424, 428, 432, 436, 440, 460)
LAYOUT32 = (404, 412, 416, 420, 424, 428, 448)


@dataclass
class Header:
    layout: HeaderLayout
    version: int
    uts: dict[str, str]
    timestamp: int
    status: int
    block_size: int
    sub_hdr_size: int
    bitmap_blocks: int
    max_mapnr: int
    nr_cpus: int


def _candidates(machine: str) -> list[HeaderLayout]:
    bits_first = 32 if machine.startswith(BITS32_MACHINES) and machine != "s390x" else 64
    big_first = machine in BIG_ENDIAN_MACHINES
    out = []
    for endian in (">", "<") if big_first else ("<", ">"):
        for bits in (bits_first, 96 - bits_first):
            tfmt = "qq" if bits == 64 else "ii"
            out.append(HeaderLayout(bits, endian, tfmt, LAYOUT64 if bits == 64 else LAYOUT32))
    return out


def parse_header(head: bytes) -> Header:
    if len(head) < 464:
        raise DumpError("dump-truncated", f"dump header needs 464 bytes, the file has {len(head)}")
    uts = parse_utsname(head[UTS_OFFSET : UTS_OFFSET + 390])
    for lay in _candidates(uts.get("machine", "")):
        e = lay.endian
        t_off, st_off, bs_off, sub_off, bmp_off, map_off, cpu_off = lay.offsets
        (bs,) = struct.unpack_from(e + "i", head, bs_off)
        if bs not in BLOCK_SIZES:
            continue
        (version,) = struct.unpack_from(e + "i", head, 8)
        sec, _usec = struct.unpack_from(e + lay.time_fmt, head, t_off)
        (status,) = struct.unpack_from(e + "I", head, st_off)
        (sub,) = struct.unpack_from(e + "i", head, sub_off)
        (bmp,) = struct.unpack_from(e + "I", head, bmp_off)
        (mapnr,) = struct.unpack_from(e + "I", head, map_off)
        (cpus,) = struct.unpack_from(e + "i", head, cpu_off)
        return Header(lay, version, uts, sec, status, bs, sub, bmp, mapnr, cpus)
    raise DumpError(
        "dump-bad-header",
        "no plausible block size in the dump header (corrupt, or an unknown word size/byte order)",
    )


@dataclass
class SubHeader:
    phys_base: int = 0
    dump_level: int | None = None
    vmcoreinfo: tuple[int, int] = (0, 0)
    notes: tuple[int, int] = (0, 0)
    max_mapnr_64: int | None = None


def parse_sub_header(raw: bytes, h: Header) -> SubHeader:
    e = h.layout.endian
    v = h.version
    if h.layout.bits == 64:
        phys_base, level = struct.unpack_from(e + "Qi", raw, 0)
        vi = struct.unpack_from(e + "qQqQ", raw, 32)
        mapnr = struct.unpack_from(e + "Q", raw, 96)[0]
    else:
        phys_base, level = struct.unpack_from(e + "Ii", raw, 0)
        vi = (*struct.unpack_from(e + "qI", raw, 20), *struct.unpack_from(e + "qI", raw, 32))
        mapnr = struct.unpack_from(e + "Q", raw, 72)[0]
    sub = SubHeader(phys_base=phys_base, dump_level=level)
    if v >= 3:
        sub.vmcoreinfo = (vi[0], vi[1])
    if v >= 4:
        sub.notes = (vi[2], vi[3])
    if v >= 6:
        sub.max_mapnr_64 = mapnr
    return sub


class Bitmap:
    """The dumpable-pages bitmap, read lazily; `rank(pfn)` counts dumpable pfns below pfn."""

    def __init__(self, f: RandomAccess, offset: int, length: int) -> None:
        self._f = f
        self._off = offset
        self._len = length
        self._cum = [0]  # dumpable bits before each BITMAP_BLOCK-byte block

    def test(self, pfn: int) -> bool:
        byte = pfn >> 3
        if byte >= self._len:
            return False
        return bool(self._f.read(self._off + byte, 1)[0] >> (pfn & 7) & 1)

    def rank(self, pfn: int) -> int:
        byte = pfn >> 3
        block = byte // BITMAP_BLOCK
        while len(self._cum) <= block:
            i = len(self._cum) - 1
            n = min(BITMAP_BLOCK, self._len - i * BITMAP_BLOCK)
            chunk = self._f.read(self._off + i * BITMAP_BLOCK, max(0, n))
            self._cum.append(self._cum[-1] + int.from_bytes(chunk, "little").bit_count())
        start = block * BITMAP_BLOCK
        head = self._f.read(self._off + start, byte - start + 1)
        bits = int.from_bytes(head, "little") & ((1 << ((byte - start) * 8 + (pfn & 7))) - 1)
        return self._cum[block] + bits.bit_count()

    def nonzero(self) -> bool:
        step = 1 << 20
        for pos in range(0, self._len, step):
            if self._f.read(self._off + pos, min(step, self._len - pos)).strip(b"\0"):
                return True
        return False


class PageStore:
    """Physical pages of a kdump-compressed or diskdump file, with a small page cache."""

    CACHE_PAGES = 128

    def __init__(self, f: RandomAccess, h: Header, compressed: bool, max_mapnr: int) -> None:
        self._f = f
        self._h = h
        self._compressed = compressed
        bs = h.block_size
        self.page_size = bs
        self.max_mapnr = max_mapnr
        bitmap_off = (1 + h.sub_hdr_size) * bs
        bitmap_len = h.bitmap_blocks * bs
        half = bitmap_len // 2
        if bitmap_off + bitmap_len > f.size:
            raise DumpError(
                "dump-truncated",
                f"bitmaps end at {bitmap_off + bitmap_len:#x}, past the end of the file ({f.size:#x})",
            )
        if half * 8 < max_mapnr:
            raise DumpError(
                "dump-bad-size", f"bitmap of {bitmap_len} bytes cannot cover {max_mapnr} pages"
            )
        second = Bitmap(f, bitmap_off + half, half)
        # kdump always writes both halves; a diskdump of a full dump may leave the second empty
        self.bitmap = second if compressed or second.nonzero() else Bitmap(f, bitmap_off, half)
        self.data_off = (1 + h.sub_hdr_size + h.bitmap_blocks) * bs
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self.methods_seen: set[int] = set()

    def page(self, pfn: int) -> bytes:
        cached = self._cache.get(pfn)
        if cached is not None:
            self._cache.move_to_end(pfn)
            return cached
        data = self._load(pfn)
        self._cache[pfn] = data
        if len(self._cache) > self.CACHE_PAGES:
            self._cache.popitem(last=False)
        return data

    def _load(self, pfn: int) -> bytes:
        bs = self.page_size
        if pfn >= self.max_mapnr:
            raise DumpError(
                "dump-bad-address", f"pfn {pfn:#x} is beyond max_mapnr {self.max_mapnr:#x}"
            )
        if not self.bitmap.test(pfn):
            return bytes(bs)  # excluded (zero, free, cache or user page): reads as zeros
        pos = self.bitmap.rank(pfn)
        if not self._compressed:
            return read_exact(self._f, self.data_off + pos * bs, bs)
        e = self._h.layout.endian
        off, size, flags, _pf = struct.unpack(
            e + "qIIQ", read_exact(self._f, self.data_off + pos * 24, 24)
        )
        if off == 0 and size == 0:
            return bytes(bs)
        if off <= 0 or size == 0 or size > bs or off + size > self._f.size:
            raise DumpError(
                "dump-bad-page",
                f"page descriptor of pfn {pfn:#x} points at {size} bytes at offset {off:#x}",
            )
        raw = read_exact(self._f, off, size)
        if size == bs and not flags:
            return raw
        self.methods_seen.add(flags)
        return compression.decompress_page(flags, raw, bs)

    def read_pa(self, pa: int, length: int) -> bytes:
        out = bytearray()
        bs = self.page_size
        while len(out) < length:
            cur = pa + len(out)
            pfn, rel = divmod(cur, bs)
            n = min(length - len(out), bs - rel)
            out += self.page(pfn)[rel : rel + n]
        return bytes(out)


def read_kdump(f: RandomAccess, system_map: str | None = None) -> Collected:
    head = f.read(0, min(f.size, 4096))
    compressed = head.startswith(b"KDUMP   ")
    col = Collected("kdump-compressed" if compressed else "diskdump")
    try:
        h = parse_header(head)
    except DumpError as exc:
        col.fail(exc)
        return col
    col.set_uts(h.uts)
    col.set_time(h.timestamp)
    col.set("dump.header_version", h.version)
    col.set("dump.page_size", h.block_size)
    if 0 < h.nr_cpus <= 65536:
        col.set("dump.nr_cpus", h.nr_cpus)
    methods = compression.method_names(h.status) if compressed else []
    col.set("dump.compression", ",".join(methods) or "none")
    if compressed and h.status & STATUS_INCOMPLETE:
        col.set("dump.incomplete", "true")
        col.fail(DumpError("dump-incomplete", "the dump header says the dump is incomplete"))
    info = VmcoreInfo()
    sub = SubHeader()
    max_mapnr = h.max_mapnr
    if compressed:
        if not 0 < h.sub_hdr_size <= 64:
            col.fail(DumpError("dump-bad-header", f"sub-header of {h.sub_hdr_size} blocks"))
            return col
        try:
            sub = parse_sub_header(read_exact(f, h.block_size, 104), h)
        except DumpError as exc:
            col.fail(exc)
            return col
        if sub.dump_level is not None and 0 <= sub.dump_level <= 31:
            col.set("dump.level", sub.dump_level)
        if sub.max_mapnr_64:
            max_mapnr = sub.max_mapnr_64
        info = _vmcoreinfo(f, h, sub, col)
    if not 0 < max_mapnr <= MAX_MAPNR:
        col.fail(DumpError("dump-bad-size", f"max_mapnr {max_mapnr} is out of range"))
        return col
    harvest.vmcoreinfo_facts(col, info)
    arch = h.uts.get("machine", "")
    layout = Layout(h.layout.endian, h.layout.bits // 8, "i386" if arch in X86_32 else arch)
    try:
        store = PageStore(f, h, compressed, max_mapnr)
    except DumpError as exc:
        col.fail(exc)
        return col
    if not info and system_map:
        try:
            info = as_vmcoreinfo(read_symbols(system_map), h.uts.get("release", ""))
        except DumpError as exc:
            col.fail(exc)
    translate = kernel_va_to_pa(layout, info, sub.phys_base)
    if layout.arch == "x86_64" and info:
        translate = x86_64_page_walk(store.read_pa, info, translate, sub.phys_base)
    mem = KernelMemory(layout, store.read_pa, translate)
    if info:
        harvest.carve_log(col, mem, info)
    elif not h.uts.get("release"):
        found = scan_banner(f, start=store.data_off)
        if found:
            col.set("kernel.release", found[0])
            col.set("kernel.banner", found[1])
    return col


def _vmcoreinfo(f: RandomAccess, h: Header, sub: SubHeader, col: Collected) -> VmcoreInfo:
    off, size = sub.vmcoreinfo
    try:
        if off > 0 and 0 < size <= 1 << 20:
            return VmcoreInfo.parse(read_exact(f, off, size))
        noff, nsize = sub.notes
        if noff > 0 and nsize > 0:
            for note in elf.iter_notes(elf.read_notes(f, noff, nsize), h.layout.endian):
                if note.name == b"VMCOREINFO":
                    return VmcoreInfo.parse(note.desc)
    except DumpError as exc:
        col.fail(exc)
        return VmcoreInfo()
    col.fail(
        DumpError(
            "dump-no-vmcoreinfo",
            "the dump carries no VMCOREINFO (header version "
            f"{h.version}); the kernel log needs a System.map",
        )
    )
    return VmcoreInfo()
