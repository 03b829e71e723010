"""Which lines of a source matter: the union of every stage's anchors, compiled once into the
prefilter a large source is streamed through; the window of lines kept around each kind of hit
(what the stage that reads it may read ahead); and `relevant_lines`, the rows `keep="relevant"`
stores."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from triage import crashes as crash_stage
from triage import kernel, parsers
from triage.limits import Limits
from triage.model import (
    SourceFile,
)
from triage.pipeline.result import SourceResult

#: lines of context kept around each relevant line when `keep="relevant"`
CONTEXT_LINES = 5


#: lines kept after a SysRq line (a Show State of a few hundred tasks; longer dumps are cut)
SYSRQ_AFTER_LINES = 20_000
#: lines kept before every hit, after an ordinary hit, and at the head and tail of the source
BEFORE_LINES = 12
AFTER_LINES = 12
EDGE_LINES = 50
#: kinds whose parser drops lines (syslog keeps kernel lines): windows are this much wider
_SPARSE_KIND_FACTOR = 4


def relevant_lines(lines: pa.Table, result: SourceResult) -> pa.Table:
    """Keep banners, crash reports and evidence lines, each with some context."""
    import numpy as np

    if lines.num_rows == 0:
        return lines
    lineno = lines.column("lineno").to_numpy()  # the table may be sparse: by line number
    n = int(lineno.max())
    spans: list[tuple[int, int]] = [(b.first_line, b.first_line) for b in result.boots]
    spans += [(c.first_line, c.last_line) for c in result.crashes]
    spans += [
        (e.lineno, e.lineno)
        for f in result.findings
        for e in f.evidence
        if e.source_id == result.source.source_id
    ]
    if not spans:
        return lines.slice(0, 0)
    # merged [lo, hi] ranges, then each row looked up among them: memory follows the rows and
    # the ranges, never the line count of the file (a sparse table of a huge log)
    bounds = sorted(
        (max(1, first - CONTEXT_LINES), min(n, last + CONTEXT_LINES)) for first, last in spans
    )
    los: list[int] = []
    his: list[int] = []
    for lo, hi in bounds:
        if lo > hi:
            continue
        if his and lo <= his[-1] + 1:
            his[-1] = max(his[-1], hi)
        else:
            los.append(lo)
            his.append(hi)
    if not los:
        return lines.slice(0, 0)
    if len(los) == 1 and not np.any(lineno[1:] < lineno[:-1]):
        # one range over rows in line order (a quiet source: its boot's first lines): a slice,
        # not a filter, which copies every column of every row kept
        a = int(np.searchsorted(lineno, los[0], side="left"))
        return lines.slice(a, int(np.searchsorted(lineno, his[0], side="right")) - a)
    k = np.searchsorted(np.asarray(los), lineno, side="right") - 1
    kept = (k >= 0) & (lineno <= np.asarray(his)[np.clip(k, 0, None)])
    return lines.filter(pa.array(kept))


# --------------------------------------------------------------------------------------------
# The stages' anchors, and the prefilter made of them
# --------------------------------------------------------------------------------------------
#: what `anchor_patterns` puts in place of a pattern it cannot express for the byte prefilter
MATCH_EVERYTHING = r"[\s\S]"


def anchor_patterns(sigset: Any | None = None) -> list[str]:
    """Every anchor any stage looks at, as byte regexes in the Hyperscan/RE2 common subset.

    Crash report headers and SysRq lines (`triage.crashes`), boot banners, journal separators and
    clock restarts (`triage.kernel`), and each loaded signature's line patterns (`triage.match`).
    Each is loosened to match raw lines (prefixes still on): `^`/`$` anchors and look-arounds are
    dropped, back-references widened. A pattern that still cannot be compiled becomes
    `MATCH_EVERYTHING`, which makes the prefilter keep every line rather than lose a hit.
    """
    from triage import match

    raw = [*crash_stage.anchor_patterns(), *kernel.anchor_patterns()]
    if sigset is not None:
        raw.extend(match.anchor_patterns(sigset))
    vouch_for(raw)
    out: list[str] = []
    for p in raw:
        t = to_byte_regex(p)
        out.append(t if t is not None else MATCH_EVERYTHING)
    return list(dict.fromkeys(out))


#: widened patterns known to compile in both engines, vouched for as a set (`vouch_for`)
_VOUCHED: set[str] = set()


def vouch_for(patterns: list[str]) -> None:
    """Check the widenings of `patterns` in one compile of the set, not one each: Hyperscan's
    fixed cost per database made the one-by-one check (~65 ms) as dear as the prefilter's own
    compile of the set, which this one is (`prefilter.hyperscan_database`). When the set fails,
    nothing is vouched for and `_compiles` finds the culprits one by one."""
    widened = set()
    for p in patterns:
        try:
            w = _prefilter_form(p)
        except ValueError:
            continue
        if w:
            widened.add(w)
    if widened and not widened <= _VOUCHED and _all_compile(tuple(sorted(widened))):
        _VOUCHED.update(widened)


def _all_compile(patterns: tuple[str, ...]) -> bool:
    """Whether every one of `patterns` compiles in `regex` and, when it imports, all of them
    together in Hyperscan (whose database is then the prefilter's, kept)."""
    import regex

    from triage.prefilter import hyperscan_available, hyperscan_database

    try:
        for p in patterns:
            regex.compile(p.encode())
        if hyperscan_available():
            hyperscan_database(patterns)
    except Exception:  # regex.error, hyperscan.error (unsupported, too large), ValueError...
        return False
    return True


def to_byte_regex(pattern: str) -> str | None:
    """`pattern` (the `regex`/RE2 dialect, over message text) widened for raw log lines.

    The result matches every line whose message the original matches (and maybe more); None
    when no such translation compiles.
    """
    try:
        out = _prefilter_form(pattern)
    except ValueError:
        return None
    if not out or not _compiles(out):
        return None
    return out


def _prefilter_form(pattern: str) -> str:
    """`pattern` widened for raw lines (`_widen`), then without a leading run of one character
    class (a SysRq task line's name before its state `D`): a line with a match of the whole
    holds a match of the rest, and Hyperscan no longer starts a match at every word of every
    line (that one pattern made the whole prefilter three times slower)."""
    from triage.parsers.engine import has_alternation

    out = _widen(pattern)
    if has_alternation(out, 0, len(out)):
        return out
    run = _LEADING_RUN.match(out)
    if run is None or run.end() == len(out) or out[run.end()] in "?*+{":
        return out
    return out[run.end() :]


#: an optional `\b`, then one character class, class escape or `.` repeated without bound
_LEADING_RUN = re.compile(r"(?:\\b)?(?:\[(?:\\.|[^\]\\])+\]|\\[wWsSdD]|\.)[+*]")


_FLAGS_ONLY = re.compile(r"\(\?([aiLmsux]+)\)")


def _widen(p: str) -> str:
    lead = _FLAGS_ONLY.match(p)
    if lead:  # a leading global flag group becomes a scoped one (alternations stay valid)
        flags = "".join(f for f in lead.group(1) if f in "ims")
        inner = _widen(p[lead.end() :])
        return f"(?{flags}:{inner})" if flags else inner
    out: list[str] = []
    i, n = 0, len(p)
    in_class = False
    while i < n:
        c = p[i]
        if c == "\\" and i + 1 < n:
            nxt = p[i + 1]
            if not in_class and nxt in "AZzG":
                i += 2
                continue
            if not in_class and nxt.isdigit() and nxt != "0":
                out.append(".*")  # a back-reference: any text
                i += 2
                continue
            out.append(p[i : i + 2])
            i += 2
            continue
        if in_class:
            out.append(c)
            if c == "]":
                in_class = False
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            i += 1
            if i < n and p[i] == "^":
                out.append("^")
                i += 1
            if i < n and p[i] == "]":
                out.append("\\]")
                i += 1
            continue
        if c in "^$":
            i += 1
            continue
        if c == "(" and p.startswith("(?", i):
            if p.startswith(("(?=", "(?!", "(?<=", "(?<!"), i):
                i = _group_end(p, i)  # a look-around only narrows: drop it
                continue
            if p.startswith("(?>", i):
                out.append("(?:")
                i += 3
                continue
            if p.startswith("(?P<", i) or (p.startswith("(?<", i)):
                close = p.index(">", i)
                out.append("(?:")
                i = close + 1
                continue
            if p.startswith("(?P=", i) or p.startswith("(?#", i):
                close = p.index(")", i)
                out.append(".*" if p[i + 2] == "P" else "")
                i = close + 1
                continue
        if c in "*+?}" and i + 1 < n and p[i + 1] == "+":
            out.append(c)  # possessive → greedy
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _group_end(p: str, start: int) -> int:
    depth, i, n, in_class = 0, start, len(p), False
    while i < n:
        c = p[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError("unbalanced group")


@functools.lru_cache(maxsize=1024)  # a pure test, asked again for every spec and plan
def _compiles(pattern: str) -> bool:
    return pattern in _VOUCHED or _all_compile((pattern,))


_PREFILTERS: dict[tuple[str, ...], Any] = {}


def _prefilter_for(patterns: list[str]) -> Any:
    from triage.prefilter import Prefilter

    key = tuple(sorted(set(patterns)))
    pf = _PREFILTERS.get(key)
    if pf is None:
        pf = _PREFILTERS[key] = Prefilter(list(key))
    return pf


# --------------------------------------------------------------------------------------------
# The large-source path, pass 1: which sources take it, and the windows kept around hits
# --------------------------------------------------------------------------------------------
def streamable(src: SourceFile, signatures: Any | None, keep: str, threshold: int) -> bool:
    """Whether `src` may take the two-pass path: a line format, no signature that needs every
    line, and not known to be smaller than `threshold` (a compressed log's size is not known
    until it is read: see `_read_small`)."""
    if 0 <= src.size < threshold or src.kind not in parsers.FORMATS:
        return False
    if signatures is not None:
        from triage import match

        if match.needs_every_line(signatures):
            return False
    return True


_CONTIGUOUS_KINDS = frozenset({"console", "dmesg", "vmcore-dmesg"})


@dataclass(frozen=True)
class ScanSpec:
    """What pass 1 needs to know about a source and the signatures, small enough to ship to
    another process (which compiles it once, see `compiled`)."""

    patterns: tuple[str, ...]
    factor: int  # window widths are multiplied by this for kinds whose parser drops lines
    boot_lines: int  # lines after a banner some `boot` condition counts
    keep_bytes: int  # a line longer than this is kept as its first `keep_bytes` bytes


def scan_spec(src: SourceFile, signatures: Any | None, limits: Limits) -> ScanSpec | None:
    """The pass-1 spec of `src`, or None when the prefilter cannot stand for every stage."""
    patterns = anchor_patterns(signatures)
    if MATCH_EVERYTHING in patterns:
        return None
    boot_lines = 0
    if signatures is not None:
        from triage import match

        boot_lines = match.boot_lines_needed(signatures)
    return ScanSpec(
        patterns=tuple(sorted(set(patterns))),
        factor=1 if src.kind in _CONTIGUOUS_KINDS else _SPARSE_KIND_FACTOR,
        boot_lines=boot_lines,
        keep_bytes=4 * limits.max_line_bytes,
    )


@dataclass
class Plan:
    """How wide the window around each kind of hit is (in physical lines)."""

    before: int
    after: int
    report_after: int
    sysrq_after: int
    boot_after: int
    edge: int
    keep_bytes: int
    report_re: Any
    sysrq_re: Any
    boot_re: Any

    @property
    def context(self) -> int:
        """Lines kept from one block for the next: a hit's before-context or the tail edge."""
        return max(self.before, self.edge)

    def after_of(self, line: bytes) -> int:
        if self.report_re.search(line):
            return self.report_after
        if self.sysrq_re.search(line):
            return self.sysrq_after
        if self.boot_re.search(line):
            return self.boot_after
        return self.after


_PLANS: dict[ScanSpec, Plan] = {}


def compiled(spec: ScanSpec) -> tuple[Any, Plan]:
    """The prefilter and window plan of `spec`, compiled once per process."""
    plan = _PLANS.get(spec)
    if plan is None:
        plan = _PLANS[spec] = _plan(spec)
    return _prefilter_for(list(spec.patterns)), plan


def _plan(spec: ScanSpec) -> Plan:
    import regex

    from triage.crashes.extract import MAX_REPORT_LINES

    factor = spec.factor
    crash_anchor, sysrq_anchor = crash_stage.anchor_patterns()
    k = kernel.anchor_patterns()

    def rx(pats: list[str]) -> Any:
        widened = [to_byte_regex(p) or MATCH_EVERYTHING for p in pats]
        return regex.compile("|".join(f"(?:{w})" for w in widened).encode())

    return Plan(
        before=BEFORE_LINES * factor,
        after=AFTER_LINES * factor,
        report_after=(MAX_REPORT_LINES + 2 * CONTEXT_LINES) * factor,
        sysrq_after=SYSRQ_AFTER_LINES * factor,
        boot_after=(max(spec.boot_lines, 2 * CONTEXT_LINES) + CONTEXT_LINES) * factor,
        edge=EDGE_LINES * factor,
        keep_bytes=spec.keep_bytes,
        report_re=rx([crash_anchor]),
        sysrq_re=rx([sysrq_anchor]),
        boot_re=rx(k[:2]),
    )
