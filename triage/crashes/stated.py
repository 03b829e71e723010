"""Crash records a format states outright — a crash-utility paste's PANIC string with the panic
task's bt (`parsers.crash_tool`) — titled and fingerprinted as the same bug read from a log.

The parser hands over the record untitled: naming a crash is this stage's job, and a parser
reaching up into it would turn the flow around.
"""

from __future__ import annotations

from dataclasses import replace

from triage.crashes.extract import kind_of
from triage.crashes.fingerprint import fingerprint
from triage.crashes.titles import describe, sanitize_title
from triage.model import Crash, Frame


def title_stated(crash: Crash) -> Crash:
    """`crash` (its `report` the PANIC string, its frames the panic task's) with the title and
    type the extractor would give a log's report of that panic, and their fingerprint."""
    title, kind = _title(crash.report, crash.frames)
    return replace(
        crash, title=title, type=kind, fingerprint=fingerprint(kind, title, crash.frames)
    )


def _title(panic: str, frames: list[Frame]) -> tuple[str, str]:
    """Title via a synthetic report: the panic line, a RIP line, a call trace."""
    kind = kind_of(panic)
    if kind is None:
        return sanitize_title(panic.strip()), "PANIC"
    lines = [panic]
    if frames:
        first = frames[0]
        lines.append(
            f"RIP: 0010:[<{first.address or '0'}>] {first.function}+{first.offset or 0:#x}/0x100"
        )
        lines.append("Call Trace:")
        lines.extend(f" [<{f.address or '0'}>] {f.function}+0x0/0x100" for f in frames[1:])
    try:
        desc = describe("\n".join(lines) + "\n", kind)
    except Exception:  # an odd paste keeps its panic string as the title
        return sanitize_title(panic.strip()), kind.type or "PANIC"
    return desc.title or sanitize_title(panic.strip()), desc.type or kind.type or "PANIC"
