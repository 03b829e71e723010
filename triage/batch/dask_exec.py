"""Running units on a Dask distributed cluster.

Workers run the very same `run_pack_and_write` as the process pool: each writes its own part
into the dataset (which must therefore be reachable from the workers: a shared path or an fsspec
URL), and the client commits the returned entries. `scheduler="local"` starts a LocalCluster.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from triage.batch.units import Unit


class DaskMissing(RuntimeError):
    pass


def execute_on_dask(
    packs: list[list[Unit]], opts: Any, out: str
) -> Iterator[tuple[list[Unit], Any]]:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise DaskMissing("--scheduler needs dask.distributed: pip install 'triage[dask]'") from exc
    from triage.batch.run import _picklable, run_pack_and_write, worker_died

    worker_opts = _picklable(opts)
    cluster = None
    if opts.scheduler == "local":
        cluster = LocalCluster(n_workers=max(opts.jobs, 1), threads_per_worker=1, processes=True)
        client = Client(cluster)
    else:
        client = Client(opts.scheduler)
    try:
        futures = {
            client.submit(run_pack_and_write, p, worker_opts, out, key=f"pack-{i}", pure=False): p
            for i, p in enumerate(packs)
        }
        for fut in as_completed(list(futures)):
            pack = futures[fut]
            try:
                result = fut.result()
            except Exception as exc:  # a task lost with its worker
                result = ("", {}, [worker_died(pack, "dask task failed", exc)], {})
            yield pack, result
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
