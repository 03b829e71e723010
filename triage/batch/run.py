"""A run: walk the inputs, cut them into units and packs, process the packs, publish the dataset.

The same pack function (`batch.worker`) runs in-process, in a process pool (`jobs > 1`) or on a
Dask cluster (`scheduler`); workers list the archives they are given, write their own parts, and
the caller commits them to the manifest, so a run killed at any point leaves the previous dataset
intact (store/writer.py). The caller itself never decompresses an archive: it walks folders, digests
files (reusing digests while size and mtime are unchanged) and skips what is up to date.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from triage.batch.heads import heads_entry, heads_key, known_heads
from triage.batch.options import KEEP_MODES, ProgressEvent, RunOptions
from triage.batch.process_setup import for_pool_worker, warm_pool_worker
from triage.batch.rematch import rematch_groups
from triage.batch.sigset import arrow_without_pandas, signature_files_digest, warm_worker
from triage.batch.units import digest_units, make_packs, make_units
from triage.batch.uptodate import (
    WALK_ERRORS_UNIT,
    changes_nothing,
    digests,
    heads_after,
    known_signature_digest,
    loaded_digest,
    manifest_extra,
    settings_digest,
    stat_key,
    unit_index,
)
from triage.batch.worker import Pack, PackResult, run_pack_and_write
from triage.model import ErrorRecord, SourceFile
from triage.sources import DeferredArchive
from triage.store.manifest import MANIFEST, entry_units, read_local_manifest
from triage.store.writer import DatasetWriter, PartData, write_part_to

if TYPE_CHECKING:  # the pool's modules load when a run starts one (a rerun that finds nothing
    # to do spends most of its time importing)
    from concurrent.futures import Future


@dataclass
class RunSummary:
    out: str
    units: int = 0
    processed: int = 0
    rematched: int = 0  # of the processed: a new signature set matched against their rows
    skipped: int = 0
    errors: list[ErrorRecord] = field(default_factory=list)
    seconds: float = 0.0
    signature_digest: str = ""
    temporary: bool = False
    counts: dict[str, int] = field(default_factory=dict)  # the dataset's rows per table
    snapshot_id: str = ""  # the dataset's snapshot after the run (report/cache.py keys on it)

    @property
    def dataset(self):
        from triage.store.reader import open_dataset

        return open_dataset(self.out)


# --------------------------------------------------------------------------------------------
# The run (caller side)
# --------------------------------------------------------------------------------------------
def run(paths: list[str], out: str | None, opts: RunOptions) -> RunSummary:
    from triage.sources.walker import distinct_inputs

    paths = distinct_inputs(paths)
    session: Any = None
    if opts.use_signatures:  # the workers load the set by this key
        opts = replace(opts, signature_key=signature_files_digest(opts.signatures))
    if opts.scheduler:  # connecting overlaps the walk
        from triage.batch.dask_exec import DaskSession

        session = DaskSession(opts.scheduler, opts.jobs)
    elif opts.jobs > 1 and _fresh_batch(paths, out, opts):
        session = _WarmPool(opts)
    interrupted = False
    try:
        with ExitStack() as held:  # the dataset's write lock, once the run is about to write
            return _run(paths, out, opts, session, held)
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        if session is not None:
            session.close(interrupted)


def _fresh_batch(paths: list[str], out: str | None, opts: RunOptions) -> bool:
    """Whether the run will most likely process many units (a folder, into a new dataset or
    with --force), so that a pool started and warmed before the walk pays for itself: for one
    small file, two workers warming up would only take the cores from it."""
    if not any(os.path.isdir(p) for p in paths):
        return False
    if out is None or opts.force:
        return True
    return "://" not in out and not os.path.exists(os.path.join(out, MANIFEST))


class _WarmPool:
    """The run's process pool, made before the walk: each worker imports the pipeline and
    loads the signature set (~0.4 s of a 20 KB bundle's first pack) while the caller walks,
    instead of after the first pack reaches it.

    The walk hands the pool the heads of a large folder's files to read first, and then has
    it warm up (`after_probes`): the workers read heads from the start, and warm up while the
    caller sorts what they read (10,000 files: about 0.8 s in the caller alone, in which warm
    workers had nothing to do).

    When the walk reads every head itself (a folder of a few hundred bundles), no worker has
    started by then, and a forked pool's workers start at the first pack: the caller warms
    up in their place, once, and each worker inherits it. Two workers warming up at once
    took the two cores for as long as one takes alone, besides the caller's walk (200 tiny
    bundles at -j 2, before and after taking turns: 16 % less CPU, 10 % less wall time,
    medians of 6)."""

    def __init__(self, opts: RunOptions) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context()
        self.pool = ProcessPoolExecutor(opts.jobs, context, initializer=warm_pool_worker)
        self._forks = context.get_start_method() == "fork"
        self._warm_args = (
            opts.signatures if opts.use_signatures else None,
            opts.limits,
            opts.signature_key,
        )
        self._without_pandas = opts.without_pandas
        self._jobs = opts.jobs
        self._started = False  # whether a task went to the pool, which started its workers
        self._warmed = False

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        """The pool's `submit`, for the walk (which takes this for its executor)."""
        self._started = True
        return self.pool.submit(fn, *args, **kwargs)

    def after_probes(self) -> None:
        """Called by the walk once its head-reading batches are queued (at once when it has
        none for the pool): the workers warm up behind them, or the caller before them."""
        if self._forks and not self._started and not self._warmed:
            self._warmed = True
            # a library caller's own code may hand pandas objects to Arrow: settled as asked
            warm_worker(*self._warm_args, without_pandas=self._without_pandas)
            return
        self.warm()

    def warm(self) -> None:
        """Queue the warming of every worker, once (a fork-started pool starts all of them at
        the first task)."""
        if not self._warmed:
            self._warmed = True
            for _ in range(self._jobs):
                self.pool.submit(warm_worker, *self._warm_args, without_pandas=True)

    def close(self, interrupted: bool = False) -> None:
        """Shut the pool down: after its running packs, or at once when the run was
        interrupted (its workers, deaf to Ctrl-C, end with the process or after their pack)."""
        self.pool.shutdown(wait=not interrupted, cancel_futures=True)


def _run(
    paths: list[str], out: str | None, opts: RunOptions, session: Any, held: ExitStack
) -> RunSummary:
    from triage import sources

    t0 = time.perf_counter()
    if opts.keep not in KEEP_MODES:
        raise ValueError(f"keep must be one of {KEEP_MODES}")
    temporary = out is None
    if out is None:
        out = tempfile.mkdtemp(prefix="triage-")
    summary = RunSummary(out=str(out), temporary=temporary)
    warn = opts.warn or (lambda msg: None)

    read_before = read_local_manifest(str(out))  # unlocked: a rerun may find nothing to do
    writer = _open_writer(str(out), held) if read_before is None else None
    manifest = writer.manifest if writer is not None else read_before[0]  # type: ignore[index]
    known = {p: (v[0], v[1]) for p, v in manifest.get("archives", {}).items()}
    settings = settings_digest(opts)
    heads_at = heads_key(settings)
    kept_heads = known_heads(manifest, heads_at)
    walk_heads = sources.Heads(known={} if opts.force else kept_heads)
    walked: list[SourceFile] = []
    archives: list[DeferredArchive] = []
    walk_errors: list[ErrorRecord] = []
    # (a pool runs for a folder only, whose walk has it warm its workers: see _WarmPool)
    pool = session if isinstance(session, _WarmPool) else None
    own_dir = _own_folder_among(str(out), paths)
    for item in sources.walk(
        paths,
        opts.limits,
        defer_archives=True,
        known_archives=known,
        executor=pool,
        heads=walk_heads,
    ):
        if own_dir and _inside(os.path.abspath(_disk_path(item)), own_dir):
            continue  # the dataset's own files, in a folder it was asked to read
        if isinstance(item, ErrorRecord):
            walk_errors.append(item)
            warn(item.message)
        elif isinstance(item, DeferredArchive):
            archives.append(item)
        else:
            walked.append(item)
    summary.errors.extend(walk_errors)
    if pool is not None:
        pool.warm()  # (queued already, unless the walk had no heads for the pool to read)
    heads = heads_entry(heads_after(kept_heads, walk_heads.seen, paths), heads_at)

    cache_tuples = {k: tuple(v) for k, v in manifest.get("digest_cache", {}).items()}
    units = make_units(walked, archives)
    sig_digest = ""
    if opts.use_signatures:
        if not opts.signature_key:
            opts = replace(opts, signature_key=signature_files_digest(opts.signatures))
        sig_digest = known_signature_digest(opts, manifest)

    current = unit_index(manifest, sig_digest, settings, opts.keep)
    # units whose rows a new signature set could be matched against (rematch.py)
    earlier = unit_index(manifest, None, settings, "all") if opts.keep == "all" else {}
    # digests now only where they decide something; the workers take the others as they read
    digest_units(
        units,
        cache_tuples,
        trust=not opts.force,
        wanted=lambda u: not opts.force and (u.key in current or u.key in earlier),
    )
    todo = [u for u in units if opts.force or current.get(u.key) != digests(u)]
    # the stats the walk took of loose files, else taken now: before any input is read
    seen = walk_heads.seen
    stat_at_walk = {
        u.key: (h.size, h.mtime_ns) if (h := seen.get(u.key)) else stat_key(u.key)
        for u in todo
        if not u.input_digest
    }
    summary.units = len(units)
    summary.skipped = len(units) - len(todo)
    if not todo and (sig_digest or not opts.use_signatures):
        extra = manifest_extra(
            manifest, paths, opts, sig_digest, cache_tuples, known, archives, heads
        )
        if changes_nothing(manifest, extra, paths, walk_errors):
            summary.signature_digest = sig_digest
            summary.counts = manifest.get("counts", {})
            summary.snapshot_id = (manifest.get("snapshot") or {}).get("id", "")
            summary.seconds = time.perf_counter() - t0
            return summary
    if writer is None:  # the manifest read above, unless a commit has replaced it since
        writer = _open_writer(str(out), held, read_before)

    added: dict[str, dict[str, Any]] = {}
    total_bytes = sum(u.size for u in todo)
    done_bytes = done_units = 0
    rematches = (
        [] if opts.force else rematch_groups(manifest, todo, sig_digest, settings, opts.keep)
    )
    again = {id(u) for pack in rematches for u in pack}
    workers = 1 if not (opts.jobs > 1 or opts.scheduler) else max(opts.jobs, 2)
    packs = rematches + make_packs([u for u in todo if id(u) not in again], workers)
    fresh: dict[str, dict[str, Any]] = {}
    for pack, result in _execute(packs, opts, str(out), session):
        part_id, entry, errors, tables = result
        if part_id:
            added[part_id] = entry
            fresh[part_id] = tables
            summary.processed += len(pack)
            if entry.get("rematched_from"):
                summary.rematched += len(pack)
            for key, d in entry_units(entry).items():  # digests the workers took, for next time
                if key in stat_at_walk and d.get("input_digest"):
                    cache_tuples[key] = (*stat_at_walk[key], d["input_digest"])
        for e in errors:
            warn(e.message)
        summary.errors.extend(errors)
        done_bytes += sum(u.size for u in pack)
        done_units += len(pack)
        if opts.progress:
            opts.progress(
                ProgressEvent(done_units, len(todo), done_bytes, total_bytes, pack[-1].key)
            )
    # what the walk could not open (traversal, bombs, limits, ...) is rows in `errors` too
    walk_parts = _walk_error_parts(paths, walk_errors, opts.keep)
    for part in walk_parts.values():
        if part.errors:
            part_id, entry = write_part_to(str(out), part)
            added[part_id] = entry

    if opts.use_signatures and not sig_digest:  # from the workers, who loaded the set
        made = [e["signature_digest"] for e in added.values() if e.get("signature_digest")]
        sig_digest = made[0] if made else loaded_digest(opts)
    summary.signature_digest = sig_digest
    extra = manifest_extra(
        writer.manifest, paths, opts, sig_digest, cache_tuples, known, archives, heads
    )
    extra["timings"] = {"last_run_seconds": round(time.perf_counter() - t0, 3)}
    extra["walk_errors"] = [e.__dict__ for e in walk_errors]
    committed = writer.commit(added, replaced_units=list(walk_parts), extra=extra, fresh=fresh)
    summary.counts = committed.get("counts", {})
    summary.snapshot_id = (committed.get("snapshot") or {}).get("id", "")
    summary.seconds = time.perf_counter() - t0
    return summary


def _disk_path(item: SourceFile | ErrorRecord | DeferredArchive) -> str:
    return item.path if isinstance(item, ErrorRecord) else item.disk_path


def _own_folder_among(out: str, paths: list[str]) -> str:
    """The dataset's folder (absolute) when one of the inputs holds it, else "": a dataset
    written into the folder it reads would read its own files as inputs, more each run."""
    if "://" in out:
        return ""
    own = os.path.abspath(out)
    return own if any(_inside(own, os.path.abspath(p)) for p in paths) else ""


def _inside(path: str, folder: str) -> bool:
    """Whether `path` lies in (or is) `folder`, both absolute; "" is no folder."""
    if not folder or not path:
        return False
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _open_writer(
    out: str, held: ExitStack, seen: tuple[dict[str, Any], Any] | None = None
) -> DatasetWriter:
    """The dataset's writer, under its write lock (store/lock.py) until the run ends."""
    from triage.store.lock import writing

    lease = held.enter_context(writing(out))
    writer = DatasetWriter(out, seen)
    if lease is not None:  # a dataset at a URL: publish only while the lease is still ours
        writer.before_publish = lease.confirm
    return writer


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


def _execute(
    packs: list[Pack], opts: RunOptions, out: str, session: Any = None
) -> Iterator[tuple[Pack, PackResult]]:
    """Yield (pack, result) as packs complete, in whatever executor the options ask for.
    Packs come biggest first, so that one big bundle does not end the run alone on one core."""
    warm = session.pool if isinstance(session, _WarmPool) else None
    if session is not None and warm is None:
        # a huge loose log first, from here: its chunks go to the cluster ahead of the packs
        huge = [p for p in packs if _huge(p)] if "://" not in out else []
        if huge:
            _arrow_ready(opts)
        for p in huge:
            yield p, _run_on_cluster_in_chunks(p, opts, out, session)
        rest = [p for p in packs if not any(p is h for h in huge)]
        if rest:
            done = session.execute(rest, _picklable(opts), out, run_pack_and_write, worker_died)
            first = next(done, None)  # the packs are with the cluster now
            _meanwhile(opts)
            if first is not None:
                yield first
            yield from done
        return
    huge = [p for p in packs if _huge(p)] if opts.jobs > 1 else []
    if opts.jobs <= 1 or (len(packs) <= 1 and not huge):
        if packs:
            _arrow_ready(opts)
        for p in packs:
            yield p, run_pack_and_write(p, opts, out)
        return
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    worker_opts = _picklable(opts)
    # the pool of a run that updates a dataset starts here, its workers cold
    cold = ProcessPoolExecutor(opts.jobs, initializer=for_pool_worker) if not warm else None
    with cold if cold is not None else nullcontext(warm) as pool:
        if huge:
            _arrow_ready(opts)
        for p in huge:  # first, from here: its chunks go to the pool ahead of the other packs
            yield p, run_pack_and_write(p, opts, out, executor=pool)
        pending: dict[Future, Pack] = {
            pool.submit(run_pack_and_write, p, worker_opts, out): p
            for p in packs
            if not any(p is h for h in huge)
        }
        _meanwhile(opts)
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                pack = pending.pop(fut)
                try:
                    result = fut.result()
                except Exception as exc:  # a worker died (killed, out of memory)
                    result = ("", {}, [worker_died(pack, "worker failed", exc)], {})
                yield pack, result


def _run_on_cluster_in_chunks(pack: Pack, opts: RunOptions, out: str, session: Any) -> PackResult:
    """A pack of one huge loose log, run from the caller with its chunks on the cluster, one per
    worker. The workers spill the chunks' lines into a temporary folder of the dataset, which
    they can write and the caller can read (they need not share a temporary folder); the part
    the caller writes takes the files over. A dataset at a URL gets the log whole, on one
    worker: the spill writer writes local files."""
    import shutil
    import uuid

    from triage.store.manifest import PARTS, TMP_PREFIX

    client = session.ready()
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    staging = os.path.join(os.path.abspath(out), PARTS, f"{TMP_PREFIX}chunks-{uuid.uuid4().hex}")
    os.makedirs(staging, exist_ok=True)
    try:
        executor = client.get_executor(pure=False)
        return run_pack_and_write(
            pack, replace(opts, jobs=workers), out, executor=executor, spill_dir=staging
        )
    except Exception as exc:  # the cluster lost: the pack's error row, as for a lost task
        return ("", {}, [worker_died(pack, "dask task failed", exc)], {})
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _arrow_ready(opts: RunOptions) -> None:
    """Before this process builds its first array (the pipeline's modules build some as they
    load): pyarrow settled without pandas, when the command asked for it."""
    if opts.without_pandas:
        arrow_without_pandas()


def _meanwhile(opts: RunOptions) -> None:
    """Load, while the workers run, what the caller needs once they are done: Arrow for the
    commit's snapshot (0.1-0.2 s, which opening the writer no longer costs up front; settled
    first, as `_arrow_ready` says, not before the packs went out: the workers would wait for
    it) and what the command asked for. Both would otherwise be paid after the last pack, on
    one core."""
    try:
        _arrow_ready(opts)
        import pyarrow.compute
        import pyarrow.parquet  # noqa: F401

        if opts.meanwhile is not None:
            opts.meanwhile()
    except Exception:  # only a head start: the commit and the command load what they need
        pass


def _huge(pack: Pack) -> bool:
    """A pack of one loose file big enough to be cut into chunks for the pool."""
    from triage.batch import units as units_mod

    return (
        len(pack) == 1
        and pack[0].archive is None
        and any(not s.members and s.size >= units_mod.CHUNK_SOURCE_BYTES for s in pack[0].sources)
    )


def worker_died(pack: Pack, what: str, exc: BaseException) -> ErrorRecord:
    """The error row for a pack lost with its worker (named by its first unit)."""
    more = f" and {len(pack) - 1} more" if len(pack) > 1 else ""
    return ErrorRecord(
        path=pack[0].key,
        stage="batch",
        error_class="worker-died",
        message=f"{pack[0].key}{more}: {what}: {type(exc).__name__}: {exc}",
    )


def _picklable(opts: RunOptions) -> RunOptions:
    """Options without the caller's callbacks, which stay in the caller's process."""
    from dataclasses import replace

    return replace(opts, progress=None, warn=None, meanwhile=None)
