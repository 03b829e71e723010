"""One file per small table holding the rows of every part: what readers open instead of parts.

A batch over thousands of bundles leaves thousands of parts; opening each part's sources,
boots, crashes, facts, findings and errors file costs about a millisecond apiece, which made
reading a dataset (the report at the end of every `scan`) slower than an unchanged rerun
itself. The writer therefore keeps these tables concatenated in `snapshots/<id>/`, rebuilt
at each commit that changes the parts: the previous snapshot's rows of the parts that remain,
plus the new parts' rows (handed over in memory by the workers when they can be). A `_part`
column says which part each row came from. The snapshot is written before the manifest names
it, so it is exactly as atomic as the parts; a reader uses it only while the manifest's list of
parts is the one it was built for, and reads the parts otherwise. `lines` is never copied:
it can be large, and readers scan it in place.
"""

from __future__ import annotations

import posixpath
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from triage.model import TABLE_NAMES
from triage.store.parquet_read import read_parquet

if TYPE_CHECKING:  # Arrow loads where tables are built: opening a writer, whose sweep
    # removes stale snapshots, needs none, and the caller of a pool imports it while the
    # workers run
    import fsspec
    import pyarrow as pa

SNAPSHOTS = "snapshots"
PART_COLUMN = "_part"
#: the tables kept in a snapshot
SNAPSHOT_TABLES = tuple(name for name in TABLE_NAMES if name != "lines")

Tables = dict[str, "pa.Table"]


def is_current(meta: dict[str, Any] | None, part_ids: Iterable[str]) -> bool:
    """Whether the snapshot `meta` describes exactly these parts."""
    return bool(meta) and meta.get("part_ids") == sorted(part_ids)


def table_path(root: str, meta: dict[str, Any], name: str) -> str:
    return posixpath.join(root, SNAPSHOTS, meta["id"], f"{name}.parquet")


def read_table(
    fs: fsspec.AbstractFileSystem, root: str, meta: dict[str, Any], name: str
) -> pa.Table:
    """One snapshot table, with its `_part` column."""
    return read_parquet(fs, table_path(root, meta, name))


def tagged_schema(name: str) -> pa.Schema:
    import pyarrow as pa

    from triage.model import TABLES

    return TABLES[name].append(pa.field(PART_COLUMN, pa.string()))


def tag(table: pa.Table, name: str, part_id: str) -> pa.Table:
    """`table` in its snapshot shape: the table's schema plus the part each row comes from.
    Workers tag their own tables, so that the commit only concatenates."""
    import pyarrow as pa

    from triage.model import TABLES

    t = table.select(TABLES[name].names).cast(TABLES[name])
    return t.append_column(PART_COLUMN, pa.array([part_id] * t.num_rows, pa.string()))


def rebuild(
    fs: fsspec.AbstractFileSystem,
    root: str,
    old: dict[str, Any] | None,
    parts: dict[str, dict[str, Any]],
    fresh: dict[str, Tables],
) -> dict[str, Any]:
    """Write the snapshot of `parts` and return its metadata.

    Rows of parts in the old snapshot are reused; parts it lacks are read from `fresh` (tables
    in memory) or from their own files.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from triage.model import empty_table
    from triage.store.manifest import PARTS

    old_ok = bool(old) and fs.exists(posixpath.join(root, SNAPSHOTS, old["id"]))
    reused = set(old.get("part_ids", [])) & set(parts) if old_ok and old else set()
    prev: dict[str, pa.Table] = {}
    if reused and old:
        try:
            prev = {name: read_table(fs, root, old, name) for name in SNAPSHOT_TABLES}
        except (OSError, ValueError):  # a damaged snapshot: its parts' rows read again
            reused = set()
    missing = [pid for pid in sorted(parts) if pid not in reused and pid not in fresh]
    from_disk = _read_parts(fs, posixpath.join(root, PARTS), parts, missing)
    snap_id = uuid.uuid4().hex[:16]
    folder = posixpath.join(root, SNAPSHOTS, snap_id)
    fs.makedirs(folder, exist_ok=True)
    for name in SNAPSHOT_TABLES:
        full = tagged_schema(name)
        pieces = []
        if reused:
            had = prev[name]
            keep = pc.is_in(had.column(PART_COLUMN), value_set=pa.array(sorted(reused)))
            pieces.append(had.filter(keep).cast(full))
        for pid in sorted(parts):
            if pid in reused:
                continue
            t = fresh[pid][name] if pid in fresh else from_disk[name].get(pid)
            if t is not None and t.num_rows:
                pieces.append(t if t.schema.equals(full) else tag(t, name, pid))
        table = pa.concat_tables(pieces) if pieces else empty_table(full)
        with fs.open(posixpath.join(folder, f"{name}.parquet"), "wb") as fh:
            pq.write_table(table, fh, compression="zstd")
    return {"id": snap_id, "part_ids": sorted(parts)}


def _read_parts(
    fs: fsspec.AbstractFileSystem, base: str, parts: dict[str, dict[str, Any]], pids: list[str]
) -> dict[str, dict[str, pa.Table]]:
    """The small tables of `pids`, read from their part folders."""
    from triage.store.manifest import read_part_table

    out: dict[str, dict[str, pa.Table]] = {name: {} for name in SNAPSHOT_TABLES}
    for pid in pids:
        for name in SNAPSHOT_TABLES:
            out[name][pid] = read_part_table(fs, posixpath.join(base, pid), parts[pid], name)
    return out


def remove(fs: fsspec.AbstractFileSystem, root: str, keep: set[str]) -> None:
    """Delete every snapshot folder but those in `keep`: the current one and those retired
    lately (`retention.py`); the others are strays a killed run left."""
    base = posixpath.join(root, SNAPSHOTS)
    if not fs.exists(base):
        return
    for info in fs.ls(base, detail=True):
        if posixpath.basename(info["name"].rstrip("/")) not in keep:
            fs.rm(info["name"], recursive=True)
