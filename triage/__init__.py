"""triage — kernel log analysis and crash triage.

The Python API mirrors the command line:

- `triage.scan(paths, out=None, ...)` — find crashes and documented issues; returns a `RunSummary`
  whose `.dataset` is the opened result.
- `triage.ingest(paths, out=...)` — build the dataset keeping every kernel line.
- `triage.open_dataset(path)` — every table as a pandas DataFrame, `.sql("…")` through DuckDB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from triage.lazy import lazy_attributes
from triage.version import __version__

if TYPE_CHECKING:
    from triage.batch.options import RunOptions
    from triage.batch.run import RunSummary
    from triage.store import Dataset, open_dataset


#: reading a dataset needs pyarrow and fsspec, which `import triage` (and so every command
#: line start) should not pay for up front
__getattr__ = lazy_attributes(__name__, {"Dataset": "store", "open_dataset": "store"})


def scan(paths: str | list[str], out: str | None = None, **options: Any) -> RunSummary:
    """Scan logs, dumps and bundles: crashes plus signature findings, keeping only relevant lines.

    Options are those of `triage.batch.run.RunOptions` (signatures, jobs, scheduler, force,
    limits, system_map, keep, progress). Without `out` the dataset goes to a temporary folder;
    without `jobs` the run takes one worker, or one per core with `scheduler="local"`.
    """
    from triage.batch.run import run

    return run(_as_list(paths), out, _options(options, "relevant"))


def ingest(paths: str | list[str], out: str, **options: Any) -> RunSummary:
    """Build the dataset keeping every kernel line (signatures are matched too unless disabled)."""
    from triage.batch.run import run

    return run(_as_list(paths), out, _options(options, "all"))


def _options(options: dict[str, Any], keep: str) -> RunOptions:
    from triage.batch.options import RunOptions, default_jobs

    jobs = default_jobs(options.pop("jobs", None), options.get("scheduler"))
    return RunOptions(keep=options.pop("keep", keep), jobs=jobs, **options)


def _as_list(paths: str | list[str]) -> list[str]:
    return [paths] if isinstance(paths, str) else [str(p) for p in paths]


__all__ = ["Dataset", "__version__", "ingest", "open_dataset", "scan"]
