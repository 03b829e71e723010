"""Cutting the walked sources into units of work, and what each unit's result depends on.

A unit is one bundle (an archive on disk) or one loose file. Its rows are a pure function of its
own sources plus its *context*: the sources whose facts it may use. For an archive that is the
archive itself; for a loose file it is every source in the same folder, because guest logs arrive
beside the status report that names their VM (knowledge/xenserver-status-report.md §5).
The digests here decide what an incremental rerun may skip.

Archives arrive unopened (`DeferredArchive`): the worker that processes one lists it, and a
rerun skips an unchanged one without decompressing anything. Units are then grouped into packs,
the task a worker runs and the part it writes: one per archive, and runs of small loose files
from one folder together, because a part costs a fixed few milliseconds of Parquet writing that
would otherwise dominate a folder of thousands of small logs.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from triage.model import KIND_CONFIG, SourceFile
from triage.sources import DeferredArchive
from triage.sources.layouts import KDUMP_DIR_RE, STATUS_REPORT_DIR

#: bytes hashed per read when digesting inputs
_BLOCK = 4 * 1024 * 1024
#: a pack of loose files stops growing at this many bytes or units
PACK_BYTES = 16 << 20
PACK_UNITS = 512
#: a loose log this large is cut into chunks over the pool of a `--jobs N` run (batch/chunks.py)
CHUNK_SOURCE_BYTES = 64 << 20
#: archives are compressed: a pack of them stops at fewer bytes on disk
ARCHIVE_PACK_BYTES = 4 << 20
#: packs per worker at least, so that the last ones do not leave cores idle
PACKS_PER_WORKER = 4


@dataclass
class Unit:
    key: str  # the archive or loose file on disk
    sources: list[SourceFile] = field(default_factory=list)
    context: list[SourceFile] = field(default_factory=list)  # sources read for facts
    input_digest: str = ""
    context_digest: str = ""
    archive: DeferredArchive | None = None  # listed by the worker: `sources` is empty until then
    context_archives: list[DeferredArchive] = field(default_factory=list)  # unopened context
    #: (part id, entry) of the part whose rows a changed signature set is matched against,
    #: instead of reading the unit again (batch/rematch.py)
    rematch: tuple[str, dict[str, Any]] | None = None
    _size: int = -1

    @property
    def size(self) -> int:
        if self._size < 0:
            try:
                self._size = os.stat(self.key).st_size
            except OSError:
                self._size = 0
        return self._size


def disk_key(path: str) -> str:
    """How the dataset names a file on disk: by its absolute path. The path as given names its
    rows (`SourceFile.display`), but `triage scan logs/` from the case folder and `triage scan
    /cases/1234/logs` later are the same files: the second run must find them done, not add
    them to the dataset again."""
    return os.path.abspath(path)


def make_units(
    sources: list[SourceFile], archives: list[DeferredArchive] | None = None
) -> list[Unit]:
    """Group sources into units and attach each unit's context."""
    by_key: dict[str, Unit] = {}
    for a in archives or ():
        key = disk_key(a.disk_path)
        by_key[key] = Unit(key=key, archive=a, _size=a.size)
    keys = [disk_key(s.disk_path) for s in sources]
    for s, key in zip(sources, keys, strict=True):
        unit = by_key.get(key)
        if unit is None:  # a plain loose file's size on disk is the one the walk saw
            size = s.size if not s.members and s.size >= 0 else -1
            unit = by_key[key] = Unit(key=key, _size=size)
        unit.sources.append(s)
    # What a loose file may learn from its folder: the bundles beside it and the loose files
    # that state facts (config kinds). Its sibling logs are not context: each links itself to
    # a VM, so a folder of N logs costs N units of work, not N². The few files of one kdump
    # directory are: the crash the directory records is stated once, by one of them.
    by_dir: dict[str, list[SourceFile]] = defaultdict(list)
    for s, key in zip(sources, keys, strict=True):
        if s.members or s.kind == KIND_CONFIG or _in_crash_dir(key):
            by_dir[os.path.dirname(key)].append(s)
    archives_by_dir: dict[str, list[DeferredArchive]] = defaultdict(list)
    for a in archives or ():
        archives_by_dir[os.path.dirname(disk_key(a.disk_path))].append(a)
    unpacked = _unpacked_bundles(sources, keys)
    for u in by_key.values():
        if u.archive is not None or any(s.members for s in u.sources):
            u.context = u.sources
        else:
            up = _folders_up(u.key)
            u.context = u.sources + [
                s for d in up for s in by_dir.get(d, ()) if disk_key(s.disk_path) != u.key
            ]
            if unpacked:
                u.context += _beside(u, up, unpacked)
            u.context_archives = [a for d in up for a in archives_by_dir.get(d, ())]
    return [by_key[k] for k in sorted(by_key)]


def _beside(
    u: Unit, up: list[str], unpacked: dict[str, list[tuple[str, list[SourceFile]]]]
) -> list[SourceFile]:
    """The files of the bundles unpacked in the unit's folder or above it, but its own (a
    file of the bundle keeps the context it had) and those it has already."""
    have = {id(c) for c in u.context}
    return [
        s
        for d in up
        for root, files in unpacked.get(d, ())
        if not u.key.startswith(root)  # (a file of the bundle: by folders, as ever)
        for s in files
        if id(s) not in have
    ]


#: the folder of a support bundle unpacked on disk: a status report's or a sosreport's
_UNPACKED_ROOT = re.compile(r"/(?:" + STATUS_REPORT_DIR + r"|sosreport-[^/]+/)")


def _unpacked_bundles(
    sources: list[SourceFile], keys: list[str]
) -> dict[str, list[tuple[str, list[SourceFile]]]]:
    """Per folder, the support bundles unpacked in it (`case/bug-report-<ts>/…`): (root, its
    files). To a loose file beside one (a guest's console log) it is the context its packed
    form would be: the VM it links to and the host's facts are in it."""
    roots: dict[str, list[SourceFile]] = defaultdict(list)
    for s, key in zip(sources, keys, strict=True):
        m = None if s.members else _UNPACKED_ROOT.search(key)
        if m is not None:
            roots[key[: m.end()]].append(s)
    out: dict[str, list[tuple[str, list[SourceFile]]]] = defaultdict(list)
    for root, files in roots.items():
        out[os.path.dirname(root.rstrip("/"))].append((root, files))
    return out


def _in_crash_dir(path: str) -> bool:
    return "/crash/" in path and KDUMP_DIR_RE.search(path) is not None


def make_packs(units: list[Unit], workers: int = 1) -> list[list[Unit]]:
    """Group units into the tasks workers run (each writes one part), biggest first.

    Archives share packs with archives; loose files with the loose files of their folder that
    have the same context. A pack is bounded in bytes (on disk) and units, and small enough that
    there are a few per worker, so that none is left idle at the end. Fewer, fuller tasks spare
    a Parquet write per table per unit, and a round trip per unit to a cluster's scheduler.

    A group is cut into packs of about equal size, as many as the bounds need rounded up to a
    multiple of `workers`: filling packs to the bound one after the other left a small last
    pack, and with it a round in which one worker had a full pack and the other next to none
    (200 sosreports on 2 workers: 11 packs of 18 and one of 2, and 5 s of one core idle).
    """
    per = max(1, workers * PACKS_PER_WORKER)
    archives = [u for u in units if _is_archive(u)]
    loose = [u for u in units if not _is_archive(u)]
    packs: list[list[Unit]] = []
    for kind, limit in ((archives, ARCHIVE_PACK_BYTES), (loose, PACK_BYTES)):
        cap = max(1 << 20, min(limit, sum(u.size for u in kind) // per))
        count_cap = max(1, min(PACK_UNITS, len(kind) // per))
        groups: dict[tuple[str, ...], list[Unit]] = {}
        for u in kind:
            group = () if kind is archives else (os.path.dirname(u.key), *context_files(u))
            groups.setdefault(group, []).append(u)
        for members in groups.values():
            packs.extend(_even_packs(members, cap, count_cap, workers))
    packs.sort(key=lambda p: -sum(u.size for u in p))
    return packs


def _even_packs(units: list[Unit], cap: int, count_cap: int, workers: int) -> list[list[Unit]]:
    """`units`, in order, cut into packs of about equal bytes within both bounds."""
    sizes = [max(u.size, 1) for u in units]
    total = sum(sizes)
    # a share can overshoot its even part by one unit: leave room for it under each bound
    byte_room, unit_room = cap - max(sizes), count_cap - 1
    n = max(
        -(-total // byte_room) if byte_room > 0 else len(units),
        -(-len(units) // unit_room) if unit_room > 0 else len(units),
        1,
    )
    if n > 1:
        n = min(len(units), -(-n // workers) * workers)
    shares: list[list[tuple[Unit, int]]] = [[] for _ in range(n)]
    done = 0
    for u, size in zip(units, sizes, strict=True):
        # the pack whose share of the bytes this unit's middle falls in
        shares[min(n - 1, (2 * done + size) * n // (2 * total))].append((u, size))
        done += size
    # uneven sizes can crowd a share past a bound: such a share is filled pack by pack
    packs: list[list[Unit]] = []
    for share in shares:
        pack: list[Unit] = []
        bytes_in = 0
        for u, size in share:
            if pack and (bytes_in + size > cap or len(pack) >= count_cap):
                packs.append(pack)
                pack, bytes_in = [], 0
            pack.append(u)
            bytes_in += size
        if pack:
            packs.append(pack)
    return packs


def _is_archive(u: Unit) -> bool:
    return u.archive is not None or any(s.members for s in u.sources)


def _folders_up(path: str) -> tuple[str, ...]:
    """The folders holding `path`, nearest first: a case folder's status report speaks for the
    guest logs in its subfolders too (samples/case-xs01/rhel45vm/messages)."""
    return _folders_from(os.path.dirname(path))


@lru_cache(maxsize=4096)
def _folders_from(folder: str) -> tuple[str, ...]:
    """`folder` and the folders holding it, nearest first (the same for every file in it)."""
    out, d = [], folder
    while d and d not in out:
        out.append(d)
        d = os.path.dirname(d)
    return tuple(out)


def file_digest(
    path: str, cache: dict[str, tuple[int, int, str]] | None = None, trust: bool = True
) -> str:
    """sha256 of a file, reusing a cached value while size and mtime are unchanged (unless
    `trust` is off: a forced run reads everything again)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return f"unreadable:{exc.errno}"
    if cache is not None and trust:
        hit = cache.get(path)
        if hit and hit[0] == st.st_size and hit[1] == st.st_mtime_ns:
            return hit[2]
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while block := fh.read(_BLOCK):
                h.update(block)
    except OSError as exc:
        return f"unreadable:{exc.errno}"
    digest = h.hexdigest()
    if cache is not None:
        cache[path] = (st.st_size, st.st_mtime_ns, digest)
    return digest


def context_files(u: Unit) -> list[str]:
    """The files on disk besides the unit's own whose content its rows depend on. The unit's
    own sources are on disk as its own file (`make_units` keys them so): their paths are not
    made absolute again, once per unit of ten thousand loose logs, each of them its own
    context."""
    mine = {id(s) for s in u.sources}
    paths = [s.disk_path for s in u.context if id(s) not in mine]
    paths += [a.disk_path for a in u.context_archives]
    return sorted({disk_key(p) for p in paths} - {u.key})


def digest_units(
    units: list[Unit],
    cache: dict[str, tuple[int, int, str]],
    trust: bool = True,
    wanted: Callable[[Unit], bool] | None = None,
) -> None:
    """Fill the input and context digests of the units `wanted` now (all by default).

    Only a unit the dataset already holds needs its digests before it runs (to see whether it
    changed); the others are left "" and their worker takes the digest while it reads the file
    anyway (`take_digests`), instead of the caller reading every byte once more, serially.
    Untrusted (`--force`), each unit's own file is read again; the fresh digests then serve the
    context digests (every context file is some unit's own file).
    """
    need = [u for u in units if wanted is None or wanted(u)]
    for u in need:
        u.input_digest = file_digest(u.key, cache, trust)
    for u in need:
        u.context_digest = context_digest(u, cache)


def context_digest(u: Unit, cache: dict[str, tuple[int, int, str]] | None = None) -> str:
    """The unit's own digest and its context files' digests, as one."""
    h = hashlib.sha256(u.input_digest.encode())
    for f in context_files(u):
        h.update(f.encode() + b"\0" + file_digest(f, cache).encode())
    return h.hexdigest()


def take_digests(u: Unit, read_sha256: str) -> None:
    """Digests for a unit whose caller left them to the worker: the sha256 its pipeline took
    while reading the unit's one plain file (`read_sha256`, "" when it is not that), else a
    read of the file."""
    u.input_digest = read_sha256 or file_digest(u.key)
    u.context_digest = context_digest(u)
