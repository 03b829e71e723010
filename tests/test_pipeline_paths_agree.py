"""Every real log gives the same rows whichever way it is read: whole, streamed in two passes
(a source too large to hold), and cut into chunks over a process pool.

The paths differ in what they see at once, so a rule that reads the lines around a line (a
syslog's year, a kept program's continuation lines, dmesg's continuation flag, a boot's start,
a report's extent) can diverge between them; the unit tests lay such cases out by hand, this
runs every log of the samples and of the public corpora through all three.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_chunks import _rows

from triage import pipeline, sources
from triage.batch import chunks
from triage.limits import DEFAULT_LIMITS
from triage.model import LOG_KINDS, SourceFile

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"


def _logs(*roots: Path) -> list[SourceFile]:
    return [
        item
        for item in sources.walk([str(r) for r in roots], DEFAULT_LIMITS)
        if isinstance(item, SourceFile) and item.kind in LOG_KINDS
    ]


def _differences(srcs: list[SourceFile], sigset, pool, keep: str) -> tuple[list[str], int]:
    """What differs from the whole-file rows, by source and path; and how many chunked runs
    cut a source into more than one chunk (so that the comparison says something)."""
    out, cut = [], 0
    for src in srcs:
        whole = _rows(pipeline.process_source(src, [], sigset, keep, large_source_bytes=1 << 40))
        streamed = _rows(pipeline.process_source(src, [], sigset, keep, large_source_bytes=1))
        out += [f"{src.display} streamed: {k}" for k in whole if streamed[k] != whole[k]]
        if src.members:  # only a plain file on disk is chunked
            continue
        res = chunks.process_source_chunked(
            src, [], sigset, keep, executor=pool, chunk_bytes=1500, large_source_bytes=1
        )
        cut += len(res.spill_files()) > 1
        many = _rows(res)
        out += [f"{src.display} chunked: {k}" for k in whole if many[k] != whole[k]]
    return out, cut


@pytest.mark.parametrize("keep", ["all", "relevant"])
def test_the_samples_read_every_way_give_the_same_rows(sigset, pool, keep: str) -> None:
    srcs = _logs(ROOT / "samples")
    assert len(srcs) > 80
    diffs, cut = _differences(srcs, sigset, pool, keep)
    assert diffs == []
    if keep == "all":
        assert cut > 20


@pytest.mark.parametrize("keep", ["all", "relevant"])
def test_the_corpora_read_every_way_give_the_same_rows(sigset, pool, keep: str) -> None:
    if not CORPORA.is_dir():
        pytest.skip(f"external corpora not present at {CORPORA}")
    srcs = _logs(CORPORA)
    assert len(srcs) > 500
    diffs, cut = _differences(srcs, sigset, pool, keep)
    assert diffs == []
    if keep == "all":
        assert cut > 300


def test_the_samples_compressed_and_streamed_give_the_rows_of_the_plain_files(
    tmp_path: Path, sigset
) -> None:
    """A compressed log has no size until it is read, cannot be read where its New Years are
    sampled, and is streamed once large: each sample log gzipped and read that way gives the
    rows of the plain file read whole (but its sha256, of the same bytes, and its locator)."""
    import gzip
    import os

    plain = [s for s in _logs(ROOT / "samples") if not s.members]
    assert len(plain) > 40
    out = []
    for i, src in enumerate(plain):
        packed = tmp_path / f"{i}-{Path(src.disk_path).name}.gz"
        packed.write_bytes(gzip.compress(Path(src.disk_path).read_bytes()))
        os.utime(packed, (src.mtime or 0, src.mtime or 0))
        (gz,) = [
            s for s in sources.walk([str(packed)], DEFAULT_LIMITS) if isinstance(s, SourceFile)
        ]
        gz = SourceFile(**{**gz.__dict__, "kind": src.kind, "year_hint": src.year_hint})
        for keep in ("all", "relevant"):
            whole = _rows(
                pipeline.process_source(src, [], sigset, keep, large_source_bytes=1 << 40)
            )
            res = pipeline.process_source(gz, [], sigset, keep, large_source_bytes=1)
            if keep == "all" and whole["lines"] and not res.spill_files():
                out.append(f"{src.display}: not streamed")
            streamed = _rows(res)
            for k in ("sha256", "status", "line_count"):
                if streamed[k] != whole[k]:
                    out.append(f"{src.display} {keep}: {k}")
            cols = ("lineno", "offset", "timestamp", "host", "tag", "level", "flags", "text")
            if [[r[c] for c in cols] for r in streamed["lines"]] != [
                [r[c] for c in cols] for r in whole["lines"]
            ]:
                out.append(f"{src.display} {keep}: lines")
            for k, field in (
                ("crashes", "title"),
                ("findings", "signature_id"),
                ("boots", "release"),
            ):
                if [x[field] for x in streamed[k]] != [x[field] for x in whole[k]]:
                    out.append(f"{src.display} {keep}: {k}")
    assert out == []


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _random_syslog(rnd, kind: str) -> bytes:
    """A syslog or journal with what makes its lines depend on the lines before: months that
    roll over, a clock stepped back across New Year, kept and dropped programs with
    header-less lines after them, boot separators; and CRLF, long lines, NULs, bad UTF-8."""
    out = [b"-- Logs begin at Sun 2009-11-01 00:00:01 UTC. --"] if kind == "journal" else []
    m = rnd.randrange(12)
    for i in range(rnd.randrange(50, 2000)):
        r = rnd.random()
        m = (m + (1 if r < 0.01 else 10 if r < 0.012 else -1 if r < 0.013 else 0)) % 12
        prog = rnd.choice(["kernel", "kernel", "sshd[1]", "crond[22]", "klogd", "init"])
        body = rnd.choice(
            [
                "eth0: link up",
                "BUG: soft lockup - CPU#0 stuck for 10s! [x:1]",
                "XENBUS: Timeout connecting to devices!",
                "x" * rnd.randrange(1, 3000),
                "nul\x00byte",
                "bad \udcff",
            ]
        )
        line = f"{_MONTHS[m]} {rnd.randrange(1, 29):2d} {rnd.randrange(24):02d}:00:00 h {prog}: "
        line = (line + body).encode("utf-8", "surrogateescape")
        if rnd.random() < 0.1:
            line = b"    continued " + str(i).encode()
        if kind == "journal" and rnd.random() < 0.01:
            line = b"-- Reboot --"
        out.append(line)
    sep = b"\r\n" if rnd.random() < 0.2 else b"\n"
    return sep.join(out) + (sep if rnd.random() < 0.8 else b"")


@pytest.mark.parametrize("seed", range(12))
def test_random_syslogs_give_the_same_rows_whole_streamed_and_in_chunks(
    tmp_path: Path, sigset, pool, seed: int
) -> None:
    import os
    import random

    rnd = random.Random(seed)
    kind = rnd.choice(["syslog", "journal"])
    path = tmp_path / "messages"
    path.write_bytes(_random_syslog(rnd, kind))
    os.utime(path, (1_266_000_000, 1_266_000_000))
    src = SourceFile(
        disk_path=str(path),
        bundle=str(path),
        path=path.name,
        kind=kind,
        size=path.stat().st_size,
        mtime=1_266_000_000.0,
    )
    for keep in ("all", "relevant"):
        whole = _rows(pipeline.process_source(src, [], sigset, keep, large_source_bytes=1 << 40))
        streamed = _rows(pipeline.process_source(src, [], sigset, keep, large_source_bytes=1))
        cut = chunks.process_source_chunked(
            src,
            [],
            sigset,
            keep,
            executor=pool,
            chunk_bytes=rnd.choice([300, 1000, 9973]),
            large_source_bytes=1,
        )
        many = _rows(cut)
        assert [k for k in whole if whole[k] != streamed[k]] == []
        assert [k for k in whole if whole[k] != many[k]] == []
