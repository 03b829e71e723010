"""Our readers against the reference tools, where they are installed.

kexec-tools' `vmcore-dmesg` is the reference for the kernel log of ELF vmcores; libkdumpfile
(Debian python3-libkdumpfile, used through the system Python) for kdump-compressed headers and
page decoding. Each test skips with the reason when its tool is absent.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from dumpbuilder import (
    RECORDS,
    RELEASE_RHEL9,
    Image,
    build_elf,
    kdump_compressed,
    printk_lockless,
    put_uts_ns,
    utsname,
    vmcoreinfo,
)

from triage.dumps import read_dump
from triage.dumps.access import DumpFile
from triage.dumps.kdump import PageStore, parse_header
from triage.model import SourceFile

VMCORE_DMESG = shutil.which("vmcore-dmesg")
SYSTEM_PY = "/usr/bin/python3"


def _has_libkdumpfile() -> bool:
    if not Path(SYSTEM_PY).exists():
        return False
    return (
        subprocess.run([SYSTEM_PY, "-c", "import kdumpfile"], capture_output=True).returncode == 0
    )


CASES = {
    "legacy": {},
    "legacy-i386": {},
    "structured": {},
    "lockless": {},
    "structured-wrapped": {
        "records": [(i * 10_000_000, b"record %04d " % i + b"z" * (i % 29)) for i in range(300)],
        "buf_len": 4096,
    },
    "lockless-wrapped": {
        "records": [(i * 1000, b"lockless %03d " % i + b"q" * (i % 19)) for i in range(90)],
        "size_bits": 9,
        "count_bits": 3,
        "base_id": (1 << 62) - 30,
    },
    "legacy-wrapped": {
        "records": [(i * 1000, b"legacy line %03d" % i) for i in range(60)],
        "buf_len": 512,
    },
}


def _drop_marker_lines(log: bytes) -> bytes:
    """vmcore-dmesg prints the structured buffer's end marker as `[    0.000000] `; we don't."""
    return b"".join(line for line in log.splitlines(keepends=True) if line != b"[    0.000000] \n")


@pytest.mark.skipif(VMCORE_DMESG is None, reason="kexec-tools' vmcore-dmesg is not installed")
@pytest.mark.parametrize("case", sorted(CASES))
def test_log_matches_vmcore_dmesg(case: str, tmp_path: Path) -> None:
    gen = case.removesuffix("-wrapped")
    core, _ = build_elf(gen, **CASES[case])  # type: ignore[arg-type]
    p = tmp_path / "vmcore"
    p.write_bytes(core)
    ref = subprocess.run([VMCORE_DMESG, str(p)], capture_output=True, timeout=30)
    assert ref.returncode == 0, ref.stderr
    with p.open("rb") as fh:
        ours = read_dump(SourceFile(disk_path=str(p)), fh)
    assert ours.errors == []
    assert ours.log == _drop_marker_lines(ref.stdout)


LIBKDUMPFILE_SCRIPT = """
import json, sys, kdumpfile
k = kdumpfile.kdumpfile(sys.argv[1])
out = {key: str(k.attr[key]) for key in
       ("linux.uts.release", "linux.uts.nodename", "linux.uts.machine", "arch.page_size")}
out["page"] = k.read(kdumpfile.KDUMP_MACHPHYSADDR, int(sys.argv[2]), 4096).hex()
print(json.dumps(out))
"""


@pytest.mark.skipif(not _has_libkdumpfile(), reason="python3-libkdumpfile is not installed")
@pytest.mark.parametrize("compress", ["zlib", "zstd", "none"])
def test_kdump_pages_and_header_match_libkdumpfile(compress: str, tmp_path: Path) -> None:
    img = Image()
    put_uts_ns(img, utsname(nodename="oracle-host"))
    printk_lockless(img, RECORDS * 8, count_bits=6, size_bits=13)  # spans several pages
    kd = kdump_compressed(
        img.pages(),
        utsname(nodename="oracle-host"),
        vmcoreinfo(img, RELEASE_RHEL9),
        compress=compress,
    )
    p = tmp_path / "vmcore"
    p.write_bytes(kd)
    dumped = [pfn * 4096 for pfn, data in sorted(img.pages().items()) if any(data)]
    assert len(dumped) >= 3, dumped
    for pa in dumped:
        ref = subprocess.run(
            [SYSTEM_PY, "-c", LIBKDUMPFILE_SCRIPT, str(p), str(pa)], capture_output=True, timeout=30
        )
        if ref.returncode != 0 and b"Unsupported" in ref.stderr:
            pytest.skip(f"libkdumpfile cannot read {compress} pages: {ref.stderr.decode()[-200:]}")
        assert ref.returncode == 0, ref.stderr
        theirs = json.loads(ref.stdout)
        f = DumpFile(io.BytesIO(kd))
        h = parse_header(f.read(0, 4096))
        store = PageStore(f, h, True, max(img.pages()) + 16)
        assert store.read_pa(pa, 4096).hex() == theirs["page"]
    facts = {x.key: x.value for x in read_dump(SourceFile(disk_path=str(p)), io.BytesIO(kd)).facts}
    assert facts["kernel.release"] == theirs["linux.uts.release"]
    assert facts["dump.hostname"] == theirs["linux.uts.nodename"]
    assert facts["dump.arch"] == theirs["linux.uts.machine"]
    assert facts["dump.page_size"] == theirs["arch.page_size"]
