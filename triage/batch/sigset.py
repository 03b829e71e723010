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

    from triage import __version__
    from triage.match.library import builtin_dir, signature_files

    h = hashlib.sha256(__version__.encode())  # the schema and the loader come with the tool
    for root in [builtin_dir(), *(Path(d) for d in dirs)]:
        if root is None or not root.exists():
            h.update(b"missing:" + str(root).encode())
            continue
        for path in signature_files(root):
            h.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def warm_worker(dirs: list[str] | None, limits: Limits, files_key: str) -> None:
    """What every worker needs before its first pack: the pipeline imported, pandas loaded
    (pyarrow imports it at the first array built from Python objects) and, unless `dirs` is
    None (a run without signatures), the set loaded. A failure is left for the pack to report
    (a bad signature file is reported once, by the caller)."""
    try:
        import pyarrow as pa

        import triage.pipeline  # noqa: F401

        pa.array([0])
        if dirs is not None:
            load_signature_set(dirs, limits, files_key)
    except Exception:  # reported where it matters: by the pack, or by the caller
        pass
