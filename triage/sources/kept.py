"""Member bytes kept from the listing of a compressed archive, for the reads that follow.

Listing a tar.gz, tar.bz2 or tar.xz inflates all of it: each header sits after the data of the
member before it. The reads that follow could not seek back in the inflated stream; each one
that came before the stream's position started inflating again from the archive's first byte,
and a pack reads a bundle's members in the order its sources sort and its facts are looked
up, not in the archive's. A 3 MB sosreport in bzip2 was inflated three times over, which was
two thirds of its processing. A worker listing such an archive for the pack it runs therefore
keeps the bytes of the members it passes (they are inflated anyway; keeping them costs a copy)
and the reader serves them from here (`reader._open_member`).

Bounded: members over `MEMBER_BYTES` are not kept, nor any once `TOTAL_BYTES` are held, and
the pack forgets them when it ends (`forget`). The key names the archive on disk by path, size
and mtime, so a file replaced since it was listed is read again from disk.
"""

from __future__ import annotations

import os
import threading

#: the largest member kept, and the most bytes kept at once in a process
MEMBER_BYTES = 32 << 20
TOTAL_BYTES = 128 << 20

Key = tuple[str, int, int, tuple[str, ...]]

_lock = threading.Lock()
_kept: dict[Key, bytes] = {}
_held = 0


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


def forget() -> None:
    """Drop every kept member (a pack's end)."""
    global _held
    with _lock:
        _kept.clear()
        _held = 0


def held() -> int:
    """Bytes kept now."""
    return _held
