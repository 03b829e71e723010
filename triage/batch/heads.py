"""What the walk read from each file's head, kept in the manifest from one run to the next.

Deciding a file's kind means reading and classifying its first 16 KiB: a tenth of a millisecond
a file, and a second for a folder of ten thousand small logs — nearly all of an unchanged rerun
of it, which otherwise only compares stats with the digest cache. The manifest keeps each head's
analysis under the file's absolute path with the size and mtime it had, and the walk of the next
run takes it as read while both hold (as it takes known archives, `manifest["archives"]`).

The entry is keyed by the detection rules and the run's settings: other rules or limits read
every head again. `--force` reads them all again too, and keeps what it read.
"""

from __future__ import annotations

import hashlib
from typing import Any

from triage.sources import KnownHead
from triage.sources.containers import rules_digest
from triage.sources.detect import Analysis

#: the manifest's key for the entry
ENTRY = "heads"


def heads_key(settings: str) -> str:
    """The key a manifest's heads must carry to be taken as read by a run with `settings`."""
    return hashlib.sha256(f"{rules_digest()}:{settings}".encode()).hexdigest()[:16]


def known_heads(manifest: dict[str, Any], key: str) -> dict[str, KnownHead]:
    """The heads the manifest holds, by absolute path; none when read by other rules or when
    the entry is not one this code wrote."""
    doc = manifest.get(ENTRY)
    if not isinstance(doc, dict) or doc.get("key") != key:
        return {}
    try:
        analyses = [
            Analysis(size_seen=a[0], binary=bool(a[1]), dump=a[2], lines=a[3], counts=dict(a[4]))
            for a in doc["analyses"]
        ]
        return {
            path: KnownHead(int(v[0]), int(v[1]), bool(v[2]), analyses[v[3]])
            for path, v in doc["files"].items()
        }
    except (KeyError, IndexError, TypeError, ValueError):  # hand-edited or damaged: read again
        return {}


def heads_entry(heads: dict[str, KnownHead], key: str) -> dict[str, Any]:
    """The manifest's entry for `heads`: each distinct analysis once (the files of a folder of
    one program's logs mostly share theirs), each file as [size, mtime_ns, compressed, index]."""
    analyses: list[list[Any]] = []
    index: dict[tuple[Any, ...], int] = {}
    files: dict[str, list[int]] = {}
    for path in sorted(heads):
        h = heads[path]
        a = h.analysis
        token = (a.size_seen, a.binary, a.dump, a.lines, *a.counts.items())
        if token not in index:
            index[token] = len(analyses)
            analyses.append([a.size_seen, a.binary, a.dump, a.lines, a.counts])
        files[path] = [h.size, h.mtime_ns, int(h.compressed), index[token]]
    return {"key": key, "analyses": analyses, "files": files}
