"""Titling one kernel report: format table → title, alternative titles, guilty frame, corruption.

The input is the text of one report (the header line first, lines of other CPUs already
removed); the rules come from `triage.crashes.rules`. A title must be the same for two
occurrences of the same bug and differ for different bugs, so it is built from the report's kind
and its *guilty frame* — never from addresses, offsets, pids or line numbers, which the final
`sanitize_title` pass replaces by ADDR / NUM / LINE.

Corruption is reported with its reason, because a title like "… in corrupted" is only useful
when the engineer knows whether the trace was truncated, interleaved, or absent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from triage.crashes import rules
from triage.crashes.rules import PARSE, Format, Kind, Stack
from triage.parsers.literals import required_literals

# Reasons a report is marked corrupted (Crash.corrupted_reason).
NO_FRAMES = "no usable frame in the stack trace"
FORMAT_CORRUPTED = "only the trailer of a report survived (its real header is missing)"
REPORT_MISMATCH = "header matched but the rest of the report is missing or garbled"
TITLE_GARBLED = "title line is glued to another console line"
TRACE_TOO_SHORT = "report ends right after its stack trace header (truncated)"
TRACE_EMPTY = "stack trace header is not followed by any frame (truncated or interleaved)"
NO_TRACE = "no stack trace in the report"
INTERLEAVED = "fault-injection stack interleaved with the report"
CONSOLE_LOST = "console connection was lost while the report was printed"

CORRUPTED_FRAME = "corrupted"
#: Said instead of a stack trace on purpose; the report is not truncated.
_NO_STACK_MARKERS = ("(stack is not available)", "<Same stack as pid")
MAX_TITLE = 120


@cache
def rx(pattern: str) -> re.Pattern[str]:
    """The compiled form of a rules pattern (macros expanded), cached for the process."""
    return re.compile(rules.expand(pattern))


@cache
def _skip_rx(extra: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(rules.SKIP_FRAMES + extra))


_FRAME_LINES = tuple(re.compile(rules.expand(p)) for p in rules.FRAME_LINE)
#: a frame the unwinder is unsure of (`[<pc>] ? func+0x1/0x2`): no title's, but a trace's all the
#: same (2.6.32 marks every frame of many a stack so)
_UNSURE_FRAME = re.compile(rules.expand(r"^ *(?:<[A-Z#]+> +)?(?:{{PC}} ?){0,2} ?\? {{FUNC}}"))
_OLD_FRAMES = re.compile(rules.OLD_X86_64_FRAMES)
_BARE_FRAME = re.compile(rules.expand(rules.BARE_FRAME))
_STACK_START = tuple(re.compile(p) for p in rules.STACK_START)
#: per stack header, literals one of which each of its matches holds (None: unknown): a text
#: without any is searched no further
_STACK_START_NEEDS = tuple(
    (req.literals if req and not req.caseless else None)
    for req in (required_literals(p) for p in rules.STACK_START)
)
_STACK_START_ANY = re.compile("|".join(f"(?:{p})" for p in rules.STACK_START))
_CORRUPTED_LINES = tuple(re.compile(p) for p in rules.CORRUPTED_LINES)
_QUESTIONABLE = re.compile(rules.QUESTIONABLE_FRAME)
_CORRUPTED_TITLE = re.compile(rules.CORRUPTED_TITLE)
_STALL_ANCHORS = re.compile("|".join(rules.STALL_ANCHORS + rules.STALL_SELF_ANCHORS))
_STALL_SELF_ANCHORS = re.compile("|".join(rules.STALL_SELF_ANCHORS))


@dataclass
class Description:
    """What the format table says about one report."""

    title: str
    alt_titles: list[str] = field(default_factory=list)
    corrupted_reason: str = ""
    format: Format | None = None
    type: str = ""
    guilty: str = ""  # the guilty frame as printed (syscall prefixes kept), "" if none


@dataclass
class _Frame:
    canonical: str
    raw: str


def _any(patterns: tuple[re.Pattern[str], ...], line: str) -> bool:
    return any(p.search(line) for p in patterns)


def frame_names(line: str) -> list[str]:
    """Function names a stack line names, in order; [] for a non-frame or unreliable line."""
    if _QUESTIONABLE.search(line) and "<EOI>" not in line:
        return []
    for pattern in _FRAME_LINES:
        m = pattern.search(line)
        if m:
            return [g for g in m.groups() if g]
    return _OLD_FRAMES.findall(line)


def _strip_prefix(name: str) -> str:
    best = name
    for prefix in rules.STRIP_FRAME_PREFIXES:
        if name.startswith(prefix) and len(name) - len(prefix) < len(best):
            best = name[len(prefix) :]
    return best


def _stall_frame(frames: list[str]) -> int:
    """Index of the frame just above the first dispatcher (syscall entry, softirq, kthread),
    or of the dispatcher itself when it names the stall (`rules.STALL_SELF_ANCHORS`)."""
    prev = 0
    for i, name in enumerate(frames):
        if _STALL_ANCHORS.search(name):
            return i if _STALL_SELF_ANCHORS.search(name) else prev
        prev = i
    return -1


def _hang_frame(frames: list[str]) -> tuple[int, str]:
    """Hung tasks are victims: group them by what they wait on (RCU, rtnl), else first real frame."""
    for i, name in enumerate(frames):
        for anchor, replacement in rules.HANG_ANCHORS.items():
            if anchor in name:
                return i, replacement or name
    for i, name in enumerate(frames):
        if not any(s in name for s in rules.HANG_SKIP):
            return i, name
    return -1, ""


def _key_frame(raw: list[str], extractor: str) -> _Frame | None:
    if not raw:
        return None
    stripped = [_strip_prefix(f) for f in raw]
    if extractor == "stall":
        i = _stall_frame(stripped)
        if i < 0:
            return None
        name = "smp_call_function" if "smp_call_function" in stripped[i] else stripped[i]
        return _Frame(name, raw[i])
    if extractor == "hang":
        i, name = _hang_frame(stripped)
        return _Frame(name, raw[i]) if i >= 0 else None
    return _Frame(stripped[0], raw[0])


def _append(frames: list[str], groups: list[str], skip: re.Pattern[str]) -> None:
    frames.extend(g for g in groups if g and not skip.search(g))


def _extract_parts(
    lines: list[str], parts: tuple[str, ...], stack: Stack, skip: re.Pattern[str]
) -> tuple[list[_Frame], bool]:
    """Walk `parts` over `lines`; each PARSE (and the end) closes one stack's key frame."""
    results: list[_Frame] = []
    raw: list[str] = []
    ok = True
    pos = 0
    traces = 0
    idx = 0
    while True:
        if idx == len(parts) or (parts[idx] == PARSE and traces > 0):
            key = _key_frame(raw, stack.extractor)
            if key is None:
                key, ok = _Frame(CORRUPTED_FRAME, CORRUPTED_FRAME), False
            results.append(key)
            raw = []
        if idx == len(parts):
            break
        part = parts[idx]
        if part == PARSE:
            traces += 1
            following = rx(parts[idx + 1]) if idx + 1 < len(parts) else None
            while pos < len(lines):
                line = lines[pos]
                pos += 1
                if _any(_CORRUPTED_LINES, line):
                    ok = False
                    break
                if _STACK_START_ANY.search(line):
                    break
                if following is not None and following.search(line):
                    m = following.search(line)
                    assert m is not None
                    _append(raw, [g for g in m.groups() if g], skip)
                    idx += 1
                    break
                _append(raw, frame_names(line), skip)
        else:
            pattern = rx(part)
            resume = pos
            while pos < len(lines):
                line = lines[pos]
                pos += 1
                if _any(_CORRUPTED_LINES, line):
                    ok = False
                    break
                m = pattern.search(line)
                if m:
                    _append(raw, [g for g in m.groups() if g], skip)
                    # 2.6.9 x86_64 starts its frames on the "Call Trace:" line itself.
                    _append(raw, _OLD_FRAMES.findall(line, m.end()), skip)
                    break
            else:
                if part == rules.RIP_FRAME and parts[idx + 1 : idx + 2] == (rules.CALL_TRACE,):
                    # No faulting-IP line (2.6.18 soft lockups): it must not eat the trace.
                    pos = resume
        idx += 1
    return results, ok


def extract_frames(text: str, stack: Stack) -> tuple[list[_Frame], bool]:
    """Guilty frame(s) of `text` per `stack`; ok=False when a stack yielded no frame."""
    lines = text.split("\n")
    skip = _skip_rx(stack.skip)
    frames, ok = _extract_parts(lines, stack.parts, stack, skip)
    if not ok and stack.parts2:
        frames, ok = _extract_parts(lines, stack.parts2, stack, skip)
    if not ok and len(frames) == 1 and not _STACK_START_ANY.search(text):
        # Older i386 dump_stack() printed bare "[<pc>] func+0x1/0x2" frames, no "Call Trace:".
        raw: list[str] = []
        for line in lines[1:]:
            m = _BARE_FRAME.match(line)
            if m:
                _append(raw, [m.group(1)], skip)
        key = _key_frame(raw, stack.extractor) if len(_bare_lines(lines)) >= 2 else None
        if key is not None:
            return [key], True
    return frames, ok


def _bare_lines(lines: list[str]) -> list[str]:
    return [line for line in lines[1:60] if _BARE_FRAME.match(line)]


def _fill(template: str, args: list[str]) -> str:
    return template.format("", *args)


def _partial_args(prefix: list[str], frames: list[_Frame]) -> list[list[str]]:
    """Argument lists with the raw frame and with each syscall prefix stripped (for alt titles)."""
    out: list[list[str]] = []
    for i in range(len(rules.STRIP_FRAME_PREFIXES) + 1):
        strip = "" if i == 0 else rules.STRIP_FRAME_PREFIXES[i - 1]
        add = i == 0
        names = []
        for f in frames:
            trimmed = f.raw[len(strip) :] if strip and f.raw.startswith(strip) else f.raw
            add = add or trimmed != f.raw
            names.append(trimmed)
        if add:
            out.append(prefix + names)
    return out


def _unique(items: list[str]) -> list[str]:
    seen: set[str] = set()
    return [x for x in items if not (x in seen or seen.add(x))]


def describe(text: str, kind: Kind) -> Description:
    """Title a report of `kind`: the format matching earliest in `text` wins."""
    start = len(text)
    title = ""
    alts: list[str] = []
    chosen: Format | None = None
    corrupted = ""
    guilty = ""
    matched_title = False
    for fmt in kind.formats:
        m = rx(fmt.title).search(text)
        if m is None or m.start() > start:
            continue
        if m.start() == start and title:
            continue
        if m.start() < start:
            title, chosen, start, alts, guilty = "", None, m.start(), [], ""
        matched_title = True
        if fmt.report:
            m = rx(fmt.report).search(text)
            if m is None:
                continue
        prefix = [g or "" for g in m.groups()]
        frames: list[_Frame] = []
        corrupted = ""
        named = prefix[fmt.header_func - 1] if fmt.header_func else ""
        if fmt.stack is not None:
            frames, ok = extract_frames(text[m.start() :], fmt.stack)
            if not ok and named:  # the header names the function: the report is whole
                frames = [_Frame(named, named)]
            elif not ok:
                corrupted = NO_FRAMES
        args = prefix + [f.canonical for f in frames]
        title = _fill(fmt.template, args)
        alts = [_fill(a, args) for a in fmt.alt]
        for partial in _partial_args(prefix, frames):
            alt = _fill(fmt.template, partial)
            if alt != title:
                alts.append(alt)
            alts.extend(_fill(a, partial) for a in fmt.alt)
        alts = _unique(alts)
        chosen = fmt
        guilty = next((f.raw for f in frames if f.raw != CORRUPTED_FRAME), "")
    if not title:
        if matched_title:
            corrupted = REPORT_MISMATCH
        m = rx(kind.header).search(text)
        if m is None:
            return Description(title="")
        end = text.find("\n", m.start())
        title = text[m.start() : end if end >= 0 else len(text)]
    if not corrupted and chosen is not None and chosen.corrupted:
        corrupted = FORMAT_CORRUPTED
    desc = Description(
        title=sanitize_title(title),
        alt_titles=[t for t in _unique([sanitize_title(a) for a in alts]) if t],
        corrupted_reason=corrupted,
        format=chosen,
        type=(chosen.type if chosen is not None and chosen.type else kind.type),
        guilty=guilty,
    )
    if desc.title in desc.alt_titles:
        desc.alt_titles.remove(desc.title)
    return desc


def check_corrupted(title: str, text: str, fmt: Format | None) -> str:
    """Why a titled report is corrupted ("" if it is not): glued title, missing or empty trace.

    Each kind of stack trace header (Call Trace, Allocated by, Freed by, backtrace) is checked
    at its first occurrence: it must be followed, within 15 lines, by at least one frame.
    """
    if _CORRUPTED_TITLE.search(title):
        return TITLE_GARBLED
    if fmt is None or fmt.no_stack:
        return ""
    lines = text.split("\n")
    has_trace = any_header = False
    for start, needs in zip(_STACK_START, _STACK_START_NEEDS, strict=True):
        # One search of the whole text first: a match within a line is a match of the text, so
        # none there is none in any line, and the first line's match is at or after the text's
        # (a flooded console has hundreds of reports of 750 lines, most lacking most headers).
        if needs is not None and not any(lit in text for lit in needs):
            continue
        found_at = start.search(text)
        if found_at is None:
            continue
        any_header = True
        from_line = text.count("\n", 0, found_at.start())
        first = next((i for i in range(from_line, len(lines)) if start.search(lines[i])), None)
        if first is None:
            continue
        weak = start.pattern == rules.WEAK_STACK_START
        following = lines[first + 1 :]
        if len(following) < 3:
            if weak:
                continue
            return TRACE_TOO_SHORT
        found = bool(_OLD_FRAMES.search(lines[first]))  # 2.6.9 x86_64: frames on that line
        for nxt in following[:15]:
            if found:
                break
            if _STACK_START_ANY.search(nxt):
                break
            if (
                any(m in nxt for m in _NO_STACK_MARKERS)
                or any(p.search(nxt) for p in _FRAME_LINES)
                or _OLD_FRAMES.search(nxt)
                or _UNSURE_FRAME.search(nxt)
            ):
                found = True
                break
        if found:
            has_trace = True
        elif not weak:
            return TRACE_EMPTY
    if not has_trace and not any_header:  # (no header matched the text: `_STACK_START_ANY`)
        has_trace = len(_bare_lines(lines)) >= 2  # an old dump_stack(): frames, no keyword
    return "" if has_trace else NO_TRACE


# ---- title hygiene -------------------------------------------------------------------------
_REPLACEMENTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"syz-executor\.?[0-9]+((/|:)[0-9]+)?"), "syz-executor"),
    (re.compile(r"syzkaller[0-9]+((/|:)[0-9]+)?"), "syzkaller"),
    (re.compile(r"([^a-zA-Z0-9])(?:0x)?[0-9a-f]{6,}"), r"\1ADDR"),
    (re.compile(r"([0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})"), "IP"),
    (re.compile(r"(\.\w+)(:[0-9]+)+"), r"\1:LINE"),
    (re.compile(r"([a-zA-Z][a-zA-Z0-9_.]+)\+0x[0-9a-z]+/0x[0-9a-z]+"), r"\1"),
    (re.compile(r"CPU#[0-9]+"), "CPU"),
    (re.compile(r"(\W)(\d+)(\W|$)"), r"\1NUM\3"),
    (re.compile(r"(\d+){7,}"), "NUM"),
)


def sanitize_title(title: str) -> str:
    """Drop what differs between two occurrences of one bug: addresses, numbers, lines, pids."""
    for pattern, repl in _REPLACEMENTS:
        while True:
            new = pattern.sub(repl, title)
            if new == title:
                break
            title = new
    out = []
    prev = " "
    for ch in title[:MAX_TITLE]:
        if ch == "\t":
            ch = " "
        elif ord(ch) < 0x20 or ord(ch) >= 0x7F:
            continue
        if ch == " " and prev == " ":
            continue
        out.append(ch)
        prev = ch
    return "".join(out).strip()
