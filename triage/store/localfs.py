"""The filesystem a dataset lives on: the local disk directly, or any fsspec URL.

Every store function takes a filesystem in fsspec's shape, so that a dataset can live at any
URL whose fsspec package is installed. Nearly every run writes to a local path, though, and for
one the few calls the store makes are made on the os module: importing fsspec (with the asyncio
and importlib.metadata it brings) cost 60–100 ms of a command's critical path, and 25 ms of each
pool worker's first part.
"""

from __future__ import annotations

import os
import shutil
from typing import IO, Any


class LocalFS:
    """The calls the store makes of an fsspec filesystem, on local paths. (It copies files
    with `shutil` itself wherever the filesystem is local: `writer._local`.)"""

    protocol = ("file", "local")

    def open(self, path: str, mode: str = "rb") -> IO[Any]:
        return open(path, mode)  # the caller closes it, as with fsspec

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        os.makedirs(path, exist_ok=exist_ok)

    def ls(self, path: str, detail: bool = True) -> list[dict[str, Any]]:
        """The entries of `path` with their details (the store always asks for them)."""
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: e.name)
        return [
            {
                "name": e.path,
                "type": "directory" if e.is_dir(follow_symlinks=False) else "file",
                "size": e.stat(follow_symlinks=False).st_size,
            }
            for e in entries
        ]

    def mv(self, src: str, dest: str, recursive: bool = False) -> None:
        """A rename: atomic, replacing a file of that name (the manifest is published so)."""
        try:
            os.replace(src, dest)
        except OSError:  # across filesystems
            shutil.move(src, dest)

    def rm(self, path: str, recursive: bool = False) -> None:
        if recursive and os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


def is_local(fs: Any) -> bool:
    """Whether `fs` reads and writes the local disk (ours, or fsspec's "file" filesystem)."""
    proto = fs.protocol if isinstance(fs.protocol, tuple | list) else (fs.protocol,)
    return "file" in proto or "local" in proto


def filesystem(url: str) -> tuple[Any, str]:
    """(filesystem, root path) for a dataset at `url`: a local path, or an fsspec URL."""
    if "://" in url:
        import fsspec

        try:
            return fsspec.core.url_to_fs(url)
        except (ImportError, ValueError) as exc:  # an unknown scheme, its package missing
            from triage.store.errors import DatasetError

            raise DatasetError(
                f"{url}: no filesystem here for this URL ({exc}); give a local path, or a URL "
                "whose fsspec package is installed"
            ) from None
    return LocalFS(), os.path.abspath(url)
