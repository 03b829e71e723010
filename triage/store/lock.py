"""One writer at a time per dataset.

Two runs writing the same dataset at once would each sweep the other's uncommitted parts as
debris of a killed run, and the second manifest write would drop the first run's parts. A
batch of cron jobs over one dataset makes that likely, so a run holds an exclusive lock on
`<dataset>/.lock` from before it first writes until its commit; a second run stops at once with
one line. Readers take no lock (the manifest is replaced atomically), and neither does a rerun
that finds nothing to do, so a dataset one may only read can still be rerun.

The lock is an advisory `flock`, released by the kernel when its process ends however it ends.
A dataset at an fsspec URL has no such lock: one writer at a time is then the user's to ensure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

LOCK_FILE = ".lock"


class DatasetBusy(RuntimeError):
    """Another run holds the dataset's write lock."""


@contextmanager
def writing(out: str) -> Iterator[None]:
    """Hold the write lock of the dataset at `out` (a local path) for the block."""
    if "://" in out:
        yield
        return
    import fcntl

    os.makedirs(out, exist_ok=True)
    fd = os.open(os.path.join(out, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatasetBusy(
                f"{out}: another triage run is writing this dataset; run again when it ends"
            ) from None
        yield
    finally:
        os.close(fd)
