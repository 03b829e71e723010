"""Recognising what a byte stream is (archive, compressed file, plain file) and opening it.

Shared by the walker, which probes every file it meets, and the reader, which reopens the chain
of layers a `SourceFile` locator names. Keeping both on one function is what guarantees that a
locator produced by `walk` reopens to the same bytes.
"""

from __future__ import annotations

import contextlib
import io
import struct
from dataclasses import dataclass, field
from typing import BinaryIO

import zstandard

from triage.limits import Limits
from triage.sources.archives import Archive, TarArchive, ZipArchive
from triage.sources.decompress import DecompressedStream, open_decompressed
from triage.sources.detect import HEAD_BYTES
from triage.sources.errors import SourceError
from triage.sources.magic import (
    compression_of,
    is_tar,
    is_zip,
    text_form_of,
    unsupported_of,
)

#: a zip nested in a compressed stream is read into memory up to this size: zip readers seek
#: to the central directory at the end and back, which would re-decompress the outer stream
NESTED_ZIP_IN_MEMORY = 64 * 1024 * 1024


@dataclass
class Layer:
    """The result of probing a stream: what it is and the file objects to read it through."""

    what: str  # archive | compressed | plain
    fh: BinaryIO  # the stream to read: decompressed when compressed
    cheap: bool  # seeking `fh` costs nothing (a real file or a window over one)
    head: bytes  # first HEAD_BYTES of `fh` (decompressed)
    raw_head: bytes  # first HEAD_BYTES of the stream as stored
    compression: str | None = None
    archive_kind: str = ""  # tar | zip
    streams: list[DecompressedStream] = field(default_factory=list)
    declared_size: int = -1  # uncompressed size the stream states (gzip ISIZE, zstd header)
    #: (error class, message) when the stream ended early within the head: all of it inflated
    cut: tuple[str, str] | None = None

    def note_declared_size(self, raw: BinaryIO, raw_size: int) -> None:
        """Read the size a gzip trailer or zstd frame header announces, when that is cheap."""
        if self.compression == "zstd":
            try:
                self.declared_size = zstandard.frame_content_size(self.raw_head)
            except zstandard.ZstdError:
                self.declared_size = -1
        elif self.compression == "gzip" and raw_size >= 18:
            pos = raw.tell()  # the decompressor reads `raw` sequentially: put it back
            try:
                raw.seek(raw_size - 4)
                tail = raw.read(4)
            finally:
                raw.seek(pos)
            if len(tail) == 4:
                self.declared_size = struct.unpack("<I", tail)[0]


def _inflated_head(
    dfh: BinaryIO, stream: DecompressedStream
) -> tuple[bytes, tuple[str, str] | None]:
    """The first HEAD_BYTES of an inflated stream, and its error when the stream ended early
    within them: going back to the start inflates again from scratch, and forgets it."""
    pos = dfh.tell()
    head = dfh.read(HEAD_BYTES)
    cut = stream.error
    dfh.seek(pos)
    return head, cut


def peek(fh: BinaryIO, n: int) -> bytes:
    pos = fh.tell()
    data = fh.read(n)
    fh.seek(pos)
    return data


def probe(fh: BinaryIO, cheap: bool, limits: Limits, label: str = "") -> Layer:
    """Look at the first bytes: zip, tar, compressed tar, compressed file or plain file. UTF-16
    text and a journal in a structured form (JSON, export, verbose) are "compressed" files too:
    read as UTF-8 text, and as the text journalctl prints."""
    raw_head = peek(fh, HEAD_BYTES)
    if is_zip(raw_head):
        return Layer("archive", fh, cheap, raw_head, raw_head, archive_kind="zip")
    unsupported = unsupported_of(raw_head)
    if unsupported:
        raise SourceError(
            "unsupported-compression",
            f"{unsupported} data, which triage cannot read; unpack it and pass what it holds",
        )
    fmt = compression_of(raw_head) or text_form_of(raw_head)
    if fmt:
        dfh, stream = open_decompressed(fh, fmt, limits, label)
        head, cut = _inflated_head(dfh, stream)
        streams, done = [stream], {fmt}
        # what it unwraps to may be converted text again: a gzip'ed UTF-16 log, a journal
        # export saved as UTF-16; each step is one more stream, no format twice
        while (inner := text_form_of(head)) and inner not in done:
            done.add(inner)
            dfh, more = open_decompressed(dfh, inner, limits, label)
            head, cut_inside = _inflated_head(dfh, more)
            cut = cut or cut_inside
            streams.append(more)
        if is_tar(head):
            return Layer("archive", dfh, False, head, raw_head, fmt, "tar", streams)
        return Layer("compressed", dfh, False, head, raw_head, fmt, streams=streams, cut=cut)
    if is_tar(raw_head):
        return Layer("archive", fh, cheap, raw_head, raw_head, archive_kind="tar")
    return Layer("plain", fh, cheap, raw_head, raw_head)


def open_archive(layer: Layer, limits: Limits) -> Archive:
    fh, cheap = layer.fh, layer.cheap
    if layer.archive_kind == "zip":
        if not cheap:
            data = fh.read(NESTED_ZIP_IN_MEMORY + 1)
            if len(data) <= NESTED_ZIP_IN_MEMORY:
                fh, cheap = io.BytesIO(data), True  # type: ignore[assignment]
            else:
                fh.seek(0)
        return ZipArchive(fh, cheap, limits)
    # the tar's bytes are the last stream's output: its headers say how much of it is data
    return TarArchive(fh, cheap, limits, layer.streams[-1] if layer.streams else None)


def open_chain(
    disk_path: str, members: tuple[str, ...], limits: Limits
) -> tuple[BinaryIO, bool, list[DecompressedStream], list[object]]:
    """Reopen a locator: the member's stream, whether it seeks cheaply, the decompression
    streams on the way (their `error` says if the data was cut), and what to close."""
    raw = open(disk_path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    closers: list[object] = [raw]
    fh: BinaryIO = raw
    cheap = True
    streams: list[DecompressedStream] = []
    try:
        for name in members:
            fh, cheap = step(fh, cheap, name, limits, streams, closers)
    except BaseException:
        close_all(closers)
        raise
    return fh, cheap, streams, closers


def step(
    fh: BinaryIO,
    cheap: bool,
    name: str,
    limits: Limits,
    streams: list[DecompressedStream],
    closers: list[object],
) -> tuple[BinaryIO, bool]:
    """Go one layer down: "" decompresses, a name opens that member of the archive."""
    layer = probe(fh, cheap, limits)
    streams.extend(layer.streams)
    if name == "":
        if layer.what != "compressed":
            raise SourceError("format-changed", "expected a compressed file; it changed since")
        return layer.fh, False
    if layer.what != "archive":
        raise SourceError("format-changed", "expected an archive; it changed since")
    arch = open_archive(layer, limits)
    closers.append(arch)
    return arch.open_name(name)


def close_all(closers: list[object]) -> None:
    for c in reversed(closers):
        with contextlib.suppress(Exception):
            c.close()  # type: ignore[attr-defined]


def rules_digest() -> str:
    """A hash of what a head is read by: how `probe` unwraps it (magic, decompression, the text
    conversions) and how `detect.analyze` classifies it, so that a head read by other rules
    (another version of triage) is read again, not taken as known."""
    import hashlib
    import importlib
    from pathlib import Path

    from triage.sources.detect import LINE_SHAPES, MAX_LINES
    from triage.version import __version__

    h = hashlib.sha256(__version__.encode())
    for name in ("containers", "detect", "magic", "decompress", "journal_formats"):
        try:
            h.update(Path(importlib.import_module(f"triage.sources.{name}").__file__).read_bytes())
        except (OSError, TypeError):  # no source beside the code: the shapes stand for it
            h.update(repr((HEAD_BYTES, MAX_LINES, LINE_SHAPES)).encode())
    return h.hexdigest()[:16]
