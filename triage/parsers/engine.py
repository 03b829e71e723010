"""The block engine: bytes of one log → `lines` Arrow tables, vectorised, in bounded memory.

Per block (16 MiB, line-aligned, see `blocks.py`) everything is numpy over the raw bytes or one
pyarrow.compute call over all lines: newline positions, CR stripping, the length cap, finding the
rare lines that need the Python slow path (control bytes, lone CR, invalid UTF-8; `cleanup.py`),
one RE2 `extract_regex` of the format's prefix pattern, time parsing (`timestamps.py`) and the
text column as views into the block (`columns.py`). Blocks are processed in worker threads (numpy
and Arrow release the GIL); what depends on earlier blocks — line numbers, the syslog year, whether
header-less lines at a block start continue a kept line — is settled in order by `_Finisher`.
"""

from __future__ import annotations

import functools
import os
import re
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from triage.limits import Limits
from triage.model import (
    FLAG_CONTINUATION,
    FLAG_TRUNCATED,
    LINES_SCHEMA,
    TS,
    UTF8_BOM,
    SourceFile,
)
from triage.parsers import columns, printk, timestamps
from triage.parsers.blocks import DEFAULT_BLOCK_BYTES, Block, iter_blocks, line_separator
from triage.parsers.cleanup import clean_line, trim_partial_utf8
from triage.parsers.lineformat import PRINTK_TIME_ONLY, LineFormat
from triage.parsers.years import sampled_wraps, year_end

LEVEL_NAMES = pa.array(["emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"])
_EMPTY = np.zeros(0, dtype=np.uint8)
_NULL_STR = pa.scalar(None, pa.string())
#: LINES_SCHEMA with `text` as string_view: the rows `iter_format(..., text_view=True)` gives
LINES_VIEW_SCHEMA = LINES_SCHEMA.set(
    LINES_SCHEMA.get_field_index("text"), LINES_SCHEMA.field("text").with_type(pa.string_view())
)


@dataclass
class BlockOutput:
    table: pa.Table  # LINES_SCHEMA; lineno is the 0-based line index inside the block
    n_lines: int  # physical lines in the block
    lead: int  # first output rows whose fate depends on the blocks before
    tail: bool | None  # keep/continuation state after the block's last decisive line
    bsd: timestamps.TimeParts | None = None  # year-less times of the output rows
    #: output rows before their segment's first decisive line (see `process_block`'s `seg_first`)
    lead_rows: np.ndarray | None = None


def _split(buf: np.ndarray, sep: int, long_line: bool) -> tuple[np.ndarray, np.ndarray]:
    n = len(buf)
    if long_line:
        return np.zeros(1, np.int64), np.full(1, n, np.int64)
    pos = np.flatnonzero(buf == sep)
    starts = np.empty(len(pos) + 1, np.int64)
    starts[0] = 0
    starts[1:] = pos + 1
    ends = np.empty(len(pos) + 1, np.int64)
    ends[:-1] = pos
    ends[-1] = n
    if starts[-1] == n:  # the block ends with a terminator: no line after it
        starts, ends = starts[:-1], ends[:-1]
    return starts, ends


def _strip_cr(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> None:
    """Drop CRs before the LF (CRLF and the CR CR LF getty and minicom write)."""
    for _ in range(8):
        m = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13)
        if not m.any():
            return
        ends[m] -= 1


def _after_bom(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, top: int) -> np.ndarray:
    """Each line's start past a UTF-8 byte order mark it opens with (`model.UTF8_BOM`): the
    line is parsed from there, as if the mark were a prefix. `top` is the block's largest
    byte: below the mark's first there is none (the usual block: one comparison)."""
    if top < UTF8_BOM[0]:
        return starts
    room = np.flatnonzero(ends - starts >= len(UTF8_BOM))
    lead = room[buf[starts[room]] == UTF8_BOM[0]]
    at = starts[lead]
    marked = lead[(buf[at + 1] == UTF8_BOM[1]) & (buf[at + 2] == UTF8_BOM[2])]
    if not len(marked):
        return starts
    moved = starts.copy()
    moved[marked] += len(UTF8_BOM)
    return moved


def _cap(
    buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, cap: int, ascii_only: bool
) -> tuple[np.ndarray, np.ndarray]:
    over = ends - starts > cap
    if not over.any():
        return ends, over
    ce = np.where(over, starts + cap, ends)
    if not ascii_only:
        for _ in range(3):  # never cut inside a UTF-8 sequence
            inner = over & (ce > starts) & ((buf[np.minimum(ce, len(buf) - 1)] & 0xC0) == 0x80)
            if not inner.any():
                break
            ce[inner] -= 1
    return ce, over


def _dirty_rows(
    buf: np.ndarray, starts: np.ndarray, ce: np.ndarray, sep: int, top: int, n_sep: int = -1
) -> np.ndarray:
    """Rows holding control bytes, a lone CR or invalid UTF-8 (sorted unique row indices).

    `top` is the block's largest byte: below 127 there is neither DEL nor non-ASCII to look for.
    `n_sep`, when known, is how many separators the block holds: when they are all its control
    bytes there are none to place in rows (the usual block), which a count tells.
    """
    ascii_only = top < 128
    low = buf < 32
    if top < 127 and np.count_nonzero(low) == n_sep:
        return np.zeros(0, np.int64)
    ctrl = np.flatnonzero(low | (buf == 127)) if top >= 127 else np.flatnonzero(low)
    if len(ctrl):
        vals = buf[ctrl]
        ctrl = ctrl[(vals != 9) & (vals != sep)]
    rows = np.searchsorted(starts, ctrl, side="right") - 1
    rows = rows[(rows >= 0) & (ctrl < ce[np.maximum(rows, 0)])]
    dirty = set(np.unique(rows).tolist())
    if not ascii_only:
        high = np.flatnonzero(buf >= 128)
        hrows = np.searchsorted(starts, high, side="right") - 1
        hrows = np.unique(hrows[(hrows >= 0) & (high < ce[np.maximum(hrows, 0)])])
        raw = buf.data
        for r in hrows.tolist():
            if r in dirty:
                continue
            try:
                bytes(raw[starts[r] : ce[r]]).decode("utf-8")
            except UnicodeDecodeError:
                dirty.add(r)
    return np.array(sorted(dirty), dtype=np.int64)


def _as_lines(buf: np.ndarray, offsets: np.ndarray) -> pa.Array:
    """Rows as an Arrow string array over the buffer (no copy; bytes not validated)."""
    n = len(offsets) - 1
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(buf)]
    )


def _regex_fields(
    pattern: str,
    lines: pa.Array | Callable[[], pa.Array],
    first: np.ndarray | None = None,
) -> dict[str, pa.Array]:
    """The named groups of `pattern` per line (null where it does not match).

    `first` is each line's first byte (-1 when empty): when the pattern can only match lines
    starting with one byte and no line does, no line matches and RE2 is not run (nor `lines`,
    which may be a function making them, made). Most small sources never print the `[` of a
    printk time in their messages.
    """
    if first is not None:
        lead = _leading_byte(pattern)
        if lead is not None and not np.any(first == lead):
            return {name: pa.nulls(len(first), pa.string()) for name in _groups_of(pattern)}
    if callable(lines):
        lines = lines()
    struct = pc.extract_regex(lines, pattern)
    names = [struct.type.field(i).name for i in range(struct.type.num_fields)]
    return dict(zip(names, struct.flatten(), strict=True))


@functools.lru_cache(maxsize=256)
def _leading_byte(pattern: str) -> int | None:
    """The byte every match of `pattern` starts with, read conservatively: `^`, then groups
    that are neither optional nor alternations, then one literal character; else None."""
    if not pattern.startswith("^") or has_alternation(pattern, 0, len(pattern)):
        return None
    i = 1
    while pattern.startswith("(", i):
        opener = re.match(r"\(\?(?:P<\w+>|:)?", pattern[i:])
        close = _group_close(pattern, i)
        if opener is None or close is None or pattern[close + 1 : close + 2] in ("?", "*", "{"):
            return None
        if has_alternation(pattern, i + opener.end(), close):
            return None
        i += opener.end()
    if pattern.startswith("\\", i) and i + 1 < len(pattern) and not pattern[i + 1].isalnum():
        char, after = pattern[i + 1], i + 2
    elif i < len(pattern) and (pattern[i].isalnum() or pattern[i] in " -:/<>_"):
        char, after = pattern[i], i + 1
    else:
        return None
    if pattern[after : after + 1] in ("?", "*", "{") or not char.isascii():
        return None
    return ord(char)


def _syntax(pattern: str, start: int, stop: int) -> Iterator[tuple[int, str, int]]:
    """(index, character, group depth after it) for each character of pattern[start:stop]
    that is syntax: escapes and character classes are stepped over."""
    depth, i = 0, start
    while i < stop:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            i = _class_end(pattern, i)
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        yield i, c, depth
        i += 1


def _group_close(pattern: str, start: int) -> int | None:
    """Index of the `)` closing the group opened at `start` (escapes and classes skipped)."""
    return next(
        (i for i, c, depth in _syntax(pattern, start, len(pattern)) if c == ")" and depth == 0),
        None,
    )


def _class_end(pattern: str, start: int) -> int:
    """Index just after the character class opened at `start`."""
    i = start + 1
    if pattern.startswith("^", i):
        i += 1
    if pattern.startswith("]", i):
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i + 1


def has_alternation(pattern: str, start: int, stop: int) -> bool:
    """Is there a `|` at the top level of pattern[start:stop]?"""
    return any(c == "|" and depth == 0 for _, c, depth in _syntax(pattern, start, stop))


def _extract(
    fmt: LineFormat,
    lines: pa.Array,
    buffers: list[np.ndarray],
    starts: np.ndarray,
    buf_index: np.ndarray | None = None,
) -> tuple[dict[str, pa.Array], np.ndarray]:
    """All groups of `fmt.pattern` per line, and which lines still need the `body` stage."""
    n = len(lines)
    if fmt.fast:
        return _fast_fields(fmt, lines, buffers, starts, buf_index), np.zeros(n, dtype=bool)
    if not fmt.header:
        return _regex_fields(fmt.pattern, lines), np.zeros(n, dtype=bool)
    head = _regex_fields(fmt.header, lines)
    ok = pc.is_valid(head["pre"]).to_numpy(zero_copy_only=False)
    fields = {}
    if ok.all():
        missing = {}
    else:
        bad = ~ok
        full = _regex_fields(fmt.pattern, lines.filter(pa.array(bad)))
        where = pa.array(np.cumsum(bad) - 1, mask=ok)
        missing = {k: v.take(where) for k, v in full.items()}
    for name in fmt.groups:
        col = head.get(name)
        if col is None:
            col = pa.nulls(n, pa.string())
        fields[name] = pc.coalesce(col, missing[name]) if name in missing else col
    return fields, ok


def _gather(
    buffers: list[np.ndarray], buf_index: np.ndarray | None, starts: np.ndarray, width: int
) -> np.ndarray:
    """(n, width) bytes from each row's start in its buffer (zero-padded past the buffer)."""
    out = np.zeros((len(starts), width), np.uint8)
    offs = np.arange(width, dtype=np.int64)
    for b, data in enumerate(buffers):
        if not len(data) or (buf_index is None and b > 0):
            continue
        rows = np.arange(len(starts)) if buf_index is None else np.flatnonzero(buf_index == b)
        idx = starts[rows, None] + offs
        np.clip(idx, 0, len(data) - 1, out=idx)
        out[rows] = data[idx]
    return out


def _tag_column(f: dict[str, pa.Array], m: int) -> pa.Array:
    """The program/tag column: a syslog's tag; in a kernel log (dmesg, console), the printk
    caller id a CONFIG_PRINTK_CALLER kernel prints (`[  T812]`), which the crash stage reads to
    tell apart the reports of tasks printing at once."""
    for name in ("tag", "caller"):
        if name in f:
            return columns.empty_to_null(f[name])
    return pa.nulls(m, pa.string())


def _byte_at(
    buffers: list[np.ndarray], buf_index: np.ndarray | None, pos: np.ndarray, end: np.ndarray
) -> np.ndarray:
    """The byte at `pos` of each row's buffer, -1 at or past the row's end."""
    out = np.full(len(pos), -1, np.int64)
    if buf_index is None:  # one buffer (no cleaned rows): no row index to build
        inside = (pos < end) & (pos < len(buffers[0]))
        out[inside] = buffers[0][pos[inside]]
        return out
    for b, data in enumerate(buffers):
        rows = np.arange(len(pos)) if buf_index is None else np.flatnonzero(buf_index == b)
        if buf_index is None and b > 0:
            break
        inside = rows[(pos[rows] < end[rows]) & (pos[rows] < len(data))]
        out[inside] = data[pos[inside]]
    return out


def _fast_fields(
    fmt: LineFormat,
    lines: pa.Array,
    buffers: list[np.ndarray],
    starts: np.ndarray,
    buf_index: np.ndarray | None,
) -> dict[str, pa.Array]:
    """`fmt.pattern`'s groups, with `pre` as int64 lengths and `mono` as float64.

    For the printk-time formats the fixed-width time is read with numpy (`printk.py`) and
    lines that cannot start a prefix are settled by their first byte; only the other lines go
    through the patterns (`_fast_regex_fields`)."""
    if fmt.fast != PRINTK_TIME_ONLY or buf_index is not None:
        return _typed(_fast_regex_fields(fmt, lines, buffers, starts, buf_index))
    n = len(lines)
    lens = columns.lengths(lines)
    head = printk.head_bytes(buffers[0], starts)
    width, mono = printk.fixed_times(head, lens)
    ok = width > 0
    bare = (lens == 0) | ~np.isin(head[:, 0], np.frombuffer(fmt.prefix_starts, np.uint8))
    rest = ~ok & ~bare
    pre_len = width
    if not rest.any():
        fields = {name: pa.nulls(n, pa.string()) for name in fmt.groups}
        fields["pre"] = pa.array(pre_len)
        fields["mono"] = pa.array(mono, pa.float64(), mask=~ok)
        return fields
    rows = np.flatnonzero(rest)
    sub = _typed(_fast_regex_fields(fmt, lines.filter(pa.array(rest)), buffers, starts[rows], None))
    pre_len[rows] = sub["pre"].to_numpy()
    sub_mono = sub["mono"]
    has = ok.copy()
    has[rows] = columns.valid_mask(sub_mono)
    mono[rows] = pc.fill_null(sub_mono, 0.0).to_numpy()
    where = pa.array(np.cumsum(rest) - 1, mask=~rest)
    fields = {name: sub[name].take(where) for name in fmt.groups}
    fields["pre"] = pa.array(pre_len)
    fields["mono"] = pa.array(mono, pa.float64(), mask=~has)
    return fields


def _typed(fields: dict[str, pa.Array]) -> dict[str, pa.Array]:
    """Regex groups with `pre` as its int64 lengths and `mono` as float64 (null: none)."""
    out = dict(fields)
    out["pre"] = pa.array(columns.lengths(fields["pre"]))
    if "mono" in fields:
        out["mono"] = _cast(columns.empty_to_null(fields["mono"]), pa.float64())
    return out


def _pre_lengths(pre: pa.Array) -> np.ndarray:
    """Byte lengths of the `pre` group: given as ints by `_fast_fields`, else as the strings."""
    if pa.types.is_integer(pre.type):
        return pre.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return columns.lengths(pre)


def _fast_regex_fields(
    fmt: LineFormat,
    lines: pa.Array,
    buffers: list[np.ndarray],
    starts: np.ndarray,
    buf_index: np.ndarray | None,
) -> dict[str, pa.Array]:
    """`fmt.pattern`'s groups via the cheap `fmt.fast` pattern where it settles the line
    (RE2 throughout: see `_fast_fields`)."""
    n = len(lines)
    ends = np.full(n, np.iinfo(np.int64).max)
    first = _byte_at(buffers, buf_index, starts, ends)
    fast = _regex_fields(fmt.fast, lines, first)
    got = columns.lengths(fast["pre"])
    after = _byte_at(buffers, buf_index, starts + got, ends)
    opener = np.isin(first, np.frombuffer(fmt.prefix_starts, np.uint8))
    settled = np.where(got > 0, after != 91, ~opener)
    fields: dict[str, pa.Array] = {}
    if settled.all():
        for name in fmt.groups:
            fields[name] = fast[name] if name in fast else pa.nulls(n, pa.string())
        return fields
    todo = ~settled
    full = _regex_fields(fmt.pattern, lines.filter(pa.array(todo)))
    where = pa.array(np.cumsum(todo) - 1, mask=settled)
    keep = pa.array(settled)
    for name in fmt.groups:
        mine = fast.get(name)
        mine = (
            pc.if_else(keep, mine, pa.scalar(None, pa.string()))
            if mine is not None
            else pa.nulls(n, pa.string())
        )
        fields[name] = pc.coalesce(mine, full[name].take(where))
    return fields


def _body_stage(
    fmt: LineFormat,
    f: dict[str, pa.Array],
    pre_len: np.ndarray,
    due: np.ndarray,
    sel: np.ndarray,
    texts: Callable[[np.ndarray], pa.Array],
    first_byte: Callable[[np.ndarray], np.ndarray],
) -> None:
    """Second stage of the fast path over the kept lines: the kernel prefix inside the message.

    `f` holds the kept rows' groups (aligned with `sel`); `pre_len` (all rows) grows in place.
    `first_byte(rows)` is the byte at each row's current message start (-1 past the end)."""
    due_sel = due[sel]
    rows = sel[due_sel]
    if not len(rows):
        return
    names = [n for n in _groups_of(fmt.body) if n != "pre"]
    found: dict[str, pa.Array] = {}
    todo = rows
    if fmt.body_fast:
        fast = _regex_fields(fmt.body_fast, lambda: texts(rows), first_byte(rows))
        got = columns.lengths(fast["pre"])
        pre_len[rows] += got
        after = first_byte(rows)
        # settled: matched and no caller id follows, or cannot start a kernel prefix at all
        first = np.where(got > 0, -2, after)
        settled = ((got > 0) & (after != 91)) | ((got == 0) & (first != 60) & (first != 91))
        pre_len[rows[~settled]] -= got[~settled]
        todo = rows[~settled]
        keep_fast = None if settled.all() else pa.array(settled)
        for name in names:
            col = fast.get(name)
            if col is None:
                found[name] = pa.nulls(len(rows), pa.string())
            else:
                found[name] = col if keep_fast is None else pc.if_else(keep_fast, col, _NULL_STR)
    if len(todo):
        full = _regex_fields(fmt.body, texts(todo))
        pre_len[todo] += columns.lengths(full["pre"])
        if not found:
            found = {n: full[n] for n in names}
        else:
            where = np.zeros(len(rows), np.int64)
            pos = np.searchsorted(rows, todo)
            where[pos] = np.arange(len(todo))
            mask = np.ones(len(rows), dtype=bool)
            mask[pos] = False
            index = pa.array(where, mask=mask)
            for n in names:
                found[n] = pc.coalesce(found[n], full[n].take(index))
    if due_sel.all():
        f.update(found)
        return
    where = np.zeros(len(sel), np.int64)
    where[due_sel] = np.arange(len(rows))
    index = pa.array(where, mask=~due_sel)
    for name, col in found.items():
        f[name] = pc.coalesce(col.take(index), f[name])


def _groups_of(pattern: str) -> list[str]:
    return re.findall(r"\(\?P<(\w+)>", pattern)


def _constant_strings(value: str, n: int) -> pa.Array:
    raw = value.encode("utf-8")
    offsets = (np.arange(n + 1, dtype=np.int64) * len(raw)).astype(np.int32)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(raw * n)]
    )


def _cast(arr: pa.Array, to: pa.DataType) -> pa.Array:
    """`pc.cast`, skipped for a column without values (most optional groups of a small block)."""
    if arr.null_count == len(arr):
        return pa.nulls(len(arr), to)
    return pc.cast(arr, to)


def _matches(strings: pa.Array, pattern: str) -> np.ndarray:
    return pc.fill_null(pc.match_substring_regex(strings, pattern), False).to_numpy(
        zero_copy_only=False
    )


@dataclass
class _Rows:
    """A block's rows once its dirty lines are cleaned (`_clean_rows`): one row per clean
    physical line, one or more per dirty one (a lone CR splits a line), in line order.
    A row's bytes are `buffers[buf_index[r]][s[r]:e[r]]` (buffer 0, the block, when
    `buf_index` is None)."""

    row_of: np.ndarray  # each row's physical line in the block
    s: np.ndarray
    e: np.ndarray
    flags: np.ndarray
    buf_index: np.ndarray | None
    buffers: list[np.ndarray]
    fields: dict[str, pa.Array]  # the format's groups, per row
    body_due: np.ndarray  # rows whose body stage is still to run (`_extract`)

    def texts(self, rows: np.ndarray, pre_len: np.ndarray | None, view: bool = False) -> pa.Array:
        """The rows' text: after the prefix (`pre_len`), or whole (None)."""
        st = self.s[rows] + (pre_len[rows] if pre_len is not None else 0)
        bi = None if self.buf_index is None else self.buf_index[rows]
        return columns.slices_to_strings(self.buffers, st, self.e[rows], bi, view=view)


def _clean_rows(
    fmt: LineFormat,
    buf: np.ndarray,
    starts: np.ndarray,
    ce: np.ndarray,
    truncated: np.ndarray,
    dirty: np.ndarray,
) -> _Rows:
    """The block's rows, with the few dirty lines (control bytes, lone CR, invalid UTF-8)
    cleaned in Python (`cleanup.clean_line`) into a second buffer and parsed again there."""
    offsets = np.empty(len(starts) + 1, np.int64)
    offsets[:-1] = starts
    offsets[-1] = len(buf)
    fields, body_due = _extract(fmt, _as_lines(buf, offsets), [buf], starts)
    flags = np.where(truncated, FLAG_TRUNCATED, 0).astype(np.int32)
    n_lines = len(starts)
    if not len(dirty):
        row_of = np.arange(n_lines, dtype=np.int64)
        return _Rows(row_of, starts, ce, flags, None, [buf, _EMPTY], fields, body_due)
    pieces: list[bytes] = []
    prow: list[int] = []
    pflags: list[int] = []
    raw = buf.data
    for r in dirty.tolist():
        line = bytes(raw[starts[r] : ce[r]])
        if truncated[r]:
            line = trim_partial_utf8(line)
        for text, f in clean_line(line):
            pieces.append(text)
            prow.append(r)
            pflags.append(f | int(flags[r]))
    dlens = np.fromiter((len(p) for p in pieces), dtype=np.int64, count=len(pieces))
    doff = np.zeros(len(pieces) + 1, np.int64)
    np.cumsum(dlens, out=doff[1:])
    dbuf = np.frombuffer(b"".join(pieces), dtype=np.uint8)
    dfields, dbody = _extract(fmt, _as_lines(dbuf, doff), [dbuf], doff[:-1])
    clean = np.ones(n_lines, dtype=bool)
    clean[dirty] = False
    keep_idx = np.flatnonzero(clean)
    row_of = np.concatenate([keep_idx, np.array(prow, np.int64)])
    order = np.argsort(row_of, kind="stable")
    take = pa.array(order)
    mask = pa.array(clean)
    return _Rows(
        row_of=row_of[order],
        s=np.concatenate([starts[keep_idx], doff[:-1]])[order],
        e=np.concatenate([ce[keep_idx], doff[1:]])[order],
        flags=np.concatenate([flags[keep_idx], np.array(pflags, np.int32)])[order],
        buf_index=np.concatenate([np.zeros(len(keep_idx), np.int8), np.ones(len(pieces), np.int8)])[
            order
        ],
        buffers=[buf, dbuf],
        fields={
            k: pa.concat_arrays([v.filter(mask), dfields[k]]).take(take) for k, v in fields.items()
        },
        body_due=np.concatenate([body_due[keep_idx], dbody])[order],
    )


@dataclass
class _Fate:
    """Which rows a block keeps and how they hang together (`_fate`)."""

    keep: np.ndarray  # per row
    cont: np.ndarray  # per row: continues the row before (no prefix of its own)
    lead_mask: np.ndarray  # per row: before its segment's first decisive row
    is_sep: np.ndarray  # per row: a separator line (journal `-- Boot`)
    tail: bool | None  # the state the block leaves to the next one


def _fate(
    fmt: LineFormat,
    rows: _Rows,
    header: np.ndarray,
    pre_len: np.ndarray,
    seg_first: np.ndarray | None,
) -> _Fate:
    """Keep/continuation state: a format with a `KeepRule` keeps the rows its tags (or
    untagged texts) decide, with the header-less rows after them; a continuation format keeps
    every row and marks the header-less ones. Rows before the first decisive row of their
    segment are left to the blocks (or state) before (`lead_mask`)."""
    n = len(rows.row_of)
    is_sep = np.zeros(n, dtype=bool)
    keep = np.ones(n, dtype=bool)
    cont = np.zeros(n, dtype=bool)
    lead_mask = np.zeros(n, dtype=bool)
    tail: bool | None = None
    if fmt.keep is not None:
        rule = fmt.keep
        if rule.separator:
            cand = np.flatnonzero(~header)
            if len(cand):
                is_sep[cand] = _matches(rows.texts(cand, None), rule.separator)
        tag = rows.fields["tag"]
        keep_dec = pc.fill_null(pc.is_in(tag, value_set=pa.array(sorted(rule.tags))), False)
        keep_dec = keep_dec.to_numpy(zero_copy_only=False) & header
        if rule.untagged:
            cand = np.flatnonzero(header & (columns.lengths(tag) == 0))
            if len(cand):
                keep_dec[cand] = _matches(rows.texts(cand, pre_len), rule.untagged)
        keep_dec |= is_sep
        decisive = header | is_sep
        last = np.maximum.accumulate(np.where(decisive, np.arange(n), -1)) if n else rows.row_of
        lead_mask = last < _segment_start(rows.row_of, seg_first)
        keep = np.where(lead_mask, True, keep_dec[np.maximum(last, 0)])
        cont = ~decisive
        if n and last[-1] >= 0:
            tail = bool(keep_dec[last[-1]])
    elif fmt.continuation:
        last = np.maximum.accumulate(np.where(header, np.arange(n), -1)) if n else rows.row_of
        lead_mask = last < _segment_start(rows.row_of, seg_first)
        cont = ~header & ~lead_mask
        if header.any():
            tail = True
    return _Fate(keep, cont, lead_mask, is_sep, tail)


def _levels(f: dict[str, pa.Array], m: int) -> pa.Array:
    """The kernel's `<N>` or kmsg's priority, else syslog's `<PRI>`, else a named level."""
    level = pa.nulls(m, pa.int8())
    for group in ("pri", "kpri", "hpri"):
        if group in f:
            pri = _cast(columns.empty_to_null(f[group]), pa.int64())
            if pri.null_count < m:
                level = pc.coalesce(level, pc.cast(pc.bit_wise_and(pri, 7), pa.int8()))
    if "lvl" in f:
        named = pc.cast(pc.index_in(f["lvl"], value_set=LEVEL_NAMES), pa.int8())
        level = pc.coalesce(level, named)
    return level


def _times(
    fmt: LineFormat,
    f: dict[str, pa.Array],
    m: int,
    rows: _Rows,
    sel: np.ndarray,
) -> tuple[pa.Array, timestamps.TimeParts | None]:
    """The rows' absolute times, and the parts of their year-less (BSD syslog) times, whose
    year the blocks are settled with in order."""
    stamps = [  # a layout no row has (most blocks of a console) parses to nulls: skipped
        timestamps.to_timestamps(timestamps.parse_parts(f[g], g[2:], f.get("f_" + g[2:])))
        for g in ("t_iso", "t_ctime", "t_ymd")
        if g in f and f[g].null_count < m
    ]
    if "t_unix" in f and f["t_unix"].null_count < m:
        stamps.append(timestamps.epoch_timestamps(f["t_unix"], f.get("f_unix")))
    bsd = None
    if "t_bsd" in f:
        from_line = rows.body_due[sel] if fmt.header_time_group == "t_bsd" else None
        if from_line is None or not from_line.all():
            bsd = timestamps.parse_parts(f["t_bsd"], "bsd", f.get("f_bsd"))
        if from_line is not None:
            # header-stage rows: the time is the line's first bytes, read straight from the block
            bi = None if rows.buf_index is None else rows.buf_index[sel]
            mat = _gather(rows.buffers, bi, rows.s[sel], timestamps.width("bsd"))
            line_parts = timestamps.parse_matrix(mat, from_line, "bsd")
            # every row from the line (the usual case): nothing of the group's parse is used
            bsd = (
                line_parts
                if from_line.all()
                else timestamps.merge_parts(bsd, line_parts, from_line)
            )
    return (timestamps.merge_timestamps(stamps, m) if stamps else pa.nulls(m, TS)), bsd


def _monotonic(f: dict[str, pa.Array], m: int) -> pa.Array:
    """Seconds since boot: printk's `[ 12.345678]`, or /dev/kmsg's whole microseconds."""
    mono = pa.nulls(m, pa.float64())
    if "mono" in f:
        mono = f["mono"]
        if not pa.types.is_floating(mono.type):
            mono = _cast(columns.empty_to_null(mono), pa.float64())
    if "mono_us" in f and f["mono_us"].null_count < m:
        micros = _cast(columns.empty_to_null(f["mono_us"]), pa.int64())
        mono = pc.coalesce(mono, pc.divide(pc.cast(micros, pa.float64()), 1e6))
    return mono


def process_block(
    fmt: LineFormat,
    block: Block,
    sep: bytes,
    cap: int,
    source_id: str,
    split: tuple[np.ndarray, np.ndarray] | None = None,
    seg_first: np.ndarray | None = None,
    text_view: bool = False,
) -> BlockOutput:
    """The rows of one block. `split` gives the lines' (starts, ends) when the caller cut them
    itself, and `seg_first` each physical line's first line of its segment: the block then
    holds several files (`packed.py`), and a line's keep/continuation state never comes from a
    line of another segment. With `text_view` the table is of `LINES_VIEW_SCHEMA`."""
    buf = np.frombuffer(block.data, dtype=np.uint8)
    sepb = sep[0]
    starts, ends = _split(buf, sepb, block.long_line) if split is None else split
    n_lines = len(starts)
    if sepb == 10:
        _strip_cr(buf, starts, ends)
    top = int(buf.max()) if len(buf) else 0
    line_starts = starts  # where each line starts on disk: its offset
    starts = _after_bom(buf, starts, ends, top)
    ce, truncated = _cap(buf, starts, ends, cap, top < 128)
    if block.long_line:
        truncated = np.ones(n_lines, dtype=bool)
    n_sep = -1  # separators in the block, when it was split here
    if split is None and not block.long_line and n_lines:
        n_sep = n_lines - int(buf[-1] != sepb)
    dirty = _dirty_rows(buf, starts, ce, sepb, top, n_sep) if n_lines else np.zeros(0, np.int64)
    rows = _clean_rows(fmt, buf, starts, ce, truncated, dirty)
    pre_len = _pre_lengths(rows.fields["pre"])
    fate = _fate(fmt, rows, pre_len > 0, pre_len, seg_first)

    sel = np.flatnonzero(fate.keep)
    lead = int(np.count_nonzero(fate.lead_mask[sel]))
    flags = rows.flags[sel] | np.where(fate.cont[sel], FLAG_CONTINUATION, 0).astype(np.int32)
    m = len(sel)
    if m == len(rows.row_of):  # every row kept (sel is 0..n-1): nothing to gather
        f = dict(rows.fields)
    else:
        take = pa.array(sel)
        f = {k: v.take(take) for k, v in rows.fields.items()}
    if fmt.header:

        def first_byte(at: np.ndarray) -> np.ndarray:
            bi = None if rows.buf_index is None else rows.buf_index[at]
            return _byte_at(rows.buffers, bi, rows.s[at] + pre_len[at], rows.e[at])

        def texts(at: np.ndarray, from_message: bool = True, view: bool = False) -> pa.Array:
            return rows.texts(at, pre_len if from_message else None, view)

        _body_stage(fmt, f, pre_len, rows.body_due, sel, texts, first_byte)
    tag_col = _tag_column(f, m)
    if fmt.separator_tag and fate.is_sep.any():
        tag_col = pc.if_else(pa.array(fate.is_sep[sel]), fmt.separator_tag, tag_col)
    stamps, bsd = _times(fmt, f, m, rows, sel)
    table = pa.Table.from_arrays(
        [
            _constant_strings(source_id, m),
            pa.array(rows.row_of[sel], pa.int64()),
            pa.array(block.offset + line_starts[rows.row_of[sel]], pa.int64()),
            stamps,
            _monotonic(f, m),
            columns.empty_to_null(f["host"]) if "host" in f else pa.nulls(m, pa.string()),
            tag_col,
            _cast(columns.empty_to_null(f["pid"]), pa.int64())
            if "pid" in f
            else pa.nulls(m, pa.int64()),
            _levels(f, m),
            pa.nulls(m, pa.string()),
            pa.array(flags, pa.int32()),
            rows.texts(sel, pre_len, view=text_view),
        ],
        schema=LINES_VIEW_SCHEMA if text_view else LINES_SCHEMA,
    )
    return BlockOutput(
        table=table,
        n_lines=n_lines,
        lead=lead,
        tail=fate.tail,
        bsd=bsd,
        lead_rows=fate.lead_mask[sel],
    )


def _segment_start(row_of: np.ndarray, seg_first: np.ndarray | None) -> np.ndarray | int:
    """Each row's first row of its segment (rows follow their physical lines in order)."""
    if seg_first is None:
        return 0
    return np.searchsorted(row_of, seg_first[row_of], side="left")


@dataclass(frozen=True)
class Carry:
    """What the lines before a point of a file leave to the parse of the lines after it: the
    year of the last year-less time and its month (0: none yet), and whether the last line
    that decides it was kept (formats with a `KeepRule`) or prefixed (continuation formats)."""

    year: int
    prev_month: int = 0
    state: bool | None = None


@dataclass
class Cut:
    """A parse of a file or of part of one (`iter_format(..., cut=)`): the state it starts
    from and, once its rows are all out, the lines it read and what settles whether that start
    was the right one. A parse whose start was wrong gave rows that depend on it only where
    these say; `batch/chunks.py` parses chunks of a file at once, each from a guessed start,
    and again the few it must."""

    start: Carry | None  # None: the start of the file
    end: Carry | None = None
    lines: int = 0  # physical lines parsed
    first_month: int = 0  # of its first year-less time (0: none)
    year_before: bool = False  # rows before that time took the start's year
    state_used: bool = False  # rows were kept or dropped by the start's state
    decided: bool = False  # a line of its own set the state it ends with


class _Finisher:
    """Settles, block after block in file order, what a block cannot know on its own."""

    def __init__(self, fmt: LineFormat, year_end: int, wraps: int, start: Carry | None = None):
        self.fmt = fmt
        self.line_base = 0
        self.state: bool | None = None
        self.decided = False
        self.state_used = False
        if start is None:
            self.years = timestamps.SyslogYears(year_end, wraps)
        else:
            self.years = timestamps.SyslogYears(start.year, 0, start.prev_month)
            self.state = start.state

    def settle(self, cut: Cut) -> None:
        """Say in `cut` how this parse ended."""
        y = self.years
        cut.end = Carry(y.year, y.prev_month, self.state)
        cut.first_month, cut.year_before = y.first_month, y.year_before
        cut.state_used, cut.decided = self.state_used, self.decided
        cut.lines = self.line_base

    def finish(self, out: BlockOutput) -> pa.Table:
        table = out.table
        lineno = pc.add(table.column("lineno"), self.line_base + 1)
        table = table.set_column(1, LINES_SCHEMA.field("lineno"), lineno)
        self.line_base += out.n_lines
        if out.bsd is not None:
            parts = out.bsd
            years = self.years.assign(parts.month, parts.valid)
            ts = timestamps.to_timestamps(parts, years)
            col = table.schema.get_field_index("timestamp")
            have = table.column(col).combine_chunks()
            # no other layout gave a time (the usual case): the year-less one is the column
            merged = ts if have.null_count == len(have) else pc.coalesce(have, ts)
            table = table.set_column(col, LINES_SCHEMA.field("timestamp"), merged)
        if out.lead:
            self.state_used |= not self.decided
            if self.fmt.keep is not None and self.state is not True:
                table = table.slice(out.lead)
            elif self.fmt.keep is None and self.fmt.continuation and self.state is True:
                col = table.schema.get_field_index("flags")
                flags = table.column(col).to_numpy().copy()
                flags[: out.lead] |= FLAG_CONTINUATION
                table = table.set_column(col, LINES_SCHEMA.field("flags"), pa.array(flags))
        if out.tail is not None:
            self.state = out.tail
            self.decided = True
        return table


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def iter_format(
    fmt: LineFormat,
    source: bytes | memoryview | BinaryIO,
    limits: Limits,
    source_id: str = "",
    src: SourceFile | None = None,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
    workers: int | None = None,
    text_view: bool = False,
    wraps: int | None = None,
    cut: Cut | None = None,
    sep: bytes | None = None,
) -> Iterator[pa.Table]:
    """Tables of LINES_SCHEMA, one per block, in file order (of LINES_VIEW_SCHEMA with
    `text_view`: the text as views into the blocks, for a writer that copies it anyway).

    Year-less times start `wraps` years before `year_end(src)`: by default the New Years sampled
    from `source` when it is bytes, none for a stream (whose caller gives those it sampled:
    `sampled_wraps_file`, `MonthSamples`). With a `cut`, the parse starts from `cut.start`
    instead, and says in it how it ended once the last table is out. `sep`: the line
    separator of the file `source` is part of (a chunk from its middle), when the caller knows
    it; else told from `source`'s head (a CR-only capture's is b"\r")."""
    if isinstance(source, bytes | bytearray | memoryview):
        head = bytes(memoryview(source)[: 1 << 16])
        if wraps is None:
            wraps = sampled_wraps(source, src=src) if "t_bsd" in fmt.groups else 0
    elif sep is None:
        head = peek_head(source)
    sep = sep or line_separator(head)
    finisher = _Finisher(fmt, year_end(src), wraps or 0, cut.start if cut else None)
    yield from _finished(
        fmt, source, limits, source_id, block_bytes, workers, text_view, sep, finisher
    )
    if cut is not None:
        finisher.settle(cut)


def _finished(
    fmt: LineFormat,
    source: bytes | memoryview | BinaryIO,
    limits: Limits,
    source_id: str,
    block_bytes: int,
    workers: int | None,
    text_view: bool,
    sep: int,
    finisher: _Finisher,
) -> Iterator[pa.Table]:

    def parse(block: Block) -> BlockOutput:
        cap = limits.max_line_bytes
        return process_block(fmt, block, sep, cap, source_id, text_view=text_view)

    blocks = iter_blocks(source, block_bytes, limits.max_line_bytes, sep)
    for _, out in in_order(parse, blocks, workers):
        yield finisher.finish(out)


T = TypeVar("T")
R = TypeVar("R")


def in_order(
    fn: Callable[[T], R], items: Iterator[T], workers: int | None = None
) -> Iterator[tuple[T, R]]:
    """Each item and `fn` of it, worked out in a few threads (Arrow's and numpy's kernels let
    go of the GIL, so blocks parse at once on several cores) and yielded in order, a few in
    flight. One item (most sources: one block) has nothing to overlap, and starting a thread
    pool would cost more than the work: it is done here."""
    workers = workers or default_workers()
    first = next(items, None)
    if first is None:
        return
    second = next(items, None) if workers > 1 else None
    if second is None:
        yield first, fn(first)
        for item in items:
            yield item, fn(item)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="triage-parse") as pool:
        pending: deque[tuple[T, Future[R]]] = deque(
            (item, pool.submit(fn, item)) for item in (first, second)
        )
        for item in items:
            pending.append((item, pool.submit(fn, item)))
            if len(pending) > workers:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()


def peek_head(fh: BinaryIO) -> bytes:
    """The first 64 KiB `fh` will read, left unread (b"" when it cannot tell)."""
    peek = getattr(fh, "peek", None)
    if peek is not None:
        try:
            return bytes(peek(1 << 16)[: 1 << 16])
        except (OSError, ValueError):
            return b""
    if fh.seekable():
        pos = fh.tell()
        head = fh.read(1 << 16)
        fh.seek(pos)
        return head
    return b""
