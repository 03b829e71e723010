"""Reading the dataset's Parquet files leaves nothing Python-owned to Arrow's threads: a
buffer read through a Python file object and freed by an Arrow worker makes that worker take
the GIL, and a process ending at that moment aborts (SIGABRT) in Arrow's teardown."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from triage.store.localfs import LocalFS
from triage.store.parquet_read import iter_parquet_batches, parquet_rows, read_parquet


class _Tracked(bytes):
    """Bytes that note the thread that frees them."""

    freed_on: list[str]

    def __del__(self) -> None:
        self.freed_on.append(threading.current_thread().name)


class _TrackedFile:
    """A file whose reads hand out `_Tracked` bytes, as fsspec's files hand out bytes."""

    def __init__(self, path: str, freed_on: list[str]) -> None:
        self._fh = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._freed_on = freed_on
        self.closed = False

    def read(self, n: int = -1) -> bytes:
        data = _Tracked(self._fh.read(n))
        data.freed_on = self._freed_on
        return data

    def seek(self, pos: int, whence: int = 0) -> int:
        return self._fh.seek(pos, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def close(self) -> None:
        self._fh.close()
        self.closed = True

    def __enter__(self) -> _TrackedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _RemoteFS:
    """A filesystem that is not the local disk: its files are Python file objects."""

    protocol = ("memory",)

    def __init__(self) -> None:
        self.freed_on: list[str] = []

    def open(self, path: str, mode: str = "rb") -> _TrackedFile:
        return _TrackedFile(path, self.freed_on)


class _NoOpenFS(LocalFS):
    def open(self, path: str, mode: str = "rb") -> Any:
        raise AssertionError("a local Parquet file was read through a Python file object")


@pytest.fixture
def wide(tmp_path: Path) -> tuple[str, pa.Table]:
    """A file with many column chunks, so that Arrow would decode it on several threads."""
    n = 20_000
    table = pa.table({f"c{k}": [f"line {i} of column {k}" for i in range(n)] for k in range(8)})
    path = str(tmp_path / "wide.parquet")
    pq.write_table(table, path, row_group_size=2_000, compression="zstd")
    return path, table


def test_a_remote_file_is_freed_on_the_thread_that_reads_it(wide: tuple[str, pa.Table]) -> None:
    path, table = wide
    fs = _RemoteFS()
    for _ in range(5):
        assert read_parquet(fs, path).equals(table)
        got = pa.Table.from_batches(list(iter_parquet_batches(fs, path, 3_000)))
        assert got.equals(table)
        assert read_parquet(fs, path, ["c3"]).column_names == ["c3"]
        assert parquet_rows(fs, path) == table.num_rows
    assert fs.freed_on  # the reads did go through the Python file
    assert set(fs.freed_on) == {threading.current_thread().name}


def test_a_local_file_is_read_by_arrow_itself(wide: tuple[str, pa.Table]) -> None:
    path, table = wide
    assert read_parquet(_NoOpenFS(), path).equals(table)
    assert read_parquet(_NoOpenFS(), path, ["c0", "c7"]).column_names == ["c0", "c7"]
    assert sum(b.num_rows for b in iter_parquet_batches(_NoOpenFS(), path, 3_000)) == 20_000
    assert parquet_rows(_NoOpenFS(), path) == 20_000
