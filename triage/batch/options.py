"""The options of a batch run, and the progress it reports: what the API, the command line
and the workers (which get a copy without the caller's callbacks) agree on."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from triage.limits import DEFAULT_LIMITS, Limits

#: how the dataset's lines are kept: every kernel line, or only the lines that matter
KEEP_MODES = ("all", "relevant")


def default_jobs(jobs: int | None, scheduler: str | None) -> int:
    """The workers of a run whose caller did not say: one, except on the cluster `--scheduler
    local` starts, whose only use is to spread the work over this machine's cores (a cluster
    of one worker is slower than none)."""
    if jobs is not None:
        return jobs
    return (os.cpu_count() or 1) if scheduler == "local" else 1


@dataclass
class RunOptions:
    signatures: list[str] = field(default_factory=list)  # user signature dirs (added to built-ins)
    use_signatures: bool = True
    jobs: int = 1  # (the API and the command line default it with `default_jobs`)
    scheduler: str | None = None  # Dask scheduler address, "local" for a LocalCluster
    force: bool = False
    keep: str = "relevant"
    limits: Limits = DEFAULT_LIMITS
    system_map: str | None = None
    progress: Callable[[ProgressEvent], None] | None = None
    warn: Callable[[str], None] | None = None  # one-line warnings as they happen
    #: what the caller will need after the run, loaded while its workers process the packs
    #: (`scan`: the report's modules); never called by a run in one process
    meanwhile: Callable[[], None] | None = None
    #: the caller never hands pandas objects to Arrow (the CLI): it settles pyarrow's check
    #: for them without importing pandas (`sigset.arrow_without_pandas`) before its first rows
    without_pandas: bool = False
    #: set by `run`: the signature files' digest, so that workers do not hash them per pack
    signature_key: str = ""


@dataclass
class ProgressEvent:
    units_done: int
    units_total: int
    bytes_done: int
    bytes_total: int
    current: str = ""
