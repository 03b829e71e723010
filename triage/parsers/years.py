"""The year of a year-less syslog time (RFC 3164 `Jun 15 10:21:05`): the year the file ends in,
from its rotation name, mtime or bundle date (`year_end`, `end_shift`), and the New Years its
lines span back from there, sampled from one line per MiB and both ends (`sampled_wraps`, and
`MonthSamples` for a stream read once)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta

from triage.model import UTF8_BOM, SourceFile
from triage.parsers import timestamps


def year_end(src: SourceFile | None) -> int:
    if src is not None and src.year_hint:
        return int(src.year_hint)
    if src is not None and src.mtime:
        return datetime.fromtimestamp(src.mtime).year
    return datetime.now().year


#: an RFC 3164 time at a line's start, after the byte order mark the line may open with
_BSD_AT_LINE = re.compile(
    rb"\n(?:" + re.escape(UTF8_BOM) + rb")?([A-Z][a-z]{2}) ([ 0-3]\d) [0-2]\d:"
)


def sampled_wraps(
    data: bytes | memoryview, step: int = 1 << 20, src: SourceFile | None = None
) -> int:
    """New Years from a year-less log's first line to the year `year_end(src)` gives: those it
    spans, from the month of one line per MiB (and both ends), and `end_shift`."""
    mv = memoryview(data)
    return _sampled_wraps(lambda pos, n: bytes(mv[pos : pos + n]), len(mv), step, src)


def sampled_wraps_file(
    path: str, size: int, step: int = 1 << 20, src: SourceFile | None = None
) -> int:
    """`sampled_wraps` of the first `size` bytes of the file at `path`, read where it looks:
    a log too large to hold gets the years it would get whole."""
    with open(path, "rb") as fh:

        def read(pos: int, n: int) -> bytes:
            fh.seek(pos)
            return fh.read(max(0, min(n, size - pos)))

        return _sampled_wraps(read, size, step, src)


#: how many days a log's last line may come after the date its year is taken from: time zones
#: (an mtime is read in UTC, lines are local), `dateyesterday` rotation names, clocks set late
AFTER_DAYS = 7


def end_shift(src: SourceFile | None, last: tuple[int, int] | None) -> int:
    """Years from the one the log's last line (`last`: month, day) is of to the year of
    `src.year_from`, which the walker makes `year_hint` and so `year_end(src)`: -1, 0 or 1.

    `year_from` is a date the log was written before (its rotation, its file's mtime, the
    bundle's collection). The last line is of the latest date no more than `AFTER_DAYS` after
    it, as clocks and time zones differ. A log rotated on 2 January whose
    last line is of 30 December ends the year before; a file stamped 31 December in UTC whose
    last line is of 1 January, in a zone ahead, ends the year after."""
    if src is None or not src.year_from or not last:
        return 0
    try:
        ref = date.fromisoformat(src.year_from)
    except ValueError:
        return 0
    month, day = last
    latest = ref + timedelta(days=AFTER_DAYS)
    for year in (ref.year + 1, ref.year, ref.year - 1):
        try:
            when = date(year, month, day)
        except ValueError:  # 29 February of a year without one, or no date at all
            continue
        if when <= latest:
            return ref.year - year
    return 0


class MonthSamples:
    """`sampled_wraps` of a stream, from the bytes it reads as they pass (`feed`, in order):
    a compressed log cannot be read where the samples are, and is not held whole."""

    WINDOW = 4096

    def __init__(self, step: int = 1 << 20) -> None:
        self.step = step
        self.size = 0
        self.windows: dict[int, bytearray] = {0: bytearray()}  # offset → the bytes from there
        self.filling = [0]  # the windows not yet full
        self.next = step
        self.tail = b""

    def feed(self, offset: int, chunk: bytes | memoryview) -> None:
        end = offset + len(chunk)
        while self.next < end:
            self.windows[self.next] = bytearray()
            self.filling.append(self.next)
            self.next += self.step
        for pos in self.filling:
            got = self.windows[pos]
            at = max(0, pos - offset)
            got += chunk[at : at + self.WINDOW - len(got)]
        self.filling = [p for p in self.filling if len(self.windows[p]) < self.WINDOW]
        self.tail = (self.tail + bytes(chunk[-self.WINDOW :]))[-self.WINDOW :]
        self.size = end

    def wraps(self, src: SourceFile | None = None) -> int:
        def read(pos: int, n: int) -> bytes:
            if pos in self.windows:
                return bytes(self.windows[pos][:n])
            return self.tail[len(self.tail) - (self.size - pos) :][:n]  # the tail, read last

        return _sampled_wraps(read, self.size, self.step, src)


def _sampled_wraps(
    read: Callable[[int, int], bytes], size: int, step: int, src: SourceFile | None
) -> int:
    months = [month_near(read(0, 4096))]  # a journal's first line is its "-- Logs begin"
    for pos in range(step, size, step):
        m = _BSD_AT_LINE.search(read(pos, 4096))
        if m:
            months.append(timestamps.month_of(m.group(1)))
    start = max(0, size - 4096)
    last = last_bsd_day(read(start, size - start))
    if last:
        months.append(last[0])
    return timestamps.count_wraps([m for m in months if m]) + end_shift(src, last)


def month_near(data: bytes) -> int:
    """The month of the first line of `data` with an RFC 3164 time at its start (0: none)."""
    first = timestamps.month_of(data.removeprefix(UTF8_BOM)[:3])
    if first:
        return first
    m = _BSD_AT_LINE.search(data)
    return timestamps.month_of(m.group(1)) if m else 0


def last_bsd_day(tail: bytes, line_start: bool = False) -> tuple[int, int] | None:
    """The month and day of the last `_BSD_AT_LINE` match in `tail` (None: none, or no month
    there), looked for from the end. A match holds one newline, its first byte, so matches
    start at distinct newlines and the last one is at the last newline where the pattern
    matches. `line_start`: `tail` starts a line (a whole log), which may be that one."""
    if line_start:
        tail = b"\n" + tail
    end = len(tail)
    while (pos := tail.rfind(b"\n", 0, end)) >= 0:
        m = _BSD_AT_LINE.match(tail, pos)
        if m:
            month = timestamps.month_of(m.group(1))
            return (month, int(m.group(2))) if month else None
        end = pos
    return None
