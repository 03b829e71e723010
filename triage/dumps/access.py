"""Bounded random access to a dump file, whether it is a real file (mmap) or any seekable stream.

Dumps are untrusted and can be many gigabytes: every read goes through `DumpFile.read`, which
checks the range against the file size, so a hostile offset becomes a `DumpError` naming the
problem instead of a huge allocation or a silent short read.
"""

from __future__ import annotations

import contextlib
import io
import mmap
import os
from typing import BinaryIO, Protocol

#: no single structure read from a dump may exceed this (log buffers are ≤ 2 GiB in the kernel,
#: and nothing we read whole is near that); it stops `read(off, huge)` allocations.
MAX_READ = 512 * 1024 * 1024


class DumpError(Exception):
    """An inconsistency in a dump; becomes an ErrorRecord with `error_class`."""

    def __init__(self, error_class: str, message: str) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.message = message


class RandomAccess(Protocol):
    """What the format readers need: a size and bounded reads at absolute offsets."""

    size: int

    def read(self, offset: int, length: int) -> bytes: ...


class DumpFile:
    """A seekable binary file viewed as a bounded byte array.

    Uses mmap when the handle is a real file (no copy, the OS pages it in); otherwise falls back
    to seek+read, which works for the archive members `open_binary` may hand us.
    """

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self._map: mmap.mmap | None = None
        self.size = _size_of(fh)
        # a window onto a real file (a vmcore in an uncompressed tar) maps that file: its
        # bytes start `base_offset` into it
        window = _window(fh)
        self._start = window.base_offset if window is not None else 0
        try:
            fd = fh.fileno()
            if self.size > 0:
                self._map = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
                if len(self._map) < self._start + self.size:  # the file shrank since
                    self._map.close()
                    self._map = None
        except (OSError, ValueError, io.UnsupportedOperation, AttributeError):
            self._map = None

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or length > MAX_READ:
            raise DumpError(
                "dump-bad-offset", f"read of {length} bytes at offset {offset:#x} is out of range"
            )
        if offset + length > self.size:
            raise DumpError(
                "dump-truncated",
                f"needs bytes {offset:#x}..{offset + length:#x} but the file ends at {self.size:#x}",
            )
        if self._map is not None:
            at = self._start + offset
            return self._map[at : at + length]
        self._fh.seek(offset)
        data = self._fh.read(length)
        if len(data) != length:
            raise DumpError("dump-truncated", f"short read at offset {offset:#x}")
        return data

    def buffer(self) -> memoryview | None:
        """The whole file as a zero-copy view when mmapped (for chunked scans), else None."""
        if self._map is None:
            return None
        return memoryview(self._map)[self._start : self._start + self.size]

    def close(self) -> None:
        if self._map is not None:
            # a caller may still hold a view; the GC closes the map then
            with contextlib.suppress(BufferError):
                self._map.close()
            self._map = None


class _Window(Protocol):
    """A window onto bytes of an outer file (`sources.views.BoundedView`)."""

    base_offset: int
    length: int


def _window(fh: BinaryIO) -> _Window | None:
    """The window onto an outer file that `fh` reads, if it is one (buffered, as
    `sources.open_binary` hands it): what has a `base_offset` and a `length`."""
    raw = fh.raw if isinstance(fh, io.BufferedReader) else fh
    return raw if hasattr(raw, "base_offset") and hasattr(raw, "length") else None


def _size_of(fh: BinaryIO) -> int:
    window = _window(fh)
    if window is not None:  # its file descriptor is the whole outer file's
        return window.length
    try:
        return os.fstat(fh.fileno()).st_size
    except (OSError, ValueError, io.UnsupportedOperation, AttributeError):
        pos = fh.tell()
        end = fh.seek(0, os.SEEK_END)
        fh.seek(pos)
        return end


def read_exact(f: RandomAccess, offset: int, length: int) -> bytes:
    """`f.read` with the same range checks for any RandomAccess (e.g. a flattened view)."""
    if offset < 0 or length < 0 or length > MAX_READ:
        raise DumpError(
            "dump-bad-offset", f"read of {length} bytes at offset {offset:#x} is out of range"
        )
    if offset + length > f.size:
        raise DumpError(
            "dump-truncated",
            f"needs bytes {offset:#x}..{offset + length:#x} but the data ends at {f.size:#x}",
        )
    return f.read(offset, length)
