"""Who crashed and on what: kernel release, taint, CPU, PID and command from a report's header.

Every kernel generation printed these in a different place — `Pid: 1, comm: swapper Not
tainted 2.6.18-92.el5xen #1` (2.6.x x86_64), `EFLAGS: 00010202   (2.6.9-78.ELxenU)` plus
`Process swapper (pid: 0, threadinfo=…)` (i386 RHEL 4/5), `CPU: 0 PID: 1 Comm: x Tainted: G
W 5.14.0 #1` (3.10+), `REGS: … TRAP: 0700 Not tainted (3.10.0-33.el7.ppc64)`, the lockdep
banner `3.5.0-rc5 #2 Not tainted`, the hung-task `      Tainted: P  O  4.18.0 #1` — so the
forms are a table and the first line that states a field wins (the header precedes anything a
later, nested report could say).

`taint` is the set letters in the kernel's order with padding removed (`G    B` → `GB`,
`G W --------------` → `GW`); an untainted kernel and an unknown one are both "".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_REL = r"(?P<release>\d+\.\d+[\w.+~-]*)"  # 2.6.18-92.el5xen, 3.10.0-33.el7.ppc64, 6.1.0-rc1+
_TAINT = r"(?P<taint>[A-Za-z \-]*)"
_STATE = r"(?:(?P<not>Not tainted)|Tainted:\s?" + _TAINT + r")"
_COMM = r"(?P<comm>\S(?:.{0,30}?\S)?)"

#: (pattern, what it gives). `search` is used, so a form may sit after a register dump prefix.
_FORMS: tuple[re.Pattern[str], ...] = (
    # 3.10+: CPU: 0 PID: 1 Comm: swapper/0 Tainted: G        W         5.14.0 #1
    #        CPU: 1 UID: 0 PID: 7 Comm: kworker/0:1 Not tainted 6.12.0 #1
    #        CPU: 7 PID: 22811 Comm: python3 Kdump: loaded Tainted: G  OE  (kdump armed)
    re.compile(
        r"\bCPU: (?P<cpu>\d+) (?:UID: \d+ )?PID: (?P<pid>\d+) Comm: "
        + _COMM
        + r"(?:\s+Kdump: loaded)?\s+"
        + _STATE
        + r"\s*\(?"
        + _REL
        + r"?"
    ),
    re.compile(
        r"\bCPU: (?P<cpu>\d+) (?:UID: \d+ )?PID: (?P<pid>\d+) Comm: "
        + _COMM
        + r"(?:\s+Kdump: loaded)?\s*$"
    ),
    # 2.6.x: Pid: 1, comm: swapper Not tainted 2.6.18-92.el5xen #1 / (2.6.27.9-159.fc10.i686 #1)
    re.compile(
        r"\bPid: (?P<pid>\d+), comm:\s*" + _COMM + r"\s+" + _STATE + r"\s*\(?" + _REL + r"?"
    ),
    # 2.6.9 i386 show_regs: Pid: 0, comm:              swapper
    re.compile(r"\bPid: (?P<pid>\d+), comm:\s*" + _COMM + r"\s*$"),
    # i386 / s390 / ARM: Process swapper (pid: 0, threadinfo=c03a0000 task=c0318b80)
    re.compile(r"^\s*Process (?P<comm>.{1,32}?) \(pid: (?P<pid>\d+)[,)]"),
    # EIP: 0061:[<c0115a3e>]    Tainted: P      VLI / EIP: 0060:[<…>] EFLAGS: 00210246 CPU: 1
    re.compile(
        r"^\s*E?IP:\s+[0-9a-fA-F]{4}:\[<[0-9a-fA-F]+>\]\s+(?:" + _STATE + r")?(?:VLI)?"
        r"(?:.*\bCPU:\s*(?P<cpu>\d+))?"
    ),
    # EFLAGS: 00010202   (2.6.9-78.ELxenU) / EFLAGS: 00010046   (2.6.18-92.el5xen #1)
    re.compile(r"^\s*EFLAGS: [0-9a-fA-F]+\s+(?:" + _STATE + r"\s*)?\(" + _REL),
    # ppc64: REGS: c0000000… TRAP: 0700 Not tainted (3.10.0-33.el7.ppc64)
    re.compile(r"^\s*REGS: [0-9a-fA-F]+ TRAP: [0-9a-fA-F]+\s+" + _STATE + r"\s*\(" + _REL),
    # s390 2.6: CPU:    0    Not tainted 2.6.32-71.el6.s390x #1
    re.compile(r"^\s*CPU:\s+(?P<cpu>\d+)\s+" + _STATE + r"\s*" + _REL),
    # i386 2.6 show_registers: "CPU:    0" on a line of its own, before EIP:
    re.compile(r"^\s*CPU:\s+(?P<cpu>\d+)\s*$"),
    # lockdep / RCU banner: 3.6.0-rc1-wl+ #296 Tainted: G        W
    re.compile(r"^\s*" + _REL + r" #\d+\s+" + _STATE + r"\s*$"),
    # hung task: "      Not tainted 4.18.0-80.el8.x86_64 #1" / "      Tainted: P   O 5.4 #1"
    re.compile(r"^\s+" + _STATE + r"\s+" + _REL + r"(?: #\d+|\s|$)"),
    # SLUB: BUG kmalloc-64 (Tainted: G    B   ): Poison overwritten; WARNING …() (Not tainted)
    re.compile(r"\((?:(?P<not>Not tainted)|Tainted:\s?" + _TAINT + r")\s*\)"),
    # 6.12+: a line of its own "Tainted: [W]=WARN, [O]=OOT_MODULE"
    re.compile(r"^\s*Tainted: (?P<bracketed>(?:\[[A-Z]\]=\w+(?:,\s*)?)+)\s*$"),
    # x86_64 2.6.x: a line "CPU 1 " before the register dump
    re.compile(r"^\s*CPU (?P<cpu>\d+)\s*$"),
    # soft lockup: BUG: soft lockup - CPU#0 stuck for 22s! [pulseaudio:1580]
    re.compile(r"\bCPU#(?P<cpu>\d+) stuck for \d+s! \[(?P<comm>.{1,64}?):(?P<pid>\d+)\]"),
    re.compile(r"\bsoft lockup detected on CPU#(?P<cpu>\d+)"),
    # hung task: INFO: task khungtaskd:27 blocked for more than 120 seconds.
    re.compile(r"\btask (?P<comm>.{1,64}?):(?P<pid>\d+) blocked for more than"),
    # in_atomic(): 1, irqs_disabled(): 0, pid: 1109, name: NetworkManager
    re.compile(r"\bpid: (?P<pid>\d+), name: (?P<comm>\S.{0,63}?)\s*$"),
    re.compile(r"^\s*NMI backtrace for cpu (?P<cpu>\d+)"),
    # Linux version 2.6.18-92.el5xen (brewbuilder@…) — a banner inside a console capture
    re.compile(r"^\s*Linux version " + _REL + r"\s"),
)
_TIMESTAMP = re.compile(r"^\s*(?:<\d{1,3}>)?\[\s*\d+\.\d+\]\s?(?:\[\s*[TC]\d+\]\s?)?")
_FIELDS = ("release", "taint", "cpu", "pid", "comm")
_BRACKETED_LETTER = re.compile(r"\[([A-Z])\]=")


_VLI = re.compile(r"\bVLI\s*$")  # i386 "variable length instructions" marker, not a taint


def _taint_letters(raw: str | None) -> str:
    return "".join(ch for ch in _VLI.sub("", raw or "") if ch.isalpha())


def header_fields(texts: Iterable[str]) -> dict[str, Any]:
    """release, taint, cpu, pid, comm of a report; missing ones are "" or None.

    Lines may still carry `[ 12.345678]` / `[  T1]` prefixes. The first statement of each field
    wins, except that a taint read from a compact form is not overwritten by a later one either:
    the header line of the report comes first in the kernel's own output.
    """
    out: dict[str, Any] = {"release": "", "taint": "", "cpu": None, "pid": None, "comm": ""}
    taint_known = False
    for text in texts:
        if not isinstance(text, str) or not text:
            continue
        line = _TIMESTAMP.sub("", text, count=1)
        if len(line) > 4096:
            line = line[:4096]
        for pat in _FORMS:
            m = pat.search(line)
            if not m:
                continue
            g = m.groupdict()
            if not out["release"] and g.get("release"):
                out["release"] = g["release"].rstrip(".,;:")
            if not taint_known:
                if g.get("not"):
                    taint_known = True
                elif g.get("bracketed"):
                    out["taint"] = "".join(_BRACKETED_LETTER.findall(g["bracketed"]))
                    taint_known = True
                elif "taint" in g and g["taint"] is not None and "Tainted:" in m.group(0):
                    out["taint"] = _taint_letters(g["taint"])
                    taint_known = True
            if out["cpu"] is None and g.get("cpu"):
                out["cpu"] = int(g["cpu"])
            if out["pid"] is None and g.get("pid"):
                out["pid"] = int(g["pid"])
            if not out["comm"] and g.get("comm"):
                out["comm"] = g["comm"].strip()
            break
        if (
            taint_known
            and out["release"]
            and out["cpu"] is not None
            and out["pid"] is not None
            and out["comm"]
        ):
            break
    return out


__all__ = ["header_fields"]
