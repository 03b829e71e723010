"""Member bytes kept from the listing of a compressed archive, for the reads that follow.

Listing a tar.gz, tar.bz2 or tar.xz inflates all of it: each header sits after the data of the
member before it. The reads that follow could not seek back in the inflated stream; each one
that came before the stream's position started inflating again from the archive's first byte,
and a pack reads a bundle's members in the order its sources sort and its facts are looked
up, not in the archive's. A 3 MB sosreport in bzip2 was inflated three times over, which was
two thirds of its processing. A worker listing such an archive for the pack it runs therefore
keeps the bytes of the members it passes (they are inflated anyway; keeping them costs a copy)
and the reader serves them from here (`reader._open_member`).

Bounded: members over `MEMBER_BYTES` are not kept in memory, nor any once `TOTAL_BYTES` are
held, and the pack forgets them when it ends (`forget`). A larger member (a status report's
xensource.log of hundreds of MB, in a tar.bz2) is written to a temporary file as the listing
passes it instead (`keep_file`), up to `DISK_BYTES` at once: its facts and its lines are then
read from there, where each of them inflated it again. The key names the archive on disk by
path, size and mtime, so a file replaced since it was listed is read again from disk.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
from typing import Any, BinaryIO

#: the largest member kept in memory, and the most bytes kept in memory at once in a process
MEMBER_BYTES = 32 << 20
TOTAL_BYTES = 128 << 20
#: the most bytes of larger members kept in temporary files at once in a process
DISK_BYTES = 8 << 30

Key = tuple[str, int, int, tuple[str, ...]]

_lock = threading.Lock()
_kept: dict[Key, bytes] = {}
_held = 0
_files: dict[Key, tuple[BinaryIO, int]] = {}  # key → (unlinked temporary file, bytes)
_on_disk = 0


def key_of(disk_path: str, st: os.stat_result, members: tuple[str, ...]) -> Key:
    """The key of a member: its archive on disk as it is now, and its member chain."""
    return (disk_path, st.st_mtime_ns, st.st_size, members)


def room_for(size: int) -> bool:
    """Whether a member of `size` bytes would be kept."""
    return 0 <= size <= MEMBER_BYTES and _held + size <= TOTAL_BYTES


def keep(key: Key, data: bytes) -> None:
    global _held
    with _lock:
        if key in _kept or not room_for(len(data)):
            return
        _kept[key] = data
        _held += len(data)


def get(key: Key) -> bytes | None:
    return _kept.get(key)


def room_on_disk(size: int) -> bool:
    """Whether a member of `size` bytes, too large to keep in memory, would be kept on disk
    (where each reader can read the file at its own place: `os.pread`)."""
    return _PREAD and size > MEMBER_BYTES and _on_disk + size <= DISK_BYTES


def keep_file(key: Key, fh: BinaryIO, size: int) -> bool:
    """Keep `fh`, an unlinked temporary file holding the member's `size` bytes (nothing is
    left on disk whatever ends the process); `forget` closes it. False, `fh` left to the
    caller, when it is not kept."""
    global _on_disk
    with _lock:
        if key in _files or not room_on_disk(size):
            return False
        _files[key] = (fh, size)
        _on_disk += size
        return True


def open_file(key: Key) -> BinaryIO | None:
    """A reader of the member's bytes kept on disk, at its own position, if they are kept."""
    got = _files.get(key)
    if got is None:
        return None
    fh, size = got
    return io.BufferedReader(_Pread(fh, size), buffer_size=1 << 20)  # type: ignore[return-value]


_PREAD = hasattr(os, "pread")


class _Pread(io.RawIOBase):
    """A kept file read with `os.pread`: readers of one file share no position. Reading it
    once `forget` has closed it raises, rather than read whatever file took its descriptor."""

    def __init__(self, fh: BinaryIO, size: int) -> None:
        super().__init__()
        self._file, self._size, self._pos = fh, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._size - self._pos)
        if want <= 0:
            return 0
        if self._file.closed:
            raise ValueError("read of a kept member after its pack forgot it")
        data = os.pread(self._file.fileno(), want, self._pos)
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos


def forget() -> None:
    """Drop every kept member (a pack's end), and close the temporary files."""
    global _held, _on_disk
    with _lock:
        _kept.clear()
        _held = 0
        files = list(_files.values())
        _files.clear()
        _on_disk = 0
    for fh, _ in files:
        with contextlib.suppress(OSError):
            fh.close()


def held() -> int:
    """Bytes kept in memory now."""
    return _held


def held_on_disk() -> int:
    """Bytes kept in temporary files now."""
    return _on_disk


def any_kept() -> bool:
    return bool(_held or _on_disk)
