"""Running packs on a Dask distributed cluster.

Workers run the very same `run_pack_and_write` as the process pool: each writes its own part
into the dataset (which must therefore be reachable from the workers: a shared path or an fsspec
URL), and the client commits the returned entries. `scheduler="local"` starts a LocalCluster;
its processes take about as long to start as the caller takes to walk and digest the inputs,
so the session starts in a thread first thing and the two overlap.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

from triage.batch.units import Unit


class DaskMissing(RuntimeError):
    pass


#: how a LocalCluster starts its workers: from a fork server where there is one (a clean,
#: single-threaded process: ~0.3 s faster than spawning each worker, without forking this
#: threaded one), else by spawning
_START = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"

#: set in the environment of the workers of `--scheduler local`'s cluster
_OWN_WORKER = "TRIAGE_OWN_DASK_WORKER"

#: what the fork server imports once for every worker it forks (see `_start_fork_server`),
#: the last of them warming it up
_FORK_SERVER_PRELOAD = ("distributed", "pyarrow", __name__, "triage.batch.forkserver_warm")


class DaskSession:
    """A client (and, for "local", its cluster), connecting in the background."""

    def __init__(self, scheduler: str, workers: int) -> None:
        import importlib.util

        if importlib.util.find_spec("distributed") is None:  # pragma: no cover - install
            raise DaskMissing("--scheduler needs dask.distributed: pip install 'triage[dask]'")
        self.scheduler = scheduler
        self.workers = max(workers, 1)
        self.client: Any = None
        self.cluster: Any = None
        self.error: BaseException | None = None
        if scheduler == "local" and _START == "forkserver":
            _start_fork_server()
        self._thread = threading.Thread(target=self._connect, name="triage-dask", daemon=True)
        self._thread.start()

    def _connect(self) -> None:
        from dask.distributed import Client, LocalCluster

        try:
            if self.scheduler == "local":
                import dask

                settings = {
                    "distributed.worker.multiprocessing-method": _START,
                    # (the profiler goes in the preload, `dask_setup`, as for any cluster)
                    "distributed.nanny.pre-spawn-environ": _spawn_environ(dask),
                }
                with dask.config.set(settings):
                    self.cluster = LocalCluster(
                        n_workers=self.workers,
                        threads_per_worker=1,
                        processes=True,
                        # workers get ready as they start, while the caller walks
                        preload=[__name__],
                        # its scheduler's web server on any free port: 8787, taken by an
                        # earlier run's cluster or anyone's, printed a warning and took another
                        dashboard_address=":0",
                    )
                self.client = Client(self.cluster)
            else:
                self.client = Client(self.scheduler)
        except BaseException as exc:  # handed to the caller when it needs the client
            self.error = exc

    def ready(self) -> Any:
        self._thread.join()
        if self.error is not None:
            raise self.error
        return self.client

    def execute(
        self,
        packs: list[list[Unit]],
        opts: Any,
        out: str,
        task: Callable[[list[Unit], Any, str], Any],
        lost: Callable[[list[Unit], str, BaseException], Any],
    ) -> Iterator[tuple[list[Unit], Any]]:
        """Yield (pack, `task(pack, opts, out)`) as packs complete on the cluster; a pack whose
        task failed (its worker lost) gets the error row `lost` makes of it."""
        from dask.distributed import as_completed

        client = self.ready()
        futures = {
            client.submit(task, p, opts, out, key=f"pack-{i}", pure=False): p
            for i, p in enumerate(packs)
        }
        for fut in as_completed(list(futures)):
            pack = futures[fut]
            try:
                result = fut.result()
            except Exception as exc:  # a task lost with its worker
                result = ("", {}, [lost(pack, "dask task failed", exc)], {})
            yield pack, result

    def close(self, interrupted: bool = False) -> None:
        """Close the client and the cluster it started; the same whether or not the run was
        interrupted (its workers ignore Ctrl-C, closing ends them: `dask_setup`)."""
        self._thread.join()
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _start_fork_server() -> None:
    """Start the fork server the LocalCluster's workers come from, now, with what they import.

    Left to Dask, it started once the caller had imported `distributed` (0.6-0.9 s), and only
    after the caller had also imported, one after the other, every package Dask lists as
    optional, which the server then imported again: a 200-bundle run's cluster was ready
    3.3 s in. Started here it imports its modules while the caller imports its own, and each
    worker is forked with them loaded: the cluster is ready 1.6-2.0 s in. The server also
    warms up for the workers (`forkserver_warm`), which no longer do it one by one as they
    start: 200 tiny bundles took 4 % and 20 % less time in two rounds of five, before and
    after taking turns (medians). A fork server this process already runs (an earlier
    cluster's) is kept as it is.
    """
    from multiprocessing import forkserver

    try:
        multiprocessing.get_context("forkserver").set_forkserver_preload(list(_FORK_SERVER_PRELOAD))
        forkserver.ensure_running()
    except Exception:  # Dask starts the server itself, as before
        pass


def _spawn_environ(dask: Any) -> dict[str, Any]:
    """The environment a LocalCluster's nanny gives its workers, without the 64 KiB
    `MALLOC_TRIM_THRESHOLD_` it sets by default: glibc then returned the heap's top to the
    kernel after nearly every free, and a pack — megabytes decompressed, parsed and dropped
    bundle after bundle — spent three times the system time and ran 11 % slower than in the
    process pool."""
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", None) or {})
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    environ[_OWN_WORKER] = "1"
    return environ


def dask_setup(worker: Any) -> None:
    """Ready a Dask worker as it starts (`dask worker --preload triage.batch.dask_exec`, and
    the LocalCluster of `--scheduler local`): the pipeline imported, pandas loaded (pyarrow
    imports it at the first array built from Python objects) and the built-in signature set
    compiled — about 0.4 s that would otherwise delay each worker's first pack. A worker of
    `--scheduler local` serves triage alone, so it settles pyarrow's check without pandas,
    as a pool worker does (sigset.arrow_without_pandas).

    Two of the worker's defaults cost a pack more than they give a triage worker, so a worker
    started with this preload drops them:
    - the statistical profiler (the dashboard's Profile page), which samples every thread's
      stack each 10 ms: packs ran 10 % faster without it;
    - the nanny's fixed 64 KiB malloc trim threshold, under which glibc gave memory back to
      the kernel after nearly every large free (3x the system time, 11 % slower). The
      thresholds become those glibc's own adjustment reaches for large buffers.
    """
    from triage.batch.sigset import warm_for_builtin_set

    callbacks = getattr(worker, "periodic_callbacks", None)
    if isinstance(callbacks, dict):  # not started yet: preloads run before them
        for name in ("profile", "profile-cycle"):
            pc = callbacks.pop(name, None)
            if pc is not None:
                pc.stop()
    if os.environ.get("MALLOC_TRIM_THRESHOLD_"):
        _glibc_large_buffer_thresholds()
    # a worker of triage's own cluster serves only triage, which hands Arrow no pandas objects
    own = os.environ.get(_OWN_WORKER) == "1"
    if own:  # and ends with it: Ctrl-C is the caller's to handle (it closes the cluster)
        import logging
        import signal

        with contextlib.suppress(ValueError):  # not the main thread: left as it is
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        # the packs a closing cluster cancels are no news: the caller says it was interrupted
        logging.getLogger("distributed.worker.state_machine").setLevel(logging.ERROR)
    warm_for_builtin_set(without_pandas=own)


#: glibc's mallopt parameters, and the ceilings its dynamic adjustment reaches on 64-bit
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_TRIM_BYTES, _MMAP_BYTES = 64 << 20, 32 << 20


def _glibc_large_buffer_thresholds() -> None:
    import ctypes

    try:
        mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # the process's own C library
        if mallopt is not None and "glibc" in (os.confstr("CS_GNU_LIBC_VERSION") or ""):
            mallopt(_M_TRIM_THRESHOLD, _TRIM_BYTES)
            mallopt(_M_MMAP_THRESHOLD, _MMAP_BYTES)
    except (OSError, ValueError, AttributeError):  # another libc, or none to be found: as is
        pass
