"""The walk over real public corpora, and its speed on many small files."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from helpers_sources import SYSLOG

from triage.model import KIND_UNKNOWN, LOG_KINDS, ErrorRecord, SourceFile
from triage.sources import read_bytes, walk

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"


@pytest.fixture(scope="module")
def corpora() -> Path:
    if not CORPORA.is_dir():
        pytest.skip(f"external corpora not present at {CORPORA}")
    return CORPORA


def test_every_corpus_file_gets_a_kind(corpora: Path) -> None:
    out = list(walk([str(corpora)]))
    files = [p for p in corpora.rglob("*") if p.is_file()]
    srcs = [o for o in out if isinstance(o, SourceFile)]
    assert not [o for o in out if isinstance(o, ErrorRecord)]
    assert len(srcs) == len(files)
    assert all(s.kind and s.layout == "folder" for s in srcs)
    by = {s.path: s for s in srcs}
    # answer keys are not logs; the kernel logs are recognised as kernel logs
    assert by["satyr/EXPECTED.json"].kind == KIND_UNKNOWN
    assert by["abrt/tests/runtests/kernel-vmcore-harvest/vmcore-dmesg.txt"].kind == "vmcore-dmesg"
    syz = [s for s in srcs if "/linux/report/" in s.path]
    share = sum(s.kind in ("console", "dmesg") for s in syz) / len(syz)
    assert share > 0.9, share
    abrt_syslog = [s for s in srcs if s.path.endswith(".test.template")]
    assert abrt_syslog and all(s.kind == "syslog" for s in abrt_syslog)
    assert by["awsdocs-ec2/extracted/09-FilesystemFschk.txt"].kind == "console"
    for s in srcs[:50]:
        if s.kind in LOG_KINDS:
            assert read_bytes(s).data == Path(s.disk_path).read_bytes()


def test_ten_thousand_small_files_walk_fast(tmp_path: Path) -> None:
    for d in range(100):
        sub = tmp_path / f"host{d:03}" / "var" / "log"
        sub.mkdir(parents=True)
        for i in range(100):
            (sub / f"app{i:03}.log").write_bytes(SYSLOG)
    start = time.perf_counter()
    out = list(walk([str(tmp_path)]))
    elapsed = time.perf_counter() - start
    assert len(out) == 10_000 and all(isinstance(o, SourceFile) for o in out)
    assert {o.kind for o in out} == {"syslog"}  # type: ignore[union-attr]
    assert elapsed < 5.0, f"walking 10,000 files took {elapsed:.1f}s"
