"""Text pasted from the `crash` utility: the `sys` banner, `log`, `bt` and `foreach bt`.

Engineers paste crash sessions into tickets far more often than they attach a vmcore, so the
banner's facts (release, panic string, host, date) and the panic task's stack must count as much
as a log. Sections are recognised by `crash>` prompts when present and otherwise by their shape
(banner keys, `PID: … TASK: …` headers, `[ ts]` log lines), because pastes are often trimmed.

Lines table: every physical line is kept. `log` lines lose their `[ ts]` / `<N>` / caller prefix
(mono, level and tag filled) so the crash extractor reads the oops in them like any kernel log.
The banner's PANIC line carries the bare panic string as its text when the pasted log does not
already hold it, so that a paste without `log` still yields a crash record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

import pyarrow as pa

from triage.limits import DEFAULT_LIMITS, Limits
from triage.model import (
    FLAG_CONTROL_STRIPPED,
    FLAG_INVALID_UTF8,
    FLAG_TRUNCATED,
    KIND_CRASH_TOOL,
    LINES_SCHEMA,
    UTF8_BOM,
    Crash,
    Fact,
    Frame,
    SourceFile,
    stable_id,
)
from triage.parsers.cleanup import _ANSI, _CONTROL

if TYPE_CHECKING:
    from triage.parsers import ParseResult

BANNER = re.compile(
    r"^\s*(KERNEL|DUMPFILE|CPUS|DATE|UPTIME|LOAD AVERAGE|TASKS|NODENAME|RELEASE|VERSION|MACHINE"
    r"|MEMORY|PANIC|DEBUGINFO|SYSTEM MAP|PID|COMMAND|TASK|CPU|STATE):\s(.*)$"
)
#: banner key → fact key
BANNER_FACTS = {
    "KERNEL": "crash.kernel",
    "DUMPFILE": "crash.dumpfile",
    "CPUS": "crash.cpus",
    "DATE": "crash.date",
    "UPTIME": "crash.uptime",
    "LOAD AVERAGE": "crash.load_average",
    "TASKS": "crash.tasks",
    "NODENAME": "host.nodename",
    "RELEASE": "kernel.release",
    "VERSION": "kernel.version",
    "MACHINE": "crash.machine",
    "MEMORY": "host.memory",
    "PANIC": "crash.panic",
    "DEBUGINFO": "crash.debuginfo",
    "SYSTEM MAP": "crash.system_map",
    "PID": "crash.pid",
    "COMMAND": "crash.command",
    "TASK": "crash.task",
    "CPU": "crash.cpu",
    "STATE": "crash.state",
}
PROMPT = re.compile(r"^\s*crash(?:64|32)?>\s*(\S*)")
BT_HEADER = re.compile(
    r"^PID:\s+(\d+)\s+TASK:\s+([0-9a-f]+)\s+CPU:\s+(\S+)\s+COMMAND:\s+\"(.*)\"\s*$"
)
BT_FRAME = re.compile(
    r"^\s*(?:>\s*)?#(\d+)\s+\[([0-9a-f]+)\]\s+(\S+)\s+at\s+([0-9a-f]+)(?:\s+\[([^\]]+)\])?(.*)$"
)
EXCEPTION_RIP = re.compile(r"^\s*\[exception (?:RIP|EIP|PSW|PC|NIP): ([^\]+]+)(?:\+(\d+))?\]")
REGISTERS = re.compile(r"([A-Z][A-Z0-9_]{1,7}):\s+([0-9a-f]+)")
REGISTER_LINE = re.compile(r"^\s+(?:[A-Z][A-Z0-9_]{1,7}:\s+[0-9a-f]+\s*)+$")
LOG_TS = re.compile(r"^(?:<(\d)>)?\[\s*(\d+)\.(\d{1,9})\]\s?(?:\[\s*([TC]\d+)\]\s?)?(.*)$")
LOG_CTIME = re.compile(r"^(?:<(\d)>)?\[(\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4})\]\s?(.*)$")
LOG_LEVEL = re.compile(r"^<(\d)>(.*)$")
DATE_TZ = re.compile(
    r"^(\w{3} \w{3}\s+\d{1,2} \d\d:\d\d:\d\d)(?: [A-Z][A-Za-z0-9+-]{1,6})? (\d{4})$"
)
MACHINE_MHZ = re.compile(r"^(\S+)\s+\((\d+) Mhz\)")
PARTIAL = " [PARTIAL DUMP]"

#: frames of the crash machinery itself: the bug is below them
MACHINERY = frozenset(
    {
        "crash_kexec",
        "__crash_kexec",
        "machine_kexec",
        "crash_save_cpu",
        "panic",
        "vpanic",
        "die",
        "__die",
        "oops_end",
        "no_context",
        "__bad_area_nosemaphore",
        "bad_area_nosemaphore",
        "bad_area",
        "do_page_fault",
        "__do_page_fault",
        "do_user_addr_fault",
        "exc_page_fault",
        "page_fault",
        "asm_exc_page_fault",
        "error_exit",
        "do_invalid_op",
        "do_trap",
        "do_error_trap",
        "invalid_op",
        "do_general_protection",
        "general_protection",
        "exc_general_protection",
        "asm_exc_general_protection",
        "exc_invalid_op",
        "asm_exc_invalid_op",
        "handle_bug",
        "sysrq_handle_crash",
        "__handle_sysrq",
        "nmi_panic",
        "watchdog_overflow_callback",
        "kernel_bad_stack",
        "crash_nmi_callback",
        "nmi_handle",
        "default_do_nmi",
        "do_nmi",
        "end_repeat_nmi",
        "nmi",
    }
)

SECTION_LOG = "log"
SECTION_BT = "bt"


@dataclass
class BtTask:
    """One task of `bt` / `foreach bt`: header, frames, and the exception frame if any."""

    pid: int | None
    comm: str
    cpu: int | None
    task: str = ""
    state: str = ""
    frames: list[Frame] = field(default_factory=list)
    exception_rip: str = ""  # "sym+0xNN" as crash printed it (decimal offset converted)
    exception_index: int | None = None  # index in frames of the exception RIP frame
    registers: dict[str, str] = field(default_factory=dict)
    first_line: int = 0
    last_line: int = 0


def _decode(raw: bytes, limit: int) -> tuple[str, int]:
    flags = 0
    if len(raw) > limit:
        raw = raw[:limit]
        flags |= FLAG_TRUNCATED
    if _CONTROL.search(raw):  # ANSI escapes, NULs, other C0 controls: removed, as in every kind
        raw = _CONTROL.sub(b"", _ANSI.sub(b"", raw))
        flags |= FLAG_CONTROL_STRIPPED
    try:
        return raw.decode("utf-8"), flags
    except UnicodeDecodeError:
        text = raw.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")
        return text, flags | FLAG_INVALID_UTF8


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def parse_crash_tool(
    data: bytes, source_id: str, src_display: str, limits: Limits = DEFAULT_LIMITS
) -> tuple[pa.Table, list[Fact], list[BtTask]]:
    """Lines, banner facts and bt tasks of one pasted crash session."""
    cols: dict[str, list] = {n: [] for n in LINES_SCHEMA.names}
    banner: dict[str, tuple[str, int]] = {}
    tasks: list[BtTask] = []
    section = ""
    current: BtTask | None = None
    in_exception = False
    panic_line_row: int | None = None
    offset = 0
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    for lineno, raw in enumerate(raw_lines, start=1):
        line_off = offset
        offset += len(raw) + 1
        # a session saved from Notepad opens with a byte order mark: no part of the text
        text, flags = _decode(raw.rstrip(b"\r").removeprefix(UTF8_BOM), limits.max_line_bytes)
        mono = level = None
        tag = None
        timestamp = None
        msg = text
        m = PROMPT.match(text)
        if m:
            word = m.group(1)
            section = (
                SECTION_LOG if word == "log" else SECTION_BT if word in ("bt", "foreach") else word
            )
            current, in_exception = None, False
        elif (hm := BT_HEADER.match(text)) is not None:
            current = BtTask(
                pid=_int(hm.group(1)),
                task=hm.group(2),
                cpu=_int(hm.group(3)),
                comm=hm.group(4),
                first_line=lineno,
                last_line=lineno,
            )
            tasks.append(current)
            in_exception = False
            if section != SECTION_BT:
                section = SECTION_BT
        elif current is not None and (fm := BT_FRAME.match(text)) is not None:
            current.frames.append(
                Frame(function=fm.group(3), module=fm.group(5) or "", address=fm.group(4))
            )
            current.last_line = lineno
            in_exception = False
        elif current is not None and (em := EXCEPTION_RIP.match(text)) is not None:
            off = int(em.group(2)) if em.group(2) else None
            current.exception_rip = em.group(1) + (f"+{off:#x}" if off is not None else "")
            current.exception_index = len(current.frames)
            current.frames.append(Frame(function=em.group(1), offset=off))
            current.last_line = lineno
            in_exception = True
        elif current is not None and REGISTER_LINE.match(text):
            if in_exception:
                current.registers.update(REGISTERS.findall(text))
                if "RIP" in current.registers and current.exception_index is not None:
                    current.frames[current.exception_index].address = current.registers["RIP"]
            current.last_line = lineno
        elif not text.strip():
            if section == SECTION_BT:
                current, in_exception = None, False
        elif (
            section != SECTION_BT
            and (bm := BANNER.match(text)) is not None
            and section in ("", "sys")
        ):
            key, value = bm.group(1), bm.group(2).strip()
            if key not in banner:
                banner[key] = (value, lineno)
            if key == "PANIC":
                panic_line_row = len(cols["text"])
        else:
            lm = LOG_TS.match(text)
            if lm is not None:
                level = _int(lm.group(1)) if lm.group(1) else None
                frac = lm.group(3)
                mono = int(lm.group(2)) + int(frac) / 10 ** len(frac)
                tag = lm.group(4)
                msg = lm.group(5)
            elif (cm := LOG_CTIME.match(text)) is not None:
                level = _int(cm.group(1)) if cm.group(1) else None
                timestamp = _ctime(cm.group(2))
                msg = cm.group(3)
            elif (vm := LOG_LEVEL.match(text)) is not None:
                level, msg = int(vm.group(1)), vm.group(2)
        cols["source_id"].append(source_id)
        cols["lineno"].append(lineno)
        cols["offset"].append(line_off)
        cols["timestamp"].append(timestamp)
        cols["mono"].append(mono)
        cols["host"].append(None)
        cols["tag"].append(tag)
        cols["pid"].append(None)
        cols["level"].append(level)
        cols["boot_id"].append(None)
        cols["flags"].append(flags)
        cols["text"].append(msg)
    panic = _unquote(banner["PANIC"][0]) if "PANIC" in banner else ""
    if panic and panic_line_row is not None:
        needle = panic.strip()
        logged = next(
            (i for i, t in enumerate(cols["text"]) if i != panic_line_row and needle in t), None
        )
        if logged is None:
            cols["text"][panic_line_row] = panic
        else:  # one crash, not two: the log's report is the one with frames
            cols["text"][panic_line_row] = f"PANIC: (panic string logged at line {logged + 1})"
    _mark_panic_task(tasks, banner)
    table = pa.table(cols, schema=LINES_SCHEMA)
    return table, _facts(banner, src_display), tasks


def _unquote(value: str) -> str:
    v = value.strip()
    if v.endswith("(check log for details)"):
        v = v[: -len("(check log for details)")].strip()
    if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
        v = v[1:-1]
    return v.strip()


def _ctime(text: str) -> datetime | None:
    try:
        return datetime.strptime(" ".join(text.split()), "%a %b %d %H:%M:%S %Y")
    except ValueError:
        return None


def _date(value: str) -> datetime | None:
    m = DATE_TZ.match(" ".join(value.split()))
    if not m:
        return None
    return _ctime(f"{m.group(1)} {m.group(2)}")


def _mark_panic_task(tasks: list[BtTask], banner: dict[str, tuple[str, int]]) -> None:
    pid = _int(banner["PID"][0]) if "PID" in banner else None
    state = banner.get("STATE", ("", 0))[0]
    for t in tasks:
        if pid is not None and t.pid == pid and state:
            t.state = state


def _facts(banner: dict[str, tuple[str, int]], src_display: str) -> list[Fact]:
    host = banner.get("NODENAME", ("", 0))[0]
    out: list[Fact] = []

    def add(key: str, value: str, lineno: int, time: datetime | None = None) -> None:
        if value:
            out.append(
                Fact(
                    bundle="",
                    subject_type="host",
                    subject_id=host,
                    subject_name=host,
                    key=key,
                    value=value,
                    time=time,
                    source_path=src_display,
                    lineno=lineno,
                )
            )

    for key, (value, lineno) in banner.items():
        fact_key = BANNER_FACTS[key]
        if key == "DUMPFILE" and value.endswith(PARTIAL):
            value = value[: -len(PARTIAL)].strip()
            add("crash.partial_dump", "true", lineno)
        if key in ("PANIC", "COMMAND"):
            value = _unquote(value)
        if key == "MACHINE" and (mm := MACHINE_MHZ.match(value)) is not None:
            add("crash.cpu_mhz", mm.group(2), lineno)
            value = mm.group(1)
        if key == "TASK":
            value = value.split()[0] if value else value
        add(fact_key, value, lineno, _date(value) if key == "DATE" else None)
    return out


def panic_task(tasks: list[BtTask], facts: list[Fact]) -> BtTask | None:
    """The task the banner names (PID/TASK), else the first with an exception or crash frame."""
    f = {x.key: x.value for x in facts}
    for t in tasks:
        if f.get("crash.task") and t.task == f["crash.task"]:
            return t
    for t in tasks:
        if f.get("crash.pid") and str(t.pid) == f["crash.pid"]:
            return t
    for t in tasks:
        if t.exception_rip or any(
            fr.function in ("crash_kexec", "__crash_kexec") for fr in t.frames
        ):
            return t
    return None


def culprit_frames(task: BtTask) -> list[Frame]:
    """Frames from the faulting function down, without the crash machinery above it."""
    if task.exception_index is not None:
        return task.frames[task.exception_index :]
    frames = task.frames
    last = -1
    for i, fr in enumerate(frames):
        if fr.function in MACHINERY:
            last = i
    return frames[last + 1 :] if last + 1 < len(frames) else frames


def bt_frames_as_crash(
    panic: str,
    task: BtTask | None,
    source_id: str = "",
    release: str = "",
    first_line: int = 0,
    last_line: int = 0,
) -> Crash:
    """A crash record from the banner's PANIC string and the panic task's bt, untitled.

    Frames are the culprit frames of the bt. The title, type and fingerprint are the crashes
    stage's to add (`crashes.title_stated`), as for a report read from a log, so that the two
    name one bug alike.
    """
    frames = culprit_frames(task) if task is not None else []
    function = next((f.function for f in frames if f.function not in MACHINERY), "")
    return Crash(
        crash_id=stable_id(source_id, "crash-tool", str(first_line), panic),
        source_id=source_id,
        boot_id="",
        first_line=first_line,
        last_line=last_line or first_line,
        record="crash",
        type="",
        title="",
        panicked=True,
        release=release,
        cpu=task.cpu if task else None,
        pid=task.pid if task else None,
        comm=task.comm if task else "",
        function=function,
        module=next((f.module for f in frames if f.function == function), ""),
        frames=frames,
        corrupted=not frames,
        corrupted_reason="" if frames else "no bt of the panic task in the paste",
        report=panic,
    )


def parse_source(src: SourceFile, data: bytes, limits: Limits = DEFAULT_LIMITS) -> ParseResult:
    """The parsers registry entry: `func(src, data, limits) -> ParseResult`."""
    from triage.parsers import ParseResult

    lines, facts, tasks = parse_crash_tool(data, src.source_id, src.display, limits)
    facts = [replace(f, bundle=src.bundle) for f in facts]
    crashes = []
    panic = next((f.value for f in facts if f.key == "crash.panic"), "")
    task = panic_task(tasks, facts)
    if panic and task is not None and task.frames:
        release = next((f.value for f in facts if f.key == "kernel.release"), "")
        crashes.append(bt_frames_as_crash(panic, task, src.source_id, release))
    return ParseResult(lines=lines, facts=facts, crashes=crashes)


def _register() -> None:
    from triage import parsers

    register = getattr(parsers, "register", None)
    if register is not None:
        register(KIND_CRASH_TOOL, parse_source)


_register()
