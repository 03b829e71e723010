"""Streaming decompression that survives damage, refuses bombs and can be re-seeked.

The stdlib file classes (`gzip.GzipFile`, `lzma.LZMAFile`) raise on a truncated stream and lose
the bytes of the failing read, and zstandard's stream reader silently ends a cut frame. Support
bundles are often truncated uploads, so this module drives the raw decompressors itself: it keeps
every byte produced before the damage and remembers what went wrong (`DecompressedStream.error`).
Output is bounded per call, so a bomb is caught after at most one chunk, and the
output/input ratio is checked against `Limits.max_ratio` once `ratio_floor_bytes` were inflated.
Output a container's header declared (`DecompressedStream.declare`: a tar member's data, whose
size the tar reader checked against the size caps) is bounded by those caps instead and left
out of the ratio: a kdump tarball's vmcore of zero pages inflates thousands of times, and
stopping there lost the vmcore-dmesg.txt after it.
"""

from __future__ import annotations

import bz2
import codecs
import io
import lzma
import zlib
from typing import Any, BinaryIO

import zstandard

try:  # Intel ISA-L's inflate: the same streams twice as fast as zlib (1 GB: 2.1 s, not 4.2 s)
    from isal import isal_zlib as _gzip_inflate

    GZIP_ERRORS: tuple[type[Exception], ...] = (zlib.error, _gzip_inflate.error)
except ImportError:  # a platform without its wheel: zlib reads the same bytes
    _gzip_inflate = zlib  # type: ignore[assignment]
    GZIP_ERRORS = (zlib.error,)

from triage.limits import Limits
from triage.sources import journal_formats
from triage.sources.errors import DecompressionBomb
from triage.sources.magic import COMPRESSION_MAGIC

#: compressions that inflate faster than their output is written to a spool and read back
#: (1 GB: gzip 2.1 s with ISA-L, 4.2 s with zlib; a 1 GB spool 2.2 s written, 0.5 s read)
FAST_INFLATE = frozenset({"zstd", "lz4", *(("gzip",) if _gzip_inflate is not zlib else ())})

IN_CHUNK = 64 * 1024
OUT_CHUNK = 1024 * 1024
#: the most the first step of a stream produces, doubling at each step up to OUT_CHUNK: a probe
#: wants only the head (HEAD_BYTES) and a walk that defers an archive reads no further, while
#: one full-size step inflated a whole small bundle (1.5 ms each, 0.3 s of a 200-bundle walk)
FIRST_OUT_CHUNK = 64 * 1024
#: zstd has no output bound per call; RLE blocks expand ~32000x, so feed it small slices
ZSTD_SLICE = 2048


class _Codec:
    """One compressed stream (one gzip member, one xz stream, one zstd frame)."""

    eof: bool = False
    unused_data: bytes = b""
    #: a stream with no end of its own (text to transcode) ends where its input does: `finish`
    ends_with_input = False

    def feed(self, data: bytes, most: int = 0) -> bytes:  # pragma: no cover - interface
        """Decompress `data` (after what is held back); at most `most` bytes out when the
        codec can stop early (0: `OUT_CHUNK`)."""
        raise NotImplementedError

    def finish(self) -> bytes:
        """What is held back once the input ended (`ends_with_input` codecs)."""
        return b""

    @property
    def needs_input(self) -> bool:  # pragma: no cover - interface
        raise NotImplementedError


class _ZlibCodec(_Codec):
    def __init__(self) -> None:
        self._d = _gzip_inflate.decompressobj(wbits=31)
        self._full = False

    def feed(self, data: bytes, most: int = 0) -> bytes:
        most = most or OUT_CHUNK
        out = self._d.decompress(self._d.unconsumed_tail + data, most)
        self._full = len(out) >= most
        return out

    @property
    def needs_input(self) -> bool:
        return not self._d.unconsumed_tail and not self._full

    @property
    def eof(self) -> bool:  # type: ignore[override]
        return self._d.eof

    @property
    def unused_data(self) -> bytes:  # type: ignore[override]
        return self._d.unused_data


class _StdCodec(_Codec):
    """bz2, lzma and lz4.frame share the same incremental API, including `max_length`."""

    def __init__(self, d: Any) -> None:
        self._d = d

    def feed(self, data: bytes, most: int = 0) -> bytes:
        return self._d.decompress(data, most or OUT_CHUNK)

    @property
    def needs_input(self) -> bool:
        return self._d.needs_input

    @property
    def eof(self) -> bool:  # type: ignore[override]
        return self._d.eof

    @property
    def unused_data(self) -> bytes:  # type: ignore[override]
        return self._d.unused_data or b""  # lz4.frame: None when nothing followed the frame


class _Lz4Codec(_StdCodec):
    """lz4.frame, whose damaged data raises RuntimeError: told apart from a bug as ValueError."""

    def __init__(self) -> None:
        import lz4.frame  # only when an lz4 file is met: most runs never do

        super().__init__(lz4.frame.LZ4FrameDecompressor())

    def feed(self, data: bytes, most: int = 0) -> bytes:
        try:
            return super().feed(data, most)
        except RuntimeError as exc:
            raise ValueError(str(exc)) from None


class _ZstdCodec(_Codec):
    def __init__(self) -> None:
        self._d = zstandard.ZstdDecompressor().decompressobj()
        self._buf = b""

    def feed(self, data: bytes, most: int = 0) -> bytes:  # output bounded by ZSTD_SLICE
        if data:
            self._buf += data
        piece, self._buf = self._buf[:ZSTD_SLICE], self._buf[ZSTD_SLICE:]
        if not piece:
            return b""
        return self._d.decompress(piece)

    @property
    def needs_input(self) -> bool:
        return not self._buf

    @property
    def eof(self) -> bool:  # type: ignore[override]
        return bool(self._d.eof)

    @property
    def unused_data(self) -> bytes:  # type: ignore[override]
        return self._d.unused_data + self._buf


class _Utf16Codec(_Codec):
    """UTF-16 text to UTF-8, its byte order mark dropped. Lossless: a lone surrogate is kept
    (as the bytes UTF-8 would give it, which the parsers treat as any invalid UTF-8), and an
    odd last byte is passed on as it is. The text ends where its input does."""

    ends_with_input = True

    def __init__(self, fmt: str) -> None:
        self._d = codecs.getincrementaldecoder(fmt.replace("utf-16", "utf-16-"))("surrogatepass")
        self._bom = True
        self._buf = b""

    def feed(self, data: bytes, most: int = 0) -> bytes:  # output ≤ 1.5× its input
        data, self._buf = self._buf + data, b""
        if self._bom:
            if len(data) < 2:
                self._buf = data
                return b""
            self._bom = False
            if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
                data = data[2:]
        return self._d.decode(data).encode("utf-8", "surrogatepass")

    def finish(self) -> bytes:
        try:
            return self._buf + self._d.decode(b"", final=True).encode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            return self._buf + self._d.getstate()[0]

    @property
    def needs_input(self) -> bool:
        return True


class _LineCodec(_Codec):
    """Text converted a line at a time by `lines` (`convert` of whole lines, `end` for what it
    holds at the end). A line is passed on unconverted once it grows past `MAX_LINE_BYTES`
    without its end."""

    ends_with_input = True
    MAX_LINE_BYTES = 16 << 20

    def __init__(self, lines: journal_formats.LineConverter) -> None:
        self._lines = lines
        self._rest = b""

    def feed(self, data: bytes, most: int = 0) -> bytes:
        data = self._rest + data
        cut = data.rfind(b"\n") + 1
        if not cut and len(data) > self.MAX_LINE_BYTES:
            self._rest = b""
            return data
        self._rest = data[cut:]
        return _joined(self._lines.convert(data[:cut].split(b"\n")[:-1]))

    def finish(self) -> bytes:
        rest, self._rest = self._rest, b""
        out = _joined(self._lines.convert([rest]) if rest else []) + _joined(self._lines.end())
        return out[:-1] if rest else out  # the last line had no end

    @property
    def needs_input(self) -> bool:
        return True


def _joined(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in lines)


def _new_codec(fmt: str) -> _Codec:
    if fmt == "gzip":
        return _ZlibCodec()
    if fmt == "bzip2":
        return _StdCodec(bz2.BZ2Decompressor())
    if fmt == "xz":
        return _StdCodec(lzma.LZMADecompressor(format=lzma.FORMAT_XZ))
    if fmt == "zstd":
        return _ZstdCodec()
    if fmt == "lz4":
        return _Lz4Codec()
    if fmt in ("utf-16le", "utf-16be"):
        return _Utf16Codec(fmt)
    if fmt in journal_formats.FORMS:
        return _LineCodec(journal_formats.converter_for(fmt))
    raise ValueError(f"unknown compression {fmt}")


_CODEC_ERRORS = (*GZIP_ERRORS, lzma.LZMAError, OSError, EOFError, ValueError, zstandard.ZstdError)


class DecompressedStream(io.RawIOBase):
    """A seekable, read-only view of the decompressed bytes of `raw` (from its current offset).

    Seeking forward decompresses and discards; seeking backward restarts from the beginning,
    which is what the stdlib classes do too. `error` is `(error_class, message)` once the
    stream turned out truncated or corrupt; reads then end cleanly at the last good byte.
    """

    def __init__(self, raw: BinaryIO, fmt: str, limits: Limits, label: str = "") -> None:
        super().__init__()
        self._raw = raw
        self._start = raw.tell()
        self.fmt = fmt
        self._limits = limits
        self._label = label
        self.error: tuple[str, str] | None = None
        self._declared: list[tuple[int, int]] = []  # [start, end) of declared output, in order
        self._restart()

    # -- state -----------------------------------------------------------------------------
    def _restart(self) -> None:
        self._raw.seek(self._start)
        self._codec: _Codec | None = _new_codec(self.fmt)
        self._pending = memoryview(b"")
        self._pos = 0
        self.consumed = 0
        self._damaged_at: int | None = None
        self._most = FIRST_OUT_CHUNK
        self._passed = 0  # declared spans wholly inflated, and their bytes
        self._passed_bytes = 0

    def _fail(self, error_class: str, message: str) -> None:
        self._codec = None
        if self.error is None:
            self.error = (error_class, message)

    def _next_member(self) -> None:
        """Concatenated members (gzip -c a b, pbzip2, pixz, zstd -T) continue the stream."""
        assert self._codec is not None
        rest = self._codec.unused_data
        magic = COMPRESSION_MAGIC[self.fmt][0]
        if len(rest) < len(magic):
            more = self._raw.read(IN_CHUNK)
            self.consumed += len(more)
            rest += more
        if rest.startswith(magic):
            self._codec = _new_codec(self.fmt)
            self._pending = memoryview(self._codec.feed(rest))
        else:
            self._codec = None  # end of data, or trailing padding that gzip(1) also ignores

    def _produce(self) -> bool:
        """Refill `_pending`; False at the end of the data (clean or not)."""
        while self._codec is not None:
            try:
                if self._codec.eof:
                    self._next_member()
                    if len(self._pending):
                        return True
                    continue
                if self._codec.needs_input:
                    data = self._raw.read(IN_CHUNK)
                    if not data and self._codec.ends_with_input:
                        out, self._codec = self._codec.finish(), None
                        if out:
                            self._pending = memoryview(out)
                            return True
                        return False
                    if not data:
                        self._fail(
                            f"truncated-{self.fmt}",
                            f"{self.fmt} stream ends early (truncated upload?); "
                            f"kept the {self._pos:,} bytes before the damage",
                        )
                        return False
                    self.consumed += len(data)
                    out = self._codec.feed(data, self._most)
                else:
                    out = self._codec.feed(b"", self._most)
                self._most = min(2 * self._most, OUT_CHUNK)
            except _CODEC_ERRORS as exc:
                self._fail(
                    f"corrupt-{self.fmt}",
                    f"{self.fmt} data is corrupt after {self._pos:,} bytes ({exc}); "
                    "kept the bytes before the damage",
                )
                return False
            if out:
                self._pending = memoryview(out)
                self._check_ratio(len(out))
                return True
        return False

    def declare(self, start: int, end: int) -> None:
        """Output bytes `[start, end)` are data whose size a header states (a tar member's),
        checked by the caller against the size caps: their count is bounded already, so they
        do not count toward the ratio, however well they compress. Spans come in order; one
        declared again (an archive reread from its start) is ignored."""
        if end > start and (not self._declared or start >= self._declared[-1][1]):
            self._declared.append((start, end))

    def _declared_below(self, total: int) -> int:
        """Declared bytes among the first `total` of the output."""
        while self._passed < len(self._declared) and self._declared[self._passed][1] <= total:
            start, end = self._declared[self._passed]
            self._passed_bytes += end - start
            self._passed += 1
        if self._passed < len(self._declared):
            return self._passed_bytes + max(0, total - self._declared[self._passed][0])
        return self._passed_bytes

    def _check_ratio(self, produced: int) -> None:
        total = self._pos + produced
        declared = self._declared_below(total)
        counted = total - declared
        lim = self._limits
        if counted > lim.ratio_floor_bytes and counted > lim.max_ratio * max(self.consumed, 1):
            besides = f", besides {declared:,} of members of a stated size" if declared else ""
            raise DecompressionBomb(
                f"{self.fmt} expands more than {lim.max_ratio}x ({counted:,} bytes from "
                f"{self.consumed:,}{besides}); stopped reading (decompression bomb)"
            )

    # -- io.RawIOBase ----------------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        if not len(self._pending) and not self._produce():
            return 0
        n = min(len(b), len(self._pending))
        b[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        self._pos += n
        return n

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        if size is None or size < 0:
            return self.readall()
        out = bytearray()
        while len(out) < size:
            if not len(self._pending) and not self._produce():
                break
            n = min(size - len(out), len(self._pending))
            out += self._pending[:n]
            self._pending = self._pending[n:]
            self._pos += n
        return bytes(out)

    def readall(self) -> bytes:
        chunks = []
        while len(self._pending) or self._produce():
            chunks.append(bytes(self._pending))
            self._pos += len(self._pending)
            self._pending = memoryview(b"")
        return b"".join(chunks)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._pos
        elif whence == io.SEEK_END:
            raise io.UnsupportedOperation("seek from the end of a compressed stream")
        if offset < self._pos:
            self.error = None
            self._restart()
        while self._pos < offset:
            if not len(self._pending) and not self._produce():
                break
            n = min(offset - self._pos, len(self._pending))
            self._pending = self._pending[n:]
            self._pos += n
        return self._pos


def open_decompressed(
    raw: BinaryIO, fmt: str, limits: Limits, label: str = ""
) -> tuple[io.BufferedReader, DecompressedStream]:
    """A buffered reader over the decompressed data, plus the stream (for its `error`)."""
    stream = DecompressedStream(raw, fmt, limits, label)
    return io.BufferedReader(stream, buffer_size=OUT_CHUNK), stream
