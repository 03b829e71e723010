"""One huge log in line-aligned chunks over a process pool, with the rows of one process.

`pipeline.process_source` streams a large source in two passes (DESIGN.md §6): the prefilter
finds windows of lines around every hit, boots, crashes and findings come from those windows,
and `ingest` then parses every line to Parquet with the boot ids now known. Both passes are
per-byte work that splits: here each worker takes one chunk of the file, cut right after a
newline. In pass 1 a chunk's worker reads the lines just before its chunk for the context of
its first hits, and reads on past its end while a window opened in it is still open; the
caller numbers the chunks' lines one after the other and merges their windows, which then equal
those of one pass over the whole file (`pipeline.windows.merge_segments`). The cheap global steps —
boots, crash extraction, matching — run once in the caller. In pass 2 each worker parses its
chunk into a Parquet file of its own, with global line numbers, offsets and boot ids.

Only a plain file on disk is chunked. The parse of a line may depend on the lines before it:
- dmesg: whether a prefixed line came before (the continuation flag). A chunk after one is
  parsed behind a stand-in prefixed line, `CONTINUED`.
- syslog and journal: the year of a year-less time (New Years counted from the file's start)
  and whether the line a header-less line continues was kept. Each chunk is parsed from a
  guess of that state; the caller then works out from what the parses say (`engine.Cut`) the
  state each chunk really starts in, and parses again, at once, only the chunks whose rows
  depended on a wrong guess (`_settle`).
Members of archives, compressed files and anything else go to `process_source` whole.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from triage import parsers, pipeline

# Sources at least CHUNK_SOURCE_BYTES large are worth chunking over a pool of 2: measured against
# `process_source` (2 cores, dmesg-like log, keep="all") 0.60 s vs 0.88 s at 48 MB, 2.6 s vs
# 3.2 s at 500 MB; below `pipeline.LARGE_SOURCE_BYTES` a source is read whole anyway. The
# constant lives with the units, where a run decides without importing the pipeline.
from triage.batch.units import CHUNK_SOURCE_BYTES  # noqa: F401
from triage.limits import DEFAULT_LIMITS, Limits
from triage.model import FLAG_CONTINUATION, LOG_KINDS, Fact, SourceFile, empty_lines
from triage.parsers.blocks import Bounded
from triage.parsers.engine import Carry, Cut, iter_format
from triage.parsers.timestamps import count_wraps, year_step
from triage.parsers.years import month_near, year_end
from triage.pipeline import anchors, large, spill, windows


@dataclass(frozen=True)
class Chunk:
    """Bytes [start, stop) of the file: whole lines, except a last line cut by the byte cap."""

    start: int
    stop: int
    head: bool  # the first chunk: holds the head-of-file window
    tail: bool  # the last chunk: holds the tail-of-file window


def process_source_chunked(
    src: SourceFile,
    facts: list[Fact] | None = None,
    signatures: Any | None = None,
    keep: str = "all",
    limits: Limits = DEFAULT_LIMITS,
    jobs: int = 2,
    sha256: str = "",
    system_map: str | None = None,
    *,
    executor: Executor | None = None,
    chunk_bytes: int | None = None,
    large_source_bytes: int | None = None,
    spill_dir: str | None = None,
) -> pipeline.SourceResult:
    """`pipeline.process_source(src, facts, signatures, keep, limits, sha256=sha256)`, with the
    per-byte work of a large plain log spread over `jobs` processes (or `executor`).

    The file is cut into `jobs` chunks, or into chunks of about `chunk_bytes` when given (the
    tests cut small ones). A source that cannot be chunked is handed to `process_source`.
    Never raises for bad input: errors become rows, as there. The chunks' lines are spilled
    into `spill_dir` when given: a folder the caller can read, where the workers are on other
    machines (a Dask cluster), else the workers' temporary folder.
    """

    def whole() -> pipeline.SourceResult:
        return pipeline.process_source(
            src,
            facts,
            signatures,
            keep,
            limits,
            system_map=system_map,
            large_source_bytes=large_source_bytes,
            sha256=sha256,
        )

    threshold = pipeline.LARGE_SOURCE_BYTES if large_source_bytes is None else large_source_bytes
    plan = _chunkable(src, signatures, keep, limits, threshold)
    if plan is None:
        return whole()
    try:
        with _pool(executor, jobs) as pool:
            return _process(
                src,
                plan,
                facts,
                signatures,
                keep,
                limits,
                jobs,
                sha256,
                pool,
                chunk_bytes,
                spill_dir,
            )
    except windows.LookbehindTooLong:
        return whole()  # lines too long to find a chunk's context: one pass reads them
    except Exception as exc:  # a bug or a dead worker must not lose the other sources
        return _failed(src, exc)


@dataclass(frozen=True)
class _Plan:
    """How a chunkable source is cut and parsed."""

    spec: anchors.ScanSpec
    #: for a format whose header-less lines continue the prefixed line before them (dmesg):
    #: the offset of the first prefixed line; a chunk starting after it starts continued
    first_header: int = -1
    #: kept programs or year-less times: the parse of a line depends on the lines before
    #: through an `engine.Carry`, settled after the chunks are parsed (see `_spill`)
    stateful: bool = False


def _chunkable(
    src: SourceFile, signatures: Any | None, keep: str, limits: Limits, threshold: int
) -> _Plan | None:
    """How to chunk `src`, or None when it cannot be."""
    if src.kind not in LOG_KINDS or src.members or not os.path.isfile(src.disk_path):
        return None
    if not anchors.streamable(src, signatures, keep, threshold):
        return None
    fmt = parsers.FORMATS[src.kind]
    try:
        with open(src.disk_path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
    except OSError:
        return None  # process_source says why, as a row
    if b"\n" not in head[: 1 << 16] and b"\r" in head[: 1 << 16]:
        return None  # a CR-only capture: process_source reads it whole
    spec = anchors.scan_spec(src, signatures, limits)
    stateful = fmt.keep is not None or "t_bsd" in fmt.groups
    if spec is None or not fmt.continuation:
        return None if spec is None else _Plan(spec, stateful=stateful)
    first = _first_header(fmt, head, limits)
    return None if first is None else _Plan(spec, first, stateful)


#: bytes of the head in which a continuation format's first prefixed line must be found
HEAD_BYTES = 1 << 20
#: a line the continuation formats read as prefixed (a printk time); parsed before a chunk
#: that follows a prefixed line, and dropped, it leaves the parse in the state that line did
CONTINUED = b"[    0.000000] -\n"


def _first_header(fmt: Any, head: bytes, limits: Limits) -> int | None:
    """The offset of the first prefixed line in `head`, None when there is none there.

    Read from the parse of `CONTINUED` + head: a line of the head without a prefix comes out
    flagged as a continuation, a prefixed one does not."""

    def flags(data: bytes) -> list[tuple[int, int]]:
        rows = [t.select(["offset", "flags"]) for t in iter_format(fmt, data, limits)]
        return [(r["offset"], r["flags"]) for t in rows for r in t.to_pylist()]

    probe = flags(CONTINUED + b"-\n")
    if len(probe) != 2 or probe[0][1] & FLAG_CONTINUATION or not probe[1][1] & FLAG_CONTINUATION:
        return None  # the format does not read CONTINUED as prefixed: cannot set the state
    cut = head.rfind(b"\n") + 1
    for offset, flag in flags(CONTINUED + head[:cut])[1:]:
        if not flag & FLAG_CONTINUATION:
            return offset - len(CONTINUED)
    return None


def _process(
    src: SourceFile,
    plan: _Plan,
    facts: list[Fact] | None,
    signatures: Any | None,
    keep: str,
    limits: Limits,
    jobs: int,
    sha256: str,
    pool: Executor,
    chunk_bytes: int | None,
    spill_dir: str | None = None,
) -> pipeline.SourceResult:
    path = src.disk_path
    size = os.path.getsize(path)
    limit = min(size, limits.max_file_bytes)
    chunks = cut_chunks(path, limit, chunk_bytes or -(-limit // max(1, jobs)))
    result = pipeline.SourceResult(source=src)
    # The digest thread starts first and is joined last: it hashes while the prefilter
    # compiles and both passes run, instead of holding the caller between them.
    with _digest(path, limit, sha256) as digest:
        anchors.compiled(plan.spec)  # workers forked from here on inherit it
        scans = list(pool.map(_scan_chunk, *_columns(chunks, path, plan.spec, limit)))
        if size > limits.max_file_bytes:
            result.errors.append(large.cap_error(src, limits))
        firsts, line_count = [], 0
        for scan in scans:  # the chunks' lines one after the other
            firsts.append(line_count + 1)
            for seg in scan.segments:
                seg.first_line += line_count
                seg.last_line += line_count
            line_count += scan.lines
        segments = windows.merge_segments([s.segments for s in scans])
        large.finish_windows(result, segments, line_count, facts, signatures, limits)
        if keep == "all" and result.status != "error":
            _spill(result, chunks, firsts, plan, limits, pool, spill_dir)
        result.sha256 = digest()
    return result


def _spill(
    result: pipeline.SourceResult,
    chunks: list[Chunk],
    firsts: list[int],
    plan: _Plan,
    limits: Limits,
    pool: Executor,
    spill_dir: str | None = None,
) -> None:
    """Pass 2: every line, chunk by chunk, into Parquet files in line order.

    A stateful format's chunks are parsed at once, each from a guess of the state the lines
    before it leave: the first from the file's own start, the others from no time seen and no
    line kept, in the year the file starts in. Once all are parsed, what each says of its first
    rows and its end (`engine.Cut`) gives the state each really starts in; the chunks whose rows
    depended on a wrong guess (one that follows a New Year, or starts with the continuation of
    a kept line) are parsed again from it, at once, and no others."""
    src = result.source
    boots = [b.first_line for b in result.boots]
    ids = [b.boot_id for b in result.boots]
    hosts = spill.boot_hosts(result.boots)
    start = None
    if plan.stateful:
        start = Carry(year_end(src) - spill.wraps_of(src, limits))

    def submit(i: int, carry: Carry | None) -> Future:
        c = chunks[i]
        continued = 0 <= plan.first_header < c.start
        args = (src, c, firsts[i], continued, boots, ids, limits, spill_dir, carry, hosts)
        return pool.submit(_spill_chunk, *args)

    guesses = [start] * len(chunks) if start is None else _guesses(src, chunks, start)
    done = _gather([submit(i, g) for i, g in enumerate(guesses)])
    try:
        if start is not None:
            again = _settle([cut for _, _, cut in done], start)
            redo = {i: submit(i, carry) for i, carry in enumerate(again) if carry is not None}
            if redo:
                fixed = dict(zip(redo, _gather(list(redo.values())), strict=True))
                for i, spilled in fixed.items():
                    os.unlink(done[i][0])
                    done[i] = spilled
    except BaseException:
        for p, _, _ in done:
            if os.path.exists(p):
                os.unlink(p)
        raise
    result.lines_spill = done[0][0]
    result.extra_spills = [p for p, _, _ in done[1:]]
    result.lines = empty_lines()  # (`line_count` is the first pass's: the lines read)


def _guesses(src: SourceFile, chunks: list[Chunk], start: Carry) -> list[Carry | None]:
    """The state each chunk is first parsed from: the file's start for the first; for the
    others no time seen and no line kept, in the year their first time is in when the months
    of the chunks' first times are all the New Years the file has seen by then."""
    months = []
    with open(src.disk_path, "rb") as fh:
        for c in chunks:
            fh.seek(c.start)
            months.append(month_near(fh.read(4096)))
    out: list[Carry | None] = [start]
    for i in range(1, len(chunks)):
        out.append(Carry(start.year + count_wraps([m for m in months[: i + 1] if m])))
    return out


def _gather(futures: list[Future]) -> list[Any]:
    """The results of `futures` in order; on a failure, the files of those that succeeded are
    removed (after waiting for the ones already running) and the failure raised."""
    done: list[Any] = []
    try:
        for f in futures:
            done.append(f.result())
    except BaseException:
        for f in futures:
            f.cancel()
        for f in futures[len(done) + 1 :]:  # those still running: wait, then drop their files
            if not f.cancelled() and f.exception() is None:
                done.append(f.result())
        for spilled in done:
            os.unlink(spilled[0])
        raise
    return done


def _settle(cuts: list[Cut], start: Carry) -> list[Carry | None]:
    """For each chunk parsed from a guessed start (`cuts`, in file order, the first from the
    file's true `start`), the start to parse it again from, or None when its rows stand.

    A chunk's rows depend on its start only through the year of rows before its first time,
    the year of that first time (the start's year, plus one at a New Year from the start's
    month), and, when it begins with header-less lines, whether the line before was kept. Its
    end follows from the true start in the same way, so one pass over the cuts settles all."""
    again: list[Carry | None] = []
    true = start
    for cut in cuts:
        guess, month, end = cut.start, cut.first_month, cut.end
        assert guess is not None and end is not None, "a chunk's cut is started and settled"
        wrong = (
            (cut.year_before and guess.year != true.year)
            or (
                month
                and guess.year + year_step(guess.prev_month, month)
                != true.year + year_step(true.prev_month, month)
            )
            or (cut.state_used and (guess.state is True) != (true.state is True))
        )
        again.append(true if wrong else None)
        if month:  # the years it counted itself, from its first time on
            inner = end.year - guess.year - year_step(guess.prev_month, month)
            year = true.year + year_step(true.prev_month, month) + inner
            prev = end.prev_month
        else:
            year, prev = true.year, true.prev_month
        true = Carry(year, prev, end.state if cut.decided else true.state)
    return again


def cut_chunks(path: str, limit: int, size: int) -> list[Chunk]:
    """The first `limit` bytes of `path` in chunks of about `size` bytes: each chunk ends right
    after the first newline at or past a multiple of `size` (or at `limit`)."""
    size = max(1, size)
    bounds = [0]
    with open(path, "rb") as fh:
        for nominal in range(size, limit, size):
            if nominal > bounds[-1]:
                cut = _after_newline(fh, nominal - 1, limit)
                if cut >= limit:
                    break
                bounds.append(cut)
    bounds.append(limit)
    n = len(bounds) - 1
    return [Chunk(bounds[i], bounds[i + 1], i == 0, i == n - 1) for i in range(n)]


def _after_newline(fh: Any, pos: int, limit: int) -> int:
    """The offset just after the first newline at or after `pos` (`limit` when none)."""
    fh.seek(pos)
    while pos < limit:
        piece = fh.read(min(1 << 16, limit - pos))
        if not piece:
            break
        i = piece.find(b"\n")
        if i >= 0:
            return pos + i + 1
        pos += len(piece)
    return limit


def _columns(
    chunks: list[Chunk], path: str, spec: anchors.ScanSpec, limit: int
) -> tuple[list[Any], ...]:
    n = len(chunks)
    return ([path] * n, [spec] * n, chunks, [limit] * n)


def _scan_chunk(path: str, spec: anchors.ScanSpec, chunk: Chunk, limit: int) -> windows.Windows:
    """Pass 1 over one chunk (in a worker): its windows, lines numbered from 1 at its start."""
    with open(path, "rb") as fh:
        fh.seek(chunk.start)
        return windows.scan_range(
            fh, spec, chunk.start, chunk.stop, head=chunk.head, tail=chunk.tail, limit=limit
        )


def _spill_chunk(
    src: SourceFile,
    chunk: Chunk,
    first_line: int,
    continued: bool,
    boots: list[int],
    ids: list[str],
    limits: Limits,
    spill_dir: str | None = None,
    carry: Carry | None = None,
    hosts: list[str] | None = None,
) -> tuple[str, int, Cut | None]:
    """Pass 2 over one chunk (in a worker): its lines in a Parquet file (in `spill_dir` when
    given); (path, rows, the `engine.Cut` of a parse from `carry`, else None). `continued`: a
    prefixed line came before the chunk (its header-less first lines continue that line's
    record). `hosts`: each boot's host, when they are of several (`spill.boot_hosts`)."""
    lead = CONTINUED if continued else b""
    cut = Cut(carry) if carry is not None else None
    with open(src.disk_path, "rb") as fh:
        fh.seek(chunk.start)
        reader = Bounded(fh, chunk.stop - chunk.start)
        path, rows = spill.spill_lines(
            src,
            reader,
            first_line,
            chunk.start,
            boots,
            ids,
            limits,
            workers=1,
            lead=lead,
            folder=spill_dir,
            cut=cut,
            sep=b"\n",  # the file's (`_chunkable`): a chunk's own head may show CRs only
            hosts=hosts,
        )
    return path, rows, cut


@contextmanager
def _pool(executor: Executor | None, jobs: int) -> Iterator[Executor]:
    if executor is not None:
        yield executor
        return
    from triage.batch.process_setup import for_pool_worker

    with ProcessPoolExecutor(max_workers=max(1, jobs), initializer=for_pool_worker) as pool:
        yield pool


@contextmanager
def _digest(path: str, limit: int, known: str) -> Iterator[Callable[[], str]]:
    """The sha256 of the first `limit` bytes, hashed by a thread while the block runs."""
    if known:
        yield lambda: known
        return
    h = hashlib.sha256()
    failed: list[BaseException] = []

    def run() -> None:
        try:
            with open(path, "rb", buffering=0) as fh:
                view = memoryview(bytearray(windows.STREAM_BLOCK))  # one buffer, read into
                left = limit
                while left > 0 and (got := fh.readinto(view[: min(len(view), left)])):
                    h.update(view[:got])
                    left -= got
        except BaseException as exc:  # handed to the caller
            failed.append(exc)

    t = threading.Thread(target=run, name="triage-hash", daemon=True)
    t.start()

    def digest() -> str:
        t.join()
        if failed:
            raise failed[0]
        return h.hexdigest()

    try:
        yield digest
    finally:
        t.join()


def _failed(src: SourceFile, exc: BaseException) -> pipeline.SourceResult:
    """The row of a source whose processing failed, as `process_source` makes it."""
    result = pipeline.SourceResult(source=src, status="error", error=f"{type(exc).__name__}: {exc}")
    result.errors.append(pipeline.internal_error(src, exc))
    return result
