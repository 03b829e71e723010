"""One pack in a worker — in the caller's process, a pool worker or a Dask worker alike: its
units staged (archives listed, bundle facts read), the sources of all of them processed in one
`pipeline.process_sources` call, and the pack written as one part, which the caller commits
(`batch.run`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from triage.batch.options import RunOptions
from triage.batch.rematch import rematch_pack
from triage.batch.sigset import load_signature_set
from triage.batch.units import Unit, disk_key, take_digests
from triage.batch.uptodate import settings_digest
from triage.limits import Limits
from triage.model import KIND_CONFIG, ErrorRecord, Fact, SourceFile
from triage.sources import DeferredArchive
from triage.store.writer import PartData, write_part_to

Pack = list[Unit]
#: (part id, manifest entry, error rows, the part's small tables) — part id "" when lost
PackResult = tuple[str, dict[str, Any], list[ErrorRecord], dict[str, Any]]


@dataclass
class _Staged:
    """A unit listed and its facts read: what its sources need to be processed."""

    unit: Unit
    part: PartData
    facts: list[Fact]
    sigset: Any
    #: (src, facts, known digest) of the sources `pipeline.process_sources` takes, in order
    jobs: list[tuple[SourceFile, list[Fact] | None, str]]
    seconds: float  # spent on the unit so far
    #: sources the facts inflated into spools (a large xensource.log in a compressed status
    #: report), for its jobs to read again instead of inflating them once more
    spools: Any = None


def _stage_unit(
    unit: Unit, opts: RunOptions, executor: Any, listings: Listings, settings: str
) -> _Staged:
    from triage import sources
    from triage.batch import units as units_mod

    start = time.perf_counter()
    listing_errors = _list_archives(unit, opts.limits, listings)
    sigset = (
        load_signature_set(opts.signatures, opts.limits, opts.signature_key)
        if opts.use_signatures
        else None
    )
    part = PartData(
        unit=unit.key,
        input_digest=unit.input_digest,
        context_digest=unit.context_digest,
        signature_digest=getattr(sigset, "digest", ""),
        settings_digest=settings,
        keep=opts.keep,
    )
    spools = sources.Spools(on_disk=True)  # on disk: a pack may hold several until processed
    with sources.shared_spools(spools):
        facts, fact_errors = _context_facts(unit, opts.limits)
    own = {s.display for s in unit.sources}
    part.facts = [f for f in facts if f.source_path in own]
    part.errors = listing_errors + [e for e in fact_errors if e.path in own]
    jobs: list[tuple[SourceFile, list[Fact] | None, str]] = [
        (src, facts, _known_digest(unit, src))
        for src in unit.sources
        if src.kind != KIND_CONFIG
        and not (executor is not None and src.size >= units_mod.CHUNK_SOURCE_BYTES)
    ]
    return _Staged(unit, part, facts, sigset, jobs, time.perf_counter() - start, spools or None)


def _known_digest(unit: Unit, src: SourceFile) -> str:
    """The sha256 the caller took of the unit's own file, when `src` is that whole file."""
    if not src.members and disk_key(src.disk_path) == unit.key and len(unit.input_digest) == 64:
        return unit.input_digest
    return ""


def _process_jobs(
    jobs: list[tuple[SourceFile, list[Fact] | None, str]],
    sigset: Any,
    opts: RunOptions,
    groups: list[int] | None = None,
) -> list[Any]:
    from triage import pipeline

    return pipeline.process_sources(
        jobs, sigset, opts.keep, opts.limits, opts.system_map, groups=groups
    )


def _finish_unit(
    staged: _Staged, opts: RunOptions, executor: Any, done: list[Any], spill_dir: str | None
) -> PartData:
    """The unit's part: its sources' results in order (`done` holds those of `staged.jobs`).
    A source left out of the jobs is cut into chunks over `executor` (batch/chunks.py)."""
    from triage import pipeline, sources
    from triage.batch import chunks

    start = time.perf_counter()
    unit, part, facts = staged.unit, staged.part, staged.facts
    ready = iter(done)
    jobbed = {id(src) for src, _, _ in staged.jobs}
    for src in unit.sources:
        if src.kind == KIND_CONFIG:
            res = pipeline.SourceResult(source=src, status="ok")
            read = sources.read_bytes(src, opts.limits)
            res.sha256 = _sha(read.data)
            res.errors.extend(read.errors)
            part.results.append(res)
            continue
        if id(src) in jobbed:
            res = next(ready)
        else:
            res = chunks.process_source_chunked(
                src,
                facts,
                staged.sigset,
                opts.keep,
                opts.limits,
                opts.jobs,
                sha256=_known_digest(unit, src),
                system_map=opts.system_map,
                executor=executor,
                spill_dir=spill_dir,
            )
        part.results.extend(res.all())
    if not unit.input_digest:
        take_digests(unit, _whole_file_sha(unit, part.results))
        part.input_digest, part.context_digest = unit.input_digest, unit.context_digest
    _one_word_per_cut(part)
    part.seconds = staged.seconds + time.perf_counter() - start
    return part


def _one_word_per_cut(part: PartData) -> None:
    """One errors row (and warning) for a cut source, not three: the facts pass and the
    line parse each notice that the log ends mid-line, which the read already said when its
    stream ended early (`truncated-gzip` …); the parse's word is kept when the read said
    nothing (a log cut on a line boundary of its own)."""
    cut = {
        e.path
        for r in part.results
        for e in r.errors
        if e.stage == "sources" and e.error_class.startswith(("truncated-", "corrupt-"))
    }
    parsed = {e.path for r in part.results for e in r.errors if e.error_class == "truncated"}
    part.errors = [
        e
        for e in part.errors
        if not (e.error_class == "truncated" and (e.path in cut or e.path in parsed))
    ]
    for r in part.results:
        r.errors = [e for e in r.errors if not (e.error_class == "truncated" and e.path in cut)]


def _whole_file_sha(unit: Unit, results: list[Any]) -> str:
    """The sha256 the pipeline took of the unit's file, when the unit is one plain file read
    whole as text (not a dump, whose digest is its own, nor a file cut at a limit)."""
    from triage.model import LOG_KINDS

    if len(unit.sources) != 1 or unit.archive is not None:
        return ""
    src = unit.sources[0]
    mine = [r for r in results if r.source is src or r.source.source_id == src.source_id]
    if src.members or len(mine) != 1 or src.kind not in LOG_KINDS | {KIND_CONFIG}:
        return ""
    res = mine[0]
    if any(e.error_class.startswith("limit-") for e in res.errors) or len(res.sha256) != 64:
        return ""
    return res.sha256


Listings = dict[DeferredArchive, list[SourceFile | ErrorRecord]]


def _list_archives(unit: Unit, limits: Limits, listings: Listings) -> list[ErrorRecord]:
    """Fill the sources of a deferred archive unit and the context of the loose files beside
    archives; returns the archive's own walk errors (rows of its part). `listings` keeps each
    archive's walk for the other units of the pack that read it as context."""
    from triage import sources

    def listing(archive: DeferredArchive) -> list[SourceFile | ErrorRecord]:
        if archive not in listings:  # its members kept for the pack's reads (sources/kept.py)
            listings[archive] = sources.walk_archive(archive, limits, keep=True)
        return listings[archive]

    errors: list[ErrorRecord] = []
    if unit.archive is not None and not unit.sources:
        for item in listing(unit.archive):
            (errors if isinstance(item, ErrorRecord) else unit.sources).append(item)
        unit.context = unit.sources
    for archive in unit.context_archives:
        unit.context = unit.context + [s for s in listing(archive) if isinstance(s, SourceFile)]
    unit.context_archives = []
    return errors


def _context_facts(unit: Unit, limits: Limits) -> tuple[list[Fact], list[ErrorRecord]]:
    from triage import parsers, sources
    from triage.parsers.blocks import Bounded

    def read(src: SourceFile) -> bytes:
        return sources.read_bytes(src, limits).data

    @contextmanager
    def open_stream(src: SourceFile) -> Iterator[Bounded]:
        with sources.open_binary(src, limits) as fh:
            yield Bounded(fh, limits.max_file_bytes)

    try:
        return parsers.bundle_facts(unit.context, read, open_stream)
    except Exception as exc:  # facts are an aid; their failure must not lose the logs
        return [], [
            ErrorRecord(
                path=unit.key,
                stage="facts",
                error_class="internal-error",
                message=f"{unit.key}: could not read bundle facts: {type(exc).__name__}: {exc}",
            )
        ]


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def run_pack_and_write(
    pack: list[Unit], opts: RunOptions, out: str, executor: Any = None, spill_dir: str | None = None
) -> PackResult:
    """Process a pack of units and write them as one part (worker side); the caller commits
    the entry. Returns (part id, entry, errors, the part's small tables for the snapshot).

    With an `executor` (the caller's pool, or a Dask cluster's), a huge plain log of the pack is
    cut into chunks over it, their lines spilled into `spill_dir` when given (see chunks.py).

    Every unit is staged (listed, its facts read) before any source is processed, so that the
    sources of all of them go through one `pipeline.process_sources` call: a pack of small
    loose logs then shares its parse calls instead of paying them per file.
    """
    if pack and pack[0].rematch is not None:
        try:
            return rematch_pack(pack, opts, out)
        except Exception:  # a part that cannot be matched again: its units read again below
            for u in pack:
                u.rematch = None
    from triage import sources
    from triage.parsers import xensource

    try:
        parts = _unit_parts(pack, opts, executor, spill_dir)
    finally:  # the member bytes its archives' listings kept: read, the rows built (or failed)
        sources.forget_kept()
    xensource.forget()  # a log parsed for facts and not (or no longer) wanted for its lines
    tables: dict[str, Any] = {}
    part_id, entry = write_part_to(out, parts, tables)
    errors = [e for p in parts for e in p.errors]
    errors.extend(e for p in parts for r in p.results for e in r.errors)
    return part_id, entry, errors, tables


def _unit_parts(
    pack: list[Unit], opts: RunOptions, executor: Any, spill_dir: str | None
) -> list[PartData]:
    """Each unit's part data: all of them staged, their sources processed together, each
    finished (a broken unit's part holds its error row)."""
    listings: Listings = {}  # archives listed once per pack (a file may change between runs)
    settings = settings_digest(opts)  # a hash of the options: once, not per unit
    staged: list[_Staged | PartData] = []
    for unit in pack:
        try:
            staged.append(_stage_unit(unit, opts, executor, listings, settings))
        except Exception as exc:  # one broken unit must not stop the batch
            staged.append(_broken_unit(unit, opts, exc))
    with _spools_of(staged):
        try:
            done = _process_staged([st for st in staged if isinstance(st, _Staged)], opts)
        except Exception:  # a bug in the shared call: each unit alone below, failing alone
            done = {}
        parts = []
        for st in staged:
            if isinstance(st, _Staged):
                try:
                    results = done.get(id(st))
                    if results is None:
                        results = _process_jobs(st.jobs, st.sigset, opts)
                    st = _finish_unit(st, opts, executor, results, spill_dir)
                except Exception as exc:
                    st = _broken_unit(st.unit, opts, exc)
            parts.append(st)
    return parts


@contextmanager
def _spools_of(staged: list[_Staged | PartData]) -> Iterator[None]:
    """The spools the units' facts made, there for their jobs to read; closed afterwards."""
    from triage import sources

    held = [st.spools for st in staged if isinstance(st, _Staged) and st.spools]
    with ExitStack() as stack:
        for spools in held:
            stack.callback(spools.close)
            stack.enter_context(sources.shared_spools(spools))
        yield


def _process_staged(staged: list[_Staged], opts: RunOptions) -> dict[int, list[Any]]:
    """The results of each staged unit's jobs (by `id`), all units' jobs processed at once;
    each unit's share of the time is added to its seconds."""
    jobs = [job for st in staged for job in st.jobs]
    if not jobs:
        return {id(st): [] for st in staged}
    start = time.perf_counter()
    units = [k for k, st in enumerate(staged) for _ in st.jobs]  # rows never change unit
    results = _process_jobs(jobs, staged[0].sigset, opts, units)
    per_job = (time.perf_counter() - start) / len(jobs)
    out: dict[int, list[Any]] = {}
    at = 0
    for st in staged:
        out[id(st)] = results[at : at + len(st.jobs)]
        at += len(st.jobs)
        st.seconds += per_job * len(st.jobs)
    return out


def _broken_unit(unit: Unit, opts: RunOptions, exc: BaseException) -> PartData:
    """The part of a unit whose processing failed on a bug: one error row, no other rows."""
    part = PartData(
        unit=unit.key,
        input_digest=unit.input_digest,
        keep=opts.keep,
        settings_digest=settings_digest(opts),
    )
    part.errors.append(
        ErrorRecord(
            path=unit.key,
            stage="batch",
            error_class="internal-error",
            message=f"{unit.key}: internal error, unit skipped: {type(exc).__name__}: {exc}",
        )
    )
    return part
