"""Imported for its effect, by the fork server that `--scheduler local` starts
(`dask_exec._start_fork_server`): the server warms up as a pool worker does
(`sigset.warm_for_builtin_set`: the pipeline imported, pyarrow settled without pandas, the
built-in signature set loaded) before it forks the cluster's workers, which inherit it.

Each worker used to warm up on its own as it started (the preload's `dask_setup`, about 0.4 s,
which then finds everything loaded): two at once, on two cores, while the caller was still
importing `distributed` and walking. The server does it once, meanwhile. Nothing here starts
a thread or Arrow's thread pool, so each worker still sizes that pool from the environment its
nanny gives it. Only that server imports this module: a process that imports it serves triage
alone (its workers hand Arrow no pandas objects).
"""

from __future__ import annotations

from triage.batch.sigset import warm_for_builtin_set

warm_for_builtin_set(without_pandas=True)
