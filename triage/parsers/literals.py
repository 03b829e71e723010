"""Which regexes cannot match any line of a text column, decided from the literals they need.

A vectorised regex pass over a column costs little per line but a lot per call: Arrow compiles
the RE2 pattern anew each time, which dominates on the thousands of small sources a support
bundle holds. Most patterns need some literal text (`Linux version `, `BUG:`, `SysRq : `), and
most sources hold none of it. So a pattern whose every required literal is absent from the
column's bytes is known to match no row, without running it; the others run as before. The
answer is exact, never a guess: a row is a substring of the column's bytes, so a literal absent
from those bytes is absent from every row.

`required_literals` reads the literals off the pattern text conservatively: it understands the
syntax RE2, `re` and the `regex` module share (literal characters, escaped punctuation, classes,
groups, alternation, quantifiers, zero-width assertions) and gives up on anything else (flags
other than a leading `(?i)`, escapes such as `\\x41`, back-references, POSIX classes, fuzzy
matching), so the literals it returns are required in all three dialects. Literals are ASCII;
text bytes are UTF-8, where an ASCII byte is always that character.

The scan of many literals at once uses Hyperscan when it imports, else one `bytes.find` per
literal; both give the same answer (the tests run both). It lives in `triage.parsers` because
every later stage (`kernel`, `crashes`, `match`) uses it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

#: ASCII punctuation that stands for itself when escaped, in every dialect we read
_ESCAPED_LITERALS = frozenset("!\"#%&',-./:;<=>@_`~ $()*+?[\\]^{|}")
#: escapes that match one character of a class or nothing (zero-width): no literal
_CLASS_ESCAPES = frozenset("dDwWsSbBAZz")
#: unescaped characters that stand for themselves
_PLAIN = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !\"#%&',-/:;<=>@_`~"
)
#: without Hyperscan, text larger than this is not copied for `bytes.find`: patterns just run
FALLBACK_MAX_BYTES = 16 << 20


class _GiveUp(Exception):
    """Syntax this reader does not understand: the pattern is treated as needing nothing."""


@dataclass(frozen=True)
class Requirement:
    """Every match contains one of `literals` (compared ignoring ASCII case when `caseless`)."""

    literals: tuple[str, ...]
    caseless: bool = False


def required_literals(pattern: str) -> Requirement | None:
    """Literals one of which every match of `pattern` contains; None when that cannot be said."""
    caseless = False
    body = pattern
    if body.startswith("(?i)"):
        caseless, body = True, body[4:]
    try:
        parser = _Reader(body)
        found = parser.alternation()
        if parser.i != len(body):
            raise _GiveUp  # an unbalanced `)`
    except (_GiveUp, IndexError):
        return None
    if not found:
        return None
    return Requirement(_minimal(found), caseless)


def _minimal(lits: Iterable[str]) -> tuple[str, ...]:
    """Drop literals that contain another one: the shorter is present whenever they are."""
    out: list[str] = []
    for lit in sorted(set(lits), key=len):
        if not any(o in lit for o in out):
            out.append(lit)
    return tuple(sorted(out))


class _Reader:
    """A recursive-descent reader of the shared regex syntax that collects required literals."""

    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.i = 0

    def peek(self) -> str:
        return self.p[self.i] if self.i < len(self.p) else ""

    def alternation(self) -> tuple[str, ...] | None:
        """Each branch must need something, and the whole needs one of those."""
        branches = [self.sequence()]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.sequence())
        if any(b is None for b in branches):
            return None
        return tuple(lit for b in branches for lit in b or ())

    def sequence(self) -> tuple[str, ...] | None:
        """The most selective of the items a concatenation needs (None when it needs none)."""
        items: list[tuple[str, ...]] = []
        run: list[str] = []

        def close_run() -> None:
            if run:
                items.append(("".join(run),))
                run.clear()

        while self.i < len(self.p) and self.peek() not in "|)":
            char, item = self.atom()
            if self.quantifier():  # optional or repeated: what the atom needs is not collected
                close_run()
                continue
            if char is not None:
                run.append(char)
                continue
            close_run()
            if item:
                items.append(item)
        close_run()
        if not items:
            return None
        return max(items, key=lambda lits: (min(len(x) for x in lits), -len(lits)))

    def atom(self) -> tuple[str | None, tuple[str, ...] | None]:
        """(literal character, or None) and, for a group, what the group needs."""
        c = self.p[self.i]
        if c == "\\":
            d = self.p[self.i + 1]
            self.i += 2
            if d in _ESCAPED_LITERALS:
                return d, None
            if d in _CLASS_ESCAPES:
                return None, None
            raise _GiveUp
        if c == "[":
            self.char_class()
            return None, None
        if c == "(":
            return None, self.group()
        self.i += 1
        if c in ".^$":
            return None, None
        if c in _PLAIN:
            return c, None
        if c in "*+?{}]":
            raise _GiveUp  # a quantifier with nothing before it, or a stray bracket
        return None, None  # non-ASCII or a control character: matches itself, not collected

    def char_class(self) -> None:
        self.i += 1
        if self.peek() == "^":
            self.i += 1
        if self.peek() == "]":
            self.i += 1
        while self.peek() != "]":
            c = self.p[self.i]
            if c == "[" and self.p[self.i + 1 : self.i + 2] in (":", "=", "."):
                raise _GiveUp  # POSIX classes and collating elements (or a V1 nested set)
            self.i += 2 if c == "\\" else 1
        self.i += 1

    def group(self) -> tuple[str, ...] | None:
        rest = self.p[self.i :]
        keep = True
        if rest.startswith(("(?=", "(?!")):
            self.i += 3
            keep = False  # a look-ahead's content is not consumed
        elif rest.startswith(("(?<=", "(?<!")):
            self.i += 4
            keep = False
        elif rest.startswith(("(?:", "(?>")):
            self.i += 3
        elif rest.startswith(("(?P<", "(?<")):
            close = self.p.index(">", self.i)
            name = self.p[self.i + (4 if rest.startswith("(?P<") else 3) : close]
            if not name.isidentifier():
                raise _GiveUp
            self.i = close + 1
        elif rest.startswith("(?"):
            raise _GiveUp  # flags, comments, conditionals, back-references, branch reset
        else:
            self.i += 1
        inner = self.alternation()
        if self.peek() != ")":
            raise _GiveUp
        self.i += 1
        return inner if keep else None

    def quantifier(self) -> bool:
        """Skip a quantifier after an atom; True when there was one."""
        c = self.peek()
        if c in ("*", "+", "?"):
            self.i += 1
        elif c == "{":
            close = self.p.find("}", self.i)
            body = self.p[self.i + 1 : close] if close > 0 else ""
            lo, comma, hi = body.partition(",")
            if not body or not (lo.isdigit() or not lo) or not (hi.isdigit() or not hi):
                raise _GiveUp  # `{` as a literal in one dialect, fuzzy matching in another
            if not comma and not lo:
                raise _GiveUp
            self.i = close + 1
        else:
            return False
        if self.peek() in ("?", "+"):  # lazy or possessive
            self.i += 1
        if self.peek() in ("*", "+", "?", "{"):
            raise _GiveUp
        return True


# --------------------------------------------------------------------------------------------
# Scanning a column for many literals at once
# --------------------------------------------------------------------------------------------
def text_bytes(column: pa.Array | pa.ChunkedArray) -> list[Any] | None:
    """The bytes holding the column's strings, one buffer view per chunk (None: not strings)."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    out: list[Any] = []
    for arr in chunks:
        if pa.types.is_string(arr.type):
            width = np.int32
        elif pa.types.is_large_string(arr.type):
            width = np.int64
        else:
            return None
        if not len(arr):
            continue
        bufs = arr.buffers()
        if bufs[2] is None or bufs[1] is None:
            continue
        offsets = np.frombuffer(bufs[1], dtype=width)
        lo, hi = int(offsets[arr.offset]), int(offsets[arr.offset + len(arr)])
        if hi > lo:
            out.append(memoryview(bufs[2])[lo:hi])
    return out


def _is_ascii(views: list[Any]) -> bool:
    return all(not len(v) or int(np.frombuffer(v, np.uint8).max()) < 128 for v in views)


class Needles:
    """Finds which of a fixed set of ASCII literals occur in some bytes."""

    def __init__(self, literals: Sequence[str], caseless: Sequence[str] = ()) -> None:
        self.literals = list(dict.fromkeys(literals))
        self.caseless = list(dict.fromkeys(caseless))
        self._db: Any = _hyperscan_db(self.literals, self.caseless)
        self._local = threading.local()
        self.engine = "hyperscan" if self._db is not None else "find"

    def found(self, views: list[Any]) -> tuple[set[str], set[str]] | None:
        """(literals present, caseless literals present), or None when not checked."""
        if self._db is not None:
            return self._scan(views)
        if sum(len(v) for v in views) > FALLBACK_MAX_BYTES:
            return None
        data = [bytes(v) for v in views]
        exact = {lit for lit in self.literals if any(lit.encode() in d for d in data)}
        folded = [d.lower() for d in data] if self.caseless else []
        loose = {lit for lit in self.caseless if any(lit.lower().encode() in d for d in folded)}
        return exact, loose

    def _scan(self, views: list[Any]) -> tuple[set[str], set[str]]:
        import hyperscan

        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self._db)
        hits: set[int] = set()

        def on_match(ident: int, _start: int, _end: int, _flags: int, _ctx: object) -> None:
            hits.add(ident)

        for v in views:
            self._db.scan(v, match_event_handler=on_match, scratch=scratch)
        n = len(self.literals)
        exact = {self.literals[i] for i in hits if i < n}
        loose = {self.caseless[i - n] for i in hits if i >= n}
        return exact, loose


def _hyperscan_db(literals: list[str], caseless: list[str]) -> Any:
    try:
        import hyperscan
    except ImportError:
        return None
    exprs = [_hs_escape(x) for x in [*literals, *caseless]]
    if not exprs:
        return None
    flags = [hyperscan.HS_FLAG_SINGLEMATCH] * len(literals) + [
        hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_CASELESS
    ] * len(caseless)
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    try:
        db.compile(expressions=exprs, ids=list(range(len(exprs))), flags=flags)
    except Exception:  # hyperscan.error: fall back to bytes.find
        return None
    return db


def _hs_escape(literal: str) -> bytes:
    return "".join(c if c.isalnum() else f"\\x{ord(c):02x}" for c in literal).encode()


class Gate:
    """For a fixed list of patterns: which of them may match some row of a column."""

    def __init__(self, patterns: Sequence[str], engine: str = "auto") -> None:
        self.needs = {p: required_literals(p) for p in dict.fromkeys(patterns)}
        exact = [x for r in self.needs.values() if r and not r.caseless for x in r.literals]
        loose = [x for r in self.needs.values() if r and r.caseless for x in r.literals]
        self.needles = Needles(exact, loose)
        if engine == "find":
            self.needles._db = None
            self.needles.engine = "find"

    def possible(self, column: pa.Array | pa.ChunkedArray) -> set[str]:
        """The patterns that may match some row (all of them when that cannot be told)."""
        views = text_bytes(column)
        if views is None:
            return set(self.needs)
        found = self.needles.found(views)
        if found is None:
            return set(self.needs)
        exact, loose = found
        ascii_only = _is_ascii(views) if self.needles.caseless else True
        out: set[str] = set()
        for p, need in self.needs.items():
            if need is None:
                out.add(p)
            elif need.caseless:
                if not ascii_only or any(x in loose for x in need.literals):
                    out.add(p)
            elif any(x in exact for x in need.literals):
                out.add(p)
        return out


@functools.lru_cache(maxsize=64)
def gate_for(patterns: tuple[str, ...]) -> Gate:
    """The gate of a pattern list, built once per process (Hyperscan compiles it once)."""
    return Gate(patterns)
