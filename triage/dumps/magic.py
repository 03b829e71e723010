"""Recognising a dump from its first bytes, whatever the file is called.

Kept free of heavy imports: the sources stage calls `sniff` on every file it walks.
"""

from __future__ import annotations

import struct

ELF_MAGIC = b"\x7fELF"
XEN_MAGICS = (0xF00FEBED, 0xF00FEBEE)
ET_CORE = 4
PT_LOAD = 1
#: user-space cores may carry the vsyscall/fixmap page; it says nothing about kernel dumps
FIXMAP_START = 0xFFFFFFFFFF000000

FORMATS = (
    "elf-vmcore",
    "kdump-compressed",
    "diskdump",
    "flattened",
    "xen-core",
    "xen-core-legacy",
)


def sniff(head: bytes) -> str | None:
    """The dump format of a file from its first bytes (≥ 4 KiB recommended), or None.

    Process cores (ELF ET_CORE from user space) and ordinary ELF binaries are not dumps.
    """
    if head.startswith(b"KDUMP   "):
        return "kdump-compressed"
    if head.startswith(b"DISKDUMP"):
        return "diskdump"
    if head.startswith(b"makedumpfile\0") and len(head) >= 32:
        ftype, version = struct.unpack_from(">QQ", head, 16)
        return "flattened" if (ftype, version) == (1, 1) else None
    if head.startswith(ELF_MAGIC):
        return _sniff_elf(head)
    if len(head) >= 24:
        magic, vcpus, _pages, ctxt, index, pages = struct.unpack_from("<6I", head)
        if magic in XEN_MAGICS and 0 < vcpus <= 4096 and ctxt == 24 and ctxt <= index <= pages:
            return "xen-core-legacy"
    return None


def _sniff_elf(head: bytes) -> str | None:
    if len(head) < 52 or head[4] not in (1, 2) or head[5] not in (1, 2):
        return None
    if head[4] == 2 and len(head) < 64:  # a 64-bit ELF header is 64 bytes
        return None
    e = "<" if head[5] == 1 else ">"
    is64 = head[4] == 2
    (etype,) = struct.unpack_from(e + "H", head, 16)
    if etype != ET_CORE:
        return None
    if is64:
        (phoff,) = struct.unpack_from(e + "Q", head, 32)
        phentsize, phnum, _, shnum = struct.unpack_from(e + "HHHH", head, 54)
    else:
        (phoff,) = struct.unpack_from(e + "I", head, 28)
        phentsize, phnum, _, shnum = struct.unpack_from(e + "HHHH", head, 42)
    if phnum == 0:
        return "xen-core" if shnum > 0 else None
    if b"VMCOREINFO" in head:
        return "elf-vmcore"
    kernel_half = 1 << 63 if is64 else 1 << 31
    kernel = user = 0
    for i in range(phnum):
        at = phoff + i * phentsize
        if at + (56 if is64 else 32) > len(head):
            break
        if is64:
            ptype, _fl, _off, vaddr = struct.unpack_from(e + "IIQQ", head, at)
        else:
            ptype, _off, vaddr = struct.unpack_from(e + "III", head, at)
        if ptype != PT_LOAD or vaddr >= FIXMAP_START:
            continue
        if vaddr >= kernel_half or vaddr == 0:
            kernel += 1
        else:
            user += 1
    if kernel or (user == 0):
        return "elf-vmcore"
    return None
