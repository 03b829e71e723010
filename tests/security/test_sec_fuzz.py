"""Fuzzing: parsers, crash extractor, dump readers and matcher never raise and stay bounded.

Property tests over arbitrary and mutated bytes. Memory is checked with tracemalloc: the peak of
Python allocations while handling one input must stay within a constant plus a multiple of the
input size (Arrow buffers are outside tracemalloc; the Arrow pool is checked not to keep growing).
The atheris equivalents, for long runs by hand, are tests/security/fuzz_*.py.
"""

from __future__ import annotations

import io
import os
import random
import tracemalloc

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from security_helpers import PARSER_KINDS, SEED_LINES, XFS_OOPS, dump_fixtures, mutate

from triage import crashes, kernel, match, parsers
from triage.dumps import DumpResult, read_dump
from triage.model import LINES_SCHEMA, SourceFile

FUZZ = settings(
    max_examples=int(os.environ.get("TRIAGE_FUZZ_EXAMPLES", "60")),  # more for a long run
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=False,
)
#: bytes of Python allocation allowed per input byte, and a fixed allowance (imports, caches)
PER_BYTE = 64
FIXED = 8 * 1024 * 1024

# arbitrary bytes, or lines that look like logs with arbitrary lines among them
_line = st.one_of(st.sampled_from(SEED_LINES), st.binary(max_size=300))
log_bytes = st.one_of(
    st.binary(max_size=4096),
    st.lists(_line, max_size=60).map(b"\n".join),
    st.lists(_line, max_size=30).map(b"\r".join),
    st.tuples(st.binary(max_size=64), st.integers(0, 5000)).map(lambda t: t[0] * t[1]),
)


def _bounded(fn, size: int):  # type: ignore[no-untyped-def]
    """Run fn() under tracemalloc; fail if the peak exceeds FIXED + PER_BYTE * size."""
    tracemalloc.start()
    try:
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= FIXED + PER_BYTE * size, f"peak {peak:,} B for {size:,} B of input"
    return out


def _check_lines(t: pa.Table) -> None:
    assert t.schema.names == LINES_SCHEMA.names
    texts = t.column("text").to_pylist()
    for s in texts:
        assert s is None or ("\x1b" not in s and "\x00" not in s), repr(s)


@pytest.mark.parametrize("kind", PARSER_KINDS, ids=lambda k: k or "sniffed")
@FUZZ
@given(data=log_bytes)
def test_parse_bytes_never_raises(kind: str | None, data: bytes) -> None:
    lines = _bounded(lambda: parsers.parse_bytes(data, kind=kind, source_id="fz"), len(data))
    _check_lines(lines)


@FUZZ
@given(data=log_bytes)
def test_extract_text_never_raises(data: bytes) -> None:
    text = data.decode("utf-8", "surrogateescape")
    found = _bounded(lambda: crashes.extract_text(text, source_id="fz"), len(data))
    for c in found:
        assert c.first_line <= c.last_line


@FUZZ
@given(data=st.lists(_line, min_size=1, max_size=40).map(b"\n".join), splice=st.booleans())
def test_extract_text_on_a_real_oops_with_fuzzed_lines(data: bytes, splice: bool) -> None:
    body = (
        XFS_OOPS[: len(XFS_OOPS) // 2] + data + XFS_OOPS[len(XFS_OOPS) // 2 :] if splice else data
    )
    crashes.extract_text(body.decode("utf-8", "surrogateescape"))


_DUMPS = dump_fixtures()
SRC = SourceFile(disk_path="/fz/vmcore", path="vmcore")


@FUZZ
@given(
    which=st.sampled_from(sorted(_DUMPS)),
    seed=st.integers(0, 2**32 - 1),
    edits=st.integers(1, 24),
)
def test_read_dump_on_mutated_fixtures(which: str, seed: int, edits: int) -> None:
    data = mutate(_DUMPS[which], random.Random(seed), edits)
    r = _bounded(lambda: read_dump(SRC, io.BytesIO(data)), len(data))
    assert isinstance(r, DumpResult)
    assert all(e.stage == "dumps" and e.message and "\n" not in e.message for e in r.errors)
    # `dump-invalid` is the catch-all for an exception the readers did not expect: a bug
    assert "dump-invalid" not in [e.error_class for e in r.errors], r.errors
    if r.log is not None:
        assert len(r.log) <= 4 * len(data) + 65536


@FUZZ
@given(data=st.binary(max_size=8192))
def test_read_dump_on_arbitrary_bytes(data: bytes) -> None:
    r = _bounded(lambda: read_dump(SRC, io.BytesIO(data)), len(data))
    assert "dump-invalid" not in [e.error_class for e in r.errors], r.errors


_SIGS = match.load_signatures()


def _context(data: bytes) -> match.SourceContext:
    src = SourceFile(disk_path="", path="fz.log", kind="console")
    sid = src.source_id
    lines = parsers.parse(src, data).lines
    boots, boot_ids = kernel.segment_boots(lines, sid)
    lines = lines.set_column(lines.schema.get_field_index("boot_id"), "boot_id", boot_ids)
    return match.SourceContext(
        source=src, lines=lines, boots=boots, crashes=crashes.extract(lines, sid, boots)
    )


@FUZZ
@given(data=st.lists(_line, max_size=50).map(b"\n".join), oops=st.booleans())
def test_evaluate_never_raises_on_fuzzed_lines(data: bytes, oops: bool) -> None:
    body = (XFS_OOPS + data) if oops else data
    ctx = _context(body)
    found, errors = _bounded(lambda: match.evaluate(_SIGS, ctx), len(body))
    assert not errors, [e.message for e in errors]  # no built-in signature may break or time out
    for f in found:
        assert f.signature_id and f.evidence is not None
    if oops and not data.strip():
        assert "xen-rhel/xfs-panic" in {f.signature_id for f in found}


def _peak(fn) -> int:  # type: ignore[no-untyped-def]
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_transient_memory_is_bounded_per_block_not_per_file(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Empty lines are the worst case (index arrays per line): the parser's working memory is
    capped per block (blocks.MAX_LINES_PER_BLOCK), so 4x the input does not need 4x the memory
    beyond the output itself."""
    from triage.parsers import blocks

    monkeypatch.setattr(blocks, "MAX_LINES_PER_BLOCK", 1 << 16)
    small = _peak(lambda: parsers.parse_bytes(b"\n" * (1 << 19), kind="dmesg"))
    large = _peak(lambda: parsers.parse_bytes(b"\n" * (1 << 21), kind="dmesg"))
    # what grows is the output (a few numpy-backed columns, ~25 B a line), not the working set
    # (~300 B a line when a whole 16 MiB block of empty lines is indexed at once)
    per_extra_line = (large - small) / ((1 << 21) - (1 << 19))
    assert per_extra_line < 64, (small, large)


def test_hostile_shapes_stay_within_a_multiple_of_their_size() -> None:
    """256 KiB hostile inputs: one huge line, tiny lines, binary noise, a repeated real oops."""
    rnd = random.Random(7)
    size = 1 << 18
    cases = {
        "one-line": b"A" * size,
        "tiny-lines": b"x\n" * (size // 2),
        "noise": rnd.randbytes(size),
        "oops-repeated": XFS_OOPS * (size // len(XFS_OOPS)),
    }
    pool = pa.default_memory_pool()
    for name, data in cases.items():
        before = pool.bytes_allocated()
        for kind in (None, "syslog", "xensource"):
            lines = _bounded(lambda d=data, k=kind: parsers.parse_bytes(d, kind=k), 4 * len(data))
            assert lines.num_rows <= data.count(b"\n") + data.count(b"\r") + 1, name
            del lines
        assert pool.bytes_allocated() - before < 16 << 20, name  # nothing kept between inputs
