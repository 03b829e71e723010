"""Kernel virtual memory as seen through a dump: VA → PA translation and bounded reads.

A format reader supplies physical reads (ELF PT_LOADs, kdump pages, Xen p2m) and this module
adds the address arithmetic the printk walkers need. The translations are the ones dump tools
use without vmlinux: kernel-image and direct-map offsets, and on x86_64 a page-table walk from
`init_top_pgt` for buffers that live in a randomised direct map (KASLR, `log_buf_len=`).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from triage.dumps.access import DumpError
from triage.dumps.vmcoreinfo import VmcoreInfo

X86_64_START_KERNEL_MAP = 0xFFFFFFFF80000000
#: direct-map bases of x86_64 kernels without memory randomisation, highest first: 5-level,
#: 4.20+, 2.6.27–4.19, and 2.6.11–2.6.26 (RHEL 5). An address maps through the highest base ≤ it.
X86_64_DIRECT_MAPS = (
    0xFF11000000000000,
    0xFFFF888000000000,
    0xFFFF880000000000,
    0xFFFF810000000000,
)
I386_PAGE_OFFSET = 0xC0000000
MAX_PHYS = 1 << 52

PhysReader = Callable[[int, int], bytes]  # (pa, length) -> bytes, raises DumpError


@dataclass
class Layout:
    """Word size and byte order of the dumped machine (not of the machine reading it)."""

    endian: str = "<"
    ptr_size: int = 8
    arch: str = ""


class KernelMemory:
    """Reads by kernel virtual address; subclasses or callers provide `read_pa` and mapping."""

    def __init__(
        self,
        layout: Layout,
        read_pa: PhysReader,
        va_to_pa: Callable[[int], int | None],
        read_va_direct: Callable[[int, int], bytes | None] | None = None,
    ) -> None:
        self.layout = layout
        self._read_pa = read_pa
        self._va_to_pa = va_to_pa
        self._direct = read_va_direct

    def read(self, va: int, length: int) -> bytes:
        if self._direct is not None:
            data = self._direct(va, length)
            if data is not None:
                return data
        out = bytearray()
        while len(out) < length:
            cur = va + len(out)
            pa = self._va_to_pa(cur)
            if pa is None:
                raise DumpError(
                    "dump-bad-address", f"kernel address {cur:#x} is not mapped in the dump"
                )
            # stay within one 4 KiB page per translation: the next page may map elsewhere
            chunk = min(length - len(out), 4096 - (cur & 4095))
            out += self._read_pa(pa, chunk)
        return bytes(out)

    def uint(self, va: int, size: int) -> int:
        fmt = {2: "H", 4: "I", 8: "Q"}[size]
        return struct.unpack(self.layout.endian + fmt, self.read(va, size))[0]

    def ulong(self, va: int) -> int:
        return self.uint(va, self.layout.ptr_size)


def kernel_va_to_pa(
    layout: Layout, info: VmcoreInfo | None, phys_base: int = 0
) -> Callable[[int], int | None]:
    """The translation without page tables, by architecture; None where it cannot tell."""
    info = info or VmcoreInfo()
    page_offset = info.number("PAGE_OFFSET")
    phys_offset = info.number("PHYS_OFFSET") or 0
    if info.number("phys_base") is not None:
        phys_base = info.number("phys_base") or 0
    kimage_voffset = info.number("kimage_voffset")
    arch = layout.arch

    def translate(va: int) -> int | None:
        if arch == "x86_64" or (not arch and layout.ptr_size == 8):
            if va >= X86_64_START_KERNEL_MAP:
                return va - X86_64_START_KERNEL_MAP + phys_base
            if page_offset and page_offset <= va < page_offset + MAX_PHYS:
                return va - page_offset
            for base in X86_64_DIRECT_MAPS:
                if base <= va < base + MAX_PHYS:
                    return va - base
            return None
        if arch in ("i386", "i686") or (not arch and layout.ptr_size == 4):
            base = page_offset or I386_PAGE_OFFSET
            return va - base if va >= base else None
        if arch == "aarch64" and kimage_voffset is not None and page_offset is not None:
            if va >= page_offset and va - page_offset < MAX_PHYS and va < kimage_voffset:
                return va - page_offset + phys_offset
            return va - kimage_voffset
        if page_offset is not None and va >= page_offset:
            return va - page_offset + phys_offset
        return None

    return translate


def x86_64_page_walk(
    read_pa: PhysReader, info: VmcoreInfo, fallback: Callable[[int], int | None], phys_base: int = 0
) -> Callable[[int], int | None]:
    """Walk the kernel's own page tables for addresses outside the kernel image.

    Needed when the direct map is randomised (RHEL 8+ KASLR) and the printk buffer was
    reallocated at boot; the top table is `init_top_pgt` (4.13+) or `init_level4_pgt`.
    """
    top = info.symbol("init_top_pgt") or info.symbol("init_level4_pgt")
    if top is None:
        return fallback
    top_pa = fallback(top)
    levels = 5 if info.number("pgtable_l5_enabled") == 1 else 4
    mask = 0x000FFFFFFFFFF000

    def entry(table_pa: int, index: int) -> int:
        return struct.unpack("<Q", read_pa(table_pa + index * 8, 8))[0]

    def walk(va: int) -> int | None:
        if va >= X86_64_START_KERNEL_MAP or top_pa is None:
            return fallback(va)
        try:
            table = top_pa
            shifts = (48, 39, 30, 21, 12) if levels == 5 else (39, 30, 21, 12)
            for shift in shifts:
                e = entry(table, (va >> shift) & 0x1FF)
                if not e & 1:
                    return fallback(va)
                if shift in (30, 21) and e & 0x80:  # 1 GiB / 2 MiB page
                    return (e & mask & ~((1 << shift) - 1)) | (va & ((1 << shift) - 1))
                table = e & mask
            return table | (va & 0xFFF)
        except DumpError:
            return fallback(va)

    return walk
