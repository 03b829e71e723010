"""Tar and zip archives as read-only virtual trees: safe names, links, members opened in place.

Nothing is extracted. A member is handed out as a file object: a window over the outer file (or
over the inflating stream) where its bytes are stored — a sparse tar member's holes read as
zeros — and otherwise the archive library's own reader. Names are checked before anything
else looks at them, because `../`, absolute and `..\\` names are how hostile archives escape on
the machines that *do* extract them, and a name we refuse here never reaches a report either.
"""

from __future__ import annotations

import calendar
import itertools
import re
import stat
import struct
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from triage.limits import Limits
from triage.sources.decompress import DecompressedStream
from triage.sources.errors import SourceError
from triage.sources.magic import SPLIT_ZIP_ADVICE, SPLIT_ZIP_FIRST
from triage.sources.views import BoundedView, SparseView

_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass
class Member:
    """One archive entry after name checks. `type` is file | dir | symlink | hardlink | special."""

    name: str
    type: str
    size: int = 0
    mtime: float | None = None
    link: str = ""  # normalised in-archive target of a link ("" when it escapes)
    raw_link: str = ""
    error: SourceError | None = None  # set when the entry must be reported instead of read
    cut_at: int = -1  # bytes present when the archive ends inside this member


def normalize_name(raw: str) -> str | None:
    """`a/./b/` → `a/b`; None for absolute names, drive letters, NULs and any `..` component.

    Backslashes count as separators for the check (a zip made on Windows, or crafted for it,
    escapes with `..\\`), but are kept in the returned name.
    """
    if not raw or "\x00" in raw:
        return None
    if raw.startswith(("/", "\\")) or _DRIVE.match(raw):
        return None
    if any(part == ".." for part in re.split(r"[/\\]", raw)):
        return None
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    return "/".join(parts) if parts else None


def resolve_link(member_name: str, target: str, hard: bool = False) -> str | None:
    """In-archive path a link points to, or None when it leaves the archive.

    Symlinks are relative to the link's directory; tar hard links name another member from the
    archive root. Absolute targets point at the host that made the archive, never into it.
    """
    if not target or "\x00" in target or target.startswith(("/", "\\")) or _DRIVE.match(target):
        return None
    base = [] if hard else member_name.split("/")[:-1]
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not base:
                return None
            base.pop()
        else:
            base.append(part)
    return "/".join(base) if base else None


class Archive:
    """Common face of tar and zip for the walker and the reader."""

    kind = ""

    def members(self) -> Iterator[Member]:  # pragma: no cover - interface
        raise NotImplementedError

    def open_member(self, member: Member) -> tuple[BinaryIO, bool]:  # pragma: no cover
        """(file object, cheap_seek) for a regular member."""
        raise NotImplementedError

    def open_name(self, name: str) -> tuple[BinaryIO, bool]:  # pragma: no cover
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - interface
        pass


class TarArchive(Archive):
    kind = "tar"

    def __init__(
        self,
        fh: BinaryIO,
        cheap: bool,
        limits: Limits,
        stream: DecompressedStream | None = None,
    ) -> None:
        """`stream`: the inflating stream `fh` reads, told of each member's data (`_declare`)."""
        self._fh = fh
        self._cheap = cheap
        self._limits = limits
        self._stream = stream
        self._index: dict[str, tarfile.TarInfo] = {}
        self._done = False
        self._length = -1
        if cheap:  # a real file: members that run past its end are cut short
            pos = fh.tell()
            self._length = fh.seek(0, 2)
            fh.seek(pos)
        try:
            self._tar = tarfile.open(fileobj=fh, mode="r:")  # noqa: SIM115 - closed by close()
        except tarfile.TarError as exc:
            raise SourceError("corrupt-tar", f"not a readable tar archive ({exc})") from None
        for ti in self._tar.members:  # tarfile.open already read the first header
            self._declare(ti)
            name = normalize_name(ti.name)
            if name:
                self._index.setdefault(name, ti)

    def _declare(self, ti: tarfile.TarInfo) -> None:
        """Tell the inflating stream where a regular member's data lies, when the header's
        size for it is within the caps (`max_file_bytes` for the member, `max_total_bytes`
        for the archive up to its end). Those bytes are bounded by the header, read or
        skipped, so the ratio check leaves them out: a vmcore of zero pages, thousands of
        times smaller compressed, is no bomb, and the members after it are still read.
        A member over the caps stays under the ratio check, as do headers and padding."""
        if self._stream is None or not ti.isreg():
            return
        try:
            stored = _stored(_extents(ti))
        except SourceError:
            return  # its map is damaged: the member is reported, its bytes not declared
        lim = self._limits
        end = ti.offset_data + stored
        if stored <= lim.max_file_bytes and end <= lim.max_total_bytes:
            self._stream.declare(ti.offset_data, end)

    def _next(self) -> tarfile.TarInfo | None:
        if self._done:
            return None
        try:
            ti = self._tar.next()
        except tarfile.TarError as exc:
            self._done = True
            raise SourceError("corrupt-tar", f"tar archive is damaged ({exc})") from None
        if ti is None:
            self._done = True
            self._check_end()
            return None
        self._declare(ti)
        name = normalize_name(ti.name)
        if name:
            self._index.setdefault(name, ti)
        return ti

    def _check_end(self) -> None:
        """`tarfile` ends a listing silently at a header it cannot parse; only zeros (the
        end-of-archive blocks) or the end of the data are a clean end. Garbage there is a
        damaged archive — typically a compressed stream corrupted in the middle, which the
        decompressor turns into bytes without complaint — and the members after it are lost."""
        try:
            self._fh.seek(self._tar.offset)
            block = self._fh.read(tarfile.BLOCKSIZE)
        except (OSError, ValueError, EOFError):
            return  # the stream's own error (truncation) is reported by the walker
        if block.strip(b"\0"):
            raise SourceError(
                "corrupt-tar",
                f"tar archive is damaged at byte {self._tar.offset:,} (no member header there); "
                "members after it were not listed",
            )

    def _iter_infos(self) -> Iterator[tarfile.TarInfo]:
        """Members in archive order; `tarfile` appends to `members` as it reads headers (and
        hands out the already-listed first member once more, which the index skips)."""
        i = 0
        while True:
            if i < len(self._tar.members):
                yield self._tar.members[i]
                i += 1
            elif self._next() is None:
                return

    def members(self) -> Iterator[Member]:
        for count, ti in enumerate(self._iter_infos(), 1):
            if count > self._limits.max_members:
                raise SourceError(
                    "too-many-members",
                    f"archive has more than {self._limits.max_members:,} members; "
                    "the rest was not listed",
                )
            yield self._member(ti)

    def _member(self, ti: tarfile.TarInfo) -> Member:
        name = normalize_name(ti.name)
        mtime = float(ti.mtime) if ti.mtime else None
        if name is None:
            return Member(
                ti.name,
                "special",
                error=SourceError(
                    "path-traversal", f"member name {ti.name!r} escapes the archive; skipped"
                ),
            )
        if ti.isdir():
            return Member(name, "dir", mtime=mtime)
        if ti.issym() or ti.islnk():
            hard = ti.islnk()
            target = resolve_link(name, ti.linkname, hard=hard)
            kind = "hardlink" if hard else "symlink"
            m = Member(name, kind, mtime=mtime, link=target or "", raw_link=ti.linkname)
            if target is None:
                m.error = SourceError(
                    "link-outside-bundle",
                    f"{kind} {name} -> {ti.linkname} points outside the archive; not followed",
                )
            return m
        if ti.isreg():
            m = Member(name, "file", size=ti.size, mtime=mtime)
            try:
                m.cut_at = self._cut_at(ti)
            except SourceError as exc:
                m.error = exc
            return m
        what = {
            tarfile.CHRTYPE: "character device",
            tarfile.BLKTYPE: "block device",
            tarfile.FIFOTYPE: "fifo",
        }.get(ti.type, f"type {ti.type!r}")
        return Member(
            name,
            "special",
            mtime=mtime,
            error=SourceError("special-file", f"{what} member {name} skipped"),
        )

    def _cut_at(self, ti: tarfile.TarInfo) -> int:
        """The bytes of the member present when the archive on disk ends inside it, else -1.
        A sparse member stores only its extents: what counts is where those run out, told in
        the member's own bytes (its `size` is that of the file with its holes)."""
        extents = _extents(ti)
        if not 0 <= self._length < ti.offset_data + _stored(extents):
            return -1
        present = max(0, self._length - ti.offset_data)
        for offset, length in extents:
            if present < length:
                return offset + present
            present -= length
        return ti.size  # pragma: no cover - only when nothing is stored past the end

    def _info(self, name: str) -> tarfile.TarInfo:
        """Find a member by name, reading further headers only as far as needed."""
        while name not in self._index and not self._done:
            self._next()
        ti = self._index.get(name)
        if ti is None:
            raise SourceError("missing-member", f"member {name} is not in the archive")
        return ti

    def _open_info(self, ti: tarfile.TarInfo) -> tuple[BinaryIO, bool]:
        if not ti.isreg():
            raise SourceError("not-a-file", f"member {ti.name} is not a regular file")
        # a member's data is one run of the archive's bytes, or a sparse member's extents
        # back to back. Over a decompressed stream too, rather than `extractfile`, whose
        # reads raise when the stream ends early and drop the bytes they got: a truncated
        # upload kept no line of its last member
        if ti.issparse():
            view = SparseView(self._fh, ti.offset_data, _extents(ti), ti.size)
            return view, self._cheap  # type: ignore[return-value]
        view = BoundedView(self._fh, ti.offset_data, ti.size)
        return view, self._cheap  # type: ignore[return-value]

    def open_member(self, member: Member) -> tuple[BinaryIO, bool]:
        return self.open_name(member.name)

    def open_name(self, name: str) -> tuple[BinaryIO, bool]:
        return self._open_info(self._info(name))

    def close(self) -> None:
        self._tar.close()


def _stored(extents: list[tuple[int, int]]) -> int:
    """The bytes a member's extents take in the archive (a sparse one's holes take none)."""
    return sum(length for _, length in extents)


def _extents(ti: tarfile.TarInfo) -> list[tuple[int, int]]:
    """The data extents of a tar member: the whole of it, or a sparse member's map (GNU `S`
    headers and pax sparse 0.0, 0.1 and 1.0, as `tarfile` read them) without its empty
    entries. A map whose extents go backwards, overlap or pass the member's end is damaged:
    reading it would place the stored bytes anywhere."""
    if not ti.issparse():
        return [(0, ti.size)]
    extents = [(offset, length) for offset, length in ti.sparse or [] if length]
    end = 0
    for offset, length in extents:
        if offset < end or length < 0 or offset + length > ti.size:
            raise SourceError(
                "corrupt-tar", f"sparse member {ti.name} has a damaged map of its data; skipped"
            )
        end = offset + length
    return extents


# zip external attributes: the high 16 bits are the Unix mode when made on Unix
_ZIP_UNIX = 3


class ZipArchive(Archive):
    kind = "zip"

    def __init__(self, fh: BinaryIO, cheap: bool, limits: Limits) -> None:
        self._fh = fh
        self._cheap = cheap
        self._limits = limits
        try:
            self._zip = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
            fh.seek(0)
            if fh.read(4) == SPLIT_ZIP_FIRST:
                raise SourceError("split-zip", SPLIT_ZIP_ADVICE.format(part="first")) from None
            raise SourceError("bad-zip", f"not a readable zip archive ({exc})") from None
        self._infos = self._zip.infolist()
        self._by_name: dict[str, zipfile.ZipInfo] = {}
        self._check_overlaps()

    def _check_overlaps(self) -> None:
        """Entries sharing compressed bytes are the 'better zip bomb' (CVE-2024-0450).

        Python ≥3.11.8 refuses them when opened; we refuse the whole archive up front on every
        version, since no legitimate tool writes such a file.
        """
        ordered = sorted(self._infos, key=lambda i: i.header_offset)
        end_of_data = getattr(self._zip, "start_dir", None)
        for a, b in itertools.pairwise(ordered):
            if b.header_offset < a.header_offset + 30 + a.compress_size:
                raise SourceError(
                    "bad-zip",
                    f"overlapping entries {a.filename!r} and {b.filename!r} "
                    "(zip bomb construction); archive skipped",
                )
        if ordered and end_of_data is not None:
            last = ordered[-1]
            if last.header_offset + 30 + last.compress_size > end_of_data:
                raise SourceError(
                    "bad-zip",
                    f"entry {last.filename!r} overlaps the central directory; archive skipped",
                )

    def members(self) -> Iterator[Member]:
        for count, info in enumerate(self._infos, 1):
            if count > self._limits.max_members:
                raise SourceError(
                    "too-many-members",
                    f"archive has more than {self._limits.max_members:,} members; "
                    "the rest was not listed",
                )
            yield self._member(info)

    def _member(self, info: zipfile.ZipInfo) -> Member:
        name = normalize_name(info.filename)
        try:
            mtime: float | None = float(calendar.timegm((*info.date_time, 0, 0, 0)))
        except (ValueError, OverflowError):
            mtime = None
        if name is None:
            return Member(
                info.filename,
                "special",
                error=SourceError(
                    "path-traversal",
                    f"member name {info.filename!r} escapes the archive; skipped",
                ),
            )
        self._by_name.setdefault(name, info)
        mode = info.external_attr >> 16 if info.create_system == _ZIP_UNIX else 0
        if info.is_dir() or stat.S_ISDIR(mode):
            return Member(name, "dir", mtime=mtime)
        if stat.S_ISLNK(mode):
            raw = self._read_small(info)
            target = resolve_link(name, raw)
            m = Member(name, "symlink", mtime=mtime, link=target or "", raw_link=raw)
            if target is None:
                m.error = SourceError(
                    "link-outside-bundle",
                    f"symlink {name} -> {raw} points outside the archive; not followed",
                )
            return m
        if stat.S_IFMT(mode) and not stat.S_ISREG(mode):  # type bits 0: Python's writestr
            return Member(
                name,
                "special",
                mtime=mtime,
                error=SourceError("special-file", f"special file member {name} skipped"),
            )
        return Member(name, "file", size=info.file_size, mtime=mtime)

    def _read_small(self, info: zipfile.ZipInfo) -> str:
        try:
            with self._zip.open(info) as fh:
                return fh.read(4096).decode("utf-8", "replace")
        except Exception:
            return ""

    def _bomb_check(self, info: zipfile.ZipInfo) -> None:
        lim = self._limits
        if info.compress_type == zipfile.ZIP_STORED or info.file_size <= lim.ratio_floor_bytes:
            return
        if info.file_size > lim.max_ratio * max(info.compress_size, 1):
            raise SourceError(
                "decompression-bomb",
                f"member {info.filename} claims {info.file_size:,} bytes from "
                f"{info.compress_size:,} (more than {lim.max_ratio}x); skipped (decompression bomb)",
            )

    def _data_offset(self, info: zipfile.ZipInfo) -> int | None:
        self._fh.seek(info.header_offset)
        header = self._fh.read(30)
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            return None
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        return info.header_offset + 30 + name_len + extra_len

    def open_member(self, member: Member) -> tuple[BinaryIO, bool]:
        return self.open_name(member.name)

    def open_name(self, name: str) -> tuple[BinaryIO, bool]:
        info = self._by_name.get(name)
        if info is None:
            for cand in self._infos:
                if normalize_name(cand.filename) == name:
                    info = cand
                    break
        if info is None:
            raise SourceError("missing-member", f"member {name} is not in the archive")
        if info.flag_bits & 0x1:
            raise SourceError("encrypted", f"member {name} is encrypted; skipped")
        self._bomb_check(info)
        if self._cheap and info.compress_type == zipfile.ZIP_STORED:
            offset = self._data_offset(info)
            if offset is not None:
                return BoundedView(self._fh, offset, info.file_size), True  # type: ignore[return-value]
        try:
            return self._zip.open(info), False  # type: ignore[return-value]
        except NotImplementedError as exc:
            raise SourceError("unsupported-compression", f"member {name}: {exc}") from None
        except (zipfile.BadZipFile, RuntimeError, OSError, ValueError) as exc:
            raise SourceError("bad-zip", f"member {name} cannot be opened ({exc})") from None

    def close(self) -> None:
        self._zip.close()
