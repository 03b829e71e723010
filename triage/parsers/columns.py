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


def slices_to_strings(
    buffers: list[np.ndarray],
    starts: np.ndarray,
    ends: np.ndarray,
    buf_index: np.ndarray | None = None,
    valid: np.ndarray | None = None,
    view: bool = False,
) -> pa.Array:
    """pa.string() array of buffers[buf_index[i]][starts[i]:ends[i]] (bytes must be UTF-8);
    with `view`, the pa.string_view() array over the buffers, which a consumer that copies the
    bytes anyway (the Parquet writer) takes without the compaction."""
    n = len(starts)
    starts = np.asarray(starts, dtype=np.int64)
    lengths = (np.asarray(ends, dtype=np.int64) - starts).astype(np.int32)
    views = np.zeros((n, 4), dtype=_WORD)
    views[:, 0] = lengths.view(_WORD)
    groups = [(0, np.arange(n))] if buf_index is None else enumerate(buffers)
    for b, rows in groups:
        if buf_index is not None:
            rows = np.flatnonzero(buf_index == b)
        data = buffers[b]
        if len(rows) and len(data):
            _fill_views(views, rows, data, b, starts[rows], lengths[rows])
    validity = None
    if valid is not None and not valid.all():
        validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    arr = pa.Array.from_buffers(
        pa.string_view(),
        n,
        [validity, pa.py_buffer(views), *[pa.py_buffer(b) for b in buffers]],
    )
    return arr if view else arr.cast(pa.string())


#: a string_view struct is four little-endian 32-bit words
_WORD = np.dtype("<u4")


def _fill_views(
    views: np.ndarray, rows: np.ndarray, data: np.ndarray, b: int, s: np.ndarray, n: np.ndarray
) -> None:
    """The view words of `rows` (strings `data[s:s+n]`): a long string's 4-byte prefix, buffer
    and offset, a short one's bytes inline. Read 4 bytes at a time: indexing 12 single bytes
    per row (an n×12 index) cost most of the column."""
    first = _words(data, s)
    long = n > _INLINE
    views[rows, 1] = first
    views[rows[long], 2] = b
    views[rows[long], 3] = s[long].astype(np.int32).view(_WORD)
    short = np.flatnonzero(~long)
    if not len(short):
        return
    ss, sn = s[short], n[short].astype(np.int64)
    for w in range(3):
        word = first[short] if w == 0 else _words(data, ss + 4 * w)
        keep = np.clip(sn - 4 * w, 0, 4)  # bytes of the string in this word; the rest are 0
        views[rows[short], 1 + w] = word & ((np.int64(1) << (keep * 8)) - 1).astype(_WORD)


def _words(data: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """The little-endian 32-bit word at each byte offset `pos` of `data` (0 past its end)."""
    m = len(data)
    out = np.zeros(len(pos), _WORD)
    whole = pos <= m - 4
    if m >= 4:
        out[whole] = np.ndarray((m - 3,), _WORD, buffer=data, strides=(1,))[pos[whole]]
    for r in np.flatnonzero(~whole & (pos < m)).tolist():  # at most the last 3 bytes
        out[r] = int.from_bytes(bytes(data[pos[r] : pos[r] + 4]), "little")
    return out


def one_array(col: pa.ChunkedArray) -> pa.Array:
    """The column as one array: its only chunk as it is (`combine_chunks` copies even that one,
    and a table sliced out of several sources' rows would lose its shared buffers)."""
    return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()


def empty_to_null(arr: pa.Array) -> pa.Array:
    """Regex groups that did not take part come back as ""; the dataset wants null."""
    if _plain_strings(arr):
        # the same array with a validity bitmap of "valid and not empty": no compute kernels,
        # which cost more than the work on the few hundred rows of a small source
        if arr.null_count == len(arr):
            return arr
        keep = lengths(arr) > 0
        if keep.all():
            return arr
        bufs = arr.buffers()
        bitmap = pa.py_buffer(np.packbits(keep, bitorder="little"))
        return pa.Array.from_buffers(pa.string(), len(arr), [bitmap, bufs[1], bufs[2]])
    return pc.if_else(pc.greater(pc.binary_length(arr), 0), arr, pa.scalar(None, arr.type))


def lengths(arr: pa.Array) -> np.ndarray:
    """Byte lengths as int64 numpy, null → 0."""
    if _plain_strings(arr):
        n = len(arr)
        if arr.null_count == n:
            return np.zeros(n, np.int64)
        out = np.diff(np.frombuffer(arr.buffers()[1], np.int32, count=n + 1)).astype(np.int64)
        if arr.null_count:
            out[~valid_mask(arr)] = 0
        return out
    return pc.fill_null(pc.binary_length(arr), 0).to_numpy(zero_copy_only=False).astype(np.int64)


def valid_mask(arr: pa.Array) -> np.ndarray:
    """Which rows are not null, as a numpy bool array."""
    n = len(arr)
    bitmap = arr.buffers()[0]
    if not arr.null_count or bitmap is None:
        return np.ones(n, dtype=bool)
    bits = np.unpackbits(np.frombuffer(bitmap, np.uint8), bitorder="little")
    return bits[arr.offset : arr.offset + n].astype(bool)


def _plain_strings(arr: object) -> bool:
    """A pa.string() Array (not chunked) starting at its buffers' start, with offsets."""
    return (
        isinstance(arr, pa.Array)
        and arr.type == pa.string()
        and arr.offset == 0
        and len(arr) > 0
        and arr.buffers()[1] is not None
    )
