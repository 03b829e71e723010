"""A large source's lines parsed and written to Parquet block by block as the pass reads them,
with the boot ids known only once the pass is over filled in afterwards."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from triage import parsers, sources
from triage.limits import Limits
from triage.model import (
    LINES_SCHEMA,
    Boot,
    SourceFile,
    empty_lines,
)
from triage.parsers.blocks import Bounded
from triage.pipeline import windows
from triage.pipeline.result import SourceResult

if TYPE_CHECKING:
    import numpy as np

#: How spilled lines are written. Dictionaries only where values repeat (ids, hosts, tags,
#: messages); the numeric columns, unique per row, get encodings that suit them instead; no
#: min/max statistics for the text (no query prunes row groups by it). The id columns, one
#: value per source or boot, reach the writer as dictionary arrays, which it writes as they are
#: instead of hashing every value; without the Arrow schema stored, they read back as the plain
#: strings of LINES_SCHEMA (and every other column as its own type). The rows are those of the
#: defaults; encoding takes a third of the time, and the file is half the size.
SPILL_PARQUET: dict[str, Any] = {
    "compression": "zstd",
    "use_dictionary": ["source_id", "host", "tag", "boot_id", "text"],
    "column_encoding": {
        "lineno": "DELTA_BINARY_PACKED",
        "offset": "DELTA_BINARY_PACKED",
        "mono": "BYTE_STREAM_SPLIT",
    },
    "store_schema": False,
    "write_statistics": [name for name in LINES_SCHEMA.names if name != "text"],
}
_IDS = pa.dictionary(pa.int32(), pa.string())


def spill_all_lines(
    result: SourceResult, limits: Limits, wraps: int = 0, once: bool = False
) -> None:
    """Every line of a large source, parsed block by block into a local Parquet file.

    A second pass over the source (the first found boots, crashes and findings through the
    prefilter): each block gets its boot ids from the boots already known, so rows equal those
    of the whole-file path while memory stays one block deep. `once`: a compressed source is
    inflated again (`sources.open_binary`); its damage is a row of pass 1 already.
    """
    src = result.source
    firsts = [b.first_line for b in result.boots]
    ids = [b.boot_id for b in result.boots]
    with sources.open_binary(src, limits, once=once) as fh:
        path, _ = spill_lines(
            src,
            Bounded(fh, limits.max_file_bytes),
            1,
            0,
            firsts,
            ids,
            limits,
            wraps=wraps,
            hosts=boot_hosts(result.boots),
        )
    result.lines_spill = path
    result.lines = empty_lines()  # (`line_count` is the first pass's: the lines read)


def spill_lines(
    src: SourceFile,
    fh: Any,
    first_line: int,
    start: int,
    firsts: list[int],
    ids: list[str],
    limits: Limits,
    workers: int | None = None,
    lead: bytes = b"",
    folder: str | None = None,
    wraps: int | None = None,
    cut: Any = None,
    sep: bytes | None = None,
    hosts: list[str] | None = None,
) -> tuple[str, int]:
    """Parse the lines of `fh` (from file offset `start`, the first numbered `first_line`) into
    a new Parquet file (in `folder`, else the temporary folder), boot ids from the boots' first
    lines; (its path, rows).

    `lead` is a line parsed before them and dropped, and `cut` (an `engine.Cut`) the state they
    start in: the parse of a chunk from the middle of a file starts in the state the lines
    before it left (see `triage.batch.chunks`). `wraps` and `sep`: see `engine.iter_format`.
    `hosts`: each boot's host, when they are of several (`boot_hosts`).
    """
    from triage.parsers.engine import iter_format

    fmt = parsers.FORMATS[src.kind]
    if lead:
        fh = Bounded(fh, -1, lead)

    def tables() -> Iterator[pa.Table]:
        drop = 1 if lead else 0  # the lead line's row, first of all
        for table in iter_format(
            fmt,
            fh,
            limits,
            src.source_id,
            src,
            block_bytes=windows.STREAM_BLOCK,
            workers=workers,
            text_view=True,
            wraps=wraps,
            cut=cut,
            sep=sep,
        ):
            if drop:
                table, drop = table.slice(drop), max(0, drop - table.num_rows)
            if first_line - 1 - bool(lead) or start - len(lead):
                table = _shifted(table, first_line - 1 - bool(lead), start - len(lead))
            yield table

    return spill_tables(
        src, tables(), firsts, ids, threaded=workers != 1, folder=folder, hosts=hosts
    )


def spill_tables(
    src: SourceFile,
    tables: Iterable[pa.Table],
    firsts: list[int],
    ids: list[str],
    threaded: bool = True,
    folder: str | None = None,
    hosts: list[str] | None = None,
) -> tuple[str, int]:
    """Line tables of `src`, in line order, into a new Parquet file (in `folder`, else the
    temporary folder), boot ids from the boots' first lines (of each line's host's boots, when
    `hosts` gives each boot's); (its path, rows). The file is removed when `tables` raises."""
    import tempfile

    from triage.parsers.engine import LINES_VIEW_SCHEMA

    fd, path = tempfile.mkstemp(prefix="triage-lines-", suffix=".parquet", dir=folder)
    os.close(fd)
    boots = _BootIds(firsts, ids, hosts)
    source_id = pa.array([src.source_id], pa.string())
    rows = 0
    try:
        with _ParquetSink(path, SPILL_SCHEMA, threaded=threaded) as sink:
            for table in tables:
                if not table.num_rows:
                    continue
                if table.schema != LINES_VIEW_SCHEMA:
                    table = table.select(LINES_SCHEMA.names).cast(LINES_VIEW_SCHEMA)
                sink.write(_spill_table(table, source_id, boots))
                rows += table.num_rows
    except BaseException:
        os.unlink(path)
        raise
    return path, rows


def wraps_of(src: SourceFile, limits: Limits) -> int:
    """The New Years a large year-less log spans, sampled from its file where `iter_format`
    samples bytes it holds whole: for the chunks of a plain file on disk, which no one pass
    reads. A log read as a stream has them sampled as pass 1 reads it (`process_large_log`);
    a compressed file or a member, which cannot be read out of order, gets none here."""
    fmt = parsers.FORMATS.get(src.kind)
    if fmt is None or "t_bsd" not in fmt.groups or src.members or not src.disk_path:
        return 0
    from triage.parsers.years import sampled_wraps_file

    try:
        size = src.size if src.size >= 0 else os.path.getsize(src.disk_path)
        return sampled_wraps_file(src.disk_path, min(size, limits.max_file_bytes), src=src)
    except OSError:  # the pass that reads it says why, as a row
        return 0


def _shifted(table: pa.Table, lines: int, offset: int) -> pa.Table:
    """Line numbers and offsets of a table parsed from the middle of a file made global."""
    for name, by in (("lineno", lines), ("offset", offset)):
        if by:
            i = table.schema.get_field_index(name)
            table = table.set_column(i, table.schema.field(i), pc.add(table.column(i), by))
    return table


def _spill_schema() -> pa.Schema:
    """LINES_SCHEMA as the spill writer takes it: ids as dictionaries, the text as views into
    the parsed blocks (the writer copies the bytes once; a plain string column would be one
    more copy). Without the Arrow schema stored, the file reads back as LINES_SCHEMA."""
    schema = LINES_SCHEMA
    for name, to in (("source_id", _IDS), ("boot_id", _IDS), ("text", pa.string_view())):
        i = schema.get_field_index(name)
        schema = schema.set(i, schema.field(i).with_type(to))
    return schema


SPILL_SCHEMA = _spill_schema()


def boot_hosts(boots: list[Boot]) -> list[str] | None:
    """The host of each boot (`kernel.host_key`) when the source's boots are of several hosts
    logging at once (a loghost's messages: boots of two hosts overlap), whose lines then take
    their own host's boots; else None. Boots of one machine renamed between them follow one
    another, and each line keeps the boot its place in the file gives it, as read whole."""
    from triage.kernel import host_key

    keys = [host_key(b.hostname) for b in boots]
    spans = sorted((b.first_line, b.last_line, k) for b, k in zip(boots, keys, strict=True))
    # (sorted by first line, a boot overlapping any other's overlaps the one before it)
    overlap = any(a[2] != b[2] and b[0] <= a[1] for a, b in itertools.pairwise(spans))
    return keys if overlap else None


class _BootIds:
    """The boot_id of each line, from the sorted first lines of the source's boots, and of its
    host's boots only when they are of several hosts (`hosts`: each boot's, `boot_hosts`)."""

    def __init__(self, firsts: list[int], ids: list[str], hosts: list[str] | None = None) -> None:
        import numpy as np

        self.firsts = np.asarray(firsts, np.int64)
        self.labels = pa.array(ids, pa.string())
        self.known = list(dict.fromkeys(h for h in hosts or [] if h))
        self.boot_host = np.array([self.known.index(h) if h else -1 for h in hosts or []])
        self.last = -1  # the host of the last line seen with one (a table may start without)

    def column(self, lineno: pa.ChunkedArray, host: pa.ChunkedArray | None = None) -> pa.Array:
        """The boot ids of lines `lineno` (of hosts `host`), as a dictionary array."""
        import numpy as np

        n = len(self.labels)
        if not n:
            return pa.nulls(len(lineno), _IDS)
        numbers = lineno.to_numpy()
        k = np.searchsorted(self.firsts, numbers, side="right") - 1
        np.clip(k, 0, n - 1, out=k)
        if self.known and host is not None and len(numbers):
            self._by_host(k, numbers, host)
        return pa.DictionaryArray.from_arrays(pa.array(k.astype(np.int32)), self.labels)

    def _by_host(self, k: np.ndarray, numbers: np.ndarray, host: pa.ChunkedArray) -> None:
        """Each line of a host that has boots gets its host's last boot begun by then (its
        first, for lines before it); the others keep the boot `k` says."""
        import numpy as np

        from triage.kernel.hosts import NO_HOST, host_groups

        group = host_groups(host, self.known)
        group[group == NO_HOST] = self.last
        self.last = int(group[-1])
        for g in range(len(self.known)):
            rows = np.flatnonzero(group == g)
            mine = np.flatnonzero(self.boot_host == g)
            if len(rows) and len(mine):
                at = np.searchsorted(self.firsts[mine], numbers[rows], side="right") - 1
                k[rows] = mine[np.maximum(at, 0)]


def _spill_table(table: pa.Table, source_id: pa.Array, boots: _BootIds) -> pa.Table:
    """A parsed table as the spill writer takes it: ids as dictionary arrays."""
    import numpy as np

    n = table.num_rows
    sid = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), source_id)
    columns = dict(zip(table.column_names, table.columns, strict=True))
    columns["source_id"] = sid
    columns["boot_id"] = boots.column(table.column("lineno"), table.column("host"))
    return pa.Table.from_arrays([columns[f.name] for f in SPILL_SCHEMA], schema=SPILL_SCHEMA)


#: rows per row group of a spilled file (a block holds tens of thousands of lines)
ROW_GROUP_ROWS = 1 << 18


class _ParquetSink:
    """A Parquet file written from tables as they come, by a thread of its own when `threaded`
    (encoding releases the GIL: the caller parses the next block meanwhile)."""

    def __init__(self, path: str, schema: pa.Schema, threaded: bool = True) -> None:
        import pyarrow.parquet as pq

        self.writer = pq.ParquetWriter(path, schema, **SPILL_PARQUET)
        self.threaded = threaded
        self.pending: list[pa.Table] = []
        self.rows = 0
        self.error: BaseException | None = None
        if threaded:
            import queue
            import threading

            self.q: queue.Queue[pa.Table | None] = queue.Queue(maxsize=2)
            self.thread = threading.Thread(target=self._run, name="triage-spill", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        while (table := self.q.get()) is not None:
            if self.error is None:
                try:
                    self.writer.write_table(table)
                except BaseException as exc:  # handed to the caller
                    self.error = exc

    def write(self, table: pa.Table) -> None:
        """Queue `table`; a row group is written once `ROW_GROUP_ROWS` rows are queued."""
        self.pending.append(table)
        self.rows += table.num_rows
        if self.rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self.error is not None:
            raise self.error
        if not self.pending:
            return
        table = pa.concat_tables(self.pending)
        self.pending, self.rows = [], 0
        if self.threaded:
            self.q.put(table)
        else:
            self.writer.write_table(table)

    def __enter__(self) -> _ParquetSink:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self._flush()
        if self.threaded:
            self.q.put(None)
            self.thread.join()
        self.writer.close()
        if self.error is not None and exc[0] is None:
            raise self.error
