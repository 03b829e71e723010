"""SysRq dumps as records: who was blocked where when someone poked a hung machine.

A hung RHEL 4 guest prints nothing by itself (no soft-lockup or hung-task detector); what an
engineer gets is a console that goes quiet, then `SysRq : Show State` / `Show Regs` / `Show
Memory` taken during the hang. Hang signatures ask "is there a task in D state with frame X",
so a task dump becomes one record with every task's comm, pid, state and frames; a register
dump becomes one record with the interrupted context's frames (and its header fields).

Only the SysRq lines are found with a vectorised scan of the `lines` table; Python then walks
forward from each one, and stops when the text stops looking like the dump (a few unrecognised
lines in a row), at the next SysRq line, or at a boot boundary.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from triage.crashes.fields import header_fields
from triage.crashes.fingerprint import fingerprint, key_functions
from triage.crashes.frames import guilty_frame, parse_line_frames, parse_stack
from triage.model import Crash, SysrqTask, stable_id
from triage.parsers import literals

RECORD = "sysrq"
TYPE = "SYSRQ"

#: a dump longer than this many lines is cut (a Show State of a 10k-thread box is ~300k lines;
#: the tasks that matter for a hang are blocked ones, which the kernel lists in task order).
MAX_DUMP_LINES = 400_000
#: report text kept per record; the lines themselves stay in the `lines` table.
MAX_REPORT_CHARS = 256 * 1024
_CHUNK = 4096

#: (blanks, not `\s`: the prefilter runs it over raw bytes, where `\s` would reach the next
#: line and make a hit of a `SysRq : ` line's successor)
_SYSRQ_ANCHOR = r"(?i)\bsysrq[ \t\r]*:[ \t\r]*\S"
_SYSRQ_LINE = re.compile(r"(?i)\bsysrq\s*:\s*(?P<cmd>[^:]+?)\s*(?::.*)?$")

_KIND_TASKS, _KIND_REGS, _KIND_MEMORY, _KIND_CPUS, _KIND_OTHER = (
    "tasks",
    "regs",
    "memory",
    "cpus",
    "other",
)
#: command text (lower case, start) → what follows it in the log.
_COMMANDS: tuple[tuple[str, str], ...] = (
    ("show state", _KIND_TASKS),
    ("show blocked state", _KIND_TASKS),
    ("show regs", _KIND_REGS),
    ("show memory", _KIND_MEMORY),
    ("show backtrace of all active cpus", _KIND_CPUS),
    ("show backtrace", _KIND_CPUS),
)

# --------------------------------------------------------------------------------------------
# Task lines
# --------------------------------------------------------------------------------------------
#: 2.6.x–4.x show_task(): `%-13.13s %c` comm and state, the saved PC (or "running"), then
#: free-stack, pid, parent pid and, depending on era, child/younger/older pids, `(L-TLB)` or a
#: flags word. The first number is always the free stack, so the pid is the second.
_OLD_TASK = re.compile(
    r"^\s*(?P<comm>\S.{0,31}?)\s+(?P<state>[RSDTtZXxWIKNPU?])\s+"
    r"(?:(?P<pc>[0-9a-fA-F]{8,16})|running(?: task)?|current(?: task)?)\s+"
    r"(?P<nums>\d+(?:\s+\d+)*)\s*(?:\((?:L-TLB|NOTLB)\)|0x[0-9a-fA-F]+)?\s*$"
)
#: 5.14+: task:kworker/0:1 state:D stack:0 pid:7 [tgid:7] ppid:2 flags:0x00004000
_NEW_TASK = re.compile(
    r"^\s*task:(?P<comm>.{1,64}?)\s+state:(?P<state>\S+)\s+stack:\s*\d+\s+pid:\s*(?P<pid>\d+)"
)
_TASK_HEADER = re.compile(r"^\s*(?:task\s+(?:PC|\s)|sibling\s*$|free\s+sibling)")
_HEX_WORDS = re.compile(r"^\s*(?:Stack:\s*)?(?:<?[0-9a-fA-F]{8,16}>?\s+)*<?[0-9a-fA-F]{8,16}>?\s*$")
_STACK_NOISE = re.compile(
    r"^\s*(?:Call Trace:|Backtrace:|Stack:|Code:|Instruction dump:|Exception stack|"
    r"=+\s*$|-+\s*$|<[A-Z/#][A-Z#]{1,8}>|\s*$|\(?(?:L-TLB|NOTLB)\)?\s*$|"
    r"(?:[A-Z][A-Z0-9_]{0,6}|[a-z][a-z0-9]{0,3})\s*:\s*[0-9a-fA-F(]|"
    r"(?:Pid|CPU|Comm|Process|Hardware name|Modules linked in|task|EFLAGS|Krnl|REGS|MSR|"
    r"NIP|LR|CTR|SOFTE|CFAR|TRAP|DAR|DSISR|Last Breaking)\b)"
)
_MEMORY_LINE = re.compile(
    r"(?i)(?:\bkB\b|\bpages?\b|mem-info|per-cpu|\bhot:|\bcold:|lowmem_reserve|\bfree\b|^\s*node\b|"
    r"\bswap\b|\bactive\b|\binactive\b|\bbounce\b|\bslab\b|\bmapped\b|^\s*cpu\s+\d+|"
    r"^\s*(?:DMA|Normal|HighMem|DMA32|Movable)\b|\bhugepages?\b|\bshmem\b)"
)


def _parse_task_line(text: str) -> tuple[str, int | None, str] | None:
    m = _NEW_TASK.match(text)
    if m:
        return m.group("comm").strip(), int(m.group("pid")), m.group("state")
    m = _OLD_TASK.match(text)
    if m:
        nums = m.group("nums").split()
        pid = int(nums[1]) if len(nums) >= 2 else None
        return m.group("comm").strip(), pid, m.group("state")
    return None


def parse_task_dump(texts: Sequence[str]) -> list[SysrqTask]:
    """The tasks of a Show State / Show Blocked State dump, each with its stack frames."""
    tasks: list[SysrqTask] = []
    current: SysrqTask | None = None
    body: list[str] = []

    def close() -> None:
        if current is not None:
            current.frames = parse_stack(body)
            tasks.append(current)

    for text in texts:
        if not isinstance(text, str):
            continue
        parsed = _parse_task_line(text)
        if parsed is not None:
            close()
            comm, pid, state = parsed
            current = SysrqTask(comm=comm, pid=pid, state=state)
            body = []
        elif current is not None:
            body.append(text)
    close()
    return tasks


# --------------------------------------------------------------------------------------------
# Walking a dump's extent
# --------------------------------------------------------------------------------------------
def _recognise_tasks(text: str) -> int:
    """2 for a task line, 1 for a line a task dump holds, 0 for anything else."""
    if _parse_task_line(text) is not None:
        return 2
    if _TASK_HEADER.match(text) or _HEX_WORDS.match(text) or _STACK_NOISE.match(text):
        return 1
    return 1 if parse_line_frames(text) else 0


def _recognise_regs(text: str) -> int:
    if parse_line_frames(text):
        return 2
    if _HEX_WORDS.match(text) or _STACK_NOISE.match(text):
        return 1
    return 0


def _recognise_memory(text: str) -> int:
    return 2 if _MEMORY_LINE.search(text) else 0


@dataclass
class _Walk:
    """Relative index of the last line that belongs to the dump (0 = the SysRq line)."""

    last: int = 0
    seen_core: bool = False
    texts: list[str] = field(default_factory=list)


def _walk(
    texts: Iterator[str],
    recognise: Callable[[str], int],
    tolerance: int,
    lead: int,
) -> _Walk:
    """Follow a dump until `tolerance` unrecognised lines in a row (`lead` before its core)."""
    w = _Walk()
    misses = 0
    for rel, text in enumerate(texts, start=1):
        if rel > MAX_DUMP_LINES:
            break
        w.texts.append(text)
        score = recognise(text) if isinstance(text, str) else 0
        if score:
            misses = 0
            if score == 2:
                w.seen_core = True
            w.last = rel
            continue
        misses += 1
        if misses > (tolerance if w.seen_core else lead):
            break
    del w.texts[w.last :]
    return w


# --------------------------------------------------------------------------------------------
# Table access
# --------------------------------------------------------------------------------------------
def _sysrq_rows(text: pa.ChunkedArray) -> np.ndarray | None:
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        return None  # not a lines table we understand: nothing to extract, nothing to break
    if _SYSRQ_ANCHOR not in literals.gate_for((_SYSRQ_ANCHOR,)).possible(text):
        return np.zeros(0, dtype=np.int64)  # no `sysrq` in any case: nothing can match
    return np.flatnonzero(literals.any_matches(text, [_SYSRQ_ANCHOR]))


def _iter_texts(text: pa.ChunkedArray, start: int, stop: int) -> Iterator[str]:
    pos = start
    while pos < stop:
        n = min(_CHUNK, stop - pos)
        for t in text.slice(pos, n).to_pylist():
            yield t if t is not None else ""
        pos += n


def _column(lines: pa.Table, name: str) -> pa.ChunkedArray | None:
    return lines.column(name) if name in lines.column_names else None


def _command(text: str) -> tuple[str, str]:
    """(title command as printed, kind) of a SysRq line."""
    m = _SYSRQ_LINE.search(text)
    cmd = m.group("cmd").strip() if m else text.strip()
    cmd = cmd[:80]
    low = cmd.lower()
    for prefix, kind in _COMMANDS:
        if low.startswith(prefix):
            return cmd, kind
    return cmd, _KIND_OTHER


def _report(first: str, body: list[str]) -> str:
    out = "\n".join([first, *body])
    if len(out) > MAX_REPORT_CHARS:
        out = out[:MAX_REPORT_CHARS] + "\n[… report truncated]"
    return out


def _task_fingerprint(title: str, tasks: list[SysrqTask]) -> str:
    """Same blocked stacks → same id, whatever the pids, order and running tasks."""
    blocked = sorted(
        {",".join(key_functions(t.frames, 3)) for t in tasks if t.state[:1] == "D" and t.frames}
    )
    return stable_id("sysrq-tasks", title, *blocked)


def extract_sysrq(lines: pa.Table, source_id: str) -> list[Crash]:
    """One record per SysRq command in the source's lines, with tasks or frames when dumped."""
    if lines is None or lines.num_rows == 0:
        return []
    text = _column(lines, "text")
    if text is None:
        return []
    rows = _sysrq_rows(text)
    if rows is None or rows.size == 0:
        return []
    n = lines.num_rows
    lineno = _column(lines, "lineno")
    boot = _column(lines, "boot_id")
    ts = _column(lines, "timestamp")
    mono = _column(lines, "mono")

    def at(col: pa.ChunkedArray | None, row: int) -> object:
        return None if col is None else col[row].as_py()

    crashes: list[Crash] = []
    for k, row in enumerate(rows.tolist()):
        row_text = at(text, row) or ""
        cmd, kind = _command(str(row_text))
        title = f"SysRq: {cmd}"
        limit = int(rows[k + 1]) if k + 1 < rows.size else n
        boot_id = at(boot, row) or ""
        if boot is not None and boot_id:
            # stop at a boot boundary: the dump cannot continue into another kernel's log
            span = boot.slice(row, limit - row)
            same = pc.fill_null(pc.equal(span, boot_id), False).to_numpy(zero_copy_only=False)
            diff = np.flatnonzero(~same)
            if diff.size:
                limit = row + int(diff[0])
        walk = _Walk()
        if kind == _KIND_TASKS:
            walk = _walk(_iter_texts(text, row + 1, limit), _recognise_tasks, 6, 12)
        elif kind in (_KIND_REGS, _KIND_CPUS):
            walk = _walk(_iter_texts(text, row + 1, limit), _recognise_regs, 3, 40)
        elif kind == _KIND_MEMORY:
            walk = _walk(_iter_texts(text, row + 1, limit), _recognise_memory, 2, 3)
        last_row = row + walk.last
        first_no = at(lineno, row)
        last_no = at(lineno, last_row)
        crash = Crash(
            crash_id=stable_id(source_id, RECORD, str(first_no if first_no is not None else row)),
            source_id=source_id,
            boot_id=str(boot_id),
            first_line=int(first_no) if first_no is not None else row + 1,
            last_line=int(last_no) if last_no is not None else last_row + 1,
            record=RECORD,
            type=TYPE,
            title=title,
            timestamp=at(ts, row),  # type: ignore[arg-type]
            mono=at(mono, row),  # type: ignore[arg-type]
            report=_report(str(row_text), walk.texts),
        )
        if kind == _KIND_TASKS:
            crash.tasks = parse_task_dump(walk.texts)
            crash.fingerprint = _task_fingerprint(title, crash.tasks)
        else:
            if kind in (_KIND_REGS, _KIND_CPUS):
                crash.frames = parse_stack(walk.texts)
                fields = header_fields(walk.texts)
                crash.release = fields["release"]
                crash.taint = fields["taint"]
                crash.cpu = fields["cpu"]
                crash.pid = fields["pid"]
                crash.comm = fields["comm"]
                guilty = guilty_frame(crash.frames)
                if guilty is not None:
                    crash.function = guilty.function
                    crash.module = guilty.module
            crash.fingerprint = fingerprint(TYPE, title, crash.frames)
        crashes.append(crash)
    return crashes


__all__ = ["MAX_DUMP_LINES", "extract_sysrq", "parse_task_dump"]
