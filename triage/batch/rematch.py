"""A changed signature set matched against the rows a dataset already holds.

When only the signature set changed, a unit's lines, boots, crashes and facts are what they
were: reading, decompressing and parsing its inputs again would give the same rows. A part
written with every line (`ingest`, `scan --all-lines`) holds all the matcher reads, plus the
facts and source it was given (`store.matchinputs`), so its units are matched again from there:
its other files are linked into the new part, and only findings and errors are written anew.

A part is re-matched whole or not at all: every unit of it must be unchanged (input and context
digests, limits, keep mode) and none of its sources may hold more lines than one worker should
hold in memory at once. The rest is processed from the inputs as before, and so is everything
under `--force`. A `scan` dataset keeps only the lines its set found relevant, which a new
pattern may not be among: its units are read again.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any

from triage.batch.units import Unit
from triage.model import ErrorRecord
from triage.store.manifest import PARTS, entry_units

#: the most lines of one source a re-match holds in memory (a larger one is read again,
#: through the pipeline's bounded streaming path)
MAX_SOURCE_LINES = 500_000


def rematch_groups(
    manifest: dict[str, Any],
    todo: list[Unit],
    signature_digest: str,
    settings: str,
    keep: str,
) -> list[list[Unit]]:
    """The units of `todo` that can be matched again from their parts, one pack per part."""
    from triage.store import matchinputs

    if keep != "all":
        return []
    by_key = {u.key: u for u in todo}
    packs = []
    for part_id, entry in manifest.get("parts", {}).items():
        if (
            entry.get("keep") != "all"
            or entry.get("settings_digest", "") != settings
            or entry.get("signature_digest", "") == signature_digest
            or not entry.get(matchinputs.ENTRY_KEY)
        ):
            continue
        units = entry_units(entry)
        mine = [by_key.get(k) for k in units]
        if not all(
            u is not None
            and u.input_digest
            and (u.input_digest, u.context_digest)
            == (d.get("input_digest"), d.get("context_digest"))
            for u, d in zip(mine, units.values(), strict=True)
        ):
            continue
        pack = [u for u in mine if u is not None]
        for u in pack:
            u.rematch = (part_id, entry)
        packs.append(pack)
    return packs


def rematch_pack(pack: list[Unit], opts: Any, out: str) -> tuple[str, dict, list, dict]:
    """Match the run's signature set against the part `pack` was made from; a pack result as
    `run_pack_and_write` returns it. Raises `CannotRematch` when the part cannot be."""
    from triage.batch.sigset import load_signature_set
    from triage.store import matchinputs, snapshot
    from triage.store.localfs import filesystem
    from triage.store.manifest import read_part_table
    from triage.store.writer import write_rematched_part

    part_id, entry = pack[0].rematch  # type: ignore[misc]
    fs, root = filesystem(out)
    old = posixpath.join(root, PARTS, part_id)
    with fs.open(posixpath.join(old, entry[matchinputs.ENTRY_KEY]), "rb") as fh:
        inputs = matchinputs.load(fh.read())
    small = {
        name: read_part_table(fs, old, entry, name)
        for name in ("sources", "boots", "crashes", "facts", "errors")
    }
    counts = small["sources"].column("line_count").to_pylist()
    if any((n or 0) > MAX_SOURCE_LINES for n in counts):
        raise CannotRematch(f"part {part_id} holds a source of more than {MAX_SOURCE_LINES} lines")
    sigset = (
        load_signature_set(opts.signatures, opts.limits, opts.signature_key)
        if opts.use_signatures
        else None
    )
    findings, errors = _match(fs, old, entry, inputs, small, sigset)
    tables = _new_tables(small, findings, errors)
    unit_counts = _unit_counts(entry, tables)
    new_id, new_entry = write_rematched_part(
        fs,
        root,
        part_id,
        entry,
        tables["findings"],
        tables["errors"],
        getattr(sigset, "digest", ""),
        unit_counts,
    )
    tagged = {n: snapshot.tag(tables[n], n, new_id) for n in snapshot.SNAPSHOT_TABLES}
    return new_id, new_entry, errors, tagged


class CannotRematch(Exception):
    """The part must be made again from its inputs."""


def _match(
    fs: Any, old: str, entry: dict, inputs: dict, small: dict, sigset: Any
) -> tuple[list[Any], list[ErrorRecord]]:
    """The findings and matcher errors of every source the part's run matched, in its order."""
    from triage.model import Boot, Crash, Frame, SysrqTask

    if sigset is None:
        return [], []
    boots: dict[str, list[Boot]] = {}
    for row in small["boots"].to_pylist():
        boots.setdefault(row["source_id"], []).append(Boot(**row))
    crashes: dict[str, list[Crash]] = {}
    for row in small["crashes"].to_pylist():
        row["frames"] = [Frame(**f) for f in row["frames"] or []]
        row["tasks"] = [
            SysrqTask(**{**t, "frames": [Frame(**f) for f in t["frames"] or []]})
            for t in row["tasks"] or []
        ]
        row["alt_titles"] = list(row["alt_titles"] or [])
        crashes.setdefault(row["source_id"], []).append(Crash(**row))
    findings: list[Any] = []
    errors: list[ErrorRecord] = []
    matched: set[str] = set()
    for source_id, lines in _lines_by_source(fs, old, entry):
        if source_id in matched:
            raise CannotRematch(f"the lines of source {source_id} are not in one run")
        matched.add(source_id)
        if source_id in inputs:
            _match_one(sigset, inputs[source_id], lines, boots, crashes, findings, errors)
    for source_id, got in inputs.items():  # matched sources without a line
        if source_id not in matched:
            _match_one(sigset, got, None, boots, crashes, findings, errors)
    return findings, errors


def _match_one(
    sigset: Any,
    got: tuple[Any, list[Any]],
    lines: Any,
    boots: dict,
    crashes: dict,
    findings: list[Any],
    errors: list[ErrorRecord],
) -> None:
    from triage import match
    from triage.model import empty_lines

    src, facts = got
    ctx = match.SourceContext(
        source=src,
        lines=lines if lines is not None else empty_lines(),
        boots=boots.get(src.source_id, []),
        crashes=crashes.get(src.source_id, []),
        facts=facts,
    )
    found, failed = match.evaluate(sigset, ctx)
    findings.extend(found)
    errors.extend(failed)


def _lines_by_source(fs: Any, old: str, entry: dict) -> Iterator[tuple[str, Any]]:
    """Each source's lines as one table, the files read batch by batch in order: a source's
    lines lie together, so only one source is held at a time."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from triage.model import LINES_SCHEMA
    from triage.store.parquet_read import iter_parquet_batches

    current, pieces = None, []
    for name in entry.get("files", {}).get("lines", []):
        for batch in iter_parquet_batches(fs, posixpath.join(old, name), 1 << 16):
            table = pa.Table.from_batches([batch]).cast(LINES_SCHEMA)
            ids = table.column("source_id")
            # the rows where the source changes, then one slice per run of the same source
            starts = [0]
            if table.num_rows > 1:
                changed = pc.not_equal(ids.slice(1), ids.slice(0, table.num_rows - 1))
                starts += [int(i) + 1 for i in pc.indices_nonzero(changed).to_pylist()]
            for a, b in zip(starts, [*starts[1:], table.num_rows], strict=True):
                sid = ids[a].as_py()
                if sid != current and pieces:
                    yield current, pa.concat_tables(pieces)
                    pieces = []
                current = sid
                pieces.append(table.slice(a, b - a))
    if pieces:
        yield current, pa.concat_tables(pieces)


def _new_tables(small: dict, findings: list[Any], errors: list[ErrorRecord]) -> dict[str, Any]:
    """The part's small tables with the new findings, and its errors without the old
    matcher's (whose stage is "match") but with the new one's."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from triage.model import ERRORS_SCHEMA, FINDINGS_SCHEMA, records_to_table

    old_errors = small["errors"]
    kept = old_errors.filter(pc.invert(pc.fill_null(pc.equal(old_errors["stage"], "match"), False)))
    new_errors = records_to_table(errors, ERRORS_SCHEMA)
    return {
        **small,
        "findings": records_to_table(findings, FINDINGS_SCHEMA),
        "errors": pa.concat_tables([kept, new_errors]),
    }


def _unit_counts(entry: dict, tables: dict) -> dict[str, dict[str, int]]:
    """Each unit's findings and errors in the new part, by the source ids and paths a shared
    part's entry attributes to it."""
    out = {}
    finding_ids = tables["findings"].column("source_id").to_pylist()
    error_rows = tables["errors"].select(["source_id", "path"]).to_pylist()
    for key, u in entry_units(entry).items():
        if "counts" not in u:
            continue
        ids, paths = set(u.get("sources", [])), set(u.get("paths", []))
        out[key] = {
            "findings": sum(1 for s in finding_ids if s in ids),
            "errors": sum(1 for e in error_rows if e["source_id"] in ids or e["path"] in paths),
        }
    return out
