"""Shared test inputs for the frames/fields/fingerprint/SysRq tests and the satyr/abrt corpora.

The corpora stay in ../shared/corpora; tests read them in place and skip when absent. Log
prefixes are removed with `triage.parsers.parse_bytes` once that stage works, and otherwise
with a small local strip (syslog header, `[ t ]` stamp) so these tests do not wait on it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pytest

from triage.model import LINES_SCHEMA

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"

_SYSLOG = re.compile(r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ kernel: ?")
_STAMP = re.compile(r"^\s*\[\s*\d+\.\d+\]\s?")


def corpus(name: str) -> Path:
    path = CORPORA / name
    if not path.is_dir():
        pytest.skip(f"corpus {name!r} not present at {path} (../shared/corpora is optional)")
    return path


def message_lines(data: bytes) -> list[str]:
    """The kernel message text of each line, prefixes removed."""
    try:
        from triage.parsers import parse_bytes

        table = parse_bytes(data)
        texts = table.column("text").to_pylist()
        if texts:
            return [t or "" for t in texts]
    except NotImplementedError:
        pass
    out = []
    for raw in data.decode("utf-8", "replace").replace("\r", "").split("\n"):
        line = _SYSLOG.sub("", raw, count=1)
        out.append(_STAMP.sub("", line, count=1))
    return out


def lines_table(
    texts: list[str], source_id: str = "src", boot_ids: list[str] | None = None
) -> pa.Table:
    """A `lines` table holding `texts` as lines 1..n (the shape crash stages receive)."""
    n = len(texts)
    cols = {name: [None] * n for name in LINES_SCHEMA.names}
    cols["source_id"] = [source_id] * n
    cols["lineno"] = list(range(1, n + 1))
    cols["offset"] = [0] * n
    cols["flags"] = [0] * n
    cols["boot_id"] = boot_ids if boot_ids is not None else ["boot0"] * n
    cols["text"] = texts
    return pa.Table.from_pydict(cols, schema=LINES_SCHEMA)
