"""Building matcher inputs directly (lines tables, boots, crashes), without the other stages."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa

from triage.limits import DEFAULT_LIMITS
from triage.match.conditions import Unit
from triage.match.lineindex import LineIndex
from triage.model import LINES_SCHEMA, Boot, Crash, Fact

SOURCE_ID = "src0"


def lines_table(texts: list[str], times: list[datetime | None] | None = None) -> pa.Table:
    n = len(texts)
    times = times or [None] * n
    return pa.table(
        {
            "source_id": [SOURCE_ID] * n,
            "lineno": list(range(1, n + 1)),
            "offset": [0] * n,
            "timestamp": times,
            "mono": [None] * n,
            "host": [""] * n,
            "tag": ["kernel"] * n,
            "pid": [None] * n,
            "level": [None] * n,
            "boot_id": ["b0"] * n,
            "flags": [0] * n,
            "text": texts,
        },
        schema=LINES_SCHEMA,
    )


def unit(
    texts: list[str],
    times: list[datetime | None] | None = None,
    crashes: list[Crash] | None = None,
    host_facts: list[Fact] | None = None,
    vm_facts: list[Fact] | None = None,
    boot: Boot | None = None,
) -> Unit:
    index = LineIndex(lines_table(texts, times), DEFAULT_LIMITS.regex_timeout)
    boot = boot or Boot(
        boot_id="b0",
        source_id=SOURCE_ID,
        index=0,
        first_line=1,
        last_line=len(texts),
        banner=texts[0] if texts else "",
    )
    return Unit(index, 0, index.n, boot, crashes or [], host_facts or [], vm_facts)


def fact(key: str, value: str, subject: str = "host", time: datetime | None = None) -> Fact:
    sid = "host-1" if subject == "host" else "vm-1"
    return Fact(
        bundle="b",
        subject_type=subject,
        subject_id=sid,
        key=key,
        value=value,
        time=time,
        source_path="x",
        lineno=3,
    )
