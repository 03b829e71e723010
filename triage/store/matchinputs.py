"""What matching a source needs beyond the rows a part keeps, stored beside them.

Signatures run over a source's lines, boots and crashes (all in the part's tables when every
line is kept, `keep="all"`) and over the facts of the source and its bundle — a list that also
holds facts other units state (the status report beside a guest log), in the order the matcher
was given them — and the source itself (its display path and VM name link it to a VM). A part
written with every line keeps these last two per matched source in `match-inputs.json`, so that
a changed signature set can be matched against the part (`triage.batch.rematch`) without
reading, decompressing or parsing its inputs again. JSON, not pickle: a dataset may come from
someone else, and loading it must not run code.
"""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import datetime
from typing import Any

from triage.model import Fact, SourceFile

#: the file's name in a part, and the entry key naming it
FILE = "match-inputs.json"
ENTRY_KEY = "match_inputs"

_SOURCE_FIELDS = tuple(f.name for f in fields(SourceFile))
_FACT_FIELDS = tuple(f.name for f in fields(Fact))


def dump(results: list[Any]) -> bytes | None:
    """The file for a part's source results; None when no source was matched. Each distinct
    fact is written once: the sources of a bundle share its facts."""
    sources = {}
    pool: list[list[Any]] = []
    index: dict[tuple[Any, ...], int] = {}
    for r in results:
        if r.match_facts is None:
            continue
        ids = []
        for f in r.match_facts:
            row = tuple(_json(getattr(f, n)) for n in _FACT_FIELDS)
            if row not in index:
                index[row] = len(pool)
                pool.append(list(row))
            ids.append(index[row])
        sources[r.source.source_id] = {
            "source": {n: _json(getattr(r.source, n)) for n in _SOURCE_FIELDS},
            "facts": ids,
        }
    if not sources:
        return None
    doc = {"version": 1, "fact_fields": list(_FACT_FIELDS), "facts": pool, "sources": sources}
    return json.dumps(doc, separators=(",", ":")).encode()


def load(data: bytes) -> dict[str, tuple[SourceFile, list[Fact]]]:
    """Source id → (the source, the facts it was matched with). Raises ValueError when the file
    is not one this code wrote (the caller then reads the inputs again)."""
    try:
        doc = json.loads(data)
        if doc.get("version") != 1:
            raise ValueError(f"match inputs of version {doc.get('version')!r}")
        names = doc["fact_fields"]
        pool = []
        for row in doc["facts"]:
            f = dict(zip(names, row, strict=True))
            pool.append(Fact(**{**f, "time": _time(f["time"])}))
        out = {}
        for source_id, item in doc["sources"].items():
            s = item["source"]
            src = SourceFile(**{**s, "members": tuple(s["members"])})
            out[source_id] = (src, [pool[i] for i in item["facts"]])
        return out
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"damaged match inputs: {exc}") from None


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
