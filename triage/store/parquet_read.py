"""Reading the dataset's Parquet files into Arrow, without leaving work for Arrow's threads
that the end of the process could interrupt.

Arrow decodes a file's column chunks on its own thread pool. A chunk read through a Python file
object (fsspec's, or the `open()` of `LocalFS`) is held in a buffer that owns a Python `bytes`,
and the worker that drops the last reference to it takes the GIL to free it — sometimes after
`read()` has returned. A process that ends right then (a script, a notebook kernel, a test's
subprocess) has its worker stopped inside Arrow's C++ by the interpreter's shutdown, which
aborts the process: "terminate called without an active exception", SIGABRT, in 2–5% of the
runs of a one-file `scan` under load (pyarrow 26; the console script ends with `os._exit` and
never saw it). So a local file is opened by Arrow itself, whose buffers own no Python object,
and a remote one is read and decoded on the calling thread (no read-ahead on Arrow's I/O
threads either), where its buffers are freed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from triage.store.localfs import is_local

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq


def read_parquet(fs: Any, path: str, columns: list[str] | None = None) -> pa.Table:
    """The table in the Parquet file at `path` on `fs` (only `columns`, when given)."""
    with _opened(fs, path) as (pf, threads):
        return pf.read(columns=columns, use_threads=threads)


def parquet_rows(fs: Any, path: str) -> int:
    """The number of rows of the Parquet file at `path` on `fs` (its footer alone is read)."""
    with _opened(fs, path) as (pf, _):
        return pf.metadata.num_rows


def iter_parquet_batches(fs: Any, path: str, batch_size: int) -> Iterator[pa.RecordBatch]:
    """The rows of the Parquet file at `path` on `fs`, `batch_size` at a time."""
    with _opened(fs, path) as (pf, threads):
        yield from pf.iter_batches(batch_size=batch_size, use_threads=threads)


@contextmanager
def _opened(fs: Any, path: str) -> Iterator[tuple[pq.ParquetFile, bool]]:
    """(the open file, whether Arrow's threads may decode it)."""
    import pyarrow.parquet as pq

    if is_local(fs):
        with pq.ParquetFile(path) as pf:
            yield pf, True
    else:
        with fs.open(path, "rb") as fh, pq.ParquetFile(fh, pre_buffer=False) as pf:
            yield pf, False
