"""Vectorised timestamp parsing for the fixed-layout time strings logs print.

`pc.strptime` costs ~0.5 µs a line; reading digits at fixed positions of an (n, width) byte matrix
with numpy costs a few ns, and the layouts logs use are fixed-width once the regex has matched.
All timestamps are the wall-clock time the log shows with any UTC offset dropped: RFC 3164 files
carry no zone, and the sources of one machine must line up with each other.

RFC 3164 and journal short lines have no year. `SyslogYears` assigns one: the source's year hint
is the year of the last line, and each time the month goes backwards (Dec → Jan) a year passed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from triage.model import TS

#: layout name → (width, month field, year field, day, hour, minute, second) as byte positions;
#: month is (start of a 3-letter name) or (start of 2 digits); -1 means absent
_LAYOUTS: dict[str, dict[str, int]] = {
    "bsd": {"width": 15, "mon_name": 0, "day": 4, "hour": 7, "min": 10, "sec": 13},
    "iso": {"width": 19, "year": 0, "mon": 5, "day": 8, "hour": 11, "min": 14, "sec": 17},
    "ymd": {"width": 19, "year": 0, "mon": 5, "day": 8, "hour": 11, "min": 14, "sec": 17},
    "ctime": {"width": 24, "mon_name": 4, "day": 8, "hour": 11, "min": 14, "sec": 17, "year": 20},
}
_MONTHS = [
    b"Jan",
    b"Feb",
    b"Mar",
    b"Apr",
    b"May",
    b"Jun",
    b"Jul",
    b"Aug",
    b"Sep",
    b"Oct",
    b"Nov",
    b"Dec",
]
_MONTH_CODES = np.array([(m[0] << 16) | (m[1] << 8) | m[2] for m in _MONTHS], dtype=np.int64)
_MONTH_ORDER = np.argsort(_MONTH_CODES)
_MONTH_SORTED = _MONTH_CODES[_MONTH_ORDER]
_DAYS_IN_MONTH = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
US = 1_000_000


@dataclass
class TimeParts:
    """Broken-down times of n rows; `valid` marks rows that had a well-formed time."""

    valid: np.ndarray  # bool
    year: np.ndarray | None  # int64, None when the layout has no year
    month: np.ndarray  # int64 1..12
    day: np.ndarray
    usec_of_day: np.ndarray  # int64 microseconds since midnight (with the fraction)


def _matrix(arr: pa.Array, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, width) byte matrix of a binary/string array and the mask of rows of that width."""
    n = len(arr)
    lengths = pc.binary_length(arr).to_numpy(zero_copy_only=False)
    present = np.nan_to_num(lengths, nan=0).astype(np.int64) == width
    bufs = arr.buffers()
    if not present.any() or bufs[2] is None:
        return np.zeros((n, width), np.uint8), present
    offsets = np.frombuffer(bufs[1], dtype=np.int32)[arr.offset : arr.offset + n + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8)
    idx = offsets[:-1, None].astype(np.int64) + np.arange(width, dtype=np.int64)
    np.clip(idx, 0, max(len(data) - 1, 0), out=idx)
    return data[idx], present


def _two(d: np.ndarray, pos: int) -> np.ndarray:
    return d[:, pos] * 10 + d[:, pos + 1]


def _fraction_us(frac: pa.Array | None, n: int) -> np.ndarray:
    if frac is None:
        return np.zeros(n, np.int64)
    lengths = pc.binary_length(frac).to_numpy(zero_copy_only=False)
    lengths = np.nan_to_num(lengths, nan=0).astype(np.int64)
    if not lengths.any():
        return np.zeros(n, np.int64)
    bufs = frac.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int32)[frac.offset : frac.offset + n + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8)
    idx = offsets[:-1, None].astype(np.int64) + np.arange(6, dtype=np.int64)
    np.clip(idx, 0, max(len(data) - 1, 0), out=idx)
    digits = data[idx].astype(np.int64) - 48
    digits[np.arange(6)[None, :] >= lengths[:, None]] = 0
    return digits @ np.array([100000, 10000, 1000, 100, 10, 1], dtype=np.int64)


def parse_parts(arr: pa.Array, layout: str, frac: pa.Array | None = None) -> TimeParts:
    """Break the time strings of `arr` (empty/null where absent) down with `layout`."""
    mat, valid = _matrix(arr, _LAYOUTS[layout]["width"])
    if not valid.any():
        zeros = np.zeros(len(arr), np.int64)
        return TimeParts(valid=valid, year=None, month=zeros, day=zeros, usec_of_day=zeros)
    return parse_matrix(mat, valid, layout, _fraction_us(frac, len(arr)))


def width(layout: str) -> int:
    return _LAYOUTS[layout]["width"]


def merge_parts(a: TimeParts, b: TimeParts, use_b: np.ndarray) -> TimeParts:
    """Rows of `b` where `use_b`, else rows of `a` (same length)."""

    def pick(x: np.ndarray | None, y: np.ndarray | None) -> np.ndarray | None:
        if x is None or y is None:
            return None
        return np.where(use_b, y, x)

    return TimeParts(
        valid=np.where(use_b, b.valid, a.valid),
        year=pick(a.year, b.year),
        month=np.where(use_b, b.month, a.month),
        day=np.where(use_b, b.day, a.day),
        usec_of_day=np.where(use_b, b.usec_of_day, a.usec_of_day),
    )


def parse_matrix(
    mat: np.ndarray, valid: np.ndarray, layout: str, frac_us: np.ndarray | None = None
) -> TimeParts:
    """Times from an (n, width) byte matrix of fixed-layout time strings."""
    spec = _LAYOUTS[layout]
    valid = valid.copy()
    d = mat.astype(np.int64) - 48
    if "mon_name" in spec:
        p = spec["mon_name"]
        code = (
            (mat[:, p].astype(np.int64) << 16)
            | (mat[:, p + 1].astype(np.int64) << 8)
            | mat[:, p + 2]
        )
        pos = np.clip(np.searchsorted(_MONTH_SORTED, code), 0, 11)
        valid &= _MONTH_SORTED[pos] == code
        month = _MONTH_ORDER[pos].astype(np.int64) + 1
    else:
        month = _two(d, spec["mon"])
    dp = spec["day"]
    day = np.where(mat[:, dp] == 32, 0, d[:, dp]) * 10 + d[:, dp + 1]
    hour, minute, sec = _two(d, spec["hour"]), _two(d, spec["min"]), _two(d, spec["sec"])
    year = None
    if "year" in spec:
        y = spec["year"]
        year = d[:, y] * 1000 + d[:, y + 1] * 100 + d[:, y + 2] * 10 + d[:, y + 3]
        valid &= (year >= 1970) & (year < 2200)
    valid &= (month >= 1) & (month <= 12) & (day >= 1)
    valid &= day <= _DAYS_IN_MONTH[np.clip(month, 0, 12)]
    valid &= (hour < 24) & (minute < 60) & (sec <= 60)
    sec = np.minimum(sec, 59)  # a leap second is shown as :60
    usec = ((hour * 60 + minute) * 60 + sec) * US
    if frac_us is not None:
        usec += frac_us
    return TimeParts(valid=valid, year=year, month=month, day=day, usec_of_day=usec)


def days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm)."""
    y = year - (month <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = np.where(month > 2, month - 3, month + 9)
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@functools.lru_cache(maxsize=64)
def _month_starts(year: int) -> np.ndarray:
    """days_from_civil of the 1st of each month of `year` (index = month; 0 unused)."""
    months = np.arange(13, dtype=np.int64)
    out = days_from_civil(np.full(13, year, np.int64), months, np.ones(13, np.int64))
    out.flags.writeable = False
    return out


def _days(y: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """days_from_civil, by table when every row has the same year (a few ops, not dozens:
    the day enters Hinnant's formula as `+ day - 1`). Rows with a month outside 1..12 get
    some number; they are not valid rows."""
    if len(y) and (y == y[0]).all():
        return _month_starts(int(y[0]))[np.clip(month, 0, 12)] + day - 1
    return days_from_civil(y, month, day)


def to_timestamps(parts: TimeParts, year: np.ndarray | None = None) -> pa.Array:
    """Timestamp array (TS) of the parts; `year` overrides/supplies the year per row."""
    y = year if year is not None else parts.year
    valid = parts.valid.copy()
    if y is None or not valid.any():
        return pa.nulls(len(valid), TS)
    # 29 February in a year that has none: the log cannot have printed it
    feb29 = (parts.month == 2) & (parts.day == 29)
    if feb29.any():
        leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
        valid &= ~(feb29 & ~leap)
    micros = _days(y, parts.month, parts.day) * (86400 * US) + parts.usec_of_day
    return pa.array(micros, type=pa.int64(), mask=~valid).cast(TS)


def epoch_timestamps(secs: pa.Array, frac: pa.Array | None = None) -> pa.Array:
    """Timestamp array (TS) of seconds since the epoch (digit strings, "" where absent) and
    their fraction digits: `journalctl -o short-unix`, whose wall clock is UTC."""
    n = len(secs)
    digits = pc.binary_length(secs).to_numpy(zero_copy_only=False)
    valid = np.nan_to_num(digits, nan=0).astype(np.int64) > 0
    if not valid.any():
        return pa.nulls(n, TS)
    whole = pc.cast(pc.if_else(pa.array(valid), secs, "0"), pa.int64()).to_numpy()
    valid &= whole < (230 * 365 * 86400)  # as for the other layouts: before 2200
    micros = whole * US + _fraction_us(frac, n)
    return pa.array(micros, type=pa.int64(), mask=~valid).cast(TS)


def merge_timestamps(columns: list[pa.Array], n: int) -> pa.Array:
    """First non-null timestamp per row across the layouts a format allows."""
    if not columns:
        return pa.nulls(n, TS)
    if len(columns) == 1:
        return columns[0]
    return pc.coalesce(*columns)


class SyslogYears:
    """Assigns years to year-less rows in file order, block after block.

    `year_end` is the year of the file's last line; `wraps_total` the number of New Years the file
    spans (estimated before the pass, see `count_wraps`). A month drop is a New Year; a jump of ten
    months or more upward right after is a clock stepping back across midnight of 31 December,
    which undoes it rather than counting a second year.
    """

    def __init__(self, year_end: int, wraps_total: int = 0, prev_month: int = 0) -> None:
        self.year = year_end - wraps_total
        self.prev_month = prev_month  # of the last timed row before these (0: none)
        # what a parse of part of a file needs to say of its first rows, for the caller that
        # settles, after the fact, the years its parts started in (`batch/chunks.py`)
        self.first_month = 0  # of the first timed row assigned (0: none yet)
        self.year_before = False  # rows before that one took the starting year

    def assign(self, month: np.ndarray, valid: np.ndarray) -> np.ndarray:
        out = np.full(len(month), self.year, dtype=np.int64)
        idx = np.flatnonzero(valid)
        if not self.first_month:
            self.year_before |= bool(len(idx) == 0 and len(month)) or bool(len(idx) and idx[0])
            if len(idx):
                self.first_month = int(month[idx[0]])
        if not len(idx):
            return out
        m = month[idx]
        prev = np.empty_like(m)
        prev[0] = self.prev_month or m[0]
        prev[1:] = m[:-1]
        step = np.where(m < prev, 1, 0) - np.where(m - prev >= 10, 1, 0)
        years = self.year + np.cumsum(step)
        out[idx] = years
        # rows without a time take the year of the row before them
        if len(idx) < len(month):
            pos = np.searchsorted(idx, np.arange(len(month)), side="right") - 1
            filled = np.where(pos >= 0, years[np.clip(pos, 0, None)], self.year)
            out = filled
        self.year = int(years[-1])
        self.prev_month = int(m[-1])
        return out


def segment_years(
    month: np.ndarray, valid: np.ndarray, seg: np.ndarray, first_year: np.ndarray
) -> np.ndarray:
    """`SyslogYears(...).assign` of each segment from a fresh start, for rows of many files.

    `seg` (non-decreasing) is each row's file, `first_year[f]` the year file f starts in
    (`year_end - wraps_total`). No month of one file counts as a New Year of the next.
    """
    base = first_year[seg]
    idx = np.flatnonzero(valid)
    if not len(idx):
        return base
    m, s = month[idx], seg[idx]
    new = np.ones(len(idx), dtype=bool)
    new[1:] = s[1:] != s[:-1]
    prev = np.empty_like(m)
    prev[1:] = m[:-1]
    prev[new] = m[new]  # a file's first time steps from itself: no change
    step = np.where(m < prev, 1, 0) - np.where(m - prev >= 10, 1, 0)
    done = np.cumsum(step)
    heads = np.flatnonzero(new)
    before = np.repeat(done[heads], np.diff(np.append(heads, len(idx))))
    years = first_year[s] + done - before
    if len(idx) == len(month):
        return years
    # rows without a time take the year of the row before them in their file
    pos = np.searchsorted(idx, np.arange(len(month)), side="right") - 1
    at = np.clip(pos, 0, None)
    return np.where((pos >= 0) & (s[at] == seg), years[at], base)


def year_step(prev_month: int, month: int) -> int:
    """The change of year from a timed row of `prev_month` (0: none) to the next, of `month`,
    by the rule of `SyslogYears`."""
    if not prev_month:
        return 0
    return int(month < prev_month) - int(month - prev_month >= 10)


def count_wraps(months: list[int]) -> int:
    """New Years crossed by a sequence of sampled months, by the rule of `SyslogYears`."""
    wraps = 0
    prev = 0
    for m in months:
        if prev:
            if m < prev:
                wraps += 1
            elif m - prev >= 10:
                wraps -= 1
        prev = m
    return max(wraps, 0)


def month_of(prefix: bytes) -> int:
    """Month number of a line starting with an RFC 3164 time, else 0."""
    try:
        return _MONTHS.index(prefix[:3]) + 1
    except ValueError:
        return 0
