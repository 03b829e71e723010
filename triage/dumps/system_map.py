"""System.map → the printk symbols, presented as a VMCOREINFO so the same walkers run.

Dumps without VMCOREINFO (Xen dump-core, RHEL 4 diskdump, pre-2.6.24 ELF cores) can still give
their kernel log when the engineer supplies the guest kernel's System.map. Struct layouts are
not in a System.map, so the stock layouts of each printk generation are assumed (documented
below); they hold for every kernel built without unusual debug options.
"""

from __future__ import annotations

from pathlib import Path

from triage.dumps.access import DumpError
from triage.dumps.vmcoreinfo import VmcoreInfo

PRINTK_SYMBOLS = (
    "log_buf",
    "log_buf_len",
    "log_end",
    "logged_chars",
    "log_first_idx",
    "log_next_idx",
    "prb",
    "init_uts_ns",
    "linux_banner",
)

#: stock struct layouts, VMCOREINFO-style, per generation (x86, 64-bit where it matters)
DEFAULT_LAYOUTS = {
    "structured": {
        "SIZE(printk_log)": "16",
        "OFFSET(printk_log.ts_nsec)": "0",
        "OFFSET(printk_log.len)": "8",
        "OFFSET(printk_log.text_len)": "10",
    },
    "lockless": {
        "SIZE(printk_ringbuffer)": "72",  # 5.10 layout
        "OFFSET(printk_ringbuffer.desc_ring)": "0",
        "OFFSET(printk_ringbuffer.text_data_ring)": "40",
        "OFFSET(prb_desc_ring.count_bits)": "0",
        "OFFSET(prb_desc_ring.descs)": "8",
        "OFFSET(prb_desc_ring.infos)": "16",
        "OFFSET(prb_desc_ring.head_id)": "24",
        "OFFSET(prb_desc_ring.tail_id)": "32",
        "SIZE(prb_desc)": "24",
        "OFFSET(prb_desc.state_var)": "0",
        "OFFSET(prb_desc.text_blk_lpos)": "8",
        "OFFSET(prb_data_blk_lpos.begin)": "0",
        "OFFSET(prb_data_blk_lpos.next)": "8",
        "SIZE(printk_info)": "88",
        "OFFSET(printk_info.seq)": "0",
        "OFFSET(printk_info.ts_nsec)": "8",
        "OFFSET(printk_info.text_len)": "16",
        "OFFSET(prb_data_ring.size_bits)": "0",
        "OFFSET(prb_data_ring.data)": "8",
        "OFFSET(atomic_long_t.counter)": "0",
    },
}

MAX_MAP_BYTES = 64 * 1024 * 1024


def read_symbols(path: str, wanted: tuple[str, ...] = PRINTK_SYMBOLS) -> dict[str, int]:
    p = Path(path)
    try:
        if p.stat().st_size > MAX_MAP_BYTES:
            raise DumpError("system-map-invalid", f"System.map {path} is larger than 64 MiB")
        text = p.read_bytes()
    except OSError as exc:
        raise DumpError(
            "system-map-unreadable", f"cannot read System.map {path}: {exc.strerror}"
        ) from exc
    want = set(wanted)
    found: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        name = parts[2].decode("latin-1")
        if name in want and name not in found:
            try:
                found[name] = int(parts[0], 16)
            except ValueError:
                continue
    if not found:
        raise DumpError("system-map-invalid", f"{path} holds none of the printk symbols")
    return found


def as_vmcoreinfo(symbols: dict[str, int], release: str = "") -> VmcoreInfo:
    entries = {f"SYMBOL({k})": f"{v:x}" for k, v in symbols.items()}
    if "prb" in symbols:
        entries.update(DEFAULT_LAYOUTS["lockless"])
    elif "log_first_idx" in symbols:
        entries.update(DEFAULT_LAYOUTS["structured"])
    if release:
        entries["OSRELEASE"] = release
    return VmcoreInfo(entries)
