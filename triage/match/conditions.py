"""Evaluating a signature's condition tree against one unit (a boot of one source).

Every leaf answers with a `Hit`: whether it holds, which rows (or facts) show it and why, the
names of the conditions that held (confidence rules are written over those names), and the
earliest time of its evidence (a `fact` with `before_minutes` is measured from it). A unit is
one boot rather than the whole file so that a finding's kernel verdict is the kernel that was
running when the evidence was printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from triage.match.lineindex import LineIndex
from triage.match.regexes import fullmatch, search
from triage.model import Boot, Crash, Fact, Frame, SysrqTask

#: evidence lines kept per condition (the count is said in the reason)
MAX_ROWS_PER_CONDITION = 8
#: lines after a task's header in which its frames are looked for
TASK_BLOCK_LINES = 60


@dataclass
class FactEvidence:
    fact: Fact
    reason: str


@dataclass
class Hit:
    ok: bool
    rows: list[tuple[int, str]] = field(default_factory=list)  # (row, reason)
    facts: list[FactEvidence] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    time: float | None = None  # epoch seconds of the earliest evidence row, when known
    crashes: list[Crash] = field(default_factory=list)

    @staticmethod
    def no() -> Hit:
        return Hit(ok=False)


@dataclass
class Unit:
    """What one evaluation sees: a row range of the source, its crashes, the bundle's facts."""

    index: LineIndex
    start: int
    end: int
    boot: Boot | None
    crashes: list[Crash]
    host_facts: list[Fact]
    vm_facts: list[Fact] | None  # None: the source's VM is not known, VM facts cannot be used
    is_last_boot: bool = True
    #: evaluation order of each `all` list, by id: shared by the units of one `evaluate` call,
    #: during which the signature documents (which keep the lists alive) do not change
    orders: dict[int, list[dict[str, Any]]] | None = None

    def rows_in(self, rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return rows
        lo = rows.searchsorted(self.start, side="left")
        hi = rows.searchsorted(self.end, side="left")
        return rows[lo:hi]


def evaluate_node(node: dict[str, Any], unit: Unit, anchor: float | None = None) -> Hit:
    """Evaluate one condition node (PatternTimeout propagates: the caller disables the rule)."""
    if "all" in node:
        hit = _all(node["all"], unit, anchor)
    elif "any" in node:
        hit = _any(node["any"], unit, anchor)
    elif "not" in node:
        inner = evaluate_node(node["not"], unit, anchor)
        hit = Hit(ok=not inner.ok)
    else:
        hit = _leaf(node, unit, anchor)
    if hit.ok and node.get("name"):
        hit.names.add(node["name"])
    if hit.ok and node.get("reason"):
        hit.rows = [(r, node["reason"]) for r, _ in hit.rows]
        hit.facts = [FactEvidence(f.fact, node["reason"]) for f in hit.facts]
    return hit


def _leaf(node: dict[str, Any], unit: Unit, anchor: float | None) -> Hit:
    for kind, fn in _LEAVES.items():
        if kind in node:
            return fn(node[kind], unit, anchor)
    return Hit.no()


def _merge(target: Hit, other: Hit) -> None:
    target.rows.extend(other.rows)
    target.facts.extend(other.facts)
    target.names |= other.names
    target.crashes.extend(c for c in other.crashes if c not in target.crashes)
    if other.time is not None and (target.time is None or other.time < target.time):
        target.time = other.time


def _relative(node: dict[str, Any]) -> bool:
    """Does the subtree measure time from its siblings' evidence (`before_minutes`)?"""
    if isinstance(node.get("fact"), dict) and "before_minutes" in node["fact"]:
        return True
    kids = list(node.get("all") or []) + list(node.get("any") or [])
    if isinstance(node.get("not"), dict):
        kids.append(node["not"])
    return any(_relative(k) for k in kids)


def _ordered(children: list[dict[str, Any]], unit: Unit) -> list[dict[str, Any]]:
    """Children in evaluation order: those measuring time from their siblings come last."""
    memo = unit.orders
    if memo is not None:
        got = memo.get(id(children))
        if got is not None:
            return got
    relative = [_relative(c) for c in children]
    ordered = (
        [c for c, r in zip(children, relative, strict=True) if not r]
        + [c for c, r in zip(children, relative, strict=True) if r]
        if any(relative)
        else children
    )
    if memo is not None:
        memo[id(children)] = ordered
    return ordered


def _all(children: list[dict[str, Any]], unit: Unit, anchor: float | None) -> Hit:
    out = Hit(ok=True)
    for child in _ordered(children, unit):
        h = evaluate_node(child, unit, out.time if out.time is not None else anchor)
        if not h.ok:
            if child.get("optional"):
                continue
            return Hit.no()
        _merge(out, h)
    return out


def _any(children: list[dict[str, Any]], unit: Unit, anchor: float | None) -> Hit:
    out = Hit(ok=False)
    for child in children:
        h = evaluate_node(child, unit, anchor)
        if h.ok:
            out.ok = True
            _merge(out, h)
    return out


# ---- lines ---------------------------------------------------------------------------------
def _time_of_rows(unit: Unit, rows: list[int]) -> float | None:
    """The wall-clock time of the earliest of `rows` (None: none known; seconds since boot
    order a sequence or a silence, but are no time of day)."""
    if not rows or not unit.index.wall_clock:
        return None
    t = unit.index.times()[np.asarray(rows, dtype=np.int64)]
    t = t[~np.isnan(t)]
    return float(t.min()) if len(t) else None


def _line(spec: dict[str, Any], unit: Unit, anchor: float | None) -> Hit:
    rows = unit.rows_in(unit.index.hits(spec["pattern"]))
    tag = spec.get("tag")
    if tag is not None:
        rows = np.asarray(
            [
                r
                for r in rows
                if search(
                    tag, str(unit.index.column_value("tag", int(r)) or ""), unit.index.timeout
                )
            ],
            dtype=np.int64,
        )
    need = int(spec.get("min_count", 1))
    if len(rows) < need:
        return Hit.no()
    count = f" ({len(rows)} lines)" if len(rows) > 1 else ""
    keep = [int(r) for r in rows[:MAX_ROWS_PER_CONDITION]]
    reason = f"line matches /{spec['pattern']}/{count}"
    return Hit(ok=True, rows=[(r, reason) for r in keep], time=_time_of_rows(unit, keep))


def _sequence(spec: dict[str, Any], unit: Unit, anchor: float | None) -> Hit:
    steps = [unit.rows_in(unit.index.hits(p)) for p in spec["steps"]]
    if any(not len(s) for s in steps):
        return Hit.no()
    within_lines = spec.get("within_lines")
    within_s = spec.get("within_seconds")
    times = unit.index.times()
    for first in steps[0]:
        chain = [int(first)]
        for nxt in steps[1:]:
            i = np.searchsorted(nxt, chain[-1], side="right")
            if i >= len(nxt):
                chain = []
                break
            chain.append(int(nxt[i]))
        if not chain:
            break  # later starts cannot complete either: the last step never comes
        lineno = unit.index.lineno
        if within_lines is not None and lineno[chain[-1]] - lineno[chain[0]] > within_lines:
            continue
        if within_s is not None:
            t0, t1 = times[chain[0]], times[chain[-1]]
            if np.isnan(t0) or np.isnan(t1) or t1 - t0 > within_s:
                continue
        n = len(chain)
        rows = [
            (r, f"sequence step {k + 1}/{n}: /{spec['steps'][k]}/") for k, r in enumerate(chain)
        ]
        return Hit(ok=True, rows=rows, time=_time_of_rows(unit, chain))
    return Hit.no()


def _silence(spec: dict[str, Any], unit: Unit, anchor: float | None) -> Hit:
    times = unit.index.times()[unit.start : unit.end]
    known = np.flatnonzero(~np.isnan(times))
    if len(known) < 2:
        return Hit.no()
    t = times[known]
    gaps = np.flatnonzero(np.diff(t) >= float(spec["min_minutes"]) * 60.0)
    then = spec.get("then")
    within = int(spec.get("then_within_lines", 3))
    for g in gaps:
        before = unit.start + int(known[g])
        after = unit.start + int(known[g + 1])
        minutes = (t[g + 1] - t[g]) / 60.0
        wake = after
        if then is not None:
            wakes = unit.rows_in(unit.index.hits(then))
            i = np.searchsorted(wakes, after, side="left")
            if i >= len(wakes) or wakes[i] >= after + within:
                continue
            wake = int(wakes[i])
        rows = [
            (before, f"last line before {minutes:.0f} min of silence"),
            (wake, "output resumes after an external event" if then else "output resumes"),
        ]
        return Hit(ok=True, rows=rows, time=float(t[g]) if unit.index.wall_clock else None)
    return Hit.no()


def _boot(spec: dict[str, Any], unit: Unit, anchor: float | None) -> Hit:
    # Only a kernel boot counts: one that starts at a banner. A host log (xensource.log) or
    # the headless tail of a rotated syslog is not a boot that "stopped early".
    if unit.boot is None or unit.end <= unit.start or not unit.boot.banner:
        return Hit.no()
    if spec.get("is_last") and not unit.is_last_boot:
        return Hit.no()
    n = unit.end - unit.start
    max_lines = spec.get("max_lines")
    if max_lines is not None and n > max_lines:
        return Hit.no()
    lacks = spec.get("lacks")
    if lacks is not None and len(unit.rows_in(unit.index.hits(lacks))):
        return Hit.no()
    first, last = unit.start, unit.end - 1
    rows = [(first, "boot banner"), (last, f"boot output stops here, {n} lines after the banner")]
    if lacks is not None:
        rows[1] = (last, f"boot output stops {n} lines after the banner, never reaching /{lacks}/")
    return Hit(ok=True, rows=rows, time=_time_of_rows(unit, [first]))


# ---- crashes and SysRq task dumps -----------------------------------------------------------
def _frames_ok(frames: list[Frame], spec: dict[str, Any], timeout: float) -> list[str] | None:
    """The frame functions that satisfied the spec, or None when it fails."""
    names = [f.function for f in frames if f.function]
    used: list[str] = []
    for pat in spec.get("frames_all") or []:
        hit = next((n for n in names if fullmatch(pat, n, timeout)), None)
        if hit is None:
            return None
        used.append(hit)
    any_pats = spec.get("frames_any") or []
    if any_pats:
        hits = [n for n in names if any(fullmatch(p, n, timeout) for p in any_pats)]
        if not hits:
            return None
        used.extend(hits[:3])
    for pat in spec.get("frames_none") or []:
        if any(fullmatch(pat, n, timeout) for n in names):
            return None
    return list(dict.fromkeys(used))


def _span_rows(unit: Unit, c: Crash) -> tuple[int, int]:
    return unit.index.rows_for_lines(c.first_line, c.last_line)


def _rows_naming(unit: Unit, lo: int, hi: int, words: list[str], limit: int = 4) -> list[int]:
    out = []
    for w in words:
        for r in range(lo, hi):
            if w in unit.index.text_of(r):
                out.append(r)
                break
        if len(out) >= limit:
            break
    return out


def _crash(spec: dict[str, Any], unit: Unit, anchor: float | None) -> Hit:
    to = unit.index.timeout
    out = Hit(ok=False)
    for c in unit.crashes:
        if spec.get("record") and c.record not in spec["record"]:
            continue
        if spec.get("type") and c.type not in spec["type"]:
            continue
        if "panicked" in spec and bool(c.panicked) != bool(spec["panicked"]):
            continue
        checks = (("title", c.title), ("function", c.function), ("module", c.module))
        if any(k in spec and not search(spec[k], v or "", to) for k, v in checks):
            continue
        if "report" in spec and not search(spec["report"], c.report or "", to):
            continue
        used = _frames_ok(c.frames, spec, to)
        if used is None:
            continue
        lo, hi = _span_rows(unit, c)
        rows: list[tuple[int, str]] = []
        if hi > lo:
            rows.append((lo, f"crash report: {c.title or c.type or c.record}"))
            for r in _rows_naming(unit, lo, hi, used):
                if r != lo:
                    rows.append((r, "frame named by the signature"))
        out.ok = True
        out.rows.extend(rows)
        out.crashes.append(c)
        if len(out.crashes) >= 3:
            break
    if out.ok:
        out.time = _time_of_rows(unit, [r for r, _ in out.rows])
    return out


def _task_matches(t: SysrqTask, spec: dict[str, Any], to: float) -> list[str] | None:
    if spec.get("state") and (t.state or "") not in spec["state"]:
        return None
    if "comm" in spec and not search(spec["comm"], t.comm or "", to):
        return None
    return _frames_ok(t.frames, spec, to)


def _task(spec: dict[str, Any], unit: Unit, anchor: float | None) -> Hit:
    to = unit.index.timeout
    matched: list[tuple[Crash, SysrqTask, list[str]]] = []
    for c in unit.crashes:
        for t in c.tasks:
            used = _task_matches(t, spec, to)
            if used is not None:
                matched.append((c, t, used))
    if len(matched) < int(spec.get("min_count", 1)):
        return Hit.no()
    rows: list[tuple[int, str]] = []
    crashes: list[Crash] = []
    for c, t, used in matched[:4]:
        if c not in crashes:
            crashes.append(c)
        lo, hi = _span_rows(unit, c)
        header = _task_header_row(unit, lo, hi, t)
        if header is None:
            continue
        rows.append((header, f"task {t.comm}:{t.pid} in state {t.state}"))
        block_end = min(hi, header + TASK_BLOCK_LINES)
        for r in _rows_naming(unit, header + 1, block_end, used, limit=3):
            rows.append((r, f"frame in {t.comm}'s stack"))
    return Hit(ok=True, rows=rows, crashes=crashes, time=_time_of_rows(unit, [r for r, _ in rows]))


def _task_header_row(unit: Unit, lo: int, hi: int, t: SysrqTask) -> int | None:
    pid = str(t.pid) if t.pid is not None else ""
    for r in range(lo, hi):
        text = unit.index.text_of(r)
        if t.comm and t.comm in text and (not pid or f" {pid} " in f" {text} "):
            return r
    return None


# ---- bundle facts ---------------------------------------------------------------------------
def _fact_pool(spec: dict[str, Any], unit: Unit) -> list[Fact] | None:
    """The facts about the subject the key concerns; None when that subject is not known."""
    subject = spec.get("subject") or ("vm" if spec["key"].startswith("vm.") else "host")
    pool = unit.vm_facts if subject == "vm" else unit.host_facts
    return pool or None


def _number(v: str) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _fact(spec: dict[str, Any], unit: Unit, anchor: float | None) -> Hit:
    pool = _fact_pool(spec, unit)
    if pool is None:
        return Hit.no()  # nothing known about the subject: a fact can neither hold nor be absent
    cands = [f for f in pool if f.key == spec["key"]]
    to = unit.index.timeout
    if spec.get("present") is False:
        return Hit(ok=not cands)
    good: list[FactEvidence] = []
    for f in cands:
        v = f.value
        num = _number(v)
        if "equals" in spec and v != spec["equals"]:
            continue
        if "pattern" in spec and not search(spec["pattern"], v or "", to):
            continue
        bounds = (
            ("ge", np.greater_equal),
            ("gt", np.greater),
            ("le", np.less_equal),
            ("lt", np.less),
        )
        if any(k in spec and (num is None or not op(num, spec[k])) for k, op in bounds):
            continue
        if "before_minutes" in spec and not _shortly_before(f.time, anchor, spec["before_minutes"]):
            continue
        good.append(FactEvidence(f, _fact_reason(spec)))
    if not good:
        return Hit.no()
    return Hit(ok=True, facts=good[:MAX_ROWS_PER_CONDITION])


def _shortly_before(t: datetime | None, anchor: float | None, minutes: float) -> bool:
    if t is None or anchor is None:
        return False
    a = _from_epoch(anchor)
    return a - timedelta(minutes=minutes) <= t <= a + timedelta(minutes=1)


def _from_epoch(seconds: float) -> datetime:
    """Naive datetime from the epoch seconds LineIndex computed from naive timestamps."""
    return datetime(1970, 1, 1) + timedelta(seconds=seconds)


def _fact_reason(spec: dict[str, Any]) -> str:
    parts = [spec["key"]]
    for k, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
        if k in spec:
            parts.append(f"{sym} {spec[k]:g}")
    if "equals" in spec:
        parts.append(f"= {spec['equals']}")
    if "pattern" in spec:
        parts.append(f"~ /{spec['pattern']}/")
    if "before_minutes" in spec:
        parts.append(f"at most {spec['before_minutes']:g} min before the other evidence")
    if len(parts) == 1:
        parts.append("present")
    return "bundle fact " + " ".join(parts)


_LEAVES = {
    "line": _line,
    "sequence": _sequence,
    "silence": _silence,
    "crash": _crash,
    "task": _task,
    "fact": _fact,
    "boot": _boot,
}


# ---- failures settled without evaluating ----------------------------------------------------
#: what `_settle` knows of an evaluation: it fails, it cannot raise (outcome open), or neither
_NO, _QUIET, _OPEN = 0, 1, 2
_CRASH_REGEX_KEYS = (
    "title",
    "function",
    "module",
    "report",
    "frames_any",
    "frames_all",
    "frames_none",
)
_TASK_REGEX_KEYS = ("comm", "frames_any", "frames_all", "frames_none")


def cannot_hold(node: dict[str, Any], unit: Unit) -> bool:
    """Would `evaluate_node(node, unit)` fail, without anything on the way able to raise?

    Most signatures fail on most sources because their lines never occur; settling that from
    the index's cached hits costs a few lookups instead of an evaluation. True only when the
    evaluation's outcome is certain and every step it would take before failing is free of
    regex searches (which can time out) and of patterns the index has not run yet — so
    skipping the evaluation loses neither a finding nor an error.
    """
    return _settle(node, unit) == _NO


def is_quiet(node: dict[str, Any], unit: Unit) -> bool:
    """Can evaluating `node` neither raise nor run anything but cached lookups?"""
    return _settle(node, unit) != _OPEN


def _settle(node: dict[str, Any], unit: Unit) -> int:
    """`_NO`, `_QUIET` or `_OPEN` for `node`, mirroring the order `evaluate_node` works in."""
    if "all" in node:
        for child in _ordered(node["all"], unit):
            state = _settle(child, unit)
            if state == _OPEN:
                return _OPEN
            if state == _NO and not child.get("optional"):
                return _NO
        return _QUIET
    if "any" in node:
        states = [_settle(child, unit) for child in node["any"]]
        if _OPEN in states:
            return _OPEN
        return _NO if all(s == _NO for s in states) else _QUIET
    if "not" in node:
        return _OPEN if _settle(node["not"], unit) == _OPEN else _QUIET
    for kind, settle in _SETTLERS.items():
        if kind in node:
            return settle(node[kind], unit)
    return _NO


def _cached_rows(unit: Unit, pattern: str) -> np.ndarray | None:
    """The unit's rows matching `pattern` when the index has them already, else None."""
    got = unit.index.cached_hits(pattern)
    return None if got is None else unit.rows_in(got)


def _settle_line(spec: dict[str, Any], unit: Unit) -> int:
    rows = _cached_rows(unit, spec["pattern"])
    if rows is None:
        return _OPEN
    if not len(rows):
        return _NO
    if spec.get("tag") is not None:
        return _OPEN
    return _NO if len(rows) < int(spec.get("min_count", 1)) else _QUIET


def _settle_sequence(spec: dict[str, Any], unit: Unit) -> int:
    steps = [_cached_rows(unit, p) for p in spec["steps"]]
    if any(s is None for s in steps):
        return _OPEN
    return _NO if any(s is not None and not len(s) for s in steps) else _QUIET


def _settle_silence(spec: dict[str, Any], unit: Unit) -> int:
    then = spec.get("then")
    if then is None:
        return _QUIET
    wakes = _cached_rows(unit, then)
    if wakes is None:
        return _OPEN
    return _QUIET if len(wakes) else _NO


def _settle_boot(spec: dict[str, Any], unit: Unit) -> int:
    if unit.boot is None or unit.end <= unit.start or not unit.boot.banner:
        return _NO
    if spec.get("is_last") and not unit.is_last_boot:
        return _NO
    max_lines = spec.get("max_lines")
    if max_lines is not None and unit.end - unit.start > max_lines:
        return _NO
    lacks = spec.get("lacks")
    if lacks is None:
        return _QUIET
    rows = _cached_rows(unit, lacks)
    if rows is None:
        return _OPEN
    return _NO if len(rows) else _QUIET


def _settle_crash(spec: dict[str, Any], unit: Unit) -> int:
    for c in unit.crashes:
        if spec.get("record") and c.record not in spec["record"]:
            continue
        if spec.get("type") and c.type not in spec["type"]:
            continue
        if "panicked" in spec and bool(c.panicked) != bool(spec["panicked"]):
            continue
        return _OPEN if any(k in spec for k in _CRASH_REGEX_KEYS) else _QUIET
    return _NO


def _settle_task(spec: dict[str, Any], unit: Unit) -> int:
    states = spec.get("state")
    count = sum(
        1 for c in unit.crashes for t in c.tasks if not (states and (t.state or "") not in states)
    )
    if not count:
        return _NO
    if any(k in spec for k in _TASK_REGEX_KEYS):
        return _OPEN
    return _NO if count < int(spec.get("min_count", 1)) else _QUIET


def _settle_fact(spec: dict[str, Any], unit: Unit) -> int:
    pool = _fact_pool(spec, unit)
    if pool is None:
        return _NO
    present = any(f.key == spec["key"] for f in pool)
    if spec.get("present") is False:
        return _NO if present else _QUIET
    if not present:
        return _NO
    return _OPEN if "pattern" in spec or "before_minutes" in spec else _QUIET


#: same kinds, same order as `_LEAVES`
_SETTLERS = {
    "line": _settle_line,
    "sequence": _settle_sequence,
    "silence": _settle_silence,
    "crash": _settle_crash,
    "task": _settle_task,
    "fact": _settle_fact,
    "boot": _settle_boot,
}
