"""Finding crash reports in a source's `lines` table and cutting each one out.

Most of a log is not a crash, so the cost model is: one vectorised regex pass over the `text`
column finds every line that could start a report (the union of all header regexes of
`triage.crashes.rules`), and Python only looks at bounded windows after those lines. A log with
no crash costs that single pass.

Reports interleave: several CPUs print at once, a panic follows an oops, a lockdep splat fires
while an oops is printed. When lines carry a printk caller id (`[T123]`/`[C1]`, either left in
the text or in the `tag` column) a report keeps only the lines of its own task or CPU, as the
kernel wrote them; without ids, a report ends where the next one starts. Headers that are
part of another report (`Kernel panic - not syncing`, `Oops:`, `invalid opcode:` …) extend the
report in progress instead of opening a new one. So does any crash header printed in the *head*
of a report in progress — after its header, before its body (registers, `CPU:`/`Pid:`,
modules, stack) has begun: that is the report's own message text, as in a 3.x
`WARNING: at kernel/watchdog.c` whose WARN() text is `Watchdog detected hard LOCKUP on cpu 0`,
or the same one-line message printed again before anything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from triage.crashes import fields, fingerprint, frames, rules, titles
from triage.crashes.rules import Kind
from triage.model import Boot, Crash, Frame, stable_id
from triage.parsers import literals

#: Lines after a header searched for the rest of the report (title, trace, corruption checks).
MAX_REPORT_LINES = 750
#: A report's text ends after this many consecutive lines that do not look like report lines.
MAX_GAP_LINES = 20
#: Lines after a report's start within which a continuation header still belongs to it.
ABSORB_LINES = 600
#: Lines after a report's header (or its last absorbed one) that can still be its message text.
HEAD_LINES = 4
#: Report lines before which syzkaller stops reading a panic that follows the real report.
MIN_LINES_BEFORE_PANIC = 22
MIN_LINES_BEFORE_PANIC_KMSAN = 16

_CONSOLE = re.compile(
    r"^(?:\*\* [0-9]+ printk messages dropped \*\* )?(?:.* login: )?(?:<[0-9]+>)?"
    r"\[ *[0-9]+\.[0-9]+\](?: ?\[ *([CT][0-9]+)\])? "
)
_CALLER_ONLY = re.compile(r"^(?:<[0-9]+>)?\[ *([CT][0-9]+)\] ")
_PRIORITY = re.compile(r"^<[0-9]{1,3}>")
_TAG_CALLER = re.compile(r"^[CT][0-9]+$")
_QUESTIONABLE_PREFIX = re.compile(r"(?:\[\<[0-9a-f]+\>\])? \? ")
_PRELUDE = re.compile(r"^-+\[ cut here \]-+\s*$|^=+\s*$|^-+\s*$")
_END_MARKER = re.compile(r"---\[ end (?:trace|Kernel panic)")
_REPORTISH = re.compile(
    # (a stack's frames are indented; syslog drops the indent: `kernel: [<ffffffff8a7b8b79>]
    # schedule+0x29/0x70`, `kernel: ? __schedule+0x3c2/0x8a0`)
    r"^\s|^(?:\? )?\[<?[0-9a-f]{8,16}>?\] |^\? [\w.]+\+0x|^[\w.]+\+0x[0-9a-f]+/0x[0-9a-f]+|"
    r"Call Trace|Code: |Modules linked in|CPU: |Pid: |Hardware name|Stack:|Process |"
    r"[A-Z][A-Z0-9]{1,3}: ?[0-9a-f]|---\[|<IRQ>|<EOI>|Kernel panic|Kernel Offset|"
    r"locks? held|lock\(|DEADLOCK|info that might help|Mem-Info|Killed process|Out of memory"
)
#: A line that belongs to a report's body (context, registers, modules, stack), not its head.
#: (`Hardware name:` is not one: 3.x WARN() prints it between the header and the message.)
_BODY = re.compile(
    r"Call Trace|Modules linked in|^CPU: |^Pid: |^Process |"
    r"[A-Z][A-Z0-9]{1,3} ?: ?[0-9a-f]{4}|^ *\[<?[0-9a-f]+>?\]|^ +[a-z_][a-z0-9_.]*\+0x|"
    r"Code: |---\[|<IRQ>|<NMI>|Stack:|[Bb]acktrace|lock\(|locks? held"
)
#: A header naming its own CPU and task, as `WARNING: CPU: 0 PID: 1 at …` does, is no message text.
_OWN_CONTEXT = re.compile(r"\bCPU: ?[0-9]+ PID: ?[0-9]+")
_HEADER_RES = tuple(re.compile(k.header) for k in rules.KINDS)
_SUPPRESS_RES = tuple(tuple(re.compile(s) for s in k.suppress) for k in rules.KINDS)
#: lines that end the report open before them without starting one of their own: syzkaller's
#: info messages with a stack, and a SysRq command's first line, whose dump (another CPU's
#: backtrace, every task's state) is a printout of its own, read by `sysrq.py`
_BREAKERS = (*rules.INFO_WITH_STACK, "SysRq : ")

#: Every header plus the breakers: the alternatives of the one regex the prefilter runs, and
#: their union (the anchor other stages stream by, `anchor_patterns`).
PREFILTER_PARTS = tuple(
    [f"(?:{k.header})" for k in rules.KINDS] + [re.escape(b) for b in _BREAKERS]
)
PREFILTER = "|".join(PREFILTER_PARTS)


def split_prefix(text: str) -> tuple[str, str]:
    """(context, message) of one line: context is a caller id, "console" or "".

    Parsers normally strip printk prefixes; what is left over here (consoles captured raw,
    `[T123]` caller ids) is read rather than trusted to be gone.
    """
    text = text.strip("\r")
    m = _CONSOLE.match(text)
    if m:
        return (m.group(1) or "console"), text[m.end() :]
    m = _CALLER_ONLY.match(text)
    if m:
        return m.group(1), text[m.end() :]
    m = _PRIORITY.match(text)
    if m:
        return "", text[m.end() :]
    return "", text


def _group(context: str) -> str:
    """Reports are separated per task/CPU when ids exist; plain and timestamped lines are one."""
    return context if context not in ("", "console") else ""


def kind_of(message: str) -> Kind | None:
    """The report kind a line starts or continues, or None (table order is priority)."""
    for kind, header, suppress in zip(rules.KINDS, _HEADER_RES, _SUPPRESS_RES, strict=False):
        if header.search(message) and not any(s.search(message) for s in suppress):
            return kind
    return None


@dataclass
class _Hit:
    row: int
    context: str
    kind: Kind | None  # None: an info message with a stack (a breaker)


@dataclass
class _Report:
    start: int
    context: str
    kind: Kind
    next_start: int | None = None  # the next report of the same task/CPU group starts here
    absorbed: list[int] = field(default_factory=list)
    panicked: bool = False
    # The first header absorbed from the report's head: the title (syzkaller's view, where
    # any header starts a report) is read up to here, the stored text goes on.
    head_header: int | None = None
    # How far `_in_head` has read the report's head and found no body line of its task/CPU,
    # and whether it found one: each row is read once, however many headers the head has
    # (a log of hung-task reports every few lines read 600 rows per header).
    head_clear_to: int = 0
    body_seen: bool = False


class _Window:
    """Lazily materialised rows of the table: text, context and message per row."""

    def __init__(self, lines: pa.Table, tags: bool) -> None:
        self.lines = lines
        self.n = lines.num_rows
        self.text = lines.column("text")
        self.tag = lines.column("tag") if tags else None
        self.cache: dict[int, tuple[str, str]] = {}
        #: per row, what `_cut` asks of it (`_MARK_*` bits): worked out once per row, not once
        #: per report whose 750 rows it falls in (a flooded console has a report every few rows)
        self.marks: dict[int, int] = {}

    def load(self, start: int, stop: int) -> None:
        missing = set(range(start, stop)).difference(self.cache)  # in C: a report's 750 rows
        if not missing:
            return
        a, b = min(missing), max(missing) + 1
        texts = self.text.slice(a, b - a).to_pylist()
        tags = self.tag.slice(a, b - a).to_pylist() if self.tag is not None else [None] * (b - a)
        for offset, (text, tag) in enumerate(zip(texts, tags, strict=False)):
            context, message = split_prefix(text or "")
            if not context and tag and _TAG_CALLER.match(tag):
                context = tag
            self.cache[a + offset] = (context, message)
            self.marks[a + offset] = _marks(context, message)

    def get(self, row: int) -> tuple[str, str]:
        if row not in self.cache:
            self.load(row, min(self.n, row + 64))
        return self.cache[row]

    def keep(self, rows: range) -> None:
        """Forget every row outside `rows` (`get` reads a forgotten row again)."""
        self.cache = {k: v for k, v in self.cache.items() if k in rows}
        self.marks = {k: v for k, v in self.marks.items() if k in rows}


_MARK_HANGUP = 1  # the console went away: the report may be cut short
_MARK_QUESTIONABLE = 2  # a `? frame` (or unreliable) line of a CPU/task: not the report's own
_MARK_NO_LOCKDEP = 4  # "Disabling lock debugging": noise within a report
_MARK_NMI = 8  # "Sending NMI from CPU": other CPUs' backtraces belong to the report
_MARK_STOP = 16  # a panic or a lockdep splat: the report's own lines end there


def _marks(context: str, message: str) -> int:
    mark = 0
    if any(h in message for h in rules.CONSOLE_HANGUP):
        mark |= _MARK_HANGUP
    if (
        context
        and "<EOI>" not in message
        and (_QUESTIONABLE_PREFIX.search(message) is not None or message.endswith(" (unreliable)"))
    ):
        mark |= _MARK_QUESTIONABLE
    if "Disabling lock debugging due to kernel taint" in message:
        mark |= _MARK_NO_LOCKDEP
    if "Sending NMI from CPU" in message:
        mark |= _MARK_NMI
    if (
        "Kernel panic - not syncing" in message
        or "WARNING: possible circular locking dependency detected" in message
    ):
        mark |= _MARK_STOP
    return mark


def candidate_rows(lines: pa.Table) -> np.ndarray:
    """Row indices whose text may start a report: one vectorised RE2 pass.

    The pass runs the union of only the headers whose literal text occurs in the column (the
    others match no row), so a source without any costs no pass and a crash report's compiles
    a few alternatives instead of all of them.
    """
    if lines.num_rows == 0:
        return np.zeros(0, dtype=np.int64)
    text = lines.column("text")
    possible = literals.gate_for(PREFILTER_PARTS).possible(text)
    if not possible:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(literals.any_matches(text, [p for p in PREFILTER_PARTS if p in possible]))


def _hits(window: _Window, rows: np.ndarray) -> list[_Hit]:
    out: list[_Hit] = []
    for row in rows.tolist():
        context, message = window.get(row)
        kind = kind_of(message)
        if kind is not None:
            out.append(_Hit(row, context, kind))
        elif any(b in message for b in _BREAKERS):
            out.append(_Hit(row, context, None))
    return out


def _group_reports(hits: list[_Hit], window: _Window) -> list[_Report]:
    """Hits → reports: continuation headers extend the open report of their task/CPU group.

    A crash header in the head of the open crash report (see `_in_head`) extends it too.
    Events (OOM kills, allocation failures) are tracked apart: their stacks often interleave
    with a crash report in progress, and they must not cut it short. A crash header closes both.
    """
    reports: list[_Report] = []
    open_crash: dict[str, _Report] = {}
    open_event: dict[str, _Report] = {}
    for hit in hits:
        group = _group(hit.context)
        if hit.kind is None:
            current = open_crash.get(group)
            if current is not None and current.next_start is None:
                current.next_start = hit.row
            continue
        is_event = hit.kind.record == "event"
        current = (open_event if is_event else open_crash).get(group)
        near = current is not None and hit.row - current.start <= ABSORB_LINES
        if current is not None and near and not _continues(current, hit.kind):
            if _in_head(window, current, hit):
                if current.head_header is None:
                    current.head_header = hit.row
            else:
                near = False
        if current is not None and near:
            current.absorbed.append(hit.row)
            current.panicked = current.panicked or hit.kind.panics
            continue
        report = _Report(start=hit.row, context=hit.context, kind=hit.kind)
        report.panicked = hit.kind.panics
        for table in (open_event,) if is_event else (open_event, open_crash):
            previous = table.pop(group, None)
            if previous is not None and previous.next_start is None:
                previous.next_start = hit.row
        (open_event if is_event else open_crash)[group] = report
        reports.append(report)
    return reports


def _in_head(window: _Window, current: _Report, hit: _Hit) -> bool:
    """Is crash header `hit` part of the message of crash report `current`?

    Between a report's header and its body (registers, `CPU:`/`Pid:`, modules, stack) the
    kernel prints the report's own message — WARN()'s text, a driver's detail line — which may
    itself look like a header. A crash header there, a few lines after the last header of the
    report and with no body line of the report's task/CPU in between, is that message.
    """
    if current.kind.record != "crash" or hit.kind is None or hit.kind.record != "crash":
        return False
    last_header = current.absorbed[-1] if current.absorbed else current.start  # rows ascend
    if hit.row - last_header > HEAD_LINES:
        return False
    if _OWN_CONTEXT.search(window.get(hit.row)[1]):
        return False  # `WARNING: CPU: 0 PID: 6694 at …` names its own task: a report of its own
    if current.body_seen:
        return False
    group = _group(current.context)
    begin = max(current.start + 1, current.head_clear_to)
    window.load(begin, hit.row)
    for row in range(begin, hit.row):
        context, message = window.get(row)
        if _group(context) == group and _BODY.search(message):
            current.body_seen = True
            return False
    current.head_clear_to = hit.row
    return True


def _continues(current: _Report, kind: Kind) -> bool:
    if kind is current.kind and kind.repeats:
        return True  # OOM and XFS print several headers for one event
    if current.kind.record == "event":
        return False  # a crash header after an event is a crash of its own
    return not kind.starts_report and kind.record == "crash"


@dataclass
class _Cut:
    """The lines of one report: for titling (syzkaller's view) and for the stored text."""

    title_lines: list[str]
    check_lines: list[str]
    report_rows: list[int]
    console_lost: bool


def _cut(window: _Window, report: _Report, boot_col: pa.ChunkedArray | None) -> _Cut:
    start = report.start
    limit = min(window.n, start + MAX_REPORT_LINES)
    if boot_col is not None:
        boots = boot_col.slice(start, limit - start).to_pylist()
        for offset, boot in enumerate(boots):
            if boot != boots[0]:
                limit = start + offset
                break
    window.load(start, limit)
    cache, marks = window.cache, window.marks  # every row of [start, limit) is loaded
    context = report.context
    oops_message = cache[start][1]
    min_lines = (
        MIN_LINES_BEFORE_PANIC_KMSAN if "BUG: KMSAN:" in oops_message else MIN_LINES_BEFORE_PANIC
    )
    has_ids = context not in ("", "console")
    stops = [r for r in (report.next_start, report.head_header) if r is not None]
    title_stop = min(stops) if (stops and not has_ids) else limit
    check_lines: list[str] = []
    title_lines: list[str] = []
    count = 0
    skip_rest = cpu_traceback = console_lost = False
    for row in range(start, limit):
        ctx, message = cache[row]
        mark = marks[row]
        first = row == start
        if mark & _MARK_HANGUP:
            console_lost = True
        if not first and (
            mark & _MARK_QUESTIONABLE
            or (ctx != context and not (cpu_traceback and ctx.startswith("C")))
        ):
            continue
        count += 1
        skip = skip_rest
        if mark & _MARK_NO_LOCKDEP:
            skip = True
        elif mark & _MARK_NMI:
            cpu_traceback = True
        elif count > min_lines and mark & _MARK_STOP:
            skip_rest = skip = True
        if not first and skip:
            continue
        check_lines.append(message)
        if row < title_stop:
            title_lines.append(message)
    report_rows = _report_rows(window, report, limit)
    return _Cut(title_lines, check_lines, report_rows, console_lost)


def _report_rows(window: _Window, report: _Report, limit: int) -> list[int]:
    """Rows of the stored report text: prelude, header, body up to its end marker or a gap."""
    group = _group(report.context)
    stop = min(limit, report.next_start) if report.next_start is not None else limit
    rows: list[int] = []
    prelude: list[int] = []
    row = report.start - 1
    while row >= 0 and report.start - row <= 3:
        window.load(max(0, report.start - 3), report.start)
        ctx, message = window.get(row)
        if _group(ctx) != group or not _PRELUDE.match(message):
            break
        prelude.insert(0, row)
        row -= 1
    last_reportish = report.start
    for row in range(report.start, stop):
        ctx, message = window.get(row)
        if _group(ctx) != group:
            continue
        if row - last_reportish > MAX_GAP_LINES:
            break
        rows.append(row)
        if row == report.start or row in report.absorbed or _REPORTISH.search(message):
            last_reportish = row
        if _END_MARKER.search(message):
            break
    rows = [r for r in rows if r <= last_reportish]
    return prelude + rows


def _boot_for(boots: list[Boot], lineno: int) -> str:
    for boot in boots:
        if boot.first_line <= lineno <= boot.last_line:
            return boot.boot_id
    return ""


def _release_for(boots: list[Boot], boot_id: str) -> str:
    for boot in boots:
        if boot.boot_id == boot_id:
            return boot.release
    return ""


def _module_of(frames: list[Frame], function: str) -> str:
    for f in frames:
        if f.function and f.function.split(".")[0] == function:
            return f.module
    return ""


def build_crash(
    lines: pa.Table,
    window: _Window,
    report: _Report,
    cut: _Cut,
    source_id: str,
    boots: list[Boot],
) -> Crash:
    """One Crash record from a cut report (title, corruption, fields, frames, fingerprint)."""
    kind = report.kind
    desc = titles.describe("\n".join(cut.title_lines), kind)
    if not desc.title:  # cannot happen while the header line is first; kept as a guard
        desc = titles.Description(title=titles.sanitize_title(cut.title_lines[0]))
    reason = desc.corrupted_reason or titles.check_corrupted(
        desc.title, "\n".join(cut.check_lines), desc.format
    )
    if not reason and cut.console_lost:
        reason = titles.CONSOLE_LOST
    rows = cut.report_rows or [report.start]
    linenos = lines.column("lineno")
    first_line = int(linenos[rows[0]].as_py())
    last_line = int(linenos[rows[-1]].as_py())
    header_row = report.start
    boot_id = ""
    if "boot_id" in lines.column_names:
        boot_id = lines.column("boot_id")[header_row].as_py() or ""
    if not boot_id:
        boot_id = _boot_for(boots, int(linenos[header_row].as_py()))
    texts = [window.get(r)[1] for r in rows]
    found = fields.header_fields(texts)
    stack: list[Frame] = frames.parse_stack(texts)
    function = ""
    if desc.guilty:
        function = frames.normalize_function(desc.guilty)
    elif stack:
        guilty = frames.guilty_frame(stack)
        function = guilty.function if guilty else ""
    crash = Crash(
        crash_id=stable_id(source_id, str(first_line)),
        source_id=source_id,
        boot_id=boot_id,
        first_line=first_line,
        last_line=last_line,
        record=kind.record,
        type=desc.type,
        title=desc.title,
        alt_titles=desc.alt_titles,
        corrupted=bool(reason),
        corrupted_reason=reason,
        panicked=report.panicked,
        timestamp=_cell(lines, "timestamp", header_row),
        mono=_cell(lines, "mono", header_row),
        release=found.get("release") or _release_for(boots, boot_id),
        taint=found.get("taint") or "",
        cpu=found.get("cpu"),
        pid=found.get("pid"),
        comm=found.get("comm") or "",
        function=function,
        module=_module_of(stack, function),
        frames=stack,
        report="\n".join(texts),
    )
    crash.fingerprint = fingerprint.fingerprint(crash.type, crash.title, stack)
    return crash


def _cell(lines: pa.Table, name: str, row: int) -> object:
    if name not in lines.column_names:
        return None
    return lines.column(name)[row].as_py()


def _fallback_crash(
    lines: pa.Table, window: _Window, report: _Report, source_id: str, exc: Exception
) -> Crash:
    """A report whose titling failed still counts: header line as title, reason says why."""
    lineno = int(lines.column("lineno")[report.start].as_py())
    message = window.get(report.start)[1]
    return Crash(
        crash_id=stable_id(source_id, str(lineno)),
        source_id=source_id,
        boot_id="",
        first_line=lineno,
        last_line=lineno,
        record=report.kind.record,
        type=report.kind.type,
        title=titles.sanitize_title(message),
        corrupted=True,
        corrupted_reason=f"could not be analysed: {type(exc).__name__}: {exc}",
        report=message,
    )


def extract_reports(lines: pa.Table, source_id: str, boots: list[Boot]) -> list[Crash]:
    """Every crash report and event (OOM kill, allocation failure) in `lines`, in log order."""
    rows = candidate_rows(lines)
    if rows.size == 0:
        return []
    window = _Window(lines, "tag" in lines.column_names)
    reports = _group_reports(_hits(window, rows), window)
    boot_col = lines.column("boot_id") if "boot_id" in lines.column_names else None
    if boot_col is not None and boot_col.null_count == boot_col.length():
        boot_col = None
    out: list[Crash] = []
    for report in reports:
        try:
            cut = _cut(window, report, boot_col)
            out.append(build_crash(lines, window, report, cut, source_id, boots))
        except Exception as exc:  # one odd report must not lose the others
            out.append(_fallback_crash(lines, window, report, source_id, exc))
        # Windows of earlier reports are not needed again: keep memory bounded. Rows far
        # ahead go too (the hits of a flooded log are all over it, and kept they made this
        # trim run after every report); `get` reads them again when their turn comes.
        if len(window.cache) > 4 * MAX_REPORT_LINES:
            window.keep(range(report.start, report.start + 2 * MAX_REPORT_LINES))
    return out
