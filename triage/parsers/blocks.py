"""Line-aligned blocks of a source, in bounded memory.

The engine works on blocks of a few MiB that end right after a line terminator, so lines never
straddle blocks and block work can run in parallel threads. A line longer than a block (a 1 GB
line of garbage in a broken log) is delivered as one block holding only its first `cap` bytes,
marked `long_line`; the rest of it is skipped without being held in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

MiB = 1024 * 1024
DEFAULT_BLOCK_BYTES = 16 * MiB
#: most lines in one block. The engine holds a few hundred bytes of index arrays per line, so a
#: block of 16 MiB of empty lines (16 KiB gzipped) would need ~5 GB; capped, a block stays small.
MAX_LINES_PER_BLOCK = 1 << 20


@dataclass
class Block:
    index: int
    offset: int  # byte offset of data[0] in the source
    data: bytes | bytearray | memoryview
    long_line: bool = False  # data is the capped head of one over-long line
    at_eof: bool = False


def line_separator(head: bytes | memoryview) -> bytes:
    """b"\\n", or b"\\r" for the rare capture that has carriage returns only."""
    head = bytes(head[: 1 << 16])
    return b"\r" if b"\n" not in head and b"\r" in head else b"\n"


def iter_blocks(
    source: bytes | memoryview | BinaryIO,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
    cap: int = 64 * 1024,
    sep: bytes = b"\n",
) -> Iterator[Block]:
    cap = max(1, min(cap, block_bytes))
    if isinstance(source, bytes | bytearray | memoryview):
        yield from _iter_memory(memoryview(source).cast("B"), block_bytes, cap, sep)
    else:
        yield from _iter_reader(source, block_bytes, cap, sep)


def _iter_memory(mv: memoryview, block: int, cap: int, sep: bytes) -> Iterator[Block]:
    data = mv.obj if isinstance(mv.obj, bytes) and len(mv.obj) == len(mv) else mv.tobytes()
    n = len(data)
    pos = 0
    index = 0
    while pos < n:
        end = min(pos + block, n)
        if end == n:
            stop = _fewer_lines(data, pos, n, sep)
            if stop == n:
                yield Block(index, pos, mv[pos:n], at_eof=True)
                return
            yield Block(index, pos, mv[pos:stop])
            pos = stop
            index += 1
            continue
        cut = data.rfind(sep, pos, end)
        if cut >= 0:
            stop = _fewer_lines(data, pos, cut + 1, sep)
            yield Block(index, pos, mv[pos:stop])
            pos = stop
        else:
            nxt = data.find(sep, end)
            line_end = n if nxt < 0 else nxt + 1
            yield Block(index, pos, mv[pos : pos + cap], long_line=True, at_eof=line_end >= n)
            pos = line_end
        index += 1


def _iter_reader(fh: BinaryIO, block: int, cap: int, sep: bytes) -> Iterator[Block]:
    pending = b""
    offset = 0
    index = 0
    eof = False
    while True:
        while not eof and len(pending) < block:
            pending, eof = _read_more(fh, pending, block)
        if not pending:
            return
        if eof and len(pending) <= block:
            stop = _fewer_lines(pending, 0, len(pending), sep)
            if stop == len(pending):
                yield Block(index, offset, pending, at_eof=True)
                return
            cut = stop - 1
        else:
            cut = pending.rfind(sep, 0, block)
        if cut >= 0:
            stop = _fewer_lines(pending, 0, cut + 1, sep)
            # a view, not a copy of the block: only the short rest is copied, below
            yield Block(index, offset, memoryview(pending)[:stop])
            offset += stop
            pending = pending[stop:]
            index += 1
            continue
        head = pending[:cap]
        line_offset = offset
        # skip the rest of the over-long line without keeping it
        nxt = pending.find(sep)
        while nxt < 0 and not eof:
            offset += len(pending)
            pending = fh.read(block)
            if not pending:
                eof = True
                pending = b""
                break
            nxt = pending.find(sep)
        yield Block(index, line_offset, head, long_line=True, at_eof=eof and nxt < 0)
        index += 1
        if nxt >= 0:
            offset += nxt + 1
            pending = pending[nxt + 1 :]
        else:
            offset += len(pending)
            pending = b""


def _read_more(fh: BinaryIO, pending: bytes | bytearray, n: int) -> tuple[bytes | bytearray, bool]:
    """`pending` followed by up to `n` more bytes of `fh`, and whether `fh` is exhausted.

    Read into one new buffer behind a copy of `pending` (a line's rest, short) where `fh`
    can: joining a read block to it would copy the whole block once more."""
    readinto = getattr(fh, "readinto", None)
    if readinto is None:
        chunk = fh.read(n)
        return (pending + chunk if pending else chunk), not chunk
    have = len(pending)
    buf = bytearray(have + n)
    buf[:have] = pending
    view = memoryview(buf)
    got = 0
    while got < n:  # a stream may return less than asked before its end
        step = readinto(view[have + got :]) or 0
        if not step:
            break
        got += step
    view.release()
    if got < n:
        # a copy of the filled part, once a source (at its end), not `del buf[...]`: a view
        # of `buf` that a reader took may outlive the call (a profiler holding its frame, as
        # Dask's workers run one), and a bytearray with a view cannot be resized
        return buf[: have + got], True
    return buf, False


def _fewer_lines(data: bytes, pos: int, end: int, sep: bytes) -> int:
    """`end` (just after a separator, or the end of data), moved back so that the block
    `data[pos:end]` holds at most MAX_LINES_PER_BLOCK separators."""
    if end - pos <= MAX_LINES_PER_BLOCK:
        return end
    is_sep = np.frombuffer(data, np.uint8, count=end - pos, offset=pos) == sep[0]
    if np.count_nonzero(is_sep) <= MAX_LINES_PER_BLOCK:  # numpy counts twice as fast as bytes
        return end
    return pos + int(np.flatnonzero(is_sep)[MAX_LINES_PER_BLOCK - 1]) + 1


class Bounded:
    """A reader over `head` and then the first `limit` bytes of `fh` (all of it when
    negative), with `peek` for the parsers' sniffing: a chunk of a file, a lead line before
    one, or a log read in blocks that stops at the size cap a whole read stops at. Without a
    head it goes back into its bytes (`seek`) for a second pass, when `fh` can."""

    def __init__(self, fh: Any, limit: int = -1, head: bytes = b"") -> None:
        self.fh = fh
        self.limit = limit if limit >= 0 else 1 << 62
        self.left = self.limit
        self.buf = head
        can_seek = not head and getattr(fh, "seekable", lambda: False)()
        self.start = fh.tell() if can_seek else -1

    def peek(self, n: int = 1) -> bytes:
        if not self.buf and self.left:
            self.buf = self.fh.read(min(max(n, 1 << 16), self.left))
            self.left -= len(self.buf)
        return self.buf

    def read(self, n: int = -1) -> bytes:
        if self.buf:
            k = len(self.buf) if n < 0 else min(n, len(self.buf))
            out, self.buf = self.buf[:k], self.buf[k:]
            return out
        n = self.left if n < 0 else min(n, self.left)
        out = self.fh.read(n) if n else b""
        self.left -= len(out)
        return out

    def readinto(self, b: Any) -> int:
        """`read` into `b`, without the copy of a returned bytes object when `fh` can."""
        view = memoryview(b).cast("B")
        if self.buf or not hasattr(self.fh, "readinto"):
            out = self.read(len(view))
            view[: len(out)] = out
            return len(out)
        n = min(len(view), self.left)
        got = (self.fh.readinto(view[:n]) or 0) if n else 0
        self.left -= got
        return got

    def seekable(self) -> bool:
        return self.start >= 0

    def seek(self, pos: int) -> int:
        """Back (or on) to `pos` bytes into the bounded part: a second pass starts at 0."""
        if self.start < 0:
            raise OSError("not seekable")
        self.fh.seek(self.start + pos)
        self.left = max(0, self.limit - pos)
        self.buf = b""
        return pos

    def tell(self) -> int:
        return self.limit - self.left - len(self.buf)

    def more(self) -> bool:
        """Whether `fh` holds bytes beyond the limit (asked once the bounded part is read)."""
        return not self.left and bool(self.fh.read(1))
