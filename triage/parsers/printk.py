"""The printk time `[%5lu.%06lu] ` at the start of a line, read with numpy instead of RE2.

Nearly every line of a console or dmesg capture starts with the kernel's fixed-width time
(`[    0.000000] ` … `[99999.999999] `: 15 bytes). RE2's submatch extraction over millions of
such lines, and the cast of the captured string to a float, were the largest cost of parsing a
big log; at a fixed width the shape is a handful of byte comparisons per line and the value
integer arithmetic. Lines of any other shape (wider seconds, tabs, a caller id after the time,
no time at all) are left to the format's patterns, so the rows are the same either way.
"""

from __future__ import annotations

import numpy as np

#: bytes of the fixed-width time with its space, `[` 5 seconds `.` 6 micro `]` ` `, and the
#: widths it grows to after 100,000 and 1,000,000 seconds of uptime
WIDTHS = (15, 16, 17)
_SPACE, _DOT, _OPEN, _CLOSE = 32, 46, 91, 93
_MICRO = np.array([100_000, 10_000, 1_000, 100, 10, 1], np.int64)


#: bytes of each line's head looked at: one 32-bit word of flags per line (`_bits`)
HEAD = 32


def head_bytes(data: np.ndarray, starts: np.ndarray, width: int = HEAD) -> np.ndarray:
    """(n, width) bytes from each start (zero past the end of `data`), gathered row by row
    from a strided view: one copy of `width` bytes per row, not `width` single-byte reads.
    `starts` are ascending."""
    n, m = len(starts), len(data)
    out = np.zeros((n, width), np.uint8)
    inside = int(np.searchsorted(starts, m - width, side="right")) if m >= width else 0
    if inside:
        rows = np.lib.stride_tricks.as_strided(
            data, shape=(m - width + 1, width), strides=(1, 1), writeable=False
        )
        out[:inside] = rows[starts[:inside]]
    for r in range(inside, n):  # the last lines of the buffer
        piece = data[starts[r] : starts[r] + width]
        out[r, : len(piece)] = piece
    return out


def _bits(mask: np.ndarray) -> np.ndarray:
    """Each row of an (n, 32) bool matrix as a uint32, bit i = column i: a check over a run of
    columns becomes one mask test (numpy reductions along short rows are slow)."""
    return np.packbits(mask.ravel(), bitorder="little").view("<u4")


def fixed_times(head: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The width of the printk time each row starts with (0: none, or something a prefix
    pattern would read past it: a `[` right after it may open a caller id), and its seconds
    as float64.

    `head` holds each row's first HEAD bytes (`head_bytes`), `lengths` the rows' lengths. The
    value is the integer of microseconds divided by 10**6: both exact doubles, so the quotient
    is the correctly rounded decimal, as a parse of the digits gives.
    """
    digit = (head - 48) < 10  # uint8 wraps below '0'
    d, s, close = _bits(digit), _bits(head == _SPACE), _bits(head == _CLOSE)
    # the seconds take columns 1..c, c the column before the dot (5, 6 or 7)
    c = np.zeros(len(head), np.int64)
    for w in reversed(WIDTHS):
        c[head[:, w - 9] == _DOT] = w - 10
    width = np.where(c > 0, c + 10, 0)
    cu = c.astype(np.uint32)
    one = np.uint32(1)
    secs = ((one << cu) - one) << one
    micro = np.uint32(0x3F) << (cu + np.uint32(2))
    after = head[np.arange(len(head)), np.minimum(width, HEAD - 1)]
    ok = (
        (c > 0)
        & (head[:, 0] == _OPEN)
        & (lengths >= width)
        & (((close >> (cu + np.uint32(8))) & one) != 0)
        & (((s >> (cu + np.uint32(9))) & one) != 0)
        & ((d & micro) == micro)
        & (((d | s) & secs) == secs)
        & (((d >> cu) & one) != 0)
        & (((d << one) & s & secs) == 0)  # no space after a digit
        & ((lengths == width) | (after != _OPEN))
    )
    width[~ok] = 0
    mono = np.zeros(len(head), np.float64)
    if ok.any():
        if ok.all():  # the usual block: no copy of the heads
            mono = _micros(head, digit, c) / 1e6
        else:
            rows = np.flatnonzero(ok)
            mono[rows] = _micros(head[rows], digit[rows], c[rows]) / 1e6
    return width, mono


def _word(head: np.ndarray, column: int) -> np.ndarray:
    """The little-endian 64-bit word at `column` of each row of a C-contiguous head matrix."""
    return np.ndarray(
        (len(head),), "<u8", buffer=head, offset=column, strides=(head.strides[0],)
    ).copy()


def _eight_digits(v: np.ndarray) -> np.ndarray:
    """The number of 8 bytes holding one decimal digit value each, the first byte (lowest
    address) most significant."""
    v = (v * np.uint64(10) + (v >> np.uint64(8))) & np.uint64(0x00FF00FF00FF00FF)
    v = (v * np.uint64(100) + (v >> np.uint64(16))) & np.uint64(0x0000FFFF0000FFFF)
    v = (v * np.uint64(10000) + (v >> np.uint64(32))) & np.uint64(0xFFFFFFFF)
    return v.astype(np.int64)


def _digit_values(head: np.ndarray, digit: np.ndarray, column: int) -> np.ndarray:
    """The 8 bytes from `column` of each row as a word of digit values, other bytes 0 (an ASCII
    digit's low nibble is its value)."""
    return _word(head, column) & (_word(digit.view(np.uint8), column) * np.uint64(0x0F))


def _micros(head: np.ndarray, digit: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The integer of microseconds of times with `c` seconds columns (per row).

    With non-digit bytes read as 0, columns 0..7 hold the seconds with 7 - c columns after
    them, and columns 7..14 the 6 micro digits with 7 - c columns after them: shifted up by
    7 - c bytes, each word holds its number alone in its last bytes (the first byte is the most
    significant digit), which `_eight_digits` reads without a division."""
    lo, hi = int(c.min()), int(c.max())
    # one width (most blocks): a scalar shift
    up = np.uint64(8 * (7 - lo)) if lo == hi else (8 * (7 - c)).astype(np.uint64)
    secs = _eight_digits(_digit_values(head, digit, 0) << up)
    micro = _eight_digits((_digit_values(head, digit, 7) << up) & np.uint64(_LOW2))
    return secs * 1_000_000 + micro


#: a word without its first two bytes (the last seconds digit and the dot of a 7-column time)
_LOW2 = 0xFFFFFFFFFFFF0000
