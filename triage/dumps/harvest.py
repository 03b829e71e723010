"""The format-independent part: VMCOREINFO facts, utsname and the kernel log from memory.

Every format reader ends here once it can read kernel memory, so ELF, kdump-compressed and Xen
dumps yield the same facts the same way.
"""

from __future__ import annotations

from triage.dumps import printk
from triage.dumps.access import DumpError
from triage.dumps.collect import Collected, find_utsname, parse_utsname
from triage.dumps.memory import KernelMemory
from triage.dumps.vmcoreinfo import VmcoreInfo


def vmcoreinfo_facts(col: Collected, info: VmcoreInfo) -> None:
    col.set("kernel.release", info.release)
    if info.page_size:
        col.set("dump.page_size", info.page_size)
    col.set_time(info.crash_time)
    col.set("dump.build_id", info.build_id)
    if info.kernel_offset:
        col.set("dump.kaslr_offset", f"{info.kernel_offset:#x}")


def read_utsname(col: Collected, mem: KernelMemory, info: VmcoreInfo) -> None:
    """Hostname and version from `init_uts_ns`, which VMCOREINFO (or System.map) locates."""
    base = info.symbol("init_uts_ns")
    if base is None:
        return
    off = info.offset("name", "uts_namespace")
    try:
        if off is not None:
            uts = parse_utsname(mem.read(base + off, 6 * 65))
        else:  # the name follows a kref and, in newer kernels, a few pointers
            uts = find_utsname(mem.read(base, 6 * 65 + 64))
    except DumpError:
        return  # the hostname is a nicety; the log and header facts do not depend on it
    if uts:
        col.set("dump.hostname", uts["nodename"], overwrite=True)
        col.set("kernel.release", uts["release"])
        col.set("kernel.version", uts["version"])
        col.set("dump.arch", uts["machine"])


def carve_log(col: Collected, mem: KernelMemory, info: VmcoreInfo) -> None:
    try:
        carved = printk.carve(mem, info, col.values.get("kernel.release", ""))
    except DumpError as exc:
        col.fail(exc)
        return
    col.set("dump.printk", carved.generation)
    col.log = carved.text
    if carved.error is not None:
        col.fail(carved.error)
