"""ELF vmcores: `/proc/vmcore` copies, `makedumpfile -E`, netdump/diskdump-era ELF cores.

VMCOREINFO comes from the PT_NOTE segment; kernel memory is read through the PT_LOADs by
virtual address first (kdump fills p_vaddr for the kernel map and the direct map) and by
physical address after translation otherwise.
"""

from __future__ import annotations

from triage.dumps import elf, harvest
from triage.dumps.access import DumpError, RandomAccess
from triage.dumps.banner import scan_banner
from triage.dumps.collect import Collected
from triage.dumps.memory import KernelMemory, Layout, kernel_va_to_pa, x86_64_page_walk
from triage.dumps.system_map import as_vmcoreinfo, read_symbols
from triage.dumps.vmcoreinfo import VmcoreInfo

NT_PRSTATUS = 1
BITS32_ARCHES = {"i386", "arm", "ppc", "mips"}


class LoadMap:
    """PT_LOAD lookups by virtual or physical address; bytes past p_filesz read as zeros."""

    def __init__(self, f: RandomAccess, loads: list[elf.Segment]) -> None:
        self._f = f
        self._loads = [s for s in loads if s.memsz > 0]

    def _read(self, addr: int, length: int, by_va: bool) -> bytes | None:
        out = bytearray()
        while len(out) < length:
            cur = addr + len(out)
            seg = next(
                (
                    s
                    for s in self._loads
                    if (s.vaddr if by_va else s.paddr)
                    <= cur
                    < (s.vaddr if by_va else s.paddr) + s.memsz
                ),
                None,
            )
            if seg is None:
                if by_va:
                    return None
                raise DumpError(
                    "dump-bad-address", f"physical address {cur:#x} is not in any PT_LOAD"
                )
            rel = cur - (seg.vaddr if by_va else seg.paddr)
            n = min(length - len(out), seg.memsz - rel)
            in_file = max(0, min(n, seg.filesz - rel))
            if in_file:
                out += self._f.read(seg.offset + rel, in_file)
            out += bytes(n - in_file)
        return bytes(out)

    def read_va(self, va: int, length: int) -> bytes | None:
        return self._read(va, length, True)

    def read_pa(self, pa: int, length: int) -> bytes:
        data = self._read(pa, length, False)
        assert data is not None
        return data


def read_elf_vmcore(f: RandomAccess, system_map: str | None = None) -> Collected:
    col = Collected("elf-vmcore")
    try:
        hdr = elf.parse_header(f.read(0, min(64, f.size)))
        segs = elf.segments(f, hdr)
    except DumpError as exc:
        col.fail(exc)
        return col
    arch = hdr.arch
    col.set("dump.arch", arch)
    col.set("dump.elf_class", f"ELF{hdr.bits}")
    info = VmcoreInfo()
    cpus = 0
    for seg in segs:
        if seg.type != elf.PT_NOTE:
            continue
        try:
            for note in elf.iter_notes(elf.read_notes(f, seg.offset, seg.filesz), hdr.endian):
                if note.name == b"VMCOREINFO" and note.type == 0:
                    info = VmcoreInfo.parse(note.desc)
                elif note.name == b"CORE" and note.type == NT_PRSTATUS:
                    cpus += 1
        except DumpError as exc:
            col.fail(exc)
    if cpus:
        col.set("dump.nr_cpus", cpus)
    loads = [s for s in segs if s.type == elf.PT_LOAD]
    for s in loads:
        if s.filesz > s.memsz or s.offset + s.filesz > f.size:
            col.fail(
                DumpError(
                    "dump-truncated",
                    f"PT_LOAD at file offset {s.offset:#x} needs {s.filesz} bytes; the file has {f.size}",
                )
            )
            break
    if not info:
        col.fail(DumpError("dump-no-vmcoreinfo", "ELF core has no VMCOREINFO note"))
    harvest.vmcoreinfo_facts(col, info)
    layout = Layout(hdr.endian, 4 if arch in BITS32_ARCHES else 8, arch)
    lm = LoadMap(f, loads)
    if not info and system_map:
        try:
            info = as_vmcoreinfo(read_symbols(system_map))
        except DumpError as exc:
            col.fail(exc)
    translate = kernel_va_to_pa(layout, info)
    if arch == "x86_64" and info:
        translate = x86_64_page_walk(lm.read_pa, info, translate)
    mem = KernelMemory(layout, lm.read_pa, translate, lm.read_va)
    if info:
        harvest.read_utsname(col, mem, info)
        harvest.carve_log(col, mem, info)
    if "kernel.release" not in col.values:
        try:
            found = scan_banner(f, start=min((s.offset for s in loads), default=0))
        except DumpError as exc:
            col.fail(exc)
            found = None
        if found:
            col.set("kernel.release", found[0])
            col.set("kernel.banner", found[1])
    return col
