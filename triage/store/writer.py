"""Writing dataset parts and publishing them atomically through the manifest.

A dataset is a folder: `manifest.json` plus `parts/<part_id>/<table>.parquet`. A run writes each unit
of work (one bundle or loose file) as a new part under a temporary name, renames it into place, and
only then rewrites the manifest (write-then-rename). Readers trust the manifest alone, so a run killed
at any point leaves the dataset either as it was or complete; stray temporary parts are swept by
the next writer.
"""

from __future__ import annotations

import json
import os
import posixpath
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from triage import __version__
from triage.model import (
    BOOTS_SCHEMA,
    CRASHES_SCHEMA,
    ERRORS_SCHEMA,
    FACTS_SCHEMA,
    FINDINGS_SCHEMA,
    LINES_SCHEMA,
    SCHEMA_VERSION,
    SOURCES_SCHEMA,
    TABLES,
    ErrorRecord,
    Fact,
    records_to_table,
)

MANIFEST = "manifest.json"
PARTS = "parts"
TMP_PREFIX = ".tmp-"


@dataclass
class PartData:
    """The rows of one unit of work, ready to be written as one part."""

    unit: str  # what the part stands for: the bundle or loose file on disk
    input_digest: str  # content digest of the unit's inputs
    context_digest: str = ""  # digest of the bundle facts the unit was matched with
    signature_digest: str = ""
    keep: str = "all"
    results: list[Any] = field(default_factory=list)  # pipeline.SourceResult (flattened)
    facts: list[Fact] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    seconds: float = 0.0

    def tables(self) -> dict[str, pa.Table]:
        sources_rows, boots, crashes, findings, facts, errors = (
            [],
            [],
            [],
            [],
            list(self.facts),
            list(self.errors),
        )
        line_tables = []
        for r in self.results:
            sources_rows.append(r.source_row())
            boots.extend(r.boots)
            crashes.extend(r.crashes)
            findings.extend(r.findings)
            facts.extend(r.facts)
            errors.extend(r.errors)
            if r.lines.num_rows:
                line_tables.append(r.lines.select(LINES_SCHEMA.names).cast(LINES_SCHEMA))
        lines = pa.concat_tables(line_tables) if line_tables else LINES_SCHEMA.empty_table()
        return {
            "sources": records_to_table(sources_rows, SOURCES_SCHEMA),
            "lines": lines,
            "boots": records_to_table(boots, BOOTS_SCHEMA),
            "crashes": records_to_table(crashes, CRASHES_SCHEMA),
            "facts": records_to_table(_dedupe_facts(facts), FACTS_SCHEMA),
            "findings": records_to_table(findings, FINDINGS_SCHEMA),
            "errors": records_to_table(errors, ERRORS_SCHEMA),
        }


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

    def __init__(self, out: str) -> None:
        self.fs, self.root = fsspec.core.url_to_fs(out)
        self.out = out
        self.fs.makedirs(posixpath.join(self.root, PARTS), exist_ok=True)
        self.manifest = read_manifest(self.fs, self.root) or new_manifest()
        self._sweep_temporaries()

    def write_part(self, part: PartData) -> tuple[str, dict[str, Any]]:
        return write_part(self.fs, self.root, part)

    def commit(
        self,
        added: dict[str, dict[str, Any]],
        replaced_units: Iterable[str] = (),
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Publish new parts (dropping the parts of units they replace) in one manifest write."""
        replaced = set(replaced_units) | {e["unit"] for e in added.values()}
        parts = self.manifest["parts"]
        dropped = [pid for pid, e in parts.items() if e["unit"] in replaced and pid not in added]
        for pid in dropped:
            del parts[pid]
        parts.update(added)
        m = self.manifest
        m["tool_version"] = __version__
        m["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        m["counts"] = total_counts(parts)
        if extra:
            m.update(extra)
        write_manifest(self.fs, self.root, m)
        for pid in dropped:  # only after the manifest no longer names them
            self.fs.rm(posixpath.join(self.root, PARTS, pid), recursive=True)
        return m

    def _sweep_temporaries(self) -> None:
        """Remove parts a killed run left behind: temporaries and parts the manifest never named."""
        known = set(self.manifest["parts"])
        base = posixpath.join(self.root, PARTS)
        for info in self.fs.ls(base, detail=True):
            name = posixpath.basename(info["name"].rstrip("/"))
            if name.startswith(TMP_PREFIX) or (info["type"] == "directory" and name not in known):
                self.fs.rm(info["name"], recursive=True)


def write_part(
    fs: fsspec.AbstractFileSystem, root: str, part: PartData
) -> tuple[str, dict[str, Any]]:
    """Write one part under a temporary name and rename it into place; returns its entry.

    Safe to call from worker processes: it touches only its own new folder, and the part is not
    part of the dataset until a writer commits the returned entry to the manifest.
    """
    part_id = uuid.uuid4().hex[:16]
    tmp = posixpath.join(root, PARTS, TMP_PREFIX + part_id)
    final = posixpath.join(root, PARTS, part_id)
    fs.makedirs(tmp, exist_ok=True)
    counts = {}
    for name, table in part.tables().items():
        with fs.open(posixpath.join(tmp, f"{name}.parquet"), "wb") as fh:
            pq.write_table(table, fh, compression="zstd")
        counts[name] = table.num_rows
    files = {"lines": ["lines.parquet"]}
    for i, spill in enumerate(r.lines_spill for r in part.results if getattr(r, "lines_spill", "")):
        name = f"lines-{i + 1}.parquet"
        fs.put_file(spill, posixpath.join(tmp, name))
        os.unlink(spill)
        files["lines"].append(name)
        counts["lines"] += (
            pq.ParquetFile(posixpath.join(tmp, name)).metadata.num_rows
            if _local(fs)
            else _remote_rows(fs, posixpath.join(tmp, name))
        )
    fs.mv(tmp, final, recursive=True)
    entry = {
        "unit": part.unit,
        "input_digest": part.input_digest,
        "context_digest": part.context_digest,
        "signature_digest": part.signature_digest,
        "keep": part.keep,
        "files": files,
        "counts": counts,
        "seconds": round(part.seconds, 4),
    }
    return part_id, entry


def _local(fs: fsspec.AbstractFileSystem) -> bool:
    proto = fs.protocol if isinstance(fs.protocol, tuple | list) else (fs.protocol,)
    return "file" in proto or "local" in proto


def _remote_rows(fs: fsspec.AbstractFileSystem, path: str) -> int:
    with fs.open(path, "rb") as fh:
        return pq.ParquetFile(fh).metadata.num_rows


def write_part_to(out: str, part: PartData) -> tuple[str, dict[str, Any]]:
    fs, root = fsspec.core.url_to_fs(out)
    return write_part(fs, root, part)


def new_manifest() -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "signature_digest": "",
        "tables": list(TABLES),
        "parts": {},
        "inputs": [],
        "counts": {},
        "timings": {},
    }


def total_counts(parts: dict[str, dict[str, Any]]) -> dict[str, int]:
    totals = dict.fromkeys(TABLES, 0)
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


def write_manifest(fs: fsspec.AbstractFileSystem, root: str, manifest: dict[str, Any]) -> None:
    tmp = posixpath.join(root, f"{TMP_PREFIX}{uuid.uuid4().hex[:8]}-{MANIFEST}")
    with fs.open(tmp, "wb") as fh:
        fh.write(json.dumps(manifest, indent=1, sort_keys=True, default=str).encode())
    fs.mv(tmp, posixpath.join(root, MANIFEST))


def empty_tables() -> dict[str, pa.Table]:
    return {name: schema.empty_table() for name, schema in TABLES.items()}


__all__ = [
    "DatasetWriter",
    "PartData",
    "empty_tables",
    "read_manifest",
    "write_part",
    "write_part_to",
]
