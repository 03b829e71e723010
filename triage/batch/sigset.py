"""The signature set of a run: which files it is made of, and one loaded set per process.

Parsing, validating and compiling the YAML library costs a tenth of a second, so each process
(the caller, a pool worker, a Dask worker) loads a set once and keeps it, keyed by the digest of
the files' names and bytes: an edited file is a new key, and is loaded again. A worker can be
readied before its first task (`warm_worker`): the pool does it while the caller walks, Dask
workers as they start (`dask_exec.dask_setup`).
"""

from __future__ import annotations

from typing import Any

from triage.limits import Limits

_SIGNATURE_CACHE: dict[tuple[Any, ...], Any] = {}


def load_signature_set(dirs: list[str], limits: Limits, files_key: str = "") -> Any:
    """The signature set, loaded once per process (again when a file changed)."""
    key = (tuple(dirs), limits.regex_timeout, files_key or signature_files_digest(dirs))
    if key not in _SIGNATURE_CACHE:
        from triage import match

        _SIGNATURE_CACHE[key] = match.load_signatures(list(dirs), limits)
    return _SIGNATURE_CACHE[key]


def loaded_sets() -> int:
    """How many signature sets this process holds."""
    return len(_SIGNATURE_CACHE)


def signature_files_digest(dirs: list[str]) -> str:
    """A hash of the names and bytes of every signature file the set would load."""
    import hashlib
    from pathlib import Path

    from triage.match.library import builtin_dir, signature_files
    from triage.version import __version__

    h = hashlib.sha256(__version__.encode())  # the schema and the loader come with the tool
    for root in [builtin_dir(), *(Path(d) for d in dirs)]:
        if root is None or not root.exists():
            h.update(b"missing:" + str(root).encode())
            continue
        for path in signature_files(root):
            h.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


#: what a pack imports on first use besides the pipeline: the module of the task itself
#: (`batch.worker`, which a Dask or spawned worker otherwise imports to unpickle it), the
#: Parquet writer, the matcher, the chunking of a huge log, NumPy's masked arrays (pyarrow
#: asks for them when it builds an array from NumPy's). A worker's first pack took 0.1 s
#: longer than its next ones without them.
PACK_MODULES = (
    "numpy.ma",
    "pyarrow.parquet",
    "triage.batch.chunks",
    "triage.batch.worker",
    "triage.match.evaluation",
    "triage.store.writer",
)


def warm_worker(
    dirs: list[str] | None, limits: Limits, files_key: str, without_pandas: bool = False
) -> None:
    """What every worker needs before its first pack: the pipeline and `PACK_MODULES`
    imported, pyarrow's check for pandas done (see `arrow_without_pandas`; else pandas is
    imported now rather than in the first pack) and, unless `dirs` is None (a run without
    signatures), the set loaded. A failure is left for the pack to report (a bad signature
    file is reported once, by the caller)."""
    import importlib

    try:
        import pyarrow as pa

        if without_pandas:  # first: the pipeline's modules build arrays as they load
            arrow_without_pandas()
        else:
            pa.array([0])
        import triage.pipeline  # noqa: F401

        for name in PACK_MODULES:
            importlib.import_module(name)
        if dirs is not None:
            load_signature_set(dirs, limits, files_key)
    except Exception:  # reported where it matters: by the pack, or by the caller
        pass


def warm_for_builtin_set(without_pandas: bool) -> None:
    """`warm_worker` for the built-in signature set under the default limits: what a Dask
    worker's preload readies (`dask_exec.dask_setup`), and what `--scheduler local`'s fork
    server readies before it forks those workers (`forkserver_warm`). One call for both, so
    that a worker finds the set its server loaded under the very key it asks for."""
    from triage.limits import DEFAULT_LIMITS

    warm_worker([], DEFAULT_LIMITS, signature_files_digest([]), without_pandas=without_pandas)


class _NoPandas:
    """An import finder that has no pandas (see `arrow_without_pandas`)."""

    @staticmethod
    def find_spec(name: str, path: Any = None, target: Any = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas is kept out of pyarrow's first check here")


def arrow_without_pandas() -> None:
    """Let pyarrow settle, in this process, that pandas is not there.

    The first time pyarrow builds an array from Python objects it imports pandas, 0.2 s, to
    ask whether they are pandas objects; nothing triage's pool workers or its CLI hand to
    Arrow is one. Its first such array is built here with pandas out of reach, as on a machine
    without pandas, and pyarrow does not ask again. pandas itself stays importable
    (`to_pandas` still works, for the report). Not for a Dask worker, which may serve other
    work, nor for a library caller, whose own code may hand pandas objects to Arrow.
    """
    import sys

    import pyarrow as pa

    if "pandas" in sys.modules:
        return  # imported already (a fork of a process that had it): nothing to save
    sys.meta_path.insert(0, _NoPandas)  # type: ignore[arg-type]
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(_NoPandas)  # type: ignore[arg-type]
