"""A fallback guess of a log's text format from its first lines.

`triage.sources` detects kinds for the pipeline; this exists so `parse_bytes(data)` and tools work
on a loose file without it. Each line votes for the formats whose header it carries, the syslog
family first because its lines also contain a kernel prefix.
"""

from __future__ import annotations

import re

from triage.model import (
    KIND_CONSOLE,
    KIND_DMESG,
    KIND_JOURNAL,
    KIND_SYSLOG,
    KIND_SYSLOG_RFC3339,
    KIND_VMCORE_DMESG,
    UTF8_BOM,
)

#: (kind, regex over one line) in priority order; first match wins for the line
LINE_VOTES: list[tuple[str, re.Pattern[bytes]]] = [
    (
        KIND_JOURNAL,
        re.compile(rb"^-- (?:Logs begin at|Journal begins at|Boot [0-9a-f]{32}|Reboot) "),
    ),
    (KIND_JOURNAL, re.compile(rb"^\[\s*\d+\.\d+\] [^\s:\[\]]+ [^\s:\[]+(?:\[\d+\])?: ")),
    (KIND_SYSLOG, re.compile(rb"^[A-Z][a-z]{2} [ 0-3]\d [0-2]\d:[0-5]\d:[0-6]\d \S+ ")),
    (KIND_SYSLOG_RFC3339, re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S* \S+ ")),
    (KIND_VMCORE_DMESG, re.compile(rb"^<\d{1,3}>")),
    (KIND_DMESG, re.compile(rb"^(?:\[[A-Z][a-z]{2} [A-Z][a-z]{2} |[a-z]+ *:[a-z]+ *: )")),
    (KIND_CONSOLE, re.compile(rb"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] ")),
    (KIND_DMESG, re.compile(rb"^\[\s*\d+\.\d+\] ")),
]


def sniff_kind(data: bytes, max_lines: int = 200) -> str:
    votes: dict[str, int] = {}
    for line in data[: 1 << 16].splitlines()[:max_lines]:
        line = line.removeprefix(UTF8_BOM)  # as the engine reads it
        for kind, rx in LINE_VOTES:
            if rx.match(line):
                votes[kind] = votes.get(kind, 0) + 1
                break
    if not votes:
        return KIND_CONSOLE
    if votes.get(KIND_JOURNAL) and votes.get(KIND_SYSLOG, 0) >= votes[KIND_JOURNAL]:
        # journalctl short lines look like RFC 3164; its `-- … --` lines tell it apart
        return KIND_JOURNAL
    return max(votes.items(), key=lambda kv: kv[1])[0]
