"""Builders shared by the security tests and the atheris targets (tests/security/fuzz_*.py).

Importable from a test (conftest.py puts tests/ and tests/security/ on sys.path) and from a fuzz
target run by hand (which does the same before importing this module).
"""

from __future__ import annotations

import io
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
for _p in (str(TESTS), str(TESTS / "security")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from dumpbuilder import (  # noqa: E402
    RECORDS,
    RELEASE_RHEL9,
    Image,
    build_elf,
    flatten,
    kdump_compressed,
    printk_lockless,
    put_uts_ns,
    utsname,
    vmcoreinfo,
    xen_core,
)

from triage.model import (  # noqa: E402
    KIND_CONSOLE,
    KIND_CRASH_TOOL,
    KIND_DMESG,
    KIND_JOURNAL,
    KIND_SYSLOG,
    KIND_SYSLOG_RFC3339,
    KIND_VMCORE_DMESG,
    KIND_XENSOURCE,
)

#: every kind `triage.parsers.parse_bytes` reads, plus None (sniffed from the bytes)
PARSER_KINDS: list[str | None] = [
    None,
    KIND_CONSOLE,
    KIND_DMESG,
    KIND_VMCORE_DMESG,
    KIND_SYSLOG,
    KIND_SYSLOG_RFC3339,
    KIND_JOURNAL,
    KIND_CRASH_TOOL,
    KIND_XENSOURCE,
]

#: a real oops that the built-in xen-rhel/xfs-panic signature matches
XFS_OOPS = (ROOT / "samples/signatures/xfs-panic/pos-console-rhel5.log").read_bytes()

#: seed lines for the fuzzers: each format's shape, so that mutations reach past the sniffer
SEED_LINES: list[bytes] = [
    b"[    0.000000] Linux version 3.10.0-1160.el7.x86_64 (mockbuild@x86-vm-26) #1 SMP",
    b"<4>[ 1234.567890] BUG: unable to handle kernel NULL pointer dereference at 0000000000000008",
    b"Mar  4 10:00:01 web07 kernel: RIP: 0010:[<ffffffff8116d0c4>]  [<ffffffff8116d0c4>] foo+0x14/0x40",
    b"2024-03-04T10:00:01.123456+01:00 web07 kernel: Call Trace:",
    b"Mar 04 10:00:02 web07 kernel: INFO: task jbd2/xvda1-8:345 blocked for more than 120 seconds.",
    b" [<ffffffff8834e2a6>] :xfs:xfs_btree_check_sblock+0xaf/0xbe",
    b"Kernel panic - not syncing: Fatal exception",
    b"[2024-03-04 09:00:02] Linux version 2.6.18-398.el5xen (mockbuild@builder17.centos.org)",
    b"Mar  4 10:20:00 xs01 xapi: [debug||12 |VM.start R:abc|xenops] VM.start",
    b"[20240304T10:20:00.123Z|debug|xs01|12 |VM.start R:abc|xenops] Task finished",
    b"crash> bt",
    b'PID: 345    TASK: ffff88003a5c0000  CPU: 1   COMMAND: "jbd2/xvda1-8"',
    b" #0 [ffff88003a5c3b20] machine_kexec at ffffffff81051beb",
    b"------------[ cut here ]------------",
    b"WARNING: CPU: 1 PID: 0 at kernel/watchdog.c:245 watchdog_overflow_callback+0x9c/0xd0",
    b"SysRq : Show Blocked State",
    b"Out of memory: Kill process 1234 (java) score 900 or sacrifice child",
    b"\x1b[31mred\x1b[0m \xe2\x80\xae\xff\xfe\x00",
]


def seed_log(rnd: random.Random, n: int = 40) -> bytes:
    """A plausible log made of seed lines, for mutation."""
    return b"\n".join(rnd.choice(SEED_LINES) for _ in range(n)) + b"\n"


def kdump_image() -> bytes:
    img = Image()
    put_uts_ns(img, utsname())
    printk_lockless(img, RECORDS)
    return kdump_compressed(img.pages(), utsname(), vmcoreinfo(img, RELEASE_RHEL9))


def dump_fixtures() -> dict[str, bytes]:
    """One valid image of every dump format tests/dumpbuilder.py writes."""
    kd = kdump_image()
    return {
        "elf-legacy": build_elf("legacy")[0],
        "elf-structured": build_elf("structured")[0],
        "elf-lockless": build_elf("lockless")[0],
        "kdump": kd,
        "flat": flatten(kd),
        "xen": xen_core(Image().pages()),
    }


def mutate(base: bytes, rnd: random.Random, edits: int) -> bytes:
    """Byte flips (mostly in the headers), an optional cut and an optional splice."""
    data = bytearray(base)
    for _ in range(edits):
        if not data:
            break
        pos = (
            rnd.randrange(min(len(data), 8192)) if rnd.random() < 0.7 else rnd.randrange(len(data))
        )
        r = rnd.random()
        if r < 0.6:
            data[pos] = rnd.randrange(256)
        elif r < 0.8:  # an interesting integer: 0, -1, huge
            val = rnd.choice([b"\x00" * 8, b"\xff" * 8, b"\x7f\xff\xff\xff", b"\x00\x00\x00\x80"])
            data[pos : pos + len(val)] = val
        else:
            data[pos : pos + rnd.randrange(1, 64)] = b""
    if rnd.random() < 0.2 and data:
        data = data[: rnd.randrange(len(data))]
    return bytes(data)


def open_bytes(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


def tree_snapshot(root: Path, exclude: Path | None = None) -> dict[str, tuple[int, int]]:
    """Every path under `root` (not following links) with its size and mode, minus `exclude`."""
    out: dict[str, tuple[int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if exclude is not None and Path(dirpath).resolve() == exclude.resolve():
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            if exclude is not None and p.resolve() == exclude.resolve():
                continue
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_size if not p.is_dir() else 0, st.st_mode)
    return out
