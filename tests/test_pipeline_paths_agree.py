"""Every real log gives the same rows whichever way it is read: whole, streamed in two passes
(a source too large to hold), and cut into chunks over a process pool.

The paths differ in what they see at once, so a rule that reads the lines around a line (a
syslog's year, a kept program's continuation lines, dmesg's continuation flag, a boot's start,
a report's extent) can diverge between them; the unit tests lay such cases out by hand, this
runs every log of the samples and of the public corpora through all three.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from test_chunks import _rows

from triage import match, pipeline, sources
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


@pytest.fixture(scope="module")
def sigset():
    return match.load_signatures()


@pytest.fixture(scope="module")
def pool():
    with ProcessPoolExecutor(max_workers=2) as executor:
        yield executor


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
