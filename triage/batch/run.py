"""A run: walk the inputs, cut them into units, process the units, publish the dataset.

The same unit function runs in-process, in a process pool (`jobs > 1`) or on a Dask cluster
(`scheduler`); workers write their own parts and the caller commits them to the manifest, so a
run killed at any point leaves the previous dataset intact (store/writer.py).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from triage.batch.units import Unit, digest_units, make_units
from triage.limits import DEFAULT_LIMITS, Limits
from triage.model import KIND_CONFIG, ErrorRecord, Fact, SourceFile
from triage.store import DatasetWriter, PartData, open_dataset
from triage.store.writer import write_part_to

#: how the dataset's lines are kept: every kernel line, or only the lines that matter
KEEP_MODES = ("all", "relevant")


@dataclass
class RunOptions:
    signatures: list[str] = field(default_factory=list)  # user signature dirs (added to built-ins)
    use_signatures: bool = True
    jobs: int = 1
    scheduler: str | None = None  # Dask scheduler address, "local" for a LocalCluster
    force: bool = False
    keep: str = "relevant"
    limits: Limits = DEFAULT_LIMITS
    system_map: str | None = None
    progress: Callable[[ProgressEvent], None] | None = None
    warn: Callable[[str], None] | None = None  # one-line warnings as they happen


@dataclass
class ProgressEvent:
    units_done: int
    units_total: int
    bytes_done: int
    bytes_total: int
    current: str = ""


@dataclass
class RunSummary:
    out: str
    units: int = 0
    processed: int = 0
    skipped: int = 0
    errors: list[ErrorRecord] = field(default_factory=list)
    seconds: float = 0.0
    signature_digest: str = ""
    temporary: bool = False

    @property
    def dataset(self):
        return open_dataset(self.out)


# --------------------------------------------------------------------------------------------
# The unit of work (runs wherever the executor puts it)
# --------------------------------------------------------------------------------------------
_SIGNATURE_CACHE: dict[tuple[Any, ...], Any] = {}


def load_signature_set(dirs: list[str], limits: Limits) -> Any:
    """The signature set, loaded once per process."""
    key = (tuple(dirs), limits.regex_timeout)
    if key not in _SIGNATURE_CACHE:
        from triage import match

        _SIGNATURE_CACHE[key] = match.load_signatures(list(dirs), limits)
    return _SIGNATURE_CACHE[key]


def process_unit(unit: Unit, opts: RunOptions) -> PartData:
    """Facts for the unit's context, then the per-source pipeline over each of its sources."""
    from triage import pipeline, sources

    start = time.perf_counter()
    sigset = load_signature_set(opts.signatures, opts.limits) if opts.use_signatures else None
    part = PartData(
        unit=unit.key,
        input_digest=unit.input_digest,
        context_digest=unit.context_digest,
        signature_digest=getattr(sigset, "digest", ""),
        keep=opts.keep,
    )
    facts, fact_errors = _context_facts(unit, opts.limits)
    own = {s.display for s in unit.sources}
    part.facts = [f for f in facts if f.source_path in own]
    part.errors = [e for e in fact_errors if e.path in own]
    for src in unit.sources:
        if src.kind == KIND_CONFIG:
            res = pipeline.SourceResult(source=src, status="ok")
            read = sources.read_bytes(src, opts.limits)
            res.sha256 = _sha(read.data)
            res.errors.extend(read.errors)
            part.results.append(res)
            continue
        known = (
            unit.input_digest
            if not src.members and src.disk_path == unit.key and len(unit.input_digest) == 64
            else ""
        )
        res = pipeline.process_source(
            src, facts, sigset, opts.keep, opts.limits, system_map=opts.system_map, sha256=known
        )
        part.results.extend(res.all())
    part.seconds = time.perf_counter() - start
    return part


def _context_facts(unit: Unit, limits: Limits) -> tuple[list[Fact], list[ErrorRecord]]:
    from triage import parsers, sources

    def read(src: SourceFile) -> bytes:
        return sources.read_bytes(src, limits).data

    try:
        return parsers.bundle_facts(unit.context, read)
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


def run_unit_and_write(
    unit: Unit, opts: RunOptions, out: str
) -> tuple[str, dict[str, Any], list[ErrorRecord]]:
    """Process one unit and write its part (worker side); the caller commits the entry."""
    try:
        part = process_unit(unit, opts)
    except Exception as exc:  # one broken unit must not stop the batch
        part = PartData(unit=unit.key, input_digest=unit.input_digest, keep=opts.keep)
        part.errors.append(
            ErrorRecord(
                path=unit.key,
                stage="batch",
                error_class="internal-error",
                message=f"{unit.key}: internal error, unit skipped: {type(exc).__name__}: {exc}",
            )
        )
    part_id, entry = write_part_to(out, part)
    errors = list(part.errors)
    for r in part.results:
        errors.extend(r.errors)
    return part_id, entry, errors


# --------------------------------------------------------------------------------------------
# The run (caller side)
# --------------------------------------------------------------------------------------------
def run(paths: list[str], out: str | None, opts: RunOptions) -> RunSummary:
    from triage import sources

    t0 = time.perf_counter()
    if opts.keep not in KEEP_MODES:
        raise ValueError(f"keep must be one of {KEEP_MODES}")
    temporary = out is None
    if out is None:
        out = tempfile.mkdtemp(prefix="triage-")
    summary = RunSummary(out=str(out), temporary=temporary)
    warn = opts.warn or (lambda msg: None)

    walked: list[SourceFile] = []
    walk_errors: list[ErrorRecord] = []
    for item in sources.walk(paths, opts.limits):
        if isinstance(item, ErrorRecord):
            walk_errors.append(item)
            warn(item.message)
        else:
            walked.append(item)
    summary.errors.extend(walk_errors)

    writer = DatasetWriter(str(out))
    cache = writer.manifest.setdefault("digest_cache", {})
    cache_tuples = {k: tuple(v) for k, v in cache.items()}
    units = make_units(walked)
    digest_units(units, cache_tuples)
    sig_digest = ""
    if opts.use_signatures:
        sig_digest = getattr(load_signature_set(opts.signatures, opts.limits), "digest", "")
    summary.signature_digest = sig_digest

    todo = [u for u in units if opts.force or not _up_to_date(writer.manifest, u, sig_digest, opts)]
    summary.units = len(units)
    summary.skipped = len(units) - len(todo)

    added: dict[str, dict[str, Any]] = {}
    total_bytes = sum(u.size for u in todo)
    done_bytes = 0
    for i, (unit, result) in enumerate(_execute(todo, opts, str(out)), start=1):
        part_id, entry, errors = result
        if part_id:
            added[part_id] = entry
        for e in errors:
            warn(e.message)
        summary.errors.extend(errors)
        done_bytes += unit.size
        if opts.progress:
            opts.progress(ProgressEvent(i, len(todo), done_bytes, total_bytes, unit.key))
    summary.processed = len(added)
    # what the walk could not open (traversal, bombs, limits, ...) is rows in `errors` too
    walk_parts = _walk_error_parts(paths, walk_errors, opts.keep)
    for part in walk_parts.values():
        if part.errors:
            part_id, entry = write_part_to(str(out), part)
            added[part_id] = entry

    extra = {
        "signature_digest": sig_digest,
        "inputs": sorted(
            {*writer.manifest.get("inputs", []), *(os.path.abspath(p) for p in paths)}
        ),
        "digest_cache": {k: list(v) for k, v in cache_tuples.items()},
        "timings": {"last_run_seconds": round(time.perf_counter() - t0, 3)},
        "walk_errors": [e.__dict__ for e in walk_errors],
    }
    writer.commit(added, replaced_units=list(walk_parts), extra=extra)
    summary.seconds = time.perf_counter() - t0
    return summary


#: unit key prefix of the parts holding one input path's walk errors
WALK_ERRORS_UNIT = "walk-errors:"


def _walk_error_parts(
    paths: list[str], errors: list[ErrorRecord], keep: str
) -> dict[str, PartData]:
    """One part per input path with the walk errors under it (replacing an earlier run's)."""
    parts = {
        WALK_ERRORS_UNIT + os.path.abspath(p): PartData(
            unit=WALK_ERRORS_UNIT + os.path.abspath(p), input_digest="", keep=keep
        )
        for p in paths
    }
    if not parts:
        return parts
    keys = list(parts)
    for e in errors:
        owner = max(
            (i for i, p in enumerate(paths) if e.path.startswith(p)),
            key=lambda i: len(paths[i]),
            default=0,
        )
        parts[keys[owner]].errors.append(e)
    return parts


def _up_to_date(manifest: dict[str, Any], unit: Unit, sig_digest: str, opts: RunOptions) -> bool:
    for entry in manifest.get("parts", {}).values():
        if (
            entry["unit"] == unit.key
            and entry["input_digest"] == unit.input_digest
            and entry.get("context_digest") == unit.context_digest
            and entry.get("signature_digest") == sig_digest
            and entry.get("keep") == opts.keep
        ):
            return True
    return False


def _execute(
    units: list[Unit], opts: RunOptions, out: str
) -> Iterator[tuple[Unit, tuple[str, dict[str, Any], list[ErrorRecord]]]]:
    """Yield (unit, result) as units complete, in whatever executor the options ask for."""
    if opts.scheduler:
        from triage.batch.dask_exec import execute_on_dask

        yield from execute_on_dask(units, opts, out)
        return
    if opts.jobs <= 1 or len(units) <= 1:
        for u in units:
            yield u, run_unit_and_write(u, opts, out)
        return
    worker_opts = _picklable(opts)
    # Largest first so that one big bundle does not end the run alone on one core.
    order = sorted(units, key=lambda u: -u.size)
    with ProcessPoolExecutor(max_workers=opts.jobs) as pool:
        pending: dict[Future, Unit] = {
            pool.submit(run_unit_and_write, u, worker_opts, out): u for u in order
        }
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                unit = pending.pop(fut)
                try:
                    result = fut.result()
                except Exception as exc:  # a worker died (killed, out of memory)
                    err = ErrorRecord(
                        path=unit.key,
                        stage="batch",
                        error_class="worker-died",
                        message=f"{unit.key}: worker failed: {type(exc).__name__}: {exc}",
                    )
                    result = ("", {}, [err])
                yield unit, result


def _picklable(opts: RunOptions) -> RunOptions:
    """Options without the caller's callbacks, which stay in the caller's process."""
    from dataclasses import replace

    return replace(opts, progress=None, warn=None)
