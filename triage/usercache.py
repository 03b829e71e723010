"""The user's cache folder: answers that depend only on bytes we can hash, kept across runs.

Two things are kept, each under a folder of its own: markers saying a signature file's text
passed the schema (`match.validated`), and compiled Hyperscan databases (`hsdb`). Every entry is
named by a hash of everything its content depends on, so an entry is either right or absent;
nothing is ever invalidated in place. A cache that cannot be read or written is the same as
none: the caller computes the answer, which is all a missing entry costs.

`TRIAGE_CACHE_DIR` names the folder (empty: no cache); otherwise `$XDG_CACHE_HOME/triage` or
`~/.cache/triage`. Only a folder this user owns and no one else can write is used.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

#: entries of one kind kept; past this, writing one removes the least recently written
MAX_ENTRIES = 256


def folder(kind: str) -> Path | None:
    """The folder of one kind of entry, or None when caching is off."""
    given = os.environ.get("TRIAGE_CACHE_DIR")
    if given is not None:
        return Path(given) / kind if given else None
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # unset, empty or relative: the XDG spec says to ignore it
        base = os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):  # no home to be found ("~" stays as it is): not the cwd
        return None
    return Path(base) / "triage" / kind


def _private(where: Path) -> bool:
    """Whether `where` is a folder only this user can write: what is read from it is trusted
    (a Hyperscan database is loaded as is, a marker skips a check), so a folder someone else
    could have filled — a shared `TRIAGE_CACHE_DIR` under /tmp — counts as no cache."""
    try:
        st = os.stat(where)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o022


def _usable(kind: str) -> Path | None:
    where = folder(kind)
    return where if where is not None and _private(where) else None


def has(kind: str, key: str) -> bool:
    where = _usable(kind)
    return where is not None and (where / key).is_file()


def read(kind: str, key: str) -> bytes | None:
    where = _usable(kind)
    if where is None:
        return None
    try:
        return (where / key).read_bytes()
    except OSError:
        return None


def write(kind: str, key: str, data: bytes = b"") -> None:
    """Store `data` whole or not at all: written aside, then renamed into place. An empty entry
    is a marker: its name is the answer."""
    where = folder(kind)
    if where is None:
        return
    try:
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(where):
            return
        _make_room(where)
        fd, tmp = tempfile.mkstemp(dir=where, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, where / key)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass


def _make_room(where: Path) -> None:
    """Bound the folder: every distinct pattern set (a user's signature folder as it changes)
    adds an entry, and entries are never invalidated, only outgrown."""
    entries = [e for e in os.scandir(where) if e.is_file() and not e.name.startswith(".")]
    if len(entries) < MAX_ENTRIES:
        return
    entries.sort(key=lambda e: e.stat().st_mtime)
    for e in entries[: len(entries) - MAX_ENTRIES + 1]:
        with contextlib.suppress(OSError):
            os.unlink(e.path)
