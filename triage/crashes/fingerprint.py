"""A clustering id for crashes that does not depend on the title.

Two reports of one bug differ in everything but the code path: boot, host, timestamps,
addresses, offsets, module load addresses, kernel build (clone suffixes such as `.isra.0`),
how the report was raised (`dump_stack`, `warn_slowpath_*`, `__might_sleep`), and how deep
the stack goes below the syscall or the kthread. The fingerprint keeps only the type and the
top few meaningful reliable frames, by source-level function name. satyr/abrt's weak spots
(DESIGN.md §8) are what this avoids: suffixes and reporting frames are normalised away,
unreliable `?` frames stay out, recursion depth does not matter, and a report without
frames still gets an id from its normalised title rather than being dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from triage.crashes.frames import canonical_function, is_generic
from triage.model import Frame, stable_id

#: how many meaningful frames make the identity: deep enough to tell two callers of one helper
#: apart, shallow enough that the unrelated paths into a buggy function do not split it.
TOP_FRAMES = 5

# Title parts that change between occurrences of one bug.
_TITLE_NOISE: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\+0x[0-9a-fA-F]+(?:/0x[0-9a-fA-F]+)?"), ""),  # func+0x1a/0x40 → func
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "ADDR"),
    (re.compile(r"\b[0-9a-fA-F]{8,16}\b"), "ADDR"),
    (re.compile(r"\[[^\]\s]+:\d+\]"), "[TASK]"),  # [comm:pid]
    (re.compile(r"\bCPU#?\s*\d+"), "CPU"),
    (re.compile(r"\b(?:pid|PID)[:=]?\s*\d+"), "PID"),
    (re.compile(r"\bstuck for \d+s"), "stuck"),
    (re.compile(r"\bfor more than \d+ seconds"), "for more than N seconds"),
    (re.compile(r"\b\d+\b"), "N"),
    (re.compile(r"\s+"), " "),
)


def normalize_title(title: str) -> str:
    """The title with addresses, offsets, numbers and task ids replaced by placeholders."""
    out = title or ""
    for rx, repl in _TITLE_NOISE:
        out = rx.sub(repl, out)
    return out.strip()


def key_functions(frames: Sequence[Frame], top: int = TOP_FRAMES) -> list[str]:
    """The function names the fingerprint is made of, in stack order.

    Reliable meaningful frames first; when a report has none (kernels without frame pointers
    mark much of a trace `?`), the meaningful unreliable ones stand in rather than nothing.
    Immediate repeats collapse so recursion depth is not part of the identity.
    """
    for want_reliable in (True, False):
        names: list[str] = []
        for f in frames:
            if not f.function or f.reliable is not want_reliable:
                continue
            if is_generic(f.function):
                continue
            name = canonical_function(f.function)
            if names and names[-1] == name:
                continue
            names.append(name)
            if len(names) >= top:
                break
        if names:
            return names
    return []


def fingerprint(type: str, title: str, frames: Sequence[Frame]) -> str:
    """16 hex digits: the same for one bug wherever and whenever it fires.

    Frame-based ids and title-based ids are hashed under different tags so that a frameless
    report never collides with a framed one by accident.
    """
    kind = (type or "").strip().upper()
    names = key_functions(list(frames or []))
    if names:
        return stable_id("frames", kind, *names)
    return stable_id("title", kind, normalize_title(title))


__all__ = ["TOP_FRAMES", "fingerprint", "key_functions", "normalize_title"]
