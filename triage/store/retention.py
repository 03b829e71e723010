"""How long the folders a commit stops naming stay on disk: readers opened before it read them.

A reader trusts the manifest it opened, and reads its files when a table is first asked for or,
through DuckDB, at every query. A notebook that opened a dataset before a batch run committed
would otherwise find its parts gone — the parts a `--force` run or a changed bundle replaced,
and the snapshot every commit replaces. So a commit does not delete them: it lists them in the
manifest as retired, with the time, and a later commit deletes those retired longer than
`RETAIN_SECONDS` ago. A reader that outlives that gets a clear message (`store/reader.py`).
Until the next commit, nothing is deleted: the disk a replaced part takes is freed by the
first commit an hour after it was replaced.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: how long a retired part or snapshot stays readable (and on disk), in seconds
RETAIN_SECONDS = 3600.0
#: the manifest's key: folder relative to the dataset ("parts/<id>") → when it was retired
RETIRED = "retired"


def retire(manifest: dict[str, Any], folders: Iterable[str], now: float) -> None:
    """Record `folders` as no longer named by the manifest, from `now`."""
    retired = manifest.setdefault(RETIRED, {})
    for folder in folders:
        retired.setdefault(folder, now)


def take_expired(manifest: dict[str, Any], now: float) -> list[str]:
    """The retired folders whose time is up, removed from the manifest (to be deleted once the
    manifest without them is published)."""
    retired = manifest.get(RETIRED, {})
    gone = sorted(f for f, at in retired.items() if now - at >= RETAIN_SECONDS)
    for folder in gone:
        del retired[folder]
    if not retired:
        manifest.pop(RETIRED, None)
    return gone


def retained(manifest: dict[str, Any], under: str) -> set[str]:
    """The names of the retired folders under `under` ("parts" or "snapshots"): not strays."""
    prefix = under.rstrip("/") + "/"
    return {f[len(prefix) :] for f in manifest.get(RETIRED, {}) if f.startswith(prefix)}
