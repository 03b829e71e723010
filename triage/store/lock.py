"""One writer at a time per dataset.

Two runs writing the same dataset at once would each sweep the other's uncommitted parts as
debris of a killed run, and the second manifest write would drop the first run's parts. A
batch of cron jobs over one dataset makes that likely, so a run holds an exclusive lock on
`<dataset>/.lock` from before it first writes until its commit; a second run stops at once with
one line. Readers take no lock (the manifest is replaced atomically), and neither does a rerun
that finds nothing to do, so a dataset one may only read can still be rerun.

On a local path the lock is an advisory `flock`, released by the kernel when its process ends
however it ends. An object store has no such thing, so a dataset at an fsspec URL gets a lease:
`.lock` holds a token and an expiry, which the holder renews while it runs and removes when it
ends. A run claims a lease that is absent or expired by writing its own, then reads it back a
moment later: of two runs that claimed at once, the later write wins and the other stops. The
holder reads its lease again before it publishes the manifest, so a run that lost it (held up
past the expiry, say) stops instead of overwriting its successor's commit. This relies on the
store reading back what was just written, as S3, GCS and Azure do; it is no stronger than that.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

LOCK_FILE = ".lock"
#: how long a lease holds without renewal, how often its holder renews it, and how long a
#: claimant waits before reading its claim back
LEASE_SECONDS = 120.0
RENEW_SECONDS = 30.0
SETTLE_SECONDS = 1.0


class DatasetBusy(RuntimeError):
    """Another run holds the dataset's write lock."""


def _busy(out: str) -> DatasetBusy:
    return DatasetBusy(f"{out}: another triage run is writing this dataset; run again when it ends")


@contextmanager
def writing(out: str) -> Iterator[Lease | None]:
    """Hold the write lock of the dataset at `out` for the block: the lease of a dataset at a
    URL (to `confirm` before publishing), or None for a local path's flock."""
    if "://" in out:
        lease = Lease(out)
        try:
            yield lease
        finally:
            lease.release()
        return
    import fcntl

    os.makedirs(out, exist_ok=True)
    fd = os.open(os.path.join(out, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _busy(out) from None
        _HELD.add(fd)
        yield None
    finally:
        _HELD.discard(fd)
        os.close(fd)


#: the descriptors of the flocks this process holds
_HELD: set[int] = set()


def _drop_inherited() -> None:
    """In a process forked while a lock was held (a pool worker): its copy of the descriptor
    would keep the flock after the run that took it ended (killed, say), and every later run
    of the dataset would be told another one is writing it. Closing a copy releases nothing."""
    for fd in _HELD:
        with suppress(OSError):
            os.close(fd)
    _HELD.clear()


os.register_at_fork(after_in_child=_drop_inherited)


class Lease:
    """This run's lease on a dataset at a URL, claimed on creation, renewed by a thread."""

    def __init__(self, out: str) -> None:
        from triage.store.localfs import filesystem

        self.out = out
        self.fs, root = filesystem(out)
        self.fs.makedirs(root, exist_ok=True)
        self.path = f"{root.rstrip('/')}/{LOCK_FILE}"
        self.token = uuid.uuid4().hex
        held = self._read()
        if held is not None and held.get("token") != self.token and held["expires"] > time.time():
            raise _busy(out)
        self._write()
        time.sleep(SETTLE_SECONDS)  # a rival's claim written meanwhile has replaced ours
        if not self.held():
            raise _busy(out)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="triage-lease", daemon=True)
        self._thread.start()

    def held(self) -> bool:
        got = self._read()
        return got is not None and got.get("token") == self.token

    def confirm(self) -> None:
        """Raise DatasetBusy unless the lease is still this run's (before publishing)."""
        if not self.held():
            raise _busy(self.out)

    def release(self) -> None:
        self._stop.set()
        self._thread.join()
        try:
            if self.held():
                self.fs.rm(self.path)
        except OSError:  # gone already, or the store unreachable: it expires on its own
            pass

    def _renew(self) -> None:
        while not self._stop.wait(RENEW_SECONDS):
            try:
                if not self.held():
                    return  # taken over: `confirm` says so before the commit
                self._write()
            except OSError:  # a failed renewal is retried; the lease outlives a few of them
                continue

    def _read(self) -> dict[str, Any] | None:
        try:
            with self.fs.open(self.path, "rb") as fh:
                doc = json.loads(fh.read())
            return doc if isinstance(doc, dict) and isinstance(doc.get("expires"), float) else None
        except FileNotFoundError:
            return None
        except ValueError:  # not a lease this code wrote: treated as absent
            return None

    def _write(self) -> None:
        doc = {"token": self.token, "expires": time.time() + LEASE_SECONDS, "host": os.uname()[1]}
        with self.fs.open(self.path, "wb") as fh:
            fh.write(json.dumps(doc).encode())
