"""A seekable window over a byte range of a real file.

Members of an uncompressed tar, and stored zip entries, are contiguous bytes of the outer file:
a window over them gives the dumps stage real random access (and `fileno()` for mmap users that
honour `base_offset`) without copying a multi-gigabyte vmcore anywhere.
"""

from __future__ import annotations

import errno
import io
from typing import BinaryIO


class BoundedView(io.RawIOBase):
    """Bytes `[start, start + length)` of `base`, presented as a file starting at 0."""

    def __init__(self, base: BinaryIO, start: int, length: int) -> None:
        super().__init__()
        if isinstance(base, BoundedView):  # compose nested windows onto the real file
            start += base.base_offset
            base = base.base
        self.base = base
        self.base_offset = start
        self.length = max(0, length)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def fileno(self) -> int:
        return self.base.fileno()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._pos
        elif whence == io.SEEK_END:
            offset += self.length
        if offset < 0:  # as a file does: zipfile probes for a zip64 record this way
            raise OSError(errno.EINVAL, "negative seek position")
        self._pos = offset
        return self._pos

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
