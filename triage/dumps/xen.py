"""Xen guest dumps: `xm/xl dump-core` ELF (xc_core, Xen ≥3.0.5) and the pre-2007 xend header.

Neither carries VMCOREINFO. The release comes from a chunked scan for the `Linux version`
banner; the kernel log needs the guest kernel's System.map, whose printk symbols are turned
into guest-physical frames (kernel VA → pfn) and then into file pages through the p2m table
(`.xen_p2m` `{pfn, gmfn}` pairs for PV, `.xen_pfn` for HVM). The old header's page index holds
machine frames, not guest frames, so only header facts and the release are read from it.
"""

from __future__ import annotations

import struct

from triage.dumps import elf, harvest
from triage.dumps.access import DumpError, RandomAccess, read_exact
from triage.dumps.banner import scan_banner
from triage.dumps.collect import Collected
from triage.dumps.memory import KernelMemory, Layout, kernel_va_to_pa
from triage.dumps.system_map import as_vmcoreinfo, read_symbols

XEN_MAGIC_PV = 0xF00FEBED
XEN_MAGIC_HVM = 0xF00FEBEE
NOTE_HEADER = 0x2000001
NOTE_XEN_VERSION = 0x2000002
NOTE_FORMAT_VERSION = 0x2000003
MAX_PAGES = 1 << 32


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("latin-1").strip()


class P2M:
    """pfn → index of the page in `.xen_pages`, by binary search over the sorted pfn column."""

    def __init__(self, pfns: bytes, stride: int, endian: str, count: int) -> None:
        import numpy as np

        dt = np.dtype(endian + "u8")
        col = np.frombuffer(pfns, dtype=dt)
        if stride == 2:
            col = col.reshape(-1, 2)[:, 0]
        col = col[:count]
        self._order = np.argsort(col, kind="stable")
        self._sorted = col[self._order]

    def index(self, pfn: int) -> int | None:
        import numpy as np

        i = int(np.searchsorted(self._sorted, pfn))
        if i < len(self._sorted) and int(self._sorted[i]) == pfn:
            return int(self._order[i])
        return None


def read_xen_core(f: RandomAccess, system_map: str | None = None) -> Collected:
    col = Collected("xen-core")
    try:
        hdr = elf.parse_header(f.read(0, min(64, f.size)))
        secs = {s.name: s for s in elf.sections(f, hdr)}
    except DumpError as exc:
        col.fail(exc)
        return col
    col.set("dump.arch", hdr.arch)
    note = secs.get(".note.Xen")
    nr_pages = page_size = 0
    pv = True
    if note is None:
        col.fail(DumpError("dump-bad-header", "Xen core has no .note.Xen section"))
    else:
        try:
            for n in elf.iter_notes(elf.read_notes(f, note.offset, note.size), hdr.endian):
                if n.type == NOTE_HEADER and len(n.desc) >= 32:
                    magic, vcpus, nr_pages, page_size = struct.unpack_from(
                        hdr.endian + "QQQQ", n.desc
                    )
                    pv = magic != XEN_MAGIC_HVM
                    col.set("xen.domain_type", "pv" if pv else "hvm")
                    col.set("xen.nr_vcpus", vcpus)
                    col.set("xen.nr_pages", nr_pages)
                    col.set("dump.page_size", page_size)
                elif n.type == NOTE_XEN_VERSION and len(n.desc) >= 32:
                    major, minor = struct.unpack_from(hdr.endian + "QQ", n.desc)
                    col.set("xen.version", f"{major}.{minor}{_cstr(n.desc[16:32])}")
                    if len(n.desc) >= 1200:
                        col.set("xen.capabilities", _cstr(n.desc[176:1200]))
                    if len(n.desc) >= 1264:
                        col.set("xen.changeset", _cstr(n.desc[1200:1264]))
                elif n.type == NOTE_FORMAT_VERSION and len(n.desc) >= 8:
                    col.set("xen.dumpcore_version", struct.unpack_from(hdr.endian + "Q", n.desc)[0])
        except DumpError as exc:
            col.fail(exc)
    pages = secs.get(".xen_pages")
    if pages is None or page_size not in (4096, 8192, 16384, 65536) or not 0 < nr_pages < MAX_PAGES:
        col.fail(
            DumpError(
                "dump-bad-header", "Xen core lacks a usable .xen_pages section or header note"
            )
        )
        return col
    if pages.offset + nr_pages * page_size > f.size:
        col.fail(
            DumpError(
                "dump-truncated",
                f".xen_pages needs {nr_pages} pages of {page_size} bytes from {pages.offset:#x}; "
                f"the file has {f.size} bytes",
            )
        )
    found = scan_banner(f, pages.offset, pages.offset + nr_pages * page_size)
    if found:
        col.set("kernel.release", found[0])
        col.set("kernel.banner", found[1])
    if not system_map:
        return col
    table = secs.get(".xen_p2m") if pv else secs.get(".xen_pfn")
    table = table or secs.get(".xen_p2m") or secs.get(".xen_pfn")
    if table is None:
        col.fail(DumpError("dump-bad-header", "Xen core has neither .xen_p2m nor .xen_pfn"))
        return col
    stride = 2 if table.name == ".xen_p2m" else 1
    if table.size < nr_pages * 8 * stride:
        col.fail(DumpError("dump-bad-size", f"{table.name} holds fewer than {nr_pages} entries"))
        return col
    try:
        syms = read_symbols(system_map)
        p2m = P2M(read_exact(f, table.offset, nr_pages * 8 * stride), stride, hdr.endian, nr_pages)
    except DumpError as exc:
        col.fail(exc)
        return col
    ptr = 4 if max(syms.values()) < 1 << 32 else 8
    arch = "i386" if ptr == 4 else "x86_64"
    layout = Layout(hdr.endian, ptr, arch)
    base = pages.offset

    def read_pa(pa: int, length: int) -> bytes:
        out = bytearray()
        while len(out) < length:
            cur = pa + len(out)
            pfn, rel = divmod(cur, page_size)
            idx = p2m.index(pfn)
            if idx is None:
                raise DumpError(
                    "dump-bad-address", f"guest pfn {pfn:#x} is not in the dump's p2m table"
                )
            n = min(length - len(out), page_size - rel)
            out += read_exact(f, base + idx * page_size + rel, n)
        return bytes(out)

    info = as_vmcoreinfo(syms, col.values.get("kernel.release", ""))
    mem = KernelMemory(layout, read_pa, kernel_va_to_pa(layout, None))
    harvest.read_utsname(col, mem, info)
    harvest.carve_log(col, mem, info)
    return col


def read_xen_legacy(f: RandomAccess, system_map: str | None = None) -> Collected:
    """Xen ≤3.0.4 `xc_core_header`: counts and offsets, then vcpu contexts, mfn index, pages."""
    col = Collected("xen-core-legacy")
    try:
        magic, vcpus, nr_pages, ctxt, index, pages = struct.unpack("<6I", read_exact(f, 0, 24))
    except DumpError as exc:
        col.fail(exc)
        return col
    col.set("xen.domain_type", "hvm" if magic == XEN_MAGIC_HVM else "pv")
    col.set("xen.nr_vcpus", vcpus)
    col.set("xen.nr_pages", nr_pages)
    col.set("dump.page_size", 4096)
    col.set("dump.arch", "x86")
    if not (ctxt <= index <= pages) or pages % 4096 or nr_pages >= MAX_PAGES:
        col.fail(
            DumpError(
                "dump-bad-offset",
                f"xend core header offsets out of order (ctxt {ctxt:#x}, index {index:#x}, pages {pages:#x})",
            )
        )
        return col
    end = pages + nr_pages * 4096
    if end > f.size:
        col.fail(
            DumpError("dump-truncated", f"pages end at {end:#x}; the file has {f.size:#x} bytes")
        )
    found = scan_banner(f, pages, end)
    if found:
        col.set("kernel.release", found[0])
        col.set("kernel.banner", found[1])
    if system_map:
        col.fail(
            DumpError(
                "dump-unsupported",
                "pre-2007 xend cores index pages by machine frame; the kernel log cannot be "
                "located from a System.map (use crash on the dump)",
            )
        )
    return col
