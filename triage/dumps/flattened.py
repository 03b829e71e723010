"""makedumpfile's flattened stream (`-F`, `vmcore.flat` from ssh targets), read in place.

The stream is a 4 KiB header then records `{be64 offset, be64 size, data}` meaning "write these
bytes at offset" of the real dump, ended by `{-1, -1}`. Instead of replaying it into a temporary
copy (`makedumpfile -R`), we index the records once — destination, length, position in the
stream — and serve reads of the virtual dump through that index. Later records win where they
overlap, as they would on replay; holes read as zeros.
"""

from __future__ import annotations

import struct

from triage.dumps.access import DumpError, RandomAccess, read_exact

HEADER_SIZE = 4096
SIGNATURE = b"makedumpfile"
END = 0xFFFFFFFFFFFFFFFF
MAX_RECORDS = 50_000_000
MAX_OFFSET = 1 << 52


class FlatView:
    """The dump a flattened stream describes, as a RandomAccess."""

    def __init__(self, f: RandomAccess) -> None:
        import numpy as np  # only needed here: keeps `triage.dumps` cheap to import

        head = read_exact(f, 0, HEADER_SIZE)
        if not head.startswith(SIGNATURE):
            raise DumpError("dump-bad-header", "not a makedumpfile flattened stream")
        ftype, version = struct.unpack_from(">QQ", head, 16)
        if ftype != 1 or version != 1:
            raise DumpError("dump-bad-header", f"flattened stream type {ftype} version {version}")
        self._f = f
        dst: list[int] = []
        length: list[int] = []
        src: list[int] = []
        pos = HEADER_SIZE
        self.complete = False
        while pos + 16 <= f.size:
            off, size = struct.unpack(">QQ", f.read(pos, 16))
            if off == END and size == END:
                self.complete = True
                break
            if off >= MAX_OFFSET or size > f.size - pos - 16:
                raise DumpError(
                    "dump-truncated" if off < MAX_OFFSET else "dump-bad-offset",
                    f"flattened record at {pos:#x} writes {size} bytes at {off:#x}, "
                    f"beyond the stream ({f.size:#x} bytes)",
                )
            if len(dst) >= MAX_RECORDS:
                raise DumpError("dump-bad-size", f"more than {MAX_RECORDS} flattened records")
            if size:
                dst.append(off)
                length.append(size)
                src.append(pos + 16)
            pos += 16 + size
        order = np.argsort(np.asarray(dst, dtype=np.int64), kind="stable")
        self._dst = np.asarray(dst, dtype=np.int64)[order]
        self._len = np.asarray(length, dtype=np.int64)[order]
        self._src = np.asarray(src, dtype=np.int64)[order]
        self._seq = order  # stream order, to let later records win
        self._max_len = int(self._len.max()) if len(dst) else 0
        self.records = len(dst)
        self.size = int((self._dst + self._len).max()) if len(dst) else 0

    def read(self, offset: int, length: int) -> bytes:
        import numpy as np

        end = offset + length
        lo = int(np.searchsorted(self._dst, offset - self._max_len, side="left"))
        hi = int(np.searchsorted(self._dst, end, side="left"))
        out = bytearray(length)
        hits = [
            i for i in range(lo, hi) if self._dst[i] + self._len[i] > offset and self._dst[i] < end
        ]
        hits.sort(key=lambda i: int(self._seq[i]))
        for i in hits:
            d, n, s = int(self._dst[i]), int(self._len[i]), int(self._src[i])
            a, b = max(d, offset), min(d + n, end)
            out[a - offset : b - offset] = self._f.read(s + (a - d), b - a)
        return bytes(out)
