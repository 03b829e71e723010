"""Reopening a `SourceFile` locator: capped, damage-tolerant reads, and seekable binary access.

A small per-thread cache keeps the last few opened archives, so the pipeline reading the members
of one tar.xz in walk order decompresses it once instead of once per member (reading member
*n* of a compressed tar otherwise means inflating everything before it). A member read out of
that order would start the inflating over; a worker's pack reads instead the bytes its listing
of the archive kept (kept.py), when it kept them.
"""

from __future__ import annotations

import contextlib
import io
import os
import tarfile
import tempfile
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from triage.limits import DEFAULT_LIMITS, Limits
from triage.model import ErrorRecord, SourceFile
from triage.sources import kept
from triage.sources.archives import Archive
from triage.sources.containers import close_all, open_archive, probe, step
from triage.sources.decompress import FAST_INFLATE, GZIP_ERRORS, DecompressedStream
from triage.sources.errors import DecompressionBomb, SourceError, make_error
from triage.sources.magic import compression_of
from triage.sources.views import BoundedView, SparseView

#: `open_binary` keeps up to this much of a dump in memory before spilling to a temporary file
SPOOL_MEMORY = 64 * 1024 * 1024
READ_CHUNK = 1024 * 1024
CACHE_SIZE = 4

_READ_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    tarfile.TarError,
    zipfile.BadZipFile,
    *GZIP_ERRORS,
)


@dataclass
class ReadResult:
    data: bytes
    errors: list[ErrorRecord] = field(default_factory=list)
    truncated: bool = False


@dataclass
class _Cached:
    archive: Archive
    closers: list[object]
    streams: list[DecompressedStream]


class _ArchiveCache(threading.local):
    def __init__(self) -> None:
        self.entries: OrderedDict[tuple, _Cached] = OrderedDict()

    def get(self, key: tuple) -> _Cached | None:
        hit = self.entries.get(key)
        if hit is not None:
            self.entries.move_to_end(key)
        return hit

    def put(self, key: tuple, value: _Cached) -> None:
        self.entries[key] = value
        while len(self.entries) > CACHE_SIZE:
            _, old = self.entries.popitem(last=False)
            close_all([*old.closers, old.archive])

    def drop(self, key: tuple) -> None:
        old = self.entries.pop(key, None)
        if old is not None:
            close_all([*old.closers, old.archive])


_CACHE = _ArchiveCache()


def _last_archive_index(members: tuple[str, ...]) -> int:
    """Index of the last member name that selects an archive entry (not a "" decompression)."""
    for i in range(len(members) - 1, -1, -1):
        if members[i]:
            return i
    return -1


def _open_container(src: SourceFile, upto: int, limits: Limits) -> _Cached:
    """The archive that holds `src.members[upto]`, from the cache or freshly opened."""
    st = os.stat(src.disk_path)
    key = (src.disk_path, st.st_mtime_ns, st.st_size, src.members[:upto])
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    raw = open(src.disk_path, "rb")  # noqa: SIM115 - owned by the cache entry
    closers: list[object] = [raw]
    streams: list[DecompressedStream] = []
    try:
        fh: BinaryIO = raw
        cheap = True
        for name in src.members[:upto]:
            fh, cheap = step(fh, cheap, name, limits, streams, closers)
        layer = probe(fh, cheap, limits)
        streams.extend(layer.streams)
        if layer.what != "archive":
            raise SourceError("format-changed", "expected an archive; the file changed since")
        archive = open_archive(layer, limits)
    except BaseException:
        close_all(closers)
        raise
    entry = _Cached(archive, closers, streams)
    _CACHE.put(key, entry)
    return entry


def _open_member(
    src: SourceFile, limits: Limits, use_cache: bool
) -> tuple[BinaryIO, bool, list[DecompressedStream], list[object]]:
    """The stream of `src`'s bytes, whether it seeks cheaply, streams to check, owned handles."""
    members = src.members
    if not members:
        fh = open(src.disk_path, "rb")  # noqa: SIM115 - returned to the caller
        return fh, True, [], [fh]
    idx = _last_archive_index(members)
    streams: list[DecompressedStream] = []
    closers: list[object] = []
    held = _kept_bytes(src, idx) if idx >= 0 and use_cache else None
    spooled = _kept_file(src, idx) if idx >= 0 and held is None else None
    if held is not None:  # inflated when the archive was listed (kept.py)
        fh, cheap = io.BytesIO(held), True
        rest = members[idx + 1 :]
    elif spooled is not None:  # the same, too large to hold: in a temporary file
        fh, cheap = spooled, True
        closers.append(fh)
        rest = members[idx + 1 :]
    elif idx >= 0 and use_cache:
        cached = _open_container(src, idx, limits)
        fh, cheap = cached.archive.open_name(members[idx])
        streams.extend(cached.streams)
        rest = members[idx + 1 :]
    else:
        raw = open(src.disk_path, "rb")  # noqa: SIM115 - returned to the caller
        closers.append(raw)
        fh, cheap = raw, True
        rest = members
    try:
        for name in rest:
            fh, cheap = step(fh, cheap, name, limits, streams, closers)
    except BaseException:
        close_all(closers)
        raise
    return fh, cheap, streams, closers


def _kept_bytes(src: SourceFile, idx: int) -> bytes | None:
    """The bytes of the archive member `src.members[idx]` kept from its listing, if any."""
    key = _kept_key(src, idx)
    return kept.get(key) if key is not None else None


def _kept_file(src: SourceFile, idx: int) -> BinaryIO | None:
    """A reader of the temporary file holding the archive member `src.members[idx]`, kept
    from its listing, if any (the caller closes it)."""
    key = _kept_key(src, idx)
    return kept.open_file(key) if key is not None else None


def _kept_key(src: SourceFile, idx: int) -> kept.Key | None:
    if not kept.any_kept():
        return None
    try:
        st = os.stat(src.disk_path)
    except OSError:
        return None
    return kept.key_of(src.disk_path, st, src.members[: idx + 1])


def _stream_errors(src: SourceFile, streams: list[DecompressedStream]) -> list[ErrorRecord]:
    out = []
    for s in streams:
        if s.error:
            cls, msg = s.error
            out.append(make_error(src.display, cls, msg, src.source_id))
    return out


def read_bytes(src: SourceFile, limits: Limits) -> ReadResult:
    """The whole (decompressed) content of `src`, capped at `limits.max_file_bytes`."""
    cap = limits.max_file_bytes
    chunks: list[bytes] = []
    got = 0
    closers: list[object] = []
    streams: list[DecompressedStream] = []
    errors: list[ErrorRecord] = []
    truncated = False
    try:
        fh, _cheap, streams, closers = _open_member(src, limits, use_cache=True)
        if not src.members:  # a plain file: exactly one bytes object, sized from fstat
            size = os.fstat(fh.fileno()).st_size  # type: ignore[attr-defined]
            data = fh.read(min(size, cap))
            truncated = size > cap
            if truncated:
                errors.append(_cap_error(src, cap))
            return ReadResult(data, errors, truncated)
        if isinstance(fh, BoundedView):
            data = fh.read(min(fh.length, cap))
            truncated = fh.length > cap
            if truncated:
                errors.append(_cap_error(src, cap))
            errors.extend(_stream_errors(src, streams))
            return ReadResult(data, errors, truncated)
        while got < cap:
            chunk = fh.read(min(READ_CHUNK, cap - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        if got >= cap and fh.read(1):
            truncated = True
            errors.append(_cap_error(src, cap))
    except DecompressionBomb as exc:
        truncated = True
        errors.append(exc.record(src.display, src.source_id))
    except SourceError as exc:
        errors.append(exc.record(src.display, src.source_id))
    except _READ_ERRORS as exc:
        errors.append(_read_error(src, exc, got))
    finally:
        close_all(closers)
    errors = _stream_errors(src, streams) + errors
    if any(e.error_class.startswith(("truncated-", "corrupt-")) for e in errors[:1]):
        # the decompressor already said why the data ends; the archive reader's echo is noise
        errors = [errors[0]] + [e for e in errors[1:] if e.error_class != "corrupt-read"]
    return ReadResult(b"".join(chunks), errors, truncated)


def _cap_error(src: SourceFile, cap: int) -> ErrorRecord:
    return make_error(
        src.display,
        "limit-file-bytes",
        f"larger than max_file_bytes={cap:,}; only the first {cap:,} bytes were read",
        src.source_id,
    )


def _read_error(src: SourceFile, exc: BaseException, got: int) -> ErrorRecord:
    if isinstance(exc, IsADirectoryError):
        return make_error(src.display, "unreadable", "is a directory, not a file", src.source_id)
    if isinstance(exc, FileNotFoundError):
        return make_error(src.display, "missing", "no longer exists", src.source_id)
    if isinstance(exc, OSError) and not isinstance(exc, SourceError) and exc.strerror:
        return make_error(src.display, "unreadable", exc.strerror, src.source_id)
    return make_error(
        src.display,
        "corrupt-read",
        f"read failed after {got:,} bytes ({type(exc).__name__}: {exc}); kept what was read",
        src.source_id,
    )


@contextlib.contextmanager
def open_binary(
    src: SourceFile,
    limits: Limits = DEFAULT_LIMITS,
    errors: list[ErrorRecord] | None = None,
    once: bool = False,
) -> Iterator[BinaryIO]:
    """A seekable binary file for `src` (see the package docstring for the three cases).

    Raises `SourceError` (an `OSError` carrying `.record(path)`) when the source cannot be
    opened at all; damage found while spooling is appended to `errors` when given.

    `once`: the caller reads the bytes once, front to back, and seeks no further than what it
    peeked: a compressed source is then read as it inflates, not spooled first (a 1 GB log
    took 2.2 s of disk writes before its only pass began). Its damage is appended to `errors`
    when the block ends, as spooling it would have found it.
    """
    sink = errors if errors is not None else []
    if not src.members:
        with open(src.disk_path, "rb") as fh:
            yield fh
        return
    frames = _SHARED.frames
    key = (src.disk_path, src.members)
    earlier = next((f.spools[key] for f in reversed(frames) if key in f.spools), None)
    if earlier is not None:  # spooled by an earlier pass over the source
        spool, pending = earlier
        if errors is not None:  # its damage, to the first caller that collects it
            errors.extend(pending)
            pending.clear()
        spool.seek(0)
        yield spool
        return
    fh, cheap, streams, closers = _open_member(src, limits, use_cache=False)
    try:
        if cheap and isinstance(fh, BoundedView | SparseView):  # seeks in the file on disk
            yield io.BufferedReader(fh, buffer_size=READ_CHUNK)  # type: ignore[misc]
            return
        if cheap and isinstance(fh, io.BufferedReader):  # kept on disk from the listing
            yield fh  # type: ignore[misc]
            return
        if once:
            forward = _Forward(src, fh, limits, sink)
            try:
                yield io.BufferedReader(forward, buffer_size=READ_CHUNK)  # type: ignore[misc]
            finally:
                sink.extend(_stream_errors(src, streams))
            return
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115
        try:
            found: list[ErrorRecord] = []
            _spool(src, fh, spool, limits, found)
            found.extend(_stream_errors(src, streams))
            sink.extend(found)
            spool.seek(0)
            if frames:  # kept for the next pass; closed with the innermost scope
                frames[-1].keep(key, spool, [] if errors is not None else found)
            yield spool  # type: ignore[misc]
        finally:
            if not frames:
                spool.close()
    finally:
        close_all(closers)


def inflates_fast(src: SourceFile) -> bool:
    """A loose file of one compressed stream that inflates faster than a spool of it is
    written and read back (`decompress.FAST_INFLATE`): each pass over it may read it afresh
    with `open_binary(..., once=True)`, with no temporary file."""
    if src.members != ("",):
        return False
    try:
        with open(src.disk_path, "rb") as fh:
            return compression_of(fh.read(8)) in FAST_INFLATE
    except OSError:
        return False


class Spools:
    """Spooled sources kept for another pass (`shared_spools`), with the damage found while
    spooling that no caller has collected yet. `on_disk`: kept spools are moved out of memory,
    for a holder that keeps several at once."""

    def __init__(self, on_disk: bool = False) -> None:
        self.spools: dict[tuple[str, tuple[str, ...]], tuple[BinaryIO, list[ErrorRecord]]] = {}
        self.on_disk = on_disk

    def keep(
        self, key: tuple[str, tuple[str, ...]], spool: Any, pending: list[ErrorRecord]
    ) -> None:
        if self.on_disk and hasattr(spool, "rollover"):
            spool.rollover()
        self.spools[key] = (spool, pending)

    def __bool__(self) -> bool:
        return bool(self.spools)

    def close(self) -> None:
        spools, self.spools = self.spools, {}
        for spool, _ in spools.values():
            spool.close()


class _SharedSpools(threading.local):
    def __init__(self) -> None:
        self.frames: list[Spools] = []


_SHARED = _SharedSpools()


@contextlib.contextmanager
def shared_spools(holder: Spools | None = None) -> Iterator[None]:
    """Within the block, a compressed source `open_binary` inflates into a spool is inflated
    once: a later `open_binary` of it in the block (a second pass over a large log) reads the
    same spool again. Closed, and its temporary file gone, when the block ends — unless
    `holder` is given: the spools made in the block are then kept there, for the caller to
    hand to a later block (another `shared_spools(holder)`) and to close.

    Blocks nest: a source spooled in an outer block is read again in an inner one, and an
    inner block closes only what it spooled itself. Damage found while spooling for a caller
    that did not collect it (`errors=None`) goes to the first later caller that does."""
    frame = holder if holder is not None else Spools()
    _SHARED.frames.append(frame)
    try:
        yield
    finally:
        _SHARED.frames.pop()  # (blocks nest: this one is the innermost)
        if holder is None:
            frame.close()


def _spool(
    src: SourceFile, fh: BinaryIO, spool: BinaryIO, limits: Limits, sink: list[ErrorRecord]
) -> None:
    forward = _Forward(src, fh, limits, sink)
    while chunk := forward.read(READ_CHUNK):
        spool.write(chunk)


class _Forward(io.RawIOBase):
    """The bytes of `fh` up to `max_total_bytes`, ending where they become unreadable; what
    ended them (the cap, a bomb, damage) goes to `sink` as a row."""

    def __init__(self, src: SourceFile, fh: BinaryIO, limits: Limits, sink: list[ErrorRecord]):
        super().__init__()
        self._src, self._fh, self._sink = src, fh, sink
        self._cap = limits.max_total_bytes
        self._copied = 0
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._ended:
            return 0
        src, view = self._src, memoryview(buffer).cast("B")
        try:
            want = min(len(view), self._cap - self._copied)
            chunk = self._fh.read(want) if want > 0 else b""
            if not chunk:
                self._ended = True
                if want <= 0 and self._fh.read(1):
                    cap = self._cap
                    self._sink.append(
                        make_error(
                            src.display,
                            "limit-total-bytes",
                            f"larger than max_total_bytes={cap:,}; "
                            f"only the first {cap:,} bytes are available",
                            src.source_id,
                        )
                    )
                return 0
        except DecompressionBomb as exc:
            self._sink.append(exc.record(src.display, src.source_id))
        except _READ_ERRORS as exc:
            self._sink.append(_read_error(src, exc, self._copied))
        else:
            view[: len(chunk)] = chunk
            self._copied += len(chunk)
            return len(chunk)
        self._ended = True
        return 0


__all__ = ["ReadResult", "Spools", "inflates_fast", "open_binary", "read_bytes", "shared_spools"]
