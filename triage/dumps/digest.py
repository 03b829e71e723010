"""A content digest for dumps that costs a few MiB of reading whatever the dump's size.

Hashing a 60 GB vmcore end to end would dominate a rerun, yet the digest must change whenever
the dump does. A dump's identity lives in its headers and notes (crash time, VMCOREINFO, CPU
registers) and any different dump differs there, so we hash:

    sha256( "triage-dump-digest-v1" ‖ size as u64
            ‖ the first 1 MiB (headers, notes, VMCOREINFO, kdump bitmaps' start)
            ‖ 64 blocks of 4 KiB at offsets k·size/64 (k = 0…63)
            ‖ the last 64 KiB )

Files of ≤ 2 MiB are hashed whole. The result is a plain sha256 hex string.
"""

from __future__ import annotations

import hashlib
import struct

from triage.dumps.access import RandomAccess

HEAD = 1024 * 1024
TAIL = 64 * 1024
SAMPLES = 64
BLOCK = 4096
WHOLE_LIMIT = 2 * 1024 * 1024


def dump_digest(f: RandomAccess) -> str:
    h = hashlib.sha256(b"triage-dump-digest-v1")
    size = f.size
    h.update(struct.pack("<Q", size))
    if size <= WHOLE_LIMIT:
        h.update(f.read(0, size))
        return h.hexdigest()
    h.update(f.read(0, HEAD))
    for k in range(SAMPLES):
        off = k * size // SAMPLES
        h.update(f.read(off, min(BLOCK, size - off)))
    h.update(f.read(size - TAIL, TAIL))
    return h.hexdigest()
