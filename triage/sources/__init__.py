"""Walking input paths, opening archives as virtual trees, detecting each file's format.

Public API (used by the pipeline, batch and the CLI):
- `walk(paths, limits) -> Iterator[SourceFile | ErrorRecord]`; with `defer_archives=True` an archive
  on disk is yielded unopened as a `DeferredArchive`, for `walk_archive()` to list later
- `read_bytes(src, limits) -> ReadResult` (the decompressed bytes, capped, plus errors)
- `open_binary(src, limits, errors=None, once=False)` context manager giving a seekable binary
  file (dumps), or with `once` a forward stream for a single pass; `inflates_fast(src)` says
  whether a compressed loose file is cheaper to inflate again than to spool
- `detect(head, role="") -> kind` (the content detector on its own, for tools and tests)
- `SourceError`: what `open_binary` raises when a source cannot be opened at all
  (an `OSError`; `exc.record(path)` gives the `ErrorRecord`)

Conventions (the contract other stages rely on):
- Inputs are walked in sorted order. Inside a folder or archive: by directory, then name, with a
  rotated set kept together **oldest first** (`messages-20240101.gz`, `messages.1`, `messages`);
  `SourceFile.rotation` counts 0 for the live file, 1 for the newest rotated one, and so on.
- `bundle` is the input the user named (file, folder or archive). An archive met inside a folder
  is its own bundle (its path on disk), and an archive inside an archive is too, named
  `outer!inner` (so each host's status report in a XenCenter zip keeps its own facts).
  Single-file compression (`messages.2.gz`) is not a bundle.
- `path` is the "/"-separated path inside the bundle (for a symlinked file: the path that gives
  it a role, e.g. sos's `var/log/messages` rather than `sos_strings/…/var.log.messages.tailed`).
  For a loose file named directly, `path` is the path as given, so `display` shows it once.
- `members` is the reopen chain: one entry per archive member, `""` for a decompression step
  (gzip, bzip2, xz, zstd, lz4), a UTF-16 file read as UTF-8 or a journal JSON, export or
  verbose dump read as text (`journal_formats.py`);
  `depth == len(members)`, and nothing deeper than `limits.max_depth` is opened.
- Links are followed only inside their bundle; each linked file is yielded once.
- Kinds come from content (`detect.py`); an empty file is `unknown` with no error; binary data
  that is not a known dump is `unknown`. The role (from `layouts.py`) only breaks near-ties and
  turns fact files into `config`.
- Every problem is an `ErrorRecord` (stage "sources") with one of these classes: missing,
  unreadable, broken-link, link-outside-bundle, link-loop, special-file, path-traversal,
  too-many-members, max-depth, archive-contains-itself, decompression-bomb, bad-zip,
  corrupt-tar, truncated-archive, truncated-<gzip|xz|bzip2|zstd|lz4>, corrupt-<fmt>, encrypted,
  unsupported-compression (.Z, lzip, lzop, 7-Zip, RAR), limit-file-bytes, limit-total-bytes,
  corrupt-member, corrupt-read.
  Unreadable input cannot be simulated with chmod when running as root; tests use a broken
  symlink and a directory put where a file was.
- `open_binary` yields the real file for loose files (mmap works), a `BufferedReader` over a
  window into the outer file for members stored uncompressed (tar, stored zip entries), a
  reader of the temporary copy a listing kept of a large member of a compressed archive
  (`kept.py`), and otherwise a `SpooledTemporaryFile` (64 MiB in memory), unless the caller
  reads it `once`: then the decompressed stream itself, read as it inflates. Both temporary
  files live in Python's temporary folder (`TMPDIR`), unlinked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from triage.limits import DEFAULT_LIMITS, Limits
from triage.model import ErrorRecord, SourceFile
from triage.sources import kept as _kept
from triage.sources import reader as _reader
from triage.sources.detect import detect
from triage.sources.errors import SourceError
from triage.sources.listing import DeferredArchive
from triage.sources.reader import (
    ReadResult,
    Spools,
    inflates_fast,
    open_binary,
    shared_spools,
)
from triage.sources.walker import Heads, KnownHead, walk_paths
from triage.sources.walker import walk_archive as _walk_archive

if TYPE_CHECKING:
    from concurrent.futures import Executor


def walk(
    paths: list[str],
    limits: Limits = DEFAULT_LIMITS,
    defer_archives: bool = False,
    known_archives: dict[str, tuple[int, int]] | None = None,
    executor: Executor | None = None,
    heads: Heads | None = None,
) -> Iterator[SourceFile | ErrorRecord | DeferredArchive]:
    """Every file under `paths` as a `SourceFile` (kind, layout, role…), problems as errors.

    `known_archives` (path → size, mtime_ns) lets a deferring walk skip probing files that were
    archives when last seen and have not changed since; `heads` does the same for the other
    files it can read, and collects what this walk read. An `executor` (a process pool) reads
    the heads of a large folder's files; the walk is the same."""
    return walk_paths(list(paths), limits, defer_archives, known_archives, executor, heads)


def walk_archive(
    archive: DeferredArchive, limits: Limits = DEFAULT_LIMITS, keep: bool = False
) -> list[SourceFile | ErrorRecord]:
    """What `walk` would have yielded for an archive it deferred. `keep`: the members it
    inflates are kept for the reads to come, until `forget_kept` (sources/kept.py)."""
    return _walk_archive(archive.disk_path, archive.top_name, limits, keep)


def forget_kept() -> None:
    """Drop the member bytes kept by `walk_archive(..., keep=True)`."""
    _kept.forget()


def read_bytes(src: SourceFile, limits: Limits = DEFAULT_LIMITS) -> ReadResult:
    """The decompressed content of `src`, capped at `limits.max_file_bytes`; never raises."""
    return _reader.read_bytes(src, limits)


__all__ = [
    "DeferredArchive",
    "Heads",
    "KnownHead",
    "ReadResult",
    "SourceError",
    "Spools",
    "detect",
    "inflates_fast",
    "open_binary",
    "read_bytes",
    "shared_spools",
    "walk",
    "walk_archive",
]
