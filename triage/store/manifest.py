"""The dataset on disk: where its parts are, what its manifest holds, and reading both back.

A dataset is a folder: `manifest.json` plus `parts/<part_id>/<table>.parquet` (and the
snapshot of the small tables, `snapshot.py`). The writer, the snapshot and the reader all go by
these names; keeping them here, apart from the writing, lets each import them without the
others.
"""

from __future__ import annotations

import json
import os
import posixpath
import time
import uuid
from typing import TYPE_CHECKING, Any

from triage import model
from triage.model import SCHEMA_VERSION, TABLE_NAMES
from triage.store.parquet_read import read_parquet
from triage.version import __version__

if TYPE_CHECKING:
    import fsspec
    import pyarrow as pa

MANIFEST = "manifest.json"
PARTS = "parts"
TMP_PREFIX = ".tmp-"


def entry_units(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The units a manifest entry holds, key → digests (and, for a shared part, attribution)."""
    if "units" in entry:
        units = entry["units"]
    elif "unit" in entry:  # a part written before parts could be shared
        units = {
            entry["unit"]: {
                "input_digest": entry.get("input_digest", ""),
                "context_digest": entry.get("context_digest", ""),
            }
        }
    else:
        return {}
    if all(map(_absolute, units)):
        return units
    return {_absolute_key(k): v for k, v in units.items()}


def _absolute(key: str) -> bool:
    return key.startswith("/") or ":" in key.partition("/")[0]  # a path, or `walk-errors:`...


def _absolute_key(key: str) -> str:
    """A unit key as written before keys were absolute paths: the path as the run was given it,
    read from the working directory, where a rerun that names the folder the same way is."""
    return key if _absolute(key) else os.path.abspath(key)


def read_part_table(
    fs: fsspec.AbstractFileSystem, part_dir: str, entry: dict[str, Any], name: str
) -> pa.Table:
    """One table of a part, whatever files the entry lists for it (none when it is empty)."""
    import pyarrow as pa

    schema = model.TABLES[name]
    pieces = []
    for f in entry.get("files", {}).get(name, [f"{name}.parquet"]):
        pieces.append(read_parquet(fs, posixpath.join(part_dir, f)).cast(schema))
    return pa.concat_tables(pieces) if pieces else model.empty_table(schema)


def new_manifest() -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "signature_digest": "",
        "tables": list(TABLE_NAMES),
        "parts": {},
        "inputs": [],
        "counts": {},
        "timings": {},
    }


def total_counts(parts: dict[str, dict[str, Any]]) -> dict[str, int]:
    totals = dict.fromkeys(TABLE_NAMES, 0)
    for e in parts.values():
        for k, v in e.get("counts", {}).items():
            totals[k] = totals.get(k, 0) + v
    return totals


def read_manifest(fs: fsspec.AbstractFileSystem, root: str) -> dict[str, Any] | None:
    path = posixpath.join(root, MANIFEST)
    if not fs.exists(path):
        return None
    with fs.open(path, "rb") as fh:
        return json.loads(fh.read())


#: which manifest file a parsed manifest came from: (inode, size, mtime in ns). Every commit
#: writes a new file and renames it over the old one, so a commit in between changes it.
Stamp = tuple[int, int, int]


def read_local_manifest(out: str) -> tuple[dict[str, Any], Stamp] | None:
    """The manifest of a dataset on a local path, read without fsspec, and its file's stamp;
    None for a URL or a dataset not made yet."""
    if "://" in out:
        return None
    try:
        with open(os.path.join(out, MANIFEST), "rb") as fh:
            return json.loads(fh.read()), _stamp(os.fstat(fh.fileno()))
    except FileNotFoundError:
        return None


def local_stamp(out: str) -> Stamp | None:
    """The stamp of a local dataset's manifest file as it is now (None: none, or a URL)."""
    if "://" in out:
        return None
    try:
        return _stamp(os.stat(os.path.join(out, MANIFEST)))
    except OSError:
        return None


def _stamp(st: os.stat_result) -> Stamp:
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def write_manifest(fs: fsspec.AbstractFileSystem, root: str, manifest: dict[str, Any]) -> None:
    tmp = posixpath.join(root, f"{TMP_PREFIX}{uuid.uuid4().hex[:8]}-{MANIFEST}")
    with fs.open(tmp, "wb") as fh:
        # compact: indenting sends json to its pure-Python encoder, 5x slower on the manifest
        # of ten thousand units (jq shows it indented)
        text = json.dumps(manifest, separators=(",", ":"), sort_keys=True, default=str)
        fh.write(text.encode())
    fs.mv(tmp, posixpath.join(root, MANIFEST))
