"""Signature documents already found to satisfy the schema, remembered across runs.

Validating the library against `schema.json` costs every process that loads signatures about
0.12 s (importing jsonschema, then walking 25 documents), which is a tenth of a one-bundle scan
and a third of a pool worker's start. The answer depends only on the schema's text and the
file's text, so it is kept as an empty marker file named by the hash of both under the user's
cache folder: an edited file or schema hashes differently and is validated again, and a file
that fails is never marked, so its problems are reported on every run.

`TRIAGE_CACHE_DIR` names the cache folder (empty: no cache); otherwise `$XDG_CACHE_HOME/triage`
or `~/.cache/triage`. A cache that cannot be read or written is the same as none.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

SUBDIR = "valid-signatures"


def cache_dir() -> Path | None:
    """The folder of the markers, or None when caching is off."""
    given = os.environ.get("TRIAGE_CACHE_DIR")
    if given is not None:
        return Path(given) / SUBDIR if given else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "triage" / SUBDIR


def key(schema_text: str, doc_text: str) -> str:
    h = hashlib.sha256(schema_text.encode())
    h.update(b"\0")
    h.update(doc_text.encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def known_valid(k: str) -> bool:
    folder = cache_dir()
    return folder is not None and (folder / k).is_file()


def remember_valid(k: str) -> None:
    """Mark `k` valid; quietly nothing when the cache cannot be written (read-only home, a
    full disk): the next run validates again, which is all a missing marker costs."""
    folder = cache_dir()
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / k).touch()  # empty and idempotent: concurrent runs cannot tear it
    except OSError:
        pass
