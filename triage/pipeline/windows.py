"""One pass over a large source, block by block: the prefilter finds the lines that matter and
the windows of lines around them are collected with their line numbers; chunks of one file
(`batch.chunks`) are passed separately and their windows merged after."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from triage.pipeline.anchors import Plan, ScanSpec, compiled

#: bytes read per step on the streaming path. Blocks this small are reused by the allocator
#: (a 16 MiB one is mapped afresh each time, and faulting its pages in cost a third more)
STREAM_BLOCK = 4 << 20


@dataclass
class Segment:
    """Consecutive window lines, as the bytes they are stored as (see `_Lines`)."""

    first_line: int
    first_offset: int  # file offset of the first line
    last_line: int
    data: bytearray
    #: its last line was cut short (an over-long line): the bytes of the next line do not follow
    closed: bool = False
    #: it starts right after a closed segment: the same window, for crash extraction
    joined: bool = False


@dataclass
class _Lines:
    """Some whole lines of the file in memory: a block, or the context kept from earlier blocks.

    Lines are stored as they are, except that a line longer than the plan's `keep_bytes` is
    stored as its first `keep_bytes` bytes and a newline (`cut`): the parsers keep far less of
    it, and the bytes stored never depend on where blocks or chunks were cut.
    """

    first: int  # number of the first line
    data: bytes
    starts: Any  # np.ndarray of line starts within data
    ends: Any  # np.ndarray of line ends (exclusive, newline included)
    offsets: Any  # np.ndarray of each line's offset in the file
    cut: Any  # np.ndarray of bool: stored cut short

    @property
    def last(self) -> int:
        return self.first + len(self.starts) - 1

    def line(self, i: int) -> bytes:
        return self.data[int(self.starts[i]) : int(self.ends[i])]

    def tail(self, k: int) -> _Lines:
        if len(self.starts) <= k:
            return self
        at = int(self.starts[-k])
        return _Lines(
            self.first + len(self.starts) - k,
            self.data[at:],
            self.starts[-k:] - at,
            self.ends[-k:] - at,
            self.offsets[-k:],
            self.cut[-k:],
        )

    def then(self, nxt: _Lines) -> _Lines:
        """These lines followed by `nxt`, which starts on the next line."""
        import numpy as np

        n = len(self.data)
        return _Lines(
            self.first,
            self.data + nxt.data,
            np.concatenate([self.starts, nxt.starts + n]),
            np.concatenate([self.ends, nxt.ends + n]),
            np.concatenate([self.offsets, nxt.offsets]),
            np.concatenate([self.cut, nxt.cut]),
        )


def _stored_lines(data: bytes, first: int, offset: int, keep_bytes: int) -> tuple[_Lines, Any]:
    """The lines of `data` (read from file offset `offset`) as stored, and where each line
    starts in `data` itself (to place prefilter hits)."""
    import numpy as np

    nl = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
    n = len(nl) + (0 if data.endswith(b"\n") or not data else 1)
    starts = np.zeros(n, np.int64)
    ends = np.zeros(n, np.int64)
    if n:
        starts[1:] = nl[: n - 1] + 1
        ends[: len(nl)] = nl + 1
        if n > len(nl):
            ends[-1] = len(data)
    offsets = starts + offset
    content = ends - starts
    content[: len(nl)] -= 1
    long = content > keep_bytes
    if not long.any():
        return _Lines(first, data, starts, ends, offsets, long), starts
    pieces: list[bytes] = []
    lengths = np.where(long, keep_bytes + 1, ends - starts)
    for i, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        pieces.append(data[a : a + keep_bytes] + b"\n" if long[i] else data[a:b])
    new_ends = np.cumsum(lengths)
    stored = _Lines(first, b"".join(pieces), new_ends - lengths, new_ends, offsets, long)
    return stored, starts


def _newlines(data: bytes) -> int:
    """How many newlines `data` holds (numpy counts twice as fast as `bytes.count`)."""
    import numpy as np

    return int(np.count_nonzero(np.frombuffer(data, np.uint8) == 10))


class _WindowCollector:
    """Takes blocks in file order, runs the prefilter, and keeps the lines of every window.

    The windows are the head and tail of the file and, around every hit, `before` lines and
    as many after as the hit's kind needs; where they overlap or touch they merge. What is kept
    is a pure function of the file's lines and the plan, whatever the blocks: one collector can
    take a whole file, or several can each take a line-aligned chunk (`behind` is then the
    chunk's preceding lines, numbered up to 0, and `feed_bytes(..., scan=False)` the lines after
    it that a window opened in the chunk still covers) and their segments merge to the same.
    """

    def __init__(
        self, prefilter: Any, plan: Plan, head: bool = True, behind: _Lines | None = None
    ) -> None:
        self.pf = prefilter
        self.plan = plan
        self.segments: list[Segment] = []
        self.prev = behind
        self.floor = behind.first if behind is not None else 1  # the first line there is
        self.emitted = self.floor - 1  # last line copied into a segment
        self.open_hi = plan.edge if head else self.floor - 1  # the head of the file is a window
        self.last_line = self.floor - 1 if behind is None else behind.last

    def _emit(self, src: _Lines, lo: int, hi: int) -> None:
        import numpy as np

        lo = max(lo, src.first, self.emitted + 1)
        hi = min(hi, src.last)
        while lo <= hi:
            i, j = lo - src.first, hi - src.first
            cuts = np.flatnonzero(src.cut[i : j + 1])
            if len(cuts):
                j = i + int(cuts[0])  # a cut line ends its segment
            piece = src.data[int(src.starts[i]) : int(src.ends[j])]
            seg = self.segments[-1] if self.segments else None
            touches = seg is not None and seg.last_line == lo - 1
            if seg is not None and touches and not seg.closed:
                seg.data += piece
                seg.last_line = src.first + j
            else:
                seg = Segment(lo, int(src.offsets[i]), src.first + j, bytearray(piece))
                seg.joined = touches
                self.segments.append(seg)
            seg.closed = bool(len(cuts))
            self.emitted = src.first + j
            lo = self.emitted + 1

    def _hits(self, data: bytes) -> list[int]:
        """Starts (in `data`) of the lines holding a hit within their first `keep_bytes`."""
        out = set()
        keep = self.plan.keep_bytes
        for e in self.pf.match_ends(data):
            s = data.rfind(b"\n", 0, e) + 1
            if e - s < keep:
                out.add(s)
        return sorted(out)

    def _context(self, block: _Lines) -> _Lines:
        keep = self.plan.context
        if len(block.starts) < keep and self.prev is not None and self.prev.last == block.first - 1:
            block = self.prev.tail(keep).then(block)
        return block.tail(keep)

    def feed_bytes(self, data: bytes, first: int, offset: int, scan: bool = True) -> int:
        """Take the lines of `data` (from file offset `offset`, numbered from `first`); returns
        the number of its last line. With `scan` False only open windows are continued."""
        if not data:
            return first - 1
        offs = self._hits(data) if scan else []
        if offs or self.open_hi >= first:
            block, raw_starts = _stored_lines(data, first, offset, self.plan.keep_bytes)
            self.feed(block, raw_starts, offs)
            return block.last
        # no hit and no window open: count lines, keep the tail for the next block's context
        n = _newlines(data) + (0 if data.endswith(b"\n") else 1)
        cut = len(data)
        for _ in range(self.plan.context + 1):
            cut = data.rfind(b"\n", 0, cut)
            if cut < 0:
                break
        tail = data[cut + 1 :] if cut >= 0 else data
        in_tail = tail.count(b"\n") + (0 if tail.endswith(b"\n") else 1)
        stored, _ = _stored_lines(
            tail, first + n - in_tail, offset + len(data) - len(tail), self.plan.keep_bytes
        )
        self.prev = self._context(stored)
        self.last_line = first + n - 1
        return self.last_line

    def feed(self, block: _Lines, raw_starts: Any, offs: list[int]) -> None:
        import numpy as np

        if not len(block.starts):
            return
        self._emit(block, block.first, self.open_hi)
        if offs:
            idx = np.searchsorted(raw_starts, np.asarray(offs, np.int64))
            for i in idx.tolist():
                g = block.first + i
                lo = max(self.floor, g - self.plan.before)
                self.open_hi = max(self.open_hi, g + self.plan.after_of(block.line(i)))
                if lo < block.first and self.prev is not None:
                    self._emit(self.prev, lo, block.first - 1)
                self._emit(block, lo, self.open_hi)
        self.prev = self._context(block)
        self.last_line = block.last

    @property
    def open(self) -> bool:
        """Does a window opened so far reach past the lines taken?"""
        return self.open_hi > self.last_line

    def finish(self) -> None:
        if self.prev is not None:  # the tail of the file is a window
            self._emit(self.prev, self.last_line - self.plan.edge + 1, self.last_line)


class _BlockReader:
    """Line-aligned blocks of `fh` from file offset `start` up to `stop`, read (and hashed) by a
    thread ahead of the caller, which scans the previous block meanwhile (both release the GIL).

    A line longer than `keep_bytes` that no read completes is delivered as its first
    `keep_bytes + 1` bytes, and the rest of it is skipped: memory stays bounded, and the
    collector stores such a line cut short whichever way it arrived. After iterating,
    `sha256` holds the digest of the bytes read (when hashing), `size` their number and `more`
    whether the source went on past `stop` (when asked).
    """

    def __init__(
        self,
        fh: Any,
        start: int,
        stop: int,
        keep_bytes: int,
        hashing: bool = False,
        probe_more: bool = False,
        months: Any = None,
    ) -> None:
        self.fh, self.start, self.stop, self.keep_bytes = fh, start, stop, keep_bytes
        self.hashing, self.probe_more, self.months = hashing, probe_more, months
        self.sha256 = ""
        self.size = 0
        self.more = False

    def _read(self, put: Any, stopped: Any) -> None:
        fh, keep = self.fh, self.keep_bytes
        h = hashlib.sha256() if self.hashing else None
        at = pos = self.start  # bytes read so far / offset of the next byte delivered
        carry = b""
        skipping = False
        while at < self.stop and not stopped.is_set():
            chunk = fh.read(min(STREAM_BLOCK, self.stop - at))
            if not chunk:
                break
            if h is not None:
                h.update(chunk)
            if self.months is not None:
                self.months.feed(at, chunk)
            at += len(chunk)
            if skipping:  # the rest of an over-long line
                i = chunk.find(b"\n")
                if i < 0:
                    pos += len(chunk)
                    continue
                pos += i + 1
                chunk = chunk[i + 1 :]
                skipping = False
            # `carry` (the rest of a line) holds no newline: the block ends at the chunk's last
            # one, and is made with one copy (none when it is the whole chunk)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                whole = cut + 1 == len(chunk) and not carry
                piece = chunk if whole else b"".join((carry, memoryview(chunk)[: cut + 1]))
                put((pos, piece))
                pos += len(piece)
                carry = chunk[cut + 1 :]
            else:
                carry += chunk
            if len(carry) > keep:
                put((pos, carry[: keep + 1]))
                pos += len(carry)
                carry = b""
                skipping = True
        if carry:
            put((pos, carry))
        if self.probe_more and at >= self.stop:
            self.more = bool(fh.read(1))
        self.size = at - self.start
        self.sha256 = h.hexdigest() if h is not None else ""

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        import queue
        import threading

        q: queue.Queue[Any] = queue.Queue(maxsize=2)
        stopped = threading.Event()
        done = object()

        def run() -> None:
            try:
                self._read(q.put, stopped)
                q.put(done)
            except BaseException as exc:  # handed to the caller
                q.put(exc)

        t = threading.Thread(target=run, name="triage-read", daemon=True)
        t.start()
        try:
            while (item := q.get()) is not done:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stopped.set()
            while t.is_alive():
                try:
                    q.get_nowait()
                except queue.Empty:
                    t.join(0.05)


@dataclass
class Windows:
    """What pass 1 over one range of a file found (line numbers local to the range: its first
    line is 1)."""

    segments: list[Segment]
    lines: int  # lines in the range
    sha256: str = ""
    more: bool = False  # the source went on past the range (read with `probe_more`)
    size: int = 0  # bytes in the range, as read


def scan_range(
    fh: Any,
    spec: ScanSpec,
    start: int,
    stop: int,
    *,
    head: bool = True,
    tail: bool = True,
    limit: int | None = None,
    hashing: bool = False,
    probe_more: bool = False,
    months: Any = None,
) -> Windows:
    """Pass 1 over the lines in `fh`'s bytes [start, stop), `fh` positioned at `start`; the
    bytes read are fed to `months` (a `parsers.years.MonthSamples`) when given.

    A range that is not the head of the file reads the lines before it for its hits' context,
    and one that is not the tail reads on (up to `limit`) while a window opened in it is open.
    """
    pf, plan = compiled(spec)
    behind = None
    if start > 0:
        behind = _lines_before(fh, start, plan.context, plan.keep_bytes)
        fh.seek(start)
    collector = _WindowCollector(pf, plan, head=head, behind=behind)
    reader = _BlockReader(fh, start, stop, plan.keep_bytes, hashing, probe_more, months)
    line = 1
    for offset, block in reader:
        line = collector.feed_bytes(block, line, offset) + 1
    lines = line - 1
    if tail:
        collector.finish()
    elif collector.open and limit is not None and limit > stop:
        fh.seek(stop)
        for offset, block in _BlockReader(fh, stop, limit, plan.keep_bytes):
            line = collector.feed_bytes(block, line, offset, scan=False) + 1
            if not collector.open:
                break
    return Windows(collector.segments, lines, reader.sha256, reader.more, reader.size)


#: how far back `_lines_before` reads for the lines before a chunk, at most
MAX_LOOKBEHIND = 64 << 20


class LookbehindTooLong(ValueError):
    """The lines before a chunk are too long to read back: process the file whole instead."""


def _lines_before(fh: Any, start: int, count: int, keep_bytes: int) -> _Lines:
    """The `count` lines ending right before offset `start` (fewer at the head of the file),
    numbered so that the last is line 0."""
    size = 1 << 16
    while True:
        lo = max(0, start - size)
        fh.seek(lo)
        data = fh.read(start - lo)
        skip = 0 if lo == 0 else data.find(b"\n") + 1  # the first line may begin before lo
        complete = data.count(b"\n", skip)
        if lo == 0 or (skip > 0 and complete >= count):
            break
        if size >= MAX_LOOKBEHIND:
            raise LookbehindTooLong(f"no {count} lines within {size:,} bytes before {start:,}")
        size *= 4
    stored, _ = _stored_lines(data[skip:], 0, lo + skip, keep_bytes)
    stored = stored.tail(count)
    stored.first = 1 - len(stored.starts)
    return stored


def merge_segments(parts: list[list[Segment]]) -> list[Segment]:
    """Segments of several ranges (numbered alike) as one collector over the file keeps them:
    overlapping and touching windows merged, a closed segment ending its run."""
    from dataclasses import replace

    import numpy as np

    out: list[Segment] = []
    for s in sorted((s for p in parts for s in p), key=lambda s: (s.first_line, -s.last_line)):
        m = out[-1] if out else None
        if m is None or s.first_line > m.last_line + 1:
            out.append(replace(s, data=bytearray(s.data)))
            continue
        if s.last_line <= m.last_line:
            continue
        if m.closed:  # touches a cut line: the same window, another segment
            out.append(replace(s, data=bytearray(s.data), joined=True))
            continue
        skip = m.last_line + 1 - s.first_line  # lines of s that m holds already
        at = 0
        if skip:
            nl = np.flatnonzero(np.frombuffer(bytes(s.data), np.uint8) == 10)
            at = int(nl[skip - 1]) + 1
        m.data += s.data[at:]
        m.last_line = s.last_line
        m.closed = s.closed
    return out
