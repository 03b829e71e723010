"""Many small sources of one line format parsed as one block, then split back per source.

A folder of thousands of small logs spends most of its parse time in the fixed cost of each
engine call: some two hundred numpy and Arrow calls of a few microseconds each, whatever the
source's size. Concatenated, the sources share those calls. What depends on the file is done per
segment here, so that each source's rows are exactly those `engine.iter_format` gives it alone:

- lines are cut at every file boundary as well as at separators, so a line never runs into the
  next file, and a file's last line needs no terminator;
- line numbers and byte offsets restart per file; a file's header-less lines before its first
  decisive line are its `lead` (dropped for multi-program formats, never a continuation);
- year-less times take each file's own year (`year_end`, `wraps`), with its own New Years.

Only what fits one block alone is packed: the caller keeps larger sources on the per-source path.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from triage.model import FLAG_TRUNCATED, LINES_SCHEMA
from triage.parsers import blocks, timestamps
from triage.parsers.blocks import Block
from triage.parsers.engine import process_block
from triage.parsers.lineformat import LineFormat

#: bytes of concatenated sources parsed in one engine call (the engine holds a few hundred bytes
#: of index arrays per line, so a pack stays far below the per-block bound of memory)
PACK_BYTES = 4 << 20


@dataclass
class Packed:
    """One source of a pack: its bytes and what its rows carry that the bytes do not say."""

    data: bytes
    source_id: str
    year_end: int  # year of the last line, for year-less times
    wraps: int = 0  # New Years the file spans (`years.sampled_wraps`)


def parse_packed(
    fmt: LineFormat, sep: bytes, items: list[Packed], cap: int
) -> list[tuple[pa.Table, int, int]]:
    """LINES_SCHEMA rows of each item, in item order, in as few engine calls as fit, each
    with the number of its lines cut at `cap` (FLAG_TRUNCATED) and of the lines it has (a
    multi-program log keeps only some as rows)."""
    out: list[tuple[pa.Table, int, int]] = []
    for group in _groups(items, sep):
        out.extend(_parse_group(fmt, sep, group, cap))
    return out


def _groups(items: list[Packed], sep: bytes) -> list[list[Packed]]:
    """Consecutive items cut into packs of at most PACK_BYTES and MAX_LINES_PER_BLOCK lines."""
    groups: list[list[Packed]] = []
    size = lines = 0
    for it in items:
        n = len(it.data)
        k = int(np.count_nonzero(np.frombuffer(it.data, np.uint8) == sep[0])) + 1  # ≥ its lines
        if not groups or size + n > PACK_BYTES or lines + k > blocks.MAX_LINES_PER_BLOCK:
            groups.append([])
            size = lines = 0
        groups[-1].append(it)
        size += n
        lines += k
    return groups


def _parse_group(
    fmt: LineFormat, sep: bytes, items: list[Packed], cap: int
) -> list[tuple[pa.Table, int, int]]:
    data = b"".join(it.data for it in items)
    bounds = np.zeros(len(items) + 1, np.int64)
    np.cumsum([len(it.data) for it in items], out=bounds[1:])
    starts, ends = _split_files(np.frombuffer(data, np.uint8), sep[0], bounds)
    file_of = np.searchsorted(bounds, starts, side="right") - 1  # per physical line
    first_line = np.searchsorted(starts, bounds[:-1], side="left")  # per file
    out = process_block(
        fmt, Block(0, 0, data, at_eof=True), sep, cap, "", (starts, ends), first_line[file_of]
    )
    table = out.table
    phys = table.column("lineno").to_numpy()
    seg = file_of[phys]
    if out.bsd is not None:
        table = _with_years(table, out.bsd, seg, items)
    if fmt.keep is not None and out.lead_rows is not None and out.lead_rows.any():
        # a file's header-less head follows no kept line of its own: dropped, as when alone
        keep = ~out.lead_rows
        table = table.filter(pa.array(keep))
        phys, seg = phys[keep], seg[keep]
    lineno = phys - first_line[seg] + 1
    offset = table.column("offset").to_numpy() - bounds[seg]
    ids = pa.array([it.source_id for it in items], pa.string()).take(pa.array(seg))
    table = table.set_column(0, LINES_SCHEMA.field("source_id"), ids)
    table = table.set_column(1, LINES_SCHEMA.field("lineno"), pa.array(lineno, pa.int64()))
    table = table.set_column(2, LINES_SCHEMA.field("offset"), pa.array(offset, pa.int64()))
    table = table.combine_chunks()
    rows = np.searchsorted(seg, np.arange(len(items) + 1), side="left")
    cut = (table.column("flags").to_numpy() & FLAG_TRUNCATED) != 0
    # a line cut at `cap` counts once, however many records (lone CRs) it holds
    cut_lines = np.unique(phys[cut])
    counts = np.bincount(seg[np.searchsorted(phys, cut_lines)], minlength=len(items)).tolist()
    read = np.bincount(file_of, minlength=len(items)).tolist()
    return [
        (table.slice(a, b - a), n, r)
        for (a, b), n, r in zip(itertools.pairwise(rows.tolist()), counts, read, strict=True)
    ]


def _split_files(buf: np.ndarray, sepb: int, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Line starts and ends of concatenated files: lines end at a separator or a file's end."""
    n = len(buf)
    pos = np.flatnonzero(buf == sepb)
    sizes = np.diff(bounds)
    starts = np.concatenate([pos + 1, bounds[:-1][sizes > 0]])
    starts.sort(kind="stable")  # two sorted runs: a merge, cheaper than np.unique's hashing
    keep = np.ones(len(starts), dtype=bool)
    keep[1:] = starts[1:] != starts[:-1]
    starts = starts[keep & (starts < n)]
    file_end = bounds[np.searchsorted(bounds, starts, side="right")]
    nxt = np.searchsorted(pos, starts, side="left")
    sep_at = np.append(pos, n)[nxt]
    return starts, np.minimum(sep_at, file_end)


def _with_years(
    table: pa.Table, bsd: timestamps.TimeParts, seg: np.ndarray, items: list[Packed]
) -> pa.Table:
    """The year-less times completed with each file's own years (`timestamps.SyslogYears`)."""
    first_year = np.array([it.year_end - it.wraps for it in items], np.int64)
    years = timestamps.segment_years(bsd.month, bsd.valid, seg, first_year)
    ts = timestamps.to_timestamps(bsd, years)
    col = table.schema.get_field_index("timestamp")
    have = table.column(col).combine_chunks()
    merged = ts if have.null_count == len(have) else pc.coalesce(have, ts)
    return table.set_column(col, LINES_SCHEMA.field("timestamp"), merged)
