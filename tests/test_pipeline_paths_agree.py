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
