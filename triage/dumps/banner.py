"""Symbol-free fallback: find the `Linux version …` banner in raw memory.

Used where a dump carries no VMCOREINFO (Xen dump-core, pre-2.6.24 kernels, RHEL 4 diskdump).
The file is scanned in fixed-size chunks with an overlap so memory stays bounded, and the scan
stops at the first banner: `linux_banner` sits in the kernel's rodata, early in physical memory.
"""

from __future__ import annotations

import re

from triage.dumps.access import RandomAccess

BANNER = re.compile(
    rb"Linux version (\d[\x21-\x7e]{2,80}) \(([\x20-\x7e]{1,200}?)\) \((?:gcc|clang|GCC)[\x20-\x7e]{0,300}"
)
CHUNK = 8 * 1024 * 1024
OVERLAP = 1024


def scan_banner(
    f: RandomAccess, start: int = 0, end: int | None = None, max_bytes: int | None = None
) -> tuple[str, str] | None:
    """(release, banner line) of the first banner in [start, end), or None."""
    end = f.size if end is None else min(end, f.size)
    if max_bytes is not None:
        end = min(end, start + max_bytes)
    pos = start
    while pos < end:
        n = min(CHUNK + OVERLAP, end - pos)
        chunk = f.read(pos, n)
        m = BANNER.search(chunk)
        if m:
            return m.group(1).decode("latin-1"), m.group(0).decode("latin-1")
        pos += CHUNK
    return None
