"""One multi-pattern pass over raw bytes that finds the lines any stage cares about.

Most of a log is irrelevant (DESIGN.md §6). Every stage publishes the anchors it needs (crash
report headers, boot banners, signature line patterns); this module compiles their union once and
scans the input in large blocks, so the cost of a clean log is one pass at prefilter speed and
Python only ever touches the lines around a hit. Hyperscan is used when it imports; the `regex`
package otherwise — both must give the same hits (the tests run both).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import regex

BLOCK = 32 * 1024 * 1024  # bytes scanned per step; bounded memory whatever the input size


def hyperscan_available() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True


@functools.lru_cache(maxsize=16)
def hyperscan_database(patterns: tuple[str, ...]) -> Any:
    """The Hyperscan database of `patterns` (pattern i reports id i), once per process: the
    pipeline's check that its anchors compile (`pipeline.anchors.vouch_for`) and the prefilter then
    scanning for them ask for the same set. Plain flags: every match end is reported, and lines
    are deduplicated by the caller. Raises `hyperscan.error` when Hyperscan refuses one."""
    from triage import hsdb

    return hsdb.compile_database([p.encode() for p in patterns], [0] * len(patterns))


@dataclass(frozen=True)
class Hit:
    offset: int  # byte offset of the start of the line holding the match
    lineno: int  # 1-based line number of that line


class Prefilter:
    """Finds the lines of a byte buffer that match any of a set of patterns.

    Patterns are byte regexes in the common subset of Hyperscan and `regex` (no backreferences
    or lookarounds); matching is case-sensitive, as kernel messages are.
    """

    def __init__(self, patterns: Sequence[str], engine: str = "auto") -> None:
        pats = sorted(set(patterns))
        if not pats:
            raise ValueError("a prefilter needs at least one pattern")
        self.patterns = pats
        if engine == "auto":
            engine = "hyperscan" if hyperscan_available() else "regex"
        if engine not in ("hyperscan", "regex"):
            raise ValueError(f"unknown prefilter engine {engine!r}")
        self.engine = engine
        if engine == "hyperscan":
            self._hs = hyperscan_database(tuple(pats))
        else:
            self._re = regex.compile("|".join(f"(?:{p})" for p in pats).encode())

    # ------------------------------------------------------------------------------------------
    def match_ends(self, block: bytes) -> list[int]:
        """Offsets (within `block`) of the last byte of each match: the line a match ends
        on is its line, with either engine. (Hyperscan tells where matches end; `regex`'s
        starts would name the line before for a pattern that may begin with the newline
        before a header, as a SLUB header's does, and the first line of one that spans two.)"""
        if self.engine == "hyperscan":
            ends: list[int] = []

            def on_match(_id: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
                ends.append(max(end - 1, 0))

            self._hs.scan(block, match_event_handler=on_match)
            return ends
        return [max(m.end() - 1, m.start()) for m in self._re.finditer(block)]

    def line_starts(self, block: bytes) -> list[int]:
        """Sorted offsets (within `block`) of the starts of the lines holding a match."""
        return sorted({block.rfind(b"\n", 0, e) + 1 for e in self.match_ends(block)})

    def scan(self, data: bytes | memoryview, block: int = BLOCK) -> Iterator[Hit]:
        """Yield each matching line once, in order, scanning `data` in line-aligned blocks."""
        mv = memoryview(data)
        n = len(mv)
        pos = 0
        lineno = 1
        while pos < n:
            end = min(pos + block, n)
            if end < n and mv[end - 1] != 10:  # not on a line boundary: cut at the last newline
                cut = _rfind_newline(mv, pos, end)
                end = cut + 1 if cut >= pos else _find_newline(mv, end, n) + 1
            chunk = bytes(mv[pos:end])
            starts = sorted({chunk.rfind(b"\n", 0, e) + 1 for e in self.match_ends(chunk)})
            counted = 0
            for s in starts:
                lineno += chunk.count(b"\n", counted, s)
                counted = s
                yield Hit(offset=pos + s, lineno=lineno)
            lineno += chunk.count(b"\n", counted)
            pos = end


def _rfind_newline(mv: memoryview, lo: int, hi: int) -> int:
    window = bytes(mv[max(lo, hi - 1024 * 1024) : hi])
    i = window.rfind(b"\n")
    return -1 if i < 0 else max(lo, hi - 1024 * 1024) + i


def _find_newline(mv: memoryview, lo: int, hi: int) -> int:
    step = 1024 * 1024
    while lo < hi:
        window = bytes(mv[lo : min(lo + step, hi)])
        i = window.find(b"\n")
        if i >= 0:
            return lo + i
        lo += step
    return hi - 1
