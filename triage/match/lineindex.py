"""Fast access to one source's lines for the matcher: pattern hits, times, texts by row.

A log can hold tens of millions of lines while a signature cares about a handful, so patterns
are first run vectorised over the whole text column by Arrow's RE2 engine (linear time, so no
pattern can hang it), and only the rows it selects are confirmed with the `regex` module under
the time limit — that keeps the exact semantics signature authors write for. Patterns RE2
cannot express (look-arounds, back-references) fall back to `regex` over every row.
"""

from __future__ import annotations

import functools
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from triage.match.regexes import search
from triage.parsers import columns, literals

#: the hits of a pattern that matches no row (shared: hits are only read)
_NO_ROWS = np.zeros(0, np.int64)
_NO_ROWS.flags.writeable = False


class LineIndex:
    """Row-level views of a LINES_SCHEMA table, built once per source and cached per pattern."""

    def __init__(self, lines: pa.Table, timeout: float) -> None:
        if lines.num_rows and not _is_sorted(lines.column("lineno")):
            lines = lines.sort_by("lineno")
        self.lines = lines
        self.timeout = timeout
        self.n = lines.num_rows
        self.text = columns.one_array(lines.column("text")) if self.n else pa.array([], pa.string())
        self.lineno = (
            lines.column("lineno").to_numpy(zero_copy_only=False)
            if self.n
            else np.zeros(0, np.int64)
        )
        self._hits: dict[str, np.ndarray] = {}
        self._times: np.ndarray | None = None
        self._wall = False
        self._texts: dict[int, str] = {}

    # ---- rows ------------------------------------------------------------------------------
    def rows_for_lines(self, first_line: int, last_line: int) -> tuple[int, int]:
        """Row range [start, end) of the lines numbered first_line..last_line."""
        start = int(np.searchsorted(self.lineno, first_line, side="left"))
        end = int(np.searchsorted(self.lineno, last_line, side="right"))
        return start, end

    def text_of(self, row: int) -> str:
        t = self._texts.get(row)
        if t is None:
            v = self.text[row].as_py()
            t = v if v is not None else ""
            self._texts[row] = t
        return t

    def lineno_of(self, row: int) -> int:
        return int(self.lineno[row])

    def column_value(self, name: str, row: int) -> object:
        if name not in self.lines.schema.names:
            return None
        return self.lines.column(name)[row].as_py()

    # ---- time ------------------------------------------------------------------------------
    def times(self) -> np.ndarray:
        """Seconds per row as float (NaN when unknown): wall clock when known, else monotonic."""
        if self._times is None:
            out = np.full(self.n, np.nan)
            if self.n:
                if "timestamp" in self.lines.schema.names:
                    ts = self.lines.column("timestamp").cast(pa.int64())
                    ts_np = ts.to_numpy(zero_copy_only=False)
                    valid = ~pc.is_null(ts).to_numpy(zero_copy_only=False)
                    out[valid] = ts_np[valid].astype(np.float64) / 1e6
                self._wall = not np.isnan(out).all()
                if "mono" in self.lines.schema.names and not self._wall:
                    mono = self.lines.column("mono").to_numpy(zero_copy_only=False)
                    out = np.asarray(mono, dtype=np.float64)
            self._times = out
        return self._times

    @property
    def wall_clock(self) -> bool:
        """Whether `times` are the wall clock's (epoch seconds), not seconds since boot: only
        the wall clock's say when evidence was seen, or compare with a fact's time."""
        self.times()
        return self._wall

    def datetime_of(self, row: int) -> datetime | None:
        v = self.column_value("timestamp", row)
        return v if isinstance(v, datetime) else None

    # ---- patterns --------------------------------------------------------------------------
    def prime(self, patterns: list[str], absent: frozenset[str] = frozenset()) -> None:
        """Narrow many patterns at once: one RE2 pass over the column for all of them.
        `absent`: patterns known to match no row (they get no hits without a pass)."""
        for p in absent:
            self._hits.setdefault(p, _NO_ROWS)
        todo = [p for p in dict.fromkeys(patterns) if p not in self._hits]
        if not todo or not self.n:
            for p in todo:
                self._hits[p] = _NO_ROWS
            return
        re2_ok = [p for p in todo if _re2_compiles(p)]
        # A pattern none of whose required literals occurs in the text matches no row (in RE2
        # as in `regex`): it gets no hits and leaves the combined pass, which still finds the
        # same candidates for the others — unless the full union is too big for RE2, when each
        # pattern runs alone as before.
        possible = literals.gate_for(tuple(todo)).possible(self.text)
        if len(possible) < len(todo) and _union_compiles(tuple(re2_ok)):
            for p in todo:
                if p not in possible:
                    self._hits[p] = _NO_ROWS
            todo = [p for p in todo if p in possible]
            re2_ok = [p for p in re2_ok if p in possible]
        candidates: np.ndarray | None = None
        if re2_ok:
            candidates = self._candidates(re2_ok)
        for p in todo:
            if p in re2_ok and candidates is not None:
                self._hits[p] = self._confirm(p, candidates)
            else:
                self.hits(p)

    def _candidates(self, patterns: list[str]) -> np.ndarray | None:
        """Rows some of `patterns` matches in RE2 (None when their union does not compile).

        A pattern that sources parsed together ask about (`literals.region_matches`) comes
        from one pass over all of them; the others from one pass of their union here."""
        if not _union_compiles(tuple(patterns)):
            return None  # as when their union is run here: each pattern alone
        try:
            mask = literals.any_matches(self.text, patterns)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        return np.flatnonzero(mask)

    def any_hits(self) -> bool:
        """Has any pattern run so far matched a row?"""
        return any(map(len, self._hits.values()))

    def cached_hits(self, pattern: str) -> np.ndarray | None:
        """The hits of a pattern already run (by `prime` or `hits`), else None."""
        return self._hits.get(pattern)

    def hits(self, pattern: str) -> np.ndarray:
        """Sorted row indices whose text the pattern matches (PatternTimeout when one is slow)."""
        got = self._hits.get(pattern)
        if got is not None:
            return got
        if not self.n:
            got = np.zeros(0, np.int64)
        elif _re2_compiles(pattern):
            mask = pc.match_substring_regex(self.text, pattern)
            rows = np.flatnonzero(mask.fill_null(False).to_numpy(zero_copy_only=False))
            got = self._confirm(pattern, rows)
        else:
            got = self._confirm(pattern, np.arange(self.n))
        self._hits[pattern] = got
        return got

    def _confirm(self, pattern: str, rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros(0, np.int64)
        texts = self.text.take(pa.array(rows, pa.int64())).to_pylist()
        keep = [
            int(r)
            for r, t in zip(rows, texts, strict=True)
            if t is not None and search(pattern, t, self.timeout)
        ]
        return np.asarray(keep, dtype=np.int64)


def _is_sorted(col: pa.ChunkedArray) -> bool:
    arr = col.to_numpy(zero_copy_only=False)
    return bool(len(arr) < 2 or np.all(arr[1:] >= arr[:-1]))


@functools.lru_cache(maxsize=64)
def _union_compiles(patterns: tuple[str, ...]) -> bool:
    """Does RE2 take the alternation of all `patterns` (as `prime` builds it)?"""
    return len(patterns) < 2 or _re2_compiles("|".join(f"(?:{p})" for p in patterns))


_RE2_CACHE: dict[str, bool] = {}
_PROBE = pa.array(["x"])


def _re2_compiles(pattern: str) -> bool:
    ok = _RE2_CACHE.get(pattern)
    if ok is None:
        try:
            pc.match_substring_regex(_PROBE, pattern)
            ok = True
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            ok = False
        _RE2_CACHE[pattern] = ok
    return ok
