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

import bisect
import contextlib
import functools
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
    from triage import hsdb

    try:
        return hsdb.compile_database(exprs, flags)
    except Exception:  # hyperscan.error: fall back to bytes.find
        return None


def _hs_escape(literal: str) -> bytes:
    return "".join(c if c.isalnum() else f"\\x{ord(c):02x}" for c in literal).encode()


class Gate:
    """For a fixed list of patterns: which of them may match some row of a column."""

    def __init__(self, patterns: Sequence[str], engine: str = "auto") -> None:
        self.needs = {p: required_literals(p) for p in dict.fromkeys(patterns)}
        exact = [x for r in self.needs.values() if r and not r.caseless for x in r.literals]
        loose = [x for r in self.needs.values() if r and r.caseless for x in r.literals]
        self.needles = Needles(exact, loose)
        # which patterns a found literal makes possible, so that an answer costs the literals
        # found rather than a walk over every pattern
        self._always = {p for p, r in self.needs.items() if r is None}
        self._by_literal: dict[tuple[bool, str], list[str]] = {}
        for p, r in self.needs.items():
            for x in r.literals if r else ():
                self._by_literal.setdefault((r.caseless, x), []).append(p)
        self._caseless = {p for p, r in self.needs.items() if r and r.caseless}
        if engine == "find":
            self.needles._db = None
            self.needles.engine = "find"

    def possible(self, column: pa.Array | pa.ChunkedArray) -> set[str]:
        """The patterns that may match some row (all of them when that cannot be told)."""
        region = _region_holding(column) if pa.types.is_string(column.type) else None
        if region is not None:
            broad = region.answers.get(self)
            if broad is None:
                broad = region.answers[self] = self._possible_in(region.views)
            if all(self.needs[p] is None for p in broad):
                return set(broad)  # these literals are nowhere in the region: nor in the column
        views = text_bytes(column)
        if views is None:
            return set(self.needs)
        return self._possible_in(views)

    def _possible_in(self, views: list[Any]) -> set[str]:
        found = self.needles.found(views)
        if found is None:
            return set(self.needs)
        exact, loose = found
        out = set(self._always)
        for x in exact:
            out.update(self._by_literal.get((False, x), ()))
        if self._caseless and not _is_ascii(views):
            out |= self._caseless  # ASCII case folding says nothing about other bytes
        else:
            for x in loose:
                out.update(self._by_literal.get((True, x), ()))
        return out


# --------------------------------------------------------------------------------------------
# Regions: columns of many sources asked about at once
# --------------------------------------------------------------------------------------------
@dataclass
class _Region:
    start: int  # address of the region's first byte
    end: int
    views: list[Any]
    answers: dict[Gate, set[str]]  # gate → patterns possible somewhere in the region
    #: the string array all the region's columns are slices of (offsets and rows), when they
    #: all are: what `region_matches` runs a pattern over once
    offsets: pa.Buffer | None = None
    data: pa.Buffer | None = None
    rows: int = 0
    columns: int = 0
    firsts: list[int] = field(default_factory=list)  # each column's first row, sorted
    asked: dict[str, int] = field(default_factory=dict)  # pattern → columns that asked
    #: pattern → (first row, whether each row from there on matches)
    masks: dict[str, tuple[int, np.ndarray]] = field(default_factory=dict)


#: a pattern asked of this share of the region's columns so far (and of 4 at least) runs once
#: over the rest of the region: when every column asks, the pass costs half of their own
#: passes; when a share of them does, at most about twice theirs
REGION_SHARE = 0.5

_REGIONS: list[_Region] = []


@contextlib.contextmanager
def shared_region(columns: Iterable[pa.Array | pa.ChunkedArray]) -> Iterator[None]:
    """While active, gates answer for the buffers holding `columns`' strings first.

    The sources parsed together share the buffers of their text columns (`packed.py`). One
    scan of a whole buffer per gate tells which literals occur nowhere in it; a later column
    whose bytes lie in that buffer then needs no scan of its own for them — most sources of a
    folder, for most gates. The answer stays exact: a column's bytes are part of the buffer's.
    The caller keeps the columns alive meanwhile (regions are known by address).
    """
    by_data: dict[int, _Region] = {}
    for col in columns:
        for arr in col.chunks if isinstance(col, pa.ChunkedArray) else [col]:
            data = arr.buffers()[2] if pa.types.is_string(arr.type) and len(arr) else None
            if data is None or not data.size:
                continue
            region = by_data.get(data.address)
            if region is None:
                region = by_data[data.address] = _Region(
                    data.address, data.address + data.size, [memoryview(data)], {}
                )
                region.offsets, region.data = arr.buffers()[1], data
            _add_rows(region, arr)
    added = [r for r in by_data.values() if r.columns > 1]  # one column: nothing to share
    for r in added:
        r.firsts.sort()
    _REGIONS.extend(added)
    try:
        yield
    finally:
        for r in added:
            _REGIONS.remove(r)


def _add_rows(region: _Region, arr: pa.Array) -> None:
    """Count `arr` among the region's columns; the rows the region's array has so far are
    those of its slices (a region whose columns are not all null-free slices of one array
    has none)."""
    region.columns += 1
    region.firsts.append(arr.offset)
    offsets = arr.buffers()[1]
    shared = (
        region.offsets is not None
        and offsets is not None
        and offsets.address == region.offsets.address
        and not arr.null_count
    )
    if shared:
        region.rows = max(region.rows, arr.offset + len(arr))
    else:
        region.offsets = None


def region_matches(column: pa.Array | pa.ChunkedArray, pattern: str) -> np.ndarray | None:
    """Which rows of `column` the RE2 `pattern` matches (`pc.match_substring_regex`), from
    one pass over the region's array from some column on, or None: not in a region, or not
    asked of enough of its columns so far (`REGION_SHARE`) for such a pass to be worth it.
    A pass compiles the pattern once, where each column's own pass compiles it again; the
    stages ask column after column, in the order of their rows."""
    arr = _single(column)
    region = _region_holding(column) if arr is not None else None
    if region is None or arr is None or region.offsets is None or not region.rows:
        return None
    offsets = arr.buffers()[1]
    if offsets is None or offsets.address != region.offsets.address or arr.null_count:
        return None
    got = region.masks.get(pattern)
    if got is None:
        asked = region.asked[pattern] = region.asked.get(pattern, 0) + 1
        seen = bisect.bisect_right(region.firsts, arr.offset)
        if asked < max(4, REGION_SHARE * seen):
            return None
        rest = pa.Array.from_buffers(
            pa.string(), region.rows, [None, region.offsets, arr.buffers()[2]]
        ).slice(arr.offset)
        try:
            hits = pc.match_substring_regex(rest, pattern)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        got = region.masks[pattern] = (
            arr.offset,
            np.asarray(hits.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool),
        )
    first, mask = got
    if arr.offset < first:
        return None  # asked before the pass: its rows are not in it
    return mask[arr.offset - first : arr.offset - first + len(arr)]


def quiet_columns(
    columns: Sequence[pa.Array | pa.ChunkedArray], patterns: Sequence[str]
) -> list[bool]:
    """Which of `columns` (text columns of sources parsed together, in a `shared_region`) have
    no row that any of the RE2 `patterns` matches, as `pc.match_substring_regex` would tell.

    The patterns whose literals occur in a region run once over the region's whole array, as
    one alternation (or, when RE2 refuses that, one by one, each mask then serving
    `region_matches` too); the others match nowhere. False, as "not known",
    for a column outside a region, or in one where a pattern RE2 cannot run may match: the
    stages then ask about that source as usual. A folder's small logs mostly hold none of the
    lines any stage looks at, and each stage asking each of them costs more than their parse.
    """
    out = [False] * len(columns)
    by_region: dict[int, list[int]] = {}
    regions: dict[int, _Region] = {}
    for i, col in enumerate(columns):
        arr = _single(col)
        region = _region_holding(col) if arr is not None and len(arr) else None
        if region is None or region.offsets is None or not region.rows or arr is None:
            continue
        if arr.null_count or arr.buffers()[1].address != region.offsets.address:
            continue
        regions[id(region)] = region
        by_region.setdefault(id(region), []).append(i)
    gate = gate_for(tuple(dict.fromkeys(patterns)))
    for key, idx in by_region.items():
        hits = _region_hits(regions[key], gate)
        if hits is None:
            continue
        for i in idx:
            arr = _single(columns[i])
            assert arr is not None
            out[i] = not hits[arr.offset : arr.offset + len(arr)].any()
    return out


def _region_hits(region: _Region, gate: Gate) -> np.ndarray | None:
    """Whether each row of the region's array matches one of the gate's patterns (None: a
    pattern that may match cannot run in RE2)."""
    broad = region.answers.get(gate)
    if broad is None:
        broad = region.answers[gate] = gate._possible_in(region.views)
    whole = pa.Array.from_buffers(pa.string(), region.rows, [None, region.offsets, region.data])

    def rows_matching(pattern: str) -> np.ndarray | None:
        try:
            mask = pc.match_substring_regex(whole, pattern)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        return np.asarray(mask.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)

    if len(broad) > 1:  # one pass of their alternation, when RE2 takes it, not one each
        union = rows_matching("|".join(f"(?:{p})" for p in sorted(broad)))
        if union is not None:
            return union
    hits = np.zeros(region.rows, dtype=bool)
    for p in broad:
        got = region.masks.get(p)
        if got is None or got[0] != 0:
            mask = rows_matching(p)
            if mask is None:
                return None
            got = region.masks[p] = (0, mask)  # `region_matches` serves the pattern from it
        hits |= got[1]
    return hits


def any_matches(column: pa.Array | pa.ChunkedArray, patterns: Sequence[str]) -> np.ndarray:
    """Which rows of `column` one of the RE2 `patterns` matches: what one pass of their
    alternation gives, with the patterns a shared region runs for all its columns
    (`region_matches`) taken from there. Raises as `pc.match_substring_regex` does when the
    alternation of the others does not compile."""
    mask = np.zeros(len(column), dtype=bool)
    rest = []
    for p in patterns:
        got = region_matches(column, p)
        if got is None:
            rest.append(p)
        else:
            mask |= got
    if rest:
        hits = pc.match_substring_regex(column, "|".join(f"(?:{p})" for p in rest))
        mask |= np.asarray(hits.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
    return mask


def matches_somewhere(column: pa.Array | pa.ChunkedArray, patterns: Sequence[str]) -> bool:
    """Whether one of the RE2 `patterns` matches some row of `column` (of one source, outside
    any region): the patterns whose literals it holds, as one pass; True when RE2 cannot run
    one of those, as "may be"."""
    possible = gate_for(tuple(dict.fromkeys(patterns))).possible(column)
    if not possible:
        return False
    try:
        return bool(any_matches(column, sorted(possible)).any())
    except pa.ArrowInvalid:
        return True


def _single(column: pa.Array | pa.ChunkedArray) -> pa.Array | None:
    if isinstance(column, pa.ChunkedArray):
        return column.chunk(0) if column.num_chunks == 1 else None
    return column if pa.types.is_string(column.type) else None


def _region_holding(column: pa.Array | pa.ChunkedArray) -> _Region | None:
    """The registered region holding every byte of the column's strings, if any."""
    if not _REGIONS:
        return None
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    found: _Region | None = None
    for arr in chunks:
        if not len(arr):
            continue
        data = arr.buffers()[2]
        if data is None:
            continue
        region = next((r for r in _REGIONS if r.start <= data.address < r.end), None)
        if region is None or data.address + data.size > region.end:
            return None
        if found is not None and region is not found:
            return None
        found = region
    return found


@functools.lru_cache(maxsize=64)
def gate_for(patterns: tuple[str, ...]) -> Gate:
    """The gate of a pattern list, built once per process (Hyperscan compiles it once)."""
    return Gate(patterns)
