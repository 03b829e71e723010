"""Arrow string columns made from byte ranges of a block without a per-line Python loop.

A message is the tail of its line, so the `text` column is n (start, end) ranges of the block.
Arrow's string_view layout is exactly "length + inline bytes, or length + prefix + buffer index +
offset", so we write those 16-byte views with numpy over the block (and the buffer of cleaned
slow-path lines) and let Arrow compact them into a plain string array in one C++ pass.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_INLINE = 12
_AR12 = np.arange(_INLINE, dtype=np.int64)


def slices_to_strings(
    buffers: list[np.ndarray],
    starts: np.ndarray,
    ends: np.ndarray,
    buf_index: np.ndarray | None = None,
    valid: np.ndarray | None = None,
) -> pa.Array:
    """pa.string() array of buffers[buf_index[i]][starts[i]:ends[i]] (bytes must be UTF-8)."""
    n = len(starts)
    starts = np.asarray(starts, dtype=np.int64)
    lengths = (np.asarray(ends, dtype=np.int64) - starts).astype(np.int32)
    views = np.zeros((n, 4), dtype=np.int32)
    vbytes = views.view(np.uint8).reshape(n, 16)
    if buf_index is None:
        groups = [(0, slice(None))]
    else:
        groups = [(b, np.flatnonzero(buf_index == b)) for b in range(len(buffers))]
    for b, rows in groups:
        data = buffers[b]
        if not len(data):
            continue
        s = starts[rows]
        idx = s[:, None] + _AR12
        np.clip(idx, 0, len(data) - 1, out=idx)
        inline = data[idx]
        inline *= _AR12[None, :] < lengths[rows, None]
        vbytes[rows, 4:] = inline
        if buf_index is not None:
            long_rows = rows[lengths[rows] > _INLINE]
            views[long_rows, 2] = b
    long = lengths > _INLINE
    views[:, 0] = lengths
    views[long, 3] = starts[long].astype(np.int32)
    if buf_index is None:
        views[long, 2] = 0
    validity = None
    if valid is not None and not valid.all():
        validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    arr = pa.Array.from_buffers(
        pa.string_view(),
        n,
        [validity, pa.py_buffer(views), *[pa.py_buffer(b) for b in buffers]],
    )
    return arr.cast(pa.string())


def empty_to_null(arr: pa.Array) -> pa.Array:
    """Regex groups that did not take part come back as ""; the dataset wants null."""
    return pc.if_else(pc.greater(pc.binary_length(arr), 0), arr, pa.scalar(None, arr.type))


def lengths(arr: pa.Array) -> np.ndarray:
    """Byte lengths as int64 numpy, null → 0."""
    return pc.fill_null(pc.binary_length(arr), 0).to_numpy(zero_copy_only=False).astype(np.int64)
