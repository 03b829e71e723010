"""`walk`: every input path → `SourceFile` locators (kind, layout, role…) and `ErrorRecord`s.

One container (a folder the user named, or an archive) is listed completely before anything is
yielded, because a file's role depends on markers that may come later in a tar stream
(`sos_commands/` after `var/log/`), and rotated sets are ordered as a group. Only a small
`Analysis` of each file's head is kept while listing, so memory stays bounded by the member
count (`Limits.max_members`), not by the data.

Order: inputs sorted; inside a container by directory, then by file name with each rotated set
kept together **oldest first** (messages-20240101.gz, messages-20240108, messages), so a reader
that follows the walk sees a host's log in time order.
"""

from __future__ import annotations

import contextlib
import io
import os
import posixpath
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

from triage.limits import Limits
from triage.model import ErrorRecord, SourceFile
from triage.sources import kept
from triage.sources import layouts as L
from triage.sources.archives import Archive, Member
from triage.sources.containers import Layer, open_archive, probe
from triage.sources.detect import Analysis, analyze
from triage.sources.errors import DecompressionBomb, SourceError, make_error
from triage.sources.listing import Container, DeferredArchive, Item, Output, display, finalize
from triage.sources.magic import SPLIT_ZIP_ADVICE, ends_a_split_zip

if TYPE_CHECKING:
    from concurrent.futures import Executor


MANIFEST_CAP = 16 * 1024 * 1024
#: a nested archive whose first bytes equal an enclosing archive's is a copy of itself
SELF_COPY_MIN = 512
#: what the tar reader says when the decompressor below it already explained the damage
_ECHOES = frozenset({"truncated-archive", "corrupt-tar", "corrupt-archive"})


@dataclass(frozen=True)
class _Ancestor:
    raw_head: bytes
    head: bytes


# =============================================================================================
# entry point
# =============================================================================================
#: archives a deferring walk may take as such without opening them: path → (size, mtime_ns)
Known = dict[str, tuple[int, int]]


@dataclass(frozen=True)
class KnownHead:
    """What a walk read from the head of a file it listed as a log or text (not an archive, not
    an error): enough to list it again without opening it while its size and mtime hold."""

    size: int
    mtime_ns: int
    compressed: bool  # a single-file .gz/.bz2/.xz/.zst: `analysis` is of what it inflates to
    analysis: Analysis


@dataclass
class Heads:
    """The heads a walk may take as read (`known`, by absolute path) and those of every such
    file it listed (`seen`), for the next walk. Reading and classifying the head of each file
    was nearly all of the rerun of an unchanged folder of ten thousand small logs."""

    known: dict[str, KnownHead] = field(default_factory=dict)
    seen: dict[str, KnownHead] = field(default_factory=dict)

    def take(self, path: str, st: os.stat_result) -> KnownHead | None:
        """The head of `path` as last read, if its size and mtime are unchanged (and noted
        as seen again)."""
        key = os.path.abspath(path)
        head = self.known.get(key)
        if head is None or head.size != st.st_size or head.mtime_ns != st.st_mtime_ns:
            return None
        self.seen[key] = head
        return head

    def note(self, path: str, size: int, mtime_ns: int, item: Item) -> None:
        if item.type == "file" and item.analysis is not None and not (item.error or item.cut):
            head = KnownHead(size, mtime_ns, bool(item.members), item.analysis)
            self.seen[os.path.abspath(path)] = head


def distinct_inputs(paths: list[str]) -> list[str]:
    """The inputs, each once: a path spelled another way (`case/../case/.`, a trailing slash,
    a link to it) or lying inside a folder also given is the same files again, whose rows
    would be counted twice (one that does not exist is kept, to be said missing). Kept as the user spelled them first, tidied (`os.path.normpath`)."""
    named: dict[str, str] = {}
    for path in paths:
        tidy = os.path.normpath(path) if path else path
        named.setdefault(os.path.realpath(tidy), tidy)
    folders = [real.rstrip(os.sep) + os.sep for real in named if os.path.isdir(real)]
    return [
        tidy
        for real, tidy in named.items()
        if not (
            os.path.lexists(real)
            and any(real.startswith(f) and f != real + os.sep for f in folders)
        )
    ]


def walk_paths(
    paths: list[str],
    limits: Limits,
    defer_archives: bool = False,
    known: Known | None = None,
    executor: Executor | None = None,
    heads: Heads | None = None,
) -> Iterator[Output]:
    """`known` (with `defer_archives`) names files that were archives when last seen; while
    their size and mtime are unchanged they are deferred without even a probe of their head.
    With an `executor` (a process pool), the files of a large folder are probed by it. With
    `heads`, unchanged files it knows are not read, and every file read is noted in it."""
    for path in sorted(paths):
        try:
            yield from _walk_input(
                path, limits, (known or {}) if defer_archives else None, executor, heads
            )
        except Exception as exc:  # last line of defence: one bad input never stops the walk
            yield make_error(path, "internal-error", f"could not walk: {type(exc).__name__}: {exc}")


def walk_archive(
    disk_path: str, top_name: str, limits: Limits, keep: bool = False
) -> list[SourceFile | ErrorRecord]:
    """The sources and errors of one archive on disk, as a full walk lists them. `keep`: the
    members a compressed archive inflates as it is listed are kept for the reads to come
    (kept.py; the caller forgets them)."""
    try:
        with open(disk_path, "rb") as fh:
            layer = probe(fh, True, limits, disk_path)
            if layer.what != "archive":  # replaced since it was listed: walk it as it is now
                return list(_walk_input(disk_path, limits))  # type: ignore[arg-type]
            st = os.fstat(fh.fileno()) if keep else None
            return _walk_archive(layer, disk_path, (), disk_path, top_name, limits, (), st)  # type: ignore[return-value]
    except SourceError as exc:
        return [exc.record(disk_path)]
    except OSError as exc:
        return [make_error(disk_path, "unreadable", exc.strerror or str(exc))]
    except Exception as exc:  # as in walk_paths: one bad archive never stops the run
        return [
            make_error(disk_path, "internal-error", f"could not walk: {type(exc).__name__}: {exc}")
        ]


def _walk_input(
    path: str,
    limits: Limits,
    defer: Known | None = None,
    executor: Executor | None = None,
    heads: Heads | None = None,
) -> Iterator[Output]:
    """`defer`: None, or the known archives (possibly none) of a deferring walk."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            yield make_error(path, "broken-link", "symbolic link to a missing file")
        else:
            yield make_error(path, "missing", "no such file or directory")
        return
    except OSError as exc:
        yield make_error(path, "unreadable", exc.strerror or str(exc))
        return
    if stat.S_ISDIR(st.st_mode):
        yield from _walk_folder(path, limits, defer, executor, heads)
    elif stat.S_ISREG(st.st_mode):
        yield from _walk_loose_file(path, st, limits, defer, heads)
    else:
        yield make_error(path, "special-file", "not a regular file or folder; skipped")


# =============================================================================================
# loose files and folders
# =============================================================================================
def _walk_loose_file(
    path: str,
    st: os.stat_result,
    limits: Limits,
    defer: Known | None = None,
    heads: Heads | None = None,
) -> list[Output]:
    """A file named directly: an archive is its own bundle; anything else is a one-file bundle
    whose full path still counts for layout (a loose `/var/crash/<ip>-<date>/vmcore-dmesg.txt`
    is recognised as a kdump file)."""
    if _known_archive(defer, path, st):
        return [DeferredArchive(path, os.path.basename(path), st.st_size, st.st_mtime)]
    name = os.path.abspath(path).lstrip(os.sep).replace(os.sep, "/")
    known = heads.take(path, st) if heads is not None else None
    if known is not None:
        item = _known_item(known, name, path, st)
    else:
        read = _read_loose_file(path, st, limits, defer, name)
        if not isinstance(read, Item):
            return read
        item = read
        if heads is not None:
            heads.note(path, st.st_size, st.st_mtime_ns, item)
    c = Container(bundle=path, top_name=path, default_layout=L.LAYOUT_FILE, items=[item])
    return finalize(c, loose_path=path)


def _read_loose_file(
    path: str, st: os.stat_result, limits: Limits, defer: Known | None, name: str
) -> Item | list[Output]:
    """The item of a file named directly, from its head; what to yield instead when it is an
    archive or cannot be read."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        return [make_error(path, "unreadable", exc.strerror or str(exc))]
    with fh:
        try:
            layer = probe(fh, True, limits, path)
            if layer.what == "archive":
                if defer is not None:
                    return [DeferredArchive(path, os.path.basename(path), st.st_size, st.st_mtime)]
                return _walk_archive(layer, path, (), path, os.path.basename(path), limits, ())
            layer.note_declared_size(fh, st.st_size)
        except SourceError as exc:
            return [exc.record(path)]
        except OSError as exc:
            return [make_error(path, "unreadable", exc.strerror or str(exc))]
        return _file_item(layer, name, path, path, (), st.st_size, st.st_mtime, limits)


def _file_item(
    layer: Layer,
    name: str,
    shown: str,
    disk_path: str,
    chain: tuple[str, ...],
    size: int,
    mtime: float | None,
    limits: Limits,
) -> Item:
    """An item for a plain or single-file-compressed stream; bombs become error items."""
    if layer.what == "compressed":
        if len(chain) + 1 > limits.max_depth:  # the inflated stream is one member deeper
            return Item(name, "error", error=_depth_error(shown, limits))
        bomb = _declared_bomb(layer, size, limits) and _confirm_bomb(layer, limits)
        if bomb:
            return Item(name, "error", error=make_error(shown, "decompression-bomb", bomb))
    if _split_zip_end(layer, name, size):
        advice = SPLIT_ZIP_ADVICE.format(part="last")
        return Item(name, "error", error=make_error(shown, "split-zip", advice))
    item = _text_item(
        name, disk_path, chain, layer.what == "compressed", size, mtime, analyze(layer.head)
    )
    cut = layer.cut or next((s.error for s in layer.streams if s.error), None)
    if layer.what == "compressed" and cut is not None:
        if not layer.head:
            # cut before its first whole block (a bzip2 block is up to 900 kB): no byte to
            # read, so no read will say why. Said here, with the source's row (else left
            # unexplained)
            item.error = make_error(shown, *cut)
        else:  # all of it inflated with the head: said if its kind is one no read takes
            item.cut = make_error(shown, *cut)
    return item


def _split_zip_end(layer: Layer, name: str, size: int) -> bool:
    """A `.zip` that is not one at its head may be the last part of a split zip."""
    plain_zip = layer.what == "plain" and name.lower().endswith(".zip") and layer.cheap
    return plain_zip and ends_a_split_zip(layer.fh, size)


def _text_item(
    name: str,
    disk_path: str,
    chain: tuple[str, ...],
    compressed: bool,
    size: int,
    mtime: float | None,
    analysis: Analysis,
) -> Item:
    """The item of a readable file: a single-file compressed one is one more member ("") deep,
    its inflated size unknown."""
    if compressed:
        return Item(name, "file", disk_path, (*chain, ""), -1, mtime, analysis)
    return Item(name, "file", disk_path, chain, size, mtime, analysis)


def _known_item(head: KnownHead, name: str, disk_path: str, st: os.stat_result) -> Item:
    """The item `_file_item` made of this file when its head was read."""
    return _text_item(name, disk_path, (), head.compressed, st.st_size, st.st_mtime, head.analysis)


def _declared_bomb(layer: Layer, compressed_size: int, limits: Limits) -> str:
    """A bomb announced by the stream's own size field (gzip ISIZE, zstd frame content size),
    so the walk reports it without inflating anything. ISIZE is modulo 4 GiB, so this only
    catches the small bombs; the ratio check while reading catches the rest."""
    declared = layer.declared_size
    if declared <= 0 or compressed_size <= 0:
        return ""
    if declared > limits.ratio_floor_bytes and declared > limits.max_ratio * compressed_size:
        return (
            f"{layer.compression} stream declares {declared:,} bytes from {compressed_size:,} "
            f"(more than {limits.max_ratio}x); skipped (decompression bomb)"
        )
    return ""


def _confirm_bomb(layer: Layer, limits: Limits) -> str:
    """Inflate up to the ratio floor to check a declared size: the 4-byte gzip trailer of a
    truncated upload is arbitrary data, and must not get a log reported as a bomb."""
    try:
        budget = limits.ratio_floor_bytes + (1 << 20)
        while budget > 0:
            chunk = layer.fh.read(min(budget, 1 << 20))
            if not chunk:
                return ""
            budget -= len(chunk)
        return ""
    except DecompressionBomb as exc:
        return exc.message
    finally:
        layer.fh.seek(0)


def _walk_folder(
    root: str,
    limits: Limits,
    defer: Known | None = None,
    executor: Executor | None = None,
    heads: Heads | None = None,
) -> list[Output]:
    root = root.rstrip(os.sep) or os.sep
    root_real = os.path.realpath(root)
    c = Container(bundle=root, top_name=root, default_layout=L.LAYOUT_FOLDER)
    probes: list[_Probe] = []  # regular files, probed once the tree is listed
    count = 0
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        abs_dir = os.path.join(root, rel_dir) if rel_dir else root
        try:
            with os.scandir(abs_dir) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            c.errors.append(make_error(abs_dir, "unreadable", exc.strerror or str(exc)))
            continue
        subdirs = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            count += 1
            if count > limits.max_members:
                c.errors.append(
                    make_error(
                        root,
                        "too-many-members",
                        f"more than {limits.max_members:,} entries; the rest was not listed",
                    )
                )
                _probe_all(c, probes, limits, defer, executor, heads)
                return finalize(c)
            item = _folder_entry(entry, rel, root, root_real, c, subdirs, limits, defer, heads)
            if isinstance(item, _Probe):
                item.slot = len(c.items)
                probes.append(item)
                c.items.append(Item(rel, "error"))  # its place, filled by `_probe_all`
            elif item is not None:
                c.items.append(item)
        stack.extend(reversed(subdirs))
    _probe_all(c, probes, limits, defer, executor, heads)
    return finalize(c)


@dataclass
class _Probe:
    """A regular file of a folder whose head is still to be read: where it is, its place among
    the folder's items, and its stat."""

    path: str  # the root joined with `rel`: how archives found here are named
    disk: str  # the path the folder listing gave (the same file)
    rel: str
    shown: str
    name: str
    size: int
    mtime: float
    mtime_ns: int
    slot: int = -1


#: files per probing task, and the fewest files worth sending to a pool at all
PROBE_BATCH = 256


def _probe_all(
    c: Container,
    probes: list[_Probe],
    limits: Limits,
    defer: Known | None,
    executor: Executor | None,
    heads: Heads | None = None,
) -> None:
    """Read the heads of the folder's regular files (archive or not, format): in the caller,
    or, for a large folder and a pool at hand, in the pool (and in the caller while the pool
    starts) — a tenth of a millisecond a file that would otherwise keep every worker waiting
    for the walk of ten thousand files. An executor's `after_probes`, if it has one, is called
    once the heads it is to read are queued (or at once, when it reads none here)."""
    deferring = defer is not None
    # the pool's owner may have work of its own for it, which is to go behind the heads it reads
    after = getattr(executor, "after_probes", None)
    if executor is None or len(probes) < 2 * PROBE_BATCH:
        if callable(after):
            after()  # none for the pool here
        items = [_probe_file(p, limits, deferring) for p in probes]
    else:
        batches = [probes[i : i + PROBE_BATCH] for i in range(0, len(probes), PROBE_BATCH)]
        futures = [executor.submit(_probe_files, b, limits, deferring) for b in batches]
        if callable(after):
            after()
        done: dict[int, list[Item]] = {}
        # the caller takes batches from the far end only until the pool has read its first
        # (its workers may still be starting: spawned ones import the walk first), then waits.
        # Reading on beside two busy workers on two cores, it slowed them and itself: it also
        # feeds the pool and unpickles what it reads (10,000 small logs at -j 2, two rounds of
        # five: the whole ingest took 1-12 % more CPU and 1-10 % more wall time, medians)
        for i in range(len(batches) - 1, 0, -1):
            if futures[0].done() or not futures[i].cancel():
                break
            done[i] = _probe_files(batches[i], limits, deferring)
        items = [
            item for i, f in enumerate(futures) for item in (done[i] if i in done else f.result())
        ]
    for p, item in zip(probes, items, strict=True):
        c.items[p.slot] = item
        if heads is not None:
            heads.note(p.path, p.size, p.mtime_ns, item)


def _probe_files(probes: list[_Probe], limits: Limits, deferring: bool) -> list[Item]:
    return [_probe_file(p, limits, deferring) for p in probes]


def _probe_file(p: _Probe, limits: Limits, deferring: bool) -> Item:
    """The item of one regular file of a folder, from its head."""
    try:
        with open(p.disk, "rb") as fh:
            layer = probe(fh, True, limits, p.shown)
            if layer.what == "archive":
                if deferring:
                    deferred = DeferredArchive(p.path, p.name, p.size, p.mtime)
                    return Item(p.rel, "nested", nested=[deferred])
                nested = _walk_archive(layer, p.path, (), p.path, p.name, limits, ())
                return Item(p.rel, "nested", nested=nested)
            layer.note_declared_size(fh, p.size)
            return _file_item(layer, p.rel, p.shown, p.disk, (), p.size, p.mtime, limits)
    except SourceError as exc:
        return Item(p.rel, "error", error=exc.record(p.shown))
    except OSError as exc:
        return Item(
            p.rel, "error", error=make_error(p.shown, "unreadable", exc.strerror or str(exc))
        )


def _folder_entry(
    entry: os.DirEntry[str],
    rel: str,
    root: str,
    root_real: str,
    c: Container,
    subdirs: list[str],
    limits: Limits,
    defer: Known | None = None,
    heads: Heads | None = None,
) -> Item | _Probe | None:
    """The item of one folder entry; a regular file's head is read later (`_probe_all`)."""
    shown = posixpath.join(root, rel)  # a file on disk: named by its path
    try:
        if entry.is_symlink():
            target = os.path.realpath(entry.path)
            if not os.path.exists(target):
                return Item(
                    rel,
                    "error",
                    error=make_error(shown, "broken-link", "symbolic link to a missing file"),
                )
            if os.path.commonpath([target, root_real]) != root_real:
                return Item(
                    rel,
                    "error",
                    error=make_error(
                        shown,
                        "link-outside-bundle",
                        f"symbolic link to {os.readlink(entry.path)} leaves the folder; not followed",
                    ),
                )
            if os.path.isdir(target):
                return None  # its contents are walked at their real place
            return Item(rel, "link", link=os.path.relpath(target, root_real).replace(os.sep, "/"))
        if entry.is_dir(follow_symlinks=False):
            c.dirs.add(rel + "/")
            subdirs.append(rel)
            return None
        if not entry.is_file(follow_symlinks=False):
            return Item(
                rel, "error", error=make_error(shown, "special-file", "not a regular file; skipped")
            )
        st = entry.stat(follow_symlinks=False)
        path = os.path.join(root, rel)
        if _known_archive(defer, path, st):
            return Item(
                rel, "nested", nested=[DeferredArchive(path, entry.name, st.st_size, st.st_mtime)]
            )
        known = heads.take(path, st) if heads is not None else None
        if known is not None:
            return _known_item(known, rel, entry.path, st)
        return _Probe(
            path, entry.path, rel, shown, entry.name, st.st_size, st.st_mtime, st.st_mtime_ns
        )
    except SourceError as exc:
        return Item(rel, "error", error=exc.record(shown))
    except OSError as exc:
        return Item(rel, "error", error=make_error(shown, "unreadable", exc.strerror or str(exc)))


def _known_archive(defer: Known | None, path: str, st: os.stat_result) -> bool:
    """Is this the archive the dataset already holds (`defer`: stat by absolute path)?"""
    if not defer:
        return False
    return defer.get(os.path.abspath(path)) == (st.st_size, st.st_mtime_ns)


# =============================================================================================
# archives
# =============================================================================================
def _walk_archive(
    layer: Layer,
    disk_path: str,
    chain: tuple[str, ...],
    bundle: str,
    top_name: str,
    limits: Limits,
    ancestors: tuple[_Ancestor, ...],
    keep: os.stat_result | None = None,
) -> list[Output]:
    """List one archive (and, recursively, the archives inside it) as its own bundle."""
    c = Container(bundle=bundle, top_name=top_name, default_layout=L.LAYOUT_ARCHIVE, keep=keep)
    ancestors = (*ancestors, _Ancestor(layer.raw_head, layer.head))
    try:
        arch = open_archive(layer, limits)
    except SourceError as exc:
        return [exc.record(bundle)]
    try:
        _list_members(arch, layer, c, disk_path, chain, limits, ancestors)
    except DecompressionBomb as exc:
        c.errors.append(exc.record(bundle))
    except SourceError as exc:
        c.errors.append(exc.record(bundle))
    except (OSError, EOFError, ValueError) as exc:
        c.errors.append(make_error(bundle, "corrupt-archive", f"archive is damaged ({exc})"))
    finally:
        arch.close()
    if any(it.error is not None and it.error.error_class == "truncated-archive" for it in c.items):
        c.errors = [e for e in c.errors if e.error_class not in _ECHOES]
    for stream in layer.streams:
        if stream.error:
            cls, msg = stream.error
            c.errors = [e for e in c.errors if e.error_class not in _ECHOES]
            c.errors.append(make_error(bundle, cls, msg + "; members listed up to there"))
    if not c.items and not c.errors:  # said, or the input leaves no trace in the dataset
        c.errors.append(make_error(bundle, "empty-archive", "the archive holds no file"))
    return finalize(c)


def _list_members(
    arch: Archive,
    layer: Layer,
    c: Container,
    disk_path: str,
    chain: tuple[str, ...],
    limits: Limits,
    ancestors: tuple[_Ancestor, ...],
) -> None:
    last: Item | None = None
    try:
        for m in arch.members():
            last = _list_member(arch, m, layer, c, disk_path, chain, limits, ancestors)
    except DecompressionBomb as exc:
        # the bomb went off while skipping past the last member listed: that member is it
        if last is not None and last.type == "file" and last in c.items:
            c.items.remove(last)
            raise DecompressionBomb(f"{last.name}: {exc.message}") from None
        raise


def _list_member(
    arch: Archive,
    m: Member,
    layer: Layer,
    c: Container,
    disk_path: str,
    chain: tuple[str, ...],
    limits: Limits,
    ancestors: tuple[_Ancestor, ...],
) -> Item:
    """Record one member in `c` and return its item."""
    shown = display(c.bundle, m.name)
    if m.error is not None:
        item = Item(m.name, "error", error=m.error.record(shown))
    elif m.type == "dir":
        c.dirs.add(m.name + "/")
        return Item(m.name, "dir")
    elif m.type in ("symlink", "hardlink"):
        item = Item(m.name, "link", link=m.link, mtime=m.mtime)
    else:
        if layer.streams and layer.streams[0].tell() > limits.max_total_bytes:
            raise SourceError(
                "limit-total-bytes",
                f"more than {limits.max_total_bytes:,} bytes decompressed; the rest was not listed",
            )
        try:
            item = _member_item(arch, m, c, disk_path, chain, limits, ancestors)
        except DecompressionBomb:
            raise
        except SourceError as exc:
            item = Item(m.name, "error", error=exc.record(shown))
        except tarfile.ReadError as exc:  # the archive itself ends inside this member
            raise SourceError(
                "truncated-archive", f"archive ends inside {m.name} ({exc})"
            ) from None
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
            item = Item(m.name, "error", error=make_error(shown, "corrupt-member", str(exc)))
    c.items.append(item)
    return item


def _member_item(
    arch: Archive,
    m: Member,
    c: Container,
    disk_path: str,
    chain: tuple[str, ...],
    limits: Limits,
    ancestors: tuple[_Ancestor, ...],
) -> Item:
    fh, cheap = arch.open_member(m)
    with contextlib.ExitStack() as held:  # a member kept on disk: read from there, then closed
        if c.keep is not None and not cheap and kept.room_on_disk(m.size):
            on_disk = _kept_member_on_disk(fh, m, disk_path, c.keep, (*chain, m.name))
            if on_disk is not None:
                fh = held.enter_context(on_disk)
        elif c.keep is not None and not cheap and kept.room_for(m.size):
            fh = _kept_member(fh, m, disk_path, c.keep, (*chain, m.name))
        shown = display(c.bundle, m.name)
        if m.name.endswith("sos_reports/manifest.json"):
            c.manifest = fh.read(MANIFEST_CAP)
            fh.seek(0)
        layer = probe(fh, cheap, limits, shown)
        if layer.what == "archive":
            members = (*chain, m.name)
            if len(members) + 1 > limits.max_depth:  # its members would be one level deeper
                return Item(m.name, "error", error=_depth_error(shown, limits))
            if _copies_ancestor(layer, ancestors):
                return Item(
                    m.name,
                    "error",
                    error=make_error(
                        shown,
                        "archive-contains-itself",
                        "nested archive is a copy of an archive that contains it; not opened",
                    ),
                )
            base = m.name.rsplit("/", 1)[-1]
            nested = _walk_archive(
                layer, disk_path, members, shown, base, limits, ancestors, c.keep
            )
            return Item(m.name, "nested", nested=nested)
        if cheap:
            layer.note_declared_size(fh, m.size)
        item = _file_item(
            layer, m.name, shown, disk_path, (*chain, m.name), m.size, m.mtime, limits
        )
        if m.cut_at >= 0 and item.type == "file":
            item.error = make_error(
                shown,
                "truncated-archive",
                f"the archive ends inside this member: {m.cut_at:,} of {m.size:,} bytes present",
            )
        return item


def _kept_member(
    fh: BinaryIO, m: Member, disk_path: str, st: os.stat_result, members: tuple[str, ...]
) -> BinaryIO:
    """The member read whole from the inflating stream the listing passes it in anyway, kept
    for the reads to come (kept.py), and read from memory here. A member the archive cuts
    short, or whose inflating trips the bomb check, is not kept: it is listed from its stream
    as before, where the damage or the bomb is met and reported as it was."""
    try:
        data = fh.read(m.size)
    except Exception:  # met again, and reported, by the listing as before
        data = b""
    if len(data) != m.size:
        fh.seek(0)
        return fh
    kept.keep(kept.key_of(disk_path, st, members), data)
    return io.BytesIO(data)


def _kept_member_on_disk(
    fh: BinaryIO, m: Member, disk_path: str, st: os.stat_result, members: tuple[str, ...]
) -> BinaryIO | None:
    """`_kept_member` for a member too large to hold: copied, as the listing inflates it, into
    a temporary file kept for the reads to come (kept.py), and read from there here. None, the
    stream rewound, when the member is cut short, trips the bomb check or is not kept."""
    import tempfile

    key = kept.key_of(disk_path, st, members)
    tmp = tempfile.TemporaryFile(prefix="triage-member-")  # noqa: SIM115 - kept.py closes it
    copied = 0
    try:
        while copied < m.size:
            chunk = fh.read(min(_COPY_CHUNK, m.size - copied))
            if not chunk:
                break
            tmp.write(chunk)
            copied += len(chunk)
        tmp.flush()
    except Exception:  # met again, and reported, by the listing as before
        copied = -1
    if copied != m.size or not kept.keep_file(key, tmp, copied):  # type: ignore[arg-type]
        tmp.close()
        fh.seek(0)
        return None
    return kept.open_file(key)


#: bytes copied at a time into a member's temporary file
_COPY_CHUNK = 1 << 20


def _depth_error(shown: str, limits: Limits) -> ErrorRecord:
    return make_error(
        shown,
        "max-depth",
        f"archives nested more than {limits.max_depth} deep; not opened",
    )


def _copies_ancestor(layer: Layer, ancestors: tuple[_Ancestor, ...]) -> bool:
    for anc in ancestors:
        for mine in (layer.raw_head, layer.head):
            for theirs in (anc.raw_head, anc.head):
                n = min(len(mine), len(theirs))
                if n >= SELF_COPY_MIN and mine[:n] == theirs[:n]:
                    return True
    return False


__all__ = ["Heads", "KnownHead", "walk_archive", "walk_paths"]
