"""Seekable windows over byte ranges of a real file (or of an inflating stream).

Members of an uncompressed tar, and stored zip entries, are contiguous bytes of the outer file:
a window over them gives the dumps stage real random access (and `fileno()` for mmap users that
honour `base_offset`) without copying a multi-gigabyte vmcore anywhere. A sparse tar member
(`tar -S`) stores only its data extents, one after another; `SparseView` puts them back at
their places with the holes between them read as zeros, as extracting the file would.
"""

from __future__ import annotations

import bisect
import errno
import io
from typing import BinaryIO


class _Window(io.RawIOBase):
    """A read-only file of `length` bytes whose position moves freely, as a file's does: a
    seek past the end reads nothing, one before the start is an `OSError` (zipfile probes
    for a zip64 record that way, and takes a `ValueError` for a damaged archive)."""

    def __init__(self, length: int) -> None:
        super().__init__()
        self.length = max(0, length)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._pos
        elif whence == io.SEEK_END:
            offset += self.length
        if offset < 0:
            raise OSError(errno.EINVAL, "negative seek position")
        self._pos = offset
        return self._pos


class BoundedView(_Window):
    """Bytes `[start, start + length)` of `base`, presented as a file starting at 0."""

    def __init__(self, base: BinaryIO, start: int, length: int) -> None:
        super().__init__(length)
        if isinstance(base, BoundedView):  # compose nested windows onto the real file
            start += base.base_offset
            base = base.base
        self.base = base
        self.base_offset = start

    def fileno(self) -> int:
        return self.base.fileno()

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(b), self.length - self._pos)
        if n <= 0:
            return 0
        self.base.seek(self.base_offset + self._pos)
        got = self.base.readinto(memoryview(b)[:n])  # type: ignore[attr-defined]
        got = got or 0
        self._pos += got
        return got

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        remaining = self.length - self._pos
        if size is None or size < 0 or size > remaining:
            size = max(0, remaining)
        if size == 0:
            return b""
        self.base.seek(self.base_offset + self._pos)
        data = self.base.read(size)
        self._pos += len(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)


class SparseView(_Window):
    """A sparse member of `size` bytes: its `extents` (offset in the member, length; ascending,
    not overlapping) are stored back to back from `start` in `base`, the rest are holes.

    It has no `base_offset`: its bytes are not one run of the outer file, so the dumps stage
    must not map them as one. Where `base` ends early (a truncated archive), the member ends
    at the last stored byte present, as a `BoundedView` does; the holes before it are read.
    """

    def __init__(self, base: BinaryIO, start: int, extents: list[tuple[int, int]], size: int):
        super().__init__(size)
        self._base = base
        self._starts = [offset for offset, _ in extents]
        self._extents: list[tuple[int, int, int]] = []  # (offset, length, where stored)
        stored = start
        for offset, length in extents:
            self._extents.append((offset, length, stored))
            stored += length

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        want = min(len(b), self.length - self._pos)
        if want <= 0:
            return 0
        i = bisect.bisect_right(self._starts, self._pos) - 1
        if i >= 0 and self._pos < self._extents[i][0] + self._extents[i][1]:
            return self._read_extent(memoryview(b)[:want], *self._extents[i])
        hole_end = self._starts[i + 1] if i + 1 < len(self._starts) else self.length
        n = min(want, hole_end - self._pos)
        memoryview(b)[:n] = bytes(n)
        self._pos += n
        return n

    def _read_extent(self, view: memoryview, offset: int, length: int, stored: int) -> int:
        """Stored bytes of the extent at `offset`, from the current position."""
        into = self._pos - offset
        n = min(len(view), length - into)
        self._base.seek(stored + into)
        got = self._base.readinto(view[:n]) or 0  # type: ignore[attr-defined]
        self._pos += got
        return got
