"""Kernel-log extraction from a 2 GB sparse ELF vmcore: time and peak memory.

Builds the vmcore with seek+write so it costs no disk: a PT_NOTE with VMCOREINFO, one large
PT_LOAD of "RAM" that is mostly holes, and the lockless printk ring (1 MiB of text) at its end,
where a reader that copies or scans the file would pay for all of it. The extraction runs in a
fresh subprocess so `ru_maxrss` measures only the reader. Goals: < 1 s, < 200 MB peak RSS.

    /tmp/venv/bin/python bench/bench_dump.py [--size-gb 2] [--keep PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from triage.dumps import read_dump
from triage.model import SourceFile
t1 = time.perf_counter()
rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
with open(sys.argv[1], "rb") as fh:
    r = read_dump(SourceFile(disk_path=sys.argv[1]), fh)
t2 = time.perf_counter()
with open(sys.argv[1], "rb") as fh:
    read_dump(SourceFile(disk_path=sys.argv[1]), fh)
t3 = time.perf_counter()
print(json.dumps({
    "warm_s": t3 - t2,
    "import_s": t1 - t0, "read_s": t2 - t1,
    "log_bytes": len(r.log or b""), "log_lines": (r.log or b"").count(b"\n"),
    "errors": [e.message for e in r.errors],
    "import_rss_mb": rss_import,
    "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def build(path: Path, size: int) -> int:
    from dumpbuilder import Image, elf_core, note, printk_lockless, put_uts_ns, utsname, vmcoreinfo

    records = [(i * 1_000_000, b"bench record %06d: " % i + b"x" * 60) for i in range(12_000)]
    region = 6 * 1024 * 1024
    img = Image(size=region, pa=(size - region) & ~0xFFFFF)  # RAM below the ring is a hole
    put_uts_ns(img, utsname())
    kept = printk_lockless(img, records, count_bits=15, size_bits=20)
    info = vmcoreinfo(img, "5.14.0-427.el9.x86_64")
    notes = note(b"CORE", 1, bytes(336)) + note(b"VMCOREINFO", 0, info)
    # header + notes, built with an empty load, then patched to the real layout
    head = elf_core([], notes)
    data_off = len(head)
    ram = size - data_off
    hole = ram - region
    img.pa = hole
    import struct

    ph = struct.pack("<IIQQQQQQ", 1, 7, data_off, img.va - hole, img.pa - hole, ram, ram, 0)
    ehdr = bytearray(head[:64])
    struct.pack_into("<H", ehdr, 56, 2)  # e_phnum: PT_NOTE + PT_LOAD
    note_ph = struct.pack("<IIQQQQQQ", 4, 0, 64 + 2 * 56, 0, 0, len(notes), len(notes), 0)
    with path.open("wb") as fh:
        fh.write(bytes(ehdr) + note_ph + ph + notes)
        fh.seek(data_off + hole)
        fh.write(bytes(img.data))
        fh.truncate(size)
        fh.flush()
        os.fsync(fh.fileno())  # measure reading, not the writeback of the build
    return len(kept)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-gb", type=float, default=2.0)
    ap.add_argument("--keep", type=Path, default=None)
    args = ap.parse_args()
    size = int(args.size_gb * 1024**3)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "vmcore"
        t = time.perf_counter()
        kept = build(path, size)
        built = time.perf_counter() - t
        st = os.stat(path)
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True
        )
        res = json.loads(out.stdout)
    print(
        f"sparse ELF vmcore: {size / 1024**3:.1f} GiB apparent, {st.st_blocks * 512 / 1024**2:.1f} MiB on disk, built in {built:.2f} s"
    )
    print(
        f"printk ring: lockless, {kept} records kept; carved {res['log_lines']} lines, {res['log_bytes'] / 1024:.0f} KiB"
    )
    print(
        f"read_dump: {res['read_s']:.3f} s first read (goal < 1 s), {res['warm_s']:.3f} s again "
        f"with the page cache warm; import {res['import_s']:.3f} s"
    )
    print(
        f"peak RSS of the reading process: {res['maxrss_mb']:.0f} MB (goal < 200 MB); "
        f"{res['import_rss_mb']:.0f} MB of it after importing triage (pyarrow)"
    )
    if res["errors"]:
        print("errors:", res["errors"])
    ok = (
        res["read_s"] < 1.0
        and res["maxrss_mb"] < 200
        and res["log_lines"] == kept
        and not res["errors"]
    )
    print("OK" if ok else "GOAL MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
