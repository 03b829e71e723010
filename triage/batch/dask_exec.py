"""Running units on a Dask distributed cluster.

Workers run the very same `run_unit_and_write` as the process pool: each writes its own part
into the dataset (which must therefore be reachable from the workers: a shared path or an fsspec
URL), and the client commits the returned entries. `scheduler="local"` starts a LocalCluster.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from triage.batch.units import Unit
from triage.model import ErrorRecord


class DaskMissing(RuntimeError):
    pass


def execute_on_dask(units: list[Unit], opts: Any, out: str) -> Iterator[tuple[Unit, Any]]:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise DaskMissing("--scheduler needs dask.distributed: pip install 'triage[dask]'") from exc
    from triage.batch.run import _picklable, run_unit_and_write

    worker_opts = _picklable(opts)
    cluster = None
    if opts.scheduler == "local":
        cluster = LocalCluster(n_workers=max(opts.jobs, 1), threads_per_worker=1, processes=True)
        client = Client(cluster)
    else:
        client = Client(opts.scheduler)
    try:
        futures = {
            client.submit(run_unit_and_write, u, worker_opts, out, key=f"unit-{i}", pure=False): u
            for i, u in enumerate(sorted(units, key=lambda u: -u.size))
        }
        for fut in as_completed(list(futures)):
            unit = futures[fut]
            try:
                result = fut.result()
            except Exception as exc:  # a task lost with its worker
                err = ErrorRecord(
                    path=unit.key,
                    stage="batch",
                    error_class="worker-died",
                    message=f"{unit.key}: dask task failed: {type(exc).__name__}: {exc}",
                )
                result = ("", {}, [err])
            yield unit, result
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
