"""Writing dataset parts and publishing them atomically through the manifest.

A dataset is a folder: `manifest.json` plus `parts/<part_id>/<table>.parquet`. A run writes each unit
of work (one bundle or loose file) as a new part under a temporary name, renames it into place, and
only then rewrites the manifest (write-then-rename). Readers trust the manifest alone, so a run killed
at any point leaves the dataset either as it was or complete; stray temporary parts are swept by
the next writer.
"""

from __future__ import annotations

import os
import posixpath
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from triage import model
from triage.model import TABLE_NAMES, ErrorRecord, Fact
from triage.store import matchinputs, retention
from triage.store.localfs import is_local
from triage.store.manifest import (
    PARTS,
    TMP_PREFIX,
    Stamp,
    entry_units,
    local_stamp,
    new_manifest,
    read_manifest,
    read_part_table,
    total_counts,
    write_manifest,
)
from triage.store.parquet_read import parquet_rows
from triage.version import __version__

if TYPE_CHECKING:  # pyarrow, fsspec and the snapshot load where rows are written or read:
    import fsspec  # a rerun that only reads the manifest needs none of them
    import pyarrow as pa


@dataclass
class PartData:
    """The rows of one unit of work; one part holds one or several (a pack of small files)."""

    unit: str  # what the rows stand for: the bundle or loose file on disk
    input_digest: str  # content digest of the unit's inputs
    context_digest: str = ""  # digest of the bundle facts the unit was matched with
    signature_digest: str = ""
    keep: str = "all"
    settings_digest: str = ""  # limits and options the rows depend on
    results: list[Any] = field(default_factory=list)  # pipeline.SourceResult (flattened)
    facts: list[Fact] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    seconds: float = 0.0

    def rows(self) -> dict[str, list[Any]]:
        """Records per table (lines as Arrow tables), facts deduplicated."""
        out: dict[str, list[Any]] = {
            "sources": [],
            "lines": [],
            "boots": [],
            "crashes": [],
            "facts": list(self.facts),
            "findings": [],
            "errors": list(self.errors),
        }
        for r in self.results:
            out["sources"].append(r.source_row())
            out["boots"].extend(r.boots)
            out["crashes"].extend(r.crashes)
            out["findings"].extend(r.findings)
            out["facts"].extend(r.facts)
            out["errors"].extend(r.errors)
            if r.lines.num_rows:
                schema = model.LINES_SCHEMA
                lines = r.lines
                if not lines.schema.equals(schema):  # most are already the dataset's
                    lines = lines.select(schema.names).cast(schema)
                out["lines"].append(lines)
        out["facts"] = _dedupe_facts(out["facts"])
        return out

    def attribution(self) -> dict[str, list[str]]:
        """What identifies this unit's rows inside a shared part: source ids and paths."""
        ids, paths = [], []
        for r in self.results:
            ids.append(r.source.source_id)
            paths.append(r.source.display)
        paths.extend(e.path for e in self.errors)
        paths.extend(f.source_path for f in self.facts)
        return {"sources": sorted(set(ids)), "paths": sorted(set(paths))}


def pack_tables(units: list[PartData]) -> tuple[dict[str, pa.Table], list[dict[str, int]]]:
    """The tables of a part holding `units`, and each unit's row counts in them."""
    import pyarrow as pa

    merged: dict[str, list[Any]] = {name: [] for name in TABLE_NAMES}
    counts: list[dict[str, int]] = []
    for u in units:
        rows = u.rows()
        counts.append(
            {
                name: (sum(t.num_rows for t in v) if name == "lines" else len(v))
                for name, v in rows.items()
            }
        )
        for name, v in rows.items():
            merged[name].extend(v)
    lines = merged.pop("lines")
    tables = {
        name: model.records_to_table(merged[name], model.TABLES[name])
        for name in TABLE_NAMES
        if name != "lines"
    }
    tables["lines"] = pa.concat_tables(lines) if lines else model.empty_lines()
    return {name: tables[name] for name in TABLE_NAMES}, counts


def _dedupe_facts(facts: list[Fact]) -> list[Fact]:
    seen, out = set(), []
    for f in facts:
        key = (
            f.bundle,
            f.subject_type,
            f.subject_id,
            f.key,
            f.value,
            f.time,
            f.source_path,
            f.lineno,
        )
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


class DatasetWriter:
    """Adds parts to a dataset (local path or fsspec URL) and publishes them."""

    def __init__(self, out: str, seen: tuple[dict[str, Any], Stamp] | None = None) -> None:
        """`seen`: the manifest the caller read before it took the write lock, with its file's
        stamp (`read_local_manifest`). It is taken as it is when the file is still that one,
        instead of parsing it again (a tenth of a second for ten thousand units); a commit
        made in between replaced the file, and it is read again."""
        from triage.store.localfs import filesystem

        self.fs, self.root = filesystem(out)
        self.out = out
        self.fs.makedirs(posixpath.join(self.root, PARTS), exist_ok=True)
        if seen is not None and local_stamp(out) == seen[1]:
            self.manifest = seen[0]
        else:
            self.manifest = read_manifest(self.fs, self.root) or new_manifest()
        #: called just before the manifest is published; raises to stop it (store/lock.py)
        self.before_publish: Callable[[], None] | None = None
        self._sweep_temporaries()

    def write_part(self, part: PartData) -> tuple[str, dict[str, Any]]:
        return write_part(self.fs, self.root, part)

    def commit(
        self,
        added: dict[str, dict[str, Any]],
        replaced_units: Iterable[str] = (),
        extra: dict[str, Any] | None = None,
        fresh: dict[str, dict[str, pa.Table]] | None = None,
    ) -> dict[str, Any]:
        """Publish new parts in one manifest write, replacing the rows of the units they redo.

        A part whose units are all redone is dropped; a shared part that keeps some of its units
        is rewritten without the others' rows. The snapshot of the small tables is rebuilt when
        the parts changed (`fresh`: the new parts' small tables, when already in memory).
        """
        replaced = set(replaced_units) | {k for e in added.values() for k in entry_units(e)}
        parts = self.manifest["parts"]
        dropped: list[str] = []
        rewritten: dict[str, dict[str, Any]] = {}
        for pid, e in list(parts.items()):
            if pid in added:
                continue
            units = entry_units(e)
            hit = replaced.intersection(units)
            if not hit:
                continue
            dropped.append(pid)
            if len(hit) < len(units):
                new_id, new = rewrite_without(self.fs, self.root, {**e, "_id": pid}, hit)
                rewritten[new_id] = new
        for pid in dropped:
            del parts[pid]
        parts.update(rewritten)
        parts.update(added)
        from triage.store import snapshot

        m = self.manifest
        was = (m.get("snapshot") or {}).get("id")
        m["tool_version"] = __version__
        m["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        m["counts"] = total_counts(parts)
        if extra:
            m.update(extra)
        if not snapshot.is_current(m.get("snapshot"), parts):
            m["snapshot"] = snapshot.rebuild(
                self.fs, self.root, m.get("snapshot"), parts, fresh or {}
            )
        now = time.time()
        replaced = [f"{PARTS}/{pid}" for pid in dropped]
        if was and was != m["snapshot"]["id"]:
            replaced.append(f"{snapshot.SNAPSHOTS}/{was}")
        retention.retire(m, replaced, now)  # kept a while for readers of the manifest before
        expired = retention.take_expired(m, now)
        if self.before_publish is not None:
            self.before_publish()
        write_manifest(self.fs, self.root, m)
        for folder in expired:  # only after the manifest no longer names them
            path = posixpath.join(self.root, folder)
            if self.fs.exists(path):
                self.fs.rm(path, recursive=True)
        snapshot.remove(self.fs, self.root, keep=self._snapshots_kept())
        return m

    def _snapshots_kept(self) -> set[str]:
        from triage.store.snapshot import SNAPSHOTS

        m = self.manifest
        current = (m.get("snapshot") or {}).get("id")
        return retention.retained(m, SNAPSHOTS) | ({current} if current else set())

    def _sweep_temporaries(self) -> None:
        """Remove parts a killed run left behind: temporaries and parts the manifest never named."""
        from triage.store import snapshot

        known = set(self.manifest["parts"]) | retention.retained(self.manifest, PARTS)
        base = posixpath.join(self.root, PARTS)
        for info in self.fs.ls(base, detail=True):
            name = posixpath.basename(info["name"].rstrip("/"))
            if name.startswith(TMP_PREFIX) or (info["type"] == "directory" and name not in known):
                self.fs.rm(info["name"], recursive=True)
        snapshot.remove(self.fs, self.root, keep=self._snapshots_kept())


def write_part(
    fs: fsspec.AbstractFileSystem,
    root: str,
    part: PartData | list[PartData],
    tables_out: dict[str, pa.Table] | None = None,
) -> tuple[str, dict[str, Any]]:
    """Write one part under a temporary name and rename it into place; returns its entry.

    Safe to call from worker processes: it touches only its own new folder, and the part is not
    part of the dataset until a writer commits the returned entry to the manifest. The small
    tables are also put in `tables_out` when given (for the commit's snapshot).
    """
    from triage.store import snapshot

    units = [part] if isinstance(part, PartData) else list(part)
    part_id = uuid.uuid4().hex[:16]
    tmp = posixpath.join(root, PARTS, TMP_PREFIX + part_id)
    final = posixpath.join(root, PARTS, part_id)
    fs.makedirs(tmp, exist_ok=True)
    tables, unit_counts = pack_tables(units)
    if tables_out is not None:
        tables_out.update(
            (n, snapshot.tag(tables[n], n, part_id)) for n in snapshot.SNAPSHOT_TABLES
        )
    files, counts = _write_tables(fs, tmp, tables)
    spills = [(i, f) for i, u in enumerate(units) for r in u.results for f in r.spill_files()]
    for n, (i, spill) in enumerate(spills, start=1):
        name = f"lines-{n}.parquet"
        _adopt(fs, spill, posixpath.join(tmp, name))
        files["lines"].append(name)
        rows = parquet_rows(fs, posixpath.join(tmp, name))
        counts["lines"] += rows
        unit_counts[i]["lines"] += rows
    inputs = (
        matchinputs.dump([r for u in units for r in u.results]) if units[0].keep == "all" else None
    )
    if inputs is not None:  # every line is kept: a later signature set can be matched here
        with fs.open(posixpath.join(tmp, matchinputs.FILE), "wb") as fh:
            fh.write(inputs)
    fs.mv(tmp, final, recursive=True)
    shared = len(units) > 1
    entry = {
        "units": {
            u.unit: {
                "input_digest": u.input_digest,
                "context_digest": u.context_digest,
                **({**u.attribution(), "counts": c} if shared else {}),
            }
            for u, c in zip(units, unit_counts, strict=True)
        },
        "signature_digest": units[0].signature_digest,
        "settings_digest": units[0].settings_digest,
        "keep": units[0].keep,
        "files": files,
        "counts": counts,
        "seconds": round(sum(u.seconds for u in units), 4),
    }
    if inputs is not None:
        entry[matchinputs.ENTRY_KEY] = matchinputs.FILE
    return part_id, entry


#: the tables a re-match takes over from the part it replaces, file by file
REMATCH_KEEPS = ("sources", "lines", "boots", "crashes", "facts")


def write_rematched_part(
    fs: fsspec.AbstractFileSystem,
    root: str,
    old_id: str,
    entry: dict[str, Any],
    findings: pa.Table,
    errors: pa.Table,
    signature_digest: str,
    unit_counts: dict[str, dict[str, int]],
) -> tuple[str, dict[str, Any]]:
    """A part with the rows of part `old_id` but `findings` and `errors` (a changed signature
    set matched against it): its other files are linked (or, off the local disk, copied), not
    rewritten. `unit_counts`: each unit's new findings and errors counts, for a shared part."""
    part_id = uuid.uuid4().hex[:16]
    tmp = posixpath.join(root, PARTS, TMP_PREFIX + part_id)
    old = posixpath.join(root, PARTS, old_id)
    fs.makedirs(tmp, exist_ok=True)
    files = {name: [] for name in TABLE_NAMES}
    for name in REMATCH_KEEPS:
        for f in entry.get("files", {}).get(name, []):
            _link(fs, posixpath.join(old, f), posixpath.join(tmp, f))
            files[name].append(f)
    for name, table in (("findings", findings), ("errors", errors)):
        if table.num_rows:
            _write_table(fs, posixpath.join(tmp, f"{name}.parquet"), table)
            files[name].append(f"{name}.parquet")
    if entry.get(matchinputs.ENTRY_KEY):
        name = entry[matchinputs.ENTRY_KEY]
        _link(fs, posixpath.join(old, name), posixpath.join(tmp, name))
    fs.mv(tmp, posixpath.join(root, PARTS, part_id), recursive=True)
    new = dict(entry)
    new["files"] = files
    new["counts"] = {
        **entry.get("counts", {}),
        "findings": findings.num_rows,
        "errors": errors.num_rows,
    }
    new["signature_digest"] = signature_digest
    new["rematched_from"] = old_id
    units = {}
    for key, u in entry_units(entry).items():
        u = dict(u)
        if "counts" in u:
            u["counts"] = {**u["counts"], **unit_counts.get(key, {})}
        units[key] = u
    new["units"] = units
    return part_id, new


def _link(fs: fsspec.AbstractFileSystem, src: str, dest: str) -> None:
    """`dest` as a second name of `src` where the filesystem has hard links, else a copy."""
    if is_local(fs):
        try:
            os.link(src, dest)
            return
        except OSError:  # another filesystem, or one without links
            import shutil

            shutil.copyfile(src, dest)
            return
    fs.cp_file(src, dest)


def _write_tables(
    fs: fsspec.AbstractFileSystem, folder: str, tables: dict[str, pa.Table]
) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Each table as `<name>.parquet` in `folder`; the entry's files and counts."""
    files: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    for name, table in tables.items():
        counts[name] = table.num_rows
        files[name] = []
        if table.num_rows:  # an empty table is no file: most parts have no crash, no error
            _write_table(fs, posixpath.join(folder, f"{name}.parquet"), table)
            files[name].append(f"{name}.parquet")
    return files, counts


def _write_table(fs: fsspec.AbstractFileSystem, path: str, table: pa.Table) -> None:
    import pyarrow.parquet as pq

    with fs.open(path, "wb") as fh:
        pq.write_table(table, fh, compression="zstd")


def rewrite_without(
    fs: fsspec.AbstractFileSystem, root: str, entry: dict[str, Any], removed: set[str]
) -> tuple[str, dict[str, Any]]:
    """A copy of a shared part without the rows of the `removed` units (redone elsewhere).

    Rows are told apart by the attribution each unit of a shared part records: its source
    ids, and the paths its facts and errors name.
    """
    import pyarrow as pa

    units = entry_units(entry)
    gone_ids = {i for k in removed for i in units[k].get("sources", [])}
    gone_paths = {model.utf8_text(p) for k in removed for p in units[k].get("paths", [])}
    src_ids = pa.array(sorted(gone_ids), pa.string())
    src_paths = pa.array(sorted(gone_paths), pa.string())
    part_id = uuid.uuid4().hex[:16]
    tmp = posixpath.join(root, PARTS, TMP_PREFIX + part_id)
    fs.makedirs(tmp, exist_ok=True)
    old = posixpath.join(root, PARTS, entry["_id"])
    tables = {}
    for name in TABLE_NAMES:
        table = read_part_table(fs, old, entry, name)
        tables[name] = table.filter(_kept_rows(table, src_ids, src_paths))
    files, counts = _write_tables(fs, tmp, tables)
    fs.mv(tmp, posixpath.join(root, PARTS, part_id), recursive=True)
    new = {k: v for k, v in entry.items() if k != "_id"}
    new["units"] = {k: v for k, v in units.items() if k not in removed}
    new["files"] = files
    new["counts"] = counts
    return part_id, new


def _kept_rows(table: pa.Table, ids: pa.Array, paths: pa.Array) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    drop = None
    for col, values in (("source_id", ids), ("source_path", paths), ("path", paths)):
        if col in table.column_names:
            hit = pc.fill_null(pc.is_in(table.column(col), value_set=values), False)
            drop = hit if drop is None else pc.or_(drop, hit)
    if drop is None:
        return pa.array([True] * table.num_rows)
    return pc.invert(drop)


def _adopt(fs: fsspec.AbstractFileSystem, spill: str, dest: str) -> None:
    """Move a worker's local spill file into the part: renamed when the dataset is on the
    same local filesystem (a 5 GB log's lines are not copied again), else uploaded."""
    if is_local(fs):
        import shutil

        shutil.move(spill, dest)  # a rename, or a copy across filesystems
        return
    fs.put_file(spill, dest)
    os.unlink(spill)


def write_part_to(
    out: str, part: PartData | list[PartData], tables_out: dict[str, pa.Table] | None = None
) -> tuple[str, dict[str, Any]]:
    from triage.store.localfs import filesystem

    fs, root = filesystem(out)
    return write_part(fs, root, part, tables_out)


def empty_tables() -> dict[str, pa.Table]:
    return {name: model.empty_table(schema) for name, schema in model.TABLES.items()}


__all__ = [
    "DatasetWriter",
    "PartData",
    "empty_tables",
    "entry_units",
    "pack_tables",
    "read_manifest",
    "write_part",
    "write_part_to",
]
