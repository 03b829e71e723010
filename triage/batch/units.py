"""Cutting the walked sources into units of work, and what each unit's result depends on.

A unit is one bundle (an archive on disk) or one loose file. Its rows are a pure function of its
own sources plus its *context*: the sources whose facts it may use. For an archive that is the
archive itself; for a loose file it is every source in the same folder, because guest logs arrive
beside the status report that names their VM (knowledge/xenserver-status-report.md §5).
The digests here decide what an incremental rerun may skip.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from dataclasses import dataclass, field

from triage.model import KIND_CONFIG, SourceFile

#: bytes hashed per read when digesting inputs
_BLOCK = 4 * 1024 * 1024


@dataclass
class Unit:
    key: str  # the archive or loose file on disk
    sources: list[SourceFile] = field(default_factory=list)
    context: list[SourceFile] = field(default_factory=list)  # sources read for facts
    input_digest: str = ""
    context_digest: str = ""

    @property
    def size(self) -> int:
        try:
            return os.stat(self.key).st_size
        except OSError:
            return 0


def make_units(sources: list[SourceFile]) -> list[Unit]:
    """Group sources into units and attach each unit's context."""
    by_key: dict[str, Unit] = {}
    for s in sources:
        by_key.setdefault(s.disk_path, Unit(key=s.disk_path)).sources.append(s)
    # What a loose file may learn from its folder: the bundles beside it and the loose files
    # that state facts (config kinds). Its sibling logs are not context: each links itself to
    # a VM, so a folder of N logs costs N units of work, not N².
    by_dir: dict[str, list[SourceFile]] = defaultdict(list)
    for s in sources:
        if s.members or s.kind == KIND_CONFIG:
            by_dir[os.path.dirname(s.disk_path)].append(s)
    for u in by_key.values():
        archive = any(s.members for s in u.sources)
        if archive:
            u.context = u.sources
        else:
            sibling = [
                s for d in _folders_up(u.key) for s in by_dir.get(d, ()) if s.disk_path != u.key
            ]
            u.context = u.sources + sibling
    return [by_key[k] for k in sorted(by_key)]


def _folders_up(path: str) -> list[str]:
    """The folders holding `path`, nearest first: a case folder's status report speaks for the
    guest logs in its subfolders too (samples/case-xs01/rhel45vm/messages)."""
    out, d = [], os.path.dirname(path)
    while d and d not in out:
        out.append(d)
        d = os.path.dirname(d)
    return out


def file_digest(path: str, cache: dict[str, tuple[int, int, str]] | None = None) -> str:
    """sha256 of a file, reusing a cached value while size and mtime are unchanged."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return f"unreadable:{exc.errno}"
    if cache is not None:
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


def digest_units(units: list[Unit], cache: dict[str, tuple[int, int, str]]) -> None:
    """Fill each unit's input and context digests (the context digest covers its sibling files)."""
    for u in units:
        u.input_digest = file_digest(u.key, cache)
    for u in units:
        ctx_files = sorted({s.disk_path for s in u.context} - {u.key})
        h = hashlib.sha256(u.input_digest.encode())
        for f in ctx_files:
            h.update(f.encode() + b"\0" + file_digest(f, cache).encode())
        u.context_digest = h.hexdigest()
