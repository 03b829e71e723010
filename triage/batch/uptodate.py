"""What a rerun may skip, and what a run records in the manifest for the next one.

A unit's rows are up to date when the manifest names them with the unit's input and context
digests, this signature set, these settings and this keep mode (`unit_index`). Deciding that
must cost next to nothing on an unchanged rerun: the manifest is read without fsspec, the
signature set's digest comes from a memo of its files instead of loading them, and a run that
would change nothing writes nothing (`changes_nothing`).
"""

from __future__ import annotations

import os
from typing import Any

from triage.batch.heads import ENTRY as HEADS_ENTRY
from triage.batch.options import RunOptions
from triage.batch.sigset import load_signature_set
from triage.batch.units import Unit, disk_key
from triage.sources import DeferredArchive, KnownHead
from triage.store.manifest import entry_units
from triage.version import __version__

#: unit key prefix of the parts holding one input path's walk errors
WALK_ERRORS_UNIT = "walk-errors:"


def manifest_extra(
    manifest: dict[str, Any],
    paths: list[str],
    opts: RunOptions,
    sig_digest: str,
    cache: dict[str, tuple[Any, ...]],
    known: dict[str, tuple[int, int]],
    archives: list[DeferredArchive],
    heads: dict[str, Any],
) -> dict[str, Any]:
    """What the run's commit records in the manifest besides the parts."""
    return {
        HEADS_ENTRY: heads,
        "signature_digest": sig_digest,
        "signature_memo": {"files": opts.signature_key, "digest": sig_digest},
        "inputs": sorted({*manifest.get("inputs", []), *(os.path.abspath(p) for p in paths)}),
        "digest_cache": {k: list(v) for k, v in cache.items()},
        "archives": {**known, **{disk_key(a.disk_path): stat_key(a.disk_path) for a in archives}},
    }


def heads_after(
    kept: dict[str, KnownHead], seen: dict[str, KnownHead], paths: list[str]
) -> dict[str, KnownHead]:
    """The heads to keep for the next run: those this walk read or took, and the kept ones of
    files outside its paths (a dataset fed from several folders); a file under its paths that it
    no longer listed is gone."""
    mine = tuple(
        p for path in paths for p in (os.path.abspath(path), os.path.abspath(path) + os.sep)
    )
    out = {k: v for k, v in kept.items() if not (k.startswith(mine) and k not in seen)}
    out.update(seen)
    return out


def changes_nothing(
    manifest: dict[str, Any], extra: dict[str, Any], paths: list[str], walk_errors: list[Any]
) -> bool:
    """Whether a run that processed no unit would leave the dataset as it is, so that it need
    not be written at all: an unchanged rerun then never imports pyarrow or fsspec (a third
    of its time) and works on a dataset it may only read."""
    import json

    if walk_errors:
        said = json.loads(json.dumps([e.__dict__ for e in walk_errors], default=str))
        if said != manifest.get("walk_errors"):
            return False
        # what the last run could not open, said again: its parts hold these very rows (a
        # dangling link in a folder rerun every night rewrote the dataset every night)
    else:
        own = {WALK_ERRORS_UNIT + os.path.abspath(p) for p in paths}
        if any(own.intersection(entry_units(e)) for e in manifest.get("parts", {}).values()):
            return False  # an earlier run's walk errors under these paths are to be dropped
    return all(
        json.loads(json.dumps(value, default=str)) == manifest.get(key)
        for key, value in extra.items()
    )


def known_signature_digest(opts: RunOptions, manifest: dict[str, Any]) -> str:
    """The signature set's digest when deciding what is up to date needs it, else "".

    Loading means parsing and validating every YAML file — a third of an unchanged rerun. The
    manifest's memo maps the files' digest to the set's digest, so an unchanged set is not
    loaded; a dataset without parts has nothing to compare, and the workers report the digest
    of the set they load. New user folders are loaded here all the same: a bad file must stop
    the run with one line before any work starts, not fail in every worker.
    """
    memo = manifest.get("signature_memo", {})
    if memo.get("files") == opts.signature_key and memo.get("digest"):
        return memo["digest"]  # these very files loaded (and validated) before
    if not manifest.get("parts") and not opts.signatures:
        return ""
    return loaded_digest(opts)


def loaded_digest(opts: RunOptions) -> str:
    sigset = load_signature_set(opts.signatures, opts.limits, opts.signature_key)
    return getattr(sigset, "digest", "")


def settings_digest(opts: RunOptions) -> str:
    """What besides inputs and signatures changes a unit's rows: the tool's version (a new
    one may parse the same bytes into other rows, which a part matched again from its rows
    would keep), the limits (a cap turns rows into errors) and the System.map given for Xen
    dumps."""
    import hashlib

    text = repr((__version__, sorted(opts.limits.__dict__.items()), opts.system_map or ""))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def stat_key(path: str) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return (-1, -1)
    return (st.st_size, st.st_mtime_ns)


def digests(unit: Unit) -> tuple[str, str]:
    return unit.input_digest, unit.context_digest


def unit_index(
    manifest: dict[str, Any], sig_digest: str | None, settings: str, keep: str
) -> dict[str, tuple[str, str]]:
    """Unit key → (input, context) digests of its rows in the dataset, where those rows were
    made with this signature set (any, for None), these settings and keep mode (the only ones
    a rerun keeps)."""
    index: dict[str, tuple[str, str]] = {}
    for entry in manifest.get("parts", {}).values():
        if (
            (sig_digest is not None and entry.get("signature_digest") != sig_digest)
            or entry.get("settings_digest", "") != settings
            or entry.get("keep") != keep
        ):
            continue
        for key, d in entry_units(entry).items():
            index[key] = (d.get("input_digest", ""), d.get("context_digest", ""))
    return index
