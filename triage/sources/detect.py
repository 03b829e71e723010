"""Which format a file is, from its first few KiB: a table of line shapes and scores per kind.

Each line of the head is classified by the first matching *line shape* (the formats share
prefixes, so the order of `LINE_SHAPES` matters: the most specific shape first); file-wide
*markers* (CR LF, ANSI escapes, NULs) are counted on the raw head. A kind's score is the weighted
share of its shapes among the non-empty lines plus bonuses for decisive markers (`KIND_RULES`).
The best score wins if it reaches `MIN_SCORE`; the file's role (from its path in a known bundle
layout) may then break a near-tie: a `vmcore-dmesg.txt` looks exactly like timestamped dmesg, and
a guest console log often does too. Content always decides whether a file is a log at all.

The analysis is split from the decision so the walker can keep a few numbers per member while
streaming an archive, and decide once the bundle layout (and so the role) is known.
"""

from __future__ import annotations

import datetime as _dt
import functools
import operator
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from re import _constants as _c
from re import _parser
from typing import Any

from triage.model import (
    KIND_CONFIG,
    KIND_CONSOLE,
    KIND_CRASH_TOOL,
    KIND_DMESG,
    KIND_DUMP,
    KIND_JOURNAL,
    KIND_SYSLOG,
    KIND_SYSLOG_RFC3339,
    KIND_UNKNOWN,
    KIND_VMCORE_DMESG,
    KIND_XENSOURCE,
    UTF8_BOM,
)
from triage.sources import line_local
from triage.sources.magic import dump_format

#: bytes of a file looked at for detection, and lines analysed within them
HEAD_BYTES = 16 * 1024
MAX_LINES = 120

_MON = rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TAG = rb"[^\s:\[\]]+(?:\[\d+\])?:"

#: (shape, regex matched at the start of a line). First match wins.
LINE_SHAPES: tuple[tuple[str, bytes], ...] = (
    # xapi ≤6.0 wrote its own file: [20100914T14:02:05.405Z|debug|host|38240 inet-RPC|task|xapi]
    ("xs_old", rb"\[\d{8}[T ]\d\d:\d\d:\d\d\.\d{3}Z?\|\s*[a-z]+\|"),
    # xapi 6.1+ through syslog: ... xapi: [ info|host|590924 INET :::80|task|taskhelper] ...
    (
        "syslog_xapi",
        rb"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ [\w.-]+(?:\[\d+\])?: "
        rb"\[\s*[a-z]+\|[^|\]]*\|\d+ ?[^|\]]*\|[^|\]]*\|[^\]]*\]",
    ),
    (
        "journal_sep",
        rb"-- (?:Logs begin at |Journal begins at |Boot [0-9a-f]{32} --|No entries --|Reboot --)",
    ),
    ("xencons", rb"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?\] "),
    # journalctl -o short-monotonic, and short-delta (the time since the entry before, in
    # angle brackets, as `dmesg -d` prints it)
    (
        "journal_mono",
        rb"\[\s*\d+\.\d{6}(?: <\s*\d+\.\d{6}>)?\] [\w.-]+ (?:kernel|[\w.@-]+\[\d+\]): ",
    ),
    (
        "rfc5424",
        rb"<\d{1,3}>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) \S+ \S+ \S+ \S+ [-\[]",
    ),
    # `dmesg`, `dmesg -d` (the delta since the message before, in angle brackets), `-r`;
    # util-linux 2.39+ prints the caller id (`[  T123] `) after the time
    (
        "dmesg_ts",
        rb"(?:<\d{1,3}>)?\[\s*\d+\.\d+(?: <\s*\d+\.\d+>)?\](?: ?\[\s*[TC]\d+\])?(?: |$)",
    ),
    (
        "dmesg_T",
        rb"\[[A-Z][a-z]{2} " + _MON + rb" [ \d]\d \d\d:\d\d:\d\d \d{4}(?: <\s*\d+\.\d+>)?\][ \[]",
    ),
    # `-e` (`-H`): the minute when it changes, else the time since the message before
    ("dmesg_rel", rb"\[(?:" + _MON + rb"[ \d]\d \d\d:\d\d|\s*\+\d+\.\d{6})\] "),
    # `--time-format iso`: older util-linux prints the zone as `+0100`, newer as `+01:00`
    ("dmesg_iso", rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d,\d{6}[+-]\d\d:?\d\d "),
    # /dev/kmsg records (`cat /dev/kmsg`, extended netconsole): `PRI,SEQ,MICROSECONDS,FLAG;`
    ("dmesg_kmsg", rb"\d{1,3},\d{1,20},\d{1,20},[-c+][^;]*;"),
    (
        "dmesg_x",
        rb"(?:kern|user|mail|daemon|auth|syslog|lpr|news|local\d)\s*:"
        rb"\s*(?:emerg|alert|crit|err|warn|notice|info|debug)\s*: ",
    ),
    ("dmesg_pri", rb"<[0-7]>"),
    ("rfc3339", rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d) \S+ " + _TAG),
    ("journal_short0", _MON + rb" 0\d \d\d:\d\d:\d\d(?:\.\d{6})? \S+ " + _TAG),
    ("syslog", _MON + rb" [ \d]\d \d\d:\d\d:\d\d \S+ (?:" + _TAG + rb"|last message repeated)"),
    # journalctl -o short-precise, short-full (weekday, date, time, zone), short-unix
    ("journal_precise", _MON + rb" [ \d]\d \d\d:\d\d:\d\d\.\d{6} \S+ " + _TAG),
    (
        "journal_full",
        rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [\w+-]+ \S+ " + _TAG,
    ),
    ("journal_unix", rb"\d{9,11}\.\d{6} \S+ " + _TAG),
    ("crash_bt", rb"PID:\s+\d+\s+TASK:\s+[0-9a-f]+\s+CPU:\s+\S+\s+COMMAND:"),
    ("crash_prompt", rb"crash(?:64)?> "),
    (
        "crash_banner",
        rb"\s{0,12}(?:KERNEL|DUMPFILE|CPUS|UPTIME|LOAD AVERAGE|TASKS|NODENAME|RELEASE"
        rb"|MACHINE|MEMORY|PANIC|DEBUGINFO|SYSTEM MAP): ",
    ),
    ("crash_frame", rb"\s*#\d+ \[[0-9a-f]+\] \S+ at [0-9a-f]+"),
    ("xen_line", rb"\(XEN\) "),
    (
        "noise",
        rb"(?:SeaBIOS|iPXE|Booting from |GNU GRUB|\s*Booting `|Loading Linux |Loading initial ramdisk"
        rb"|Press any key|Probing EDD|Decompressing Linux|Uncompressing Linux|Welcome to "
        rb"|\S+ login:|Password:|Logfile Opened|Started domain|Using config file|Starting .*\.\.\."
        rb"|\s*\[\s*OK\s*\]|\s*\[FAILED\]|Kernel \S+ on an |INIT: |Red Hat Enterprise Linux .*release"
        rb"|CentOS .*release|pygrub|Warning: Permanently added|\d{4}/\d\d/\d\d \d\d:\d\d:\d\d "
        rb"|executing program|Entering emergency mode|Give root password|Mounting |Remounting "
        rb"|Setting hostname|Bringing up interface|Checking filesystems|Enabling swap"
        rb"|Unmounting |Sending all processes|Please stand by|Restarting system|Rebooting"
        rb"|grubdom>|grub>|Press .ESC|\s*Booting '|root \(hd\d|\s*Filesystem type is|kernel /boot/"
        rb"|initrd /boot/|Loading, please wait|Begin: |[Dd]one\.$|:: |Waiting \d+ seconds"
        rb"|Setting clock|Starting \S+: |\s*Welcome to|\s*Press '|Checking (?:all )?file ?systems"
        rb"|\[/sbin/fsck|Root device|Gave up waiting|ALERT!|BusyBox|\(initramfs\)|dracut"
        rb"|systemd\[1\]: |Reached target|\s*\[ Minimal BASH-like|\x1b\["
        # RHEL 5 nash initrd and Debian/Ubuntu init scripts on a PV guest console
        rb"|Loading \S+\.ko module|Creating root device|Mounting root filesystem|Switching to new root"
        rb"|Setting up (?:new root fs|other filesystems)|unmounting old /|mountall:|fsck (?:from|died)"
        rb"|Activating (?:lvm|swap)|Cleaning up \S+|\S.*\.\.\.(?:done|fail(?:ed)?)\.?$)",
    ),
    (
        "kernel_plain",
        rb"(?:Linux version \d|Command line: |Kernel command line: |\s*BIOS-(?:provided|e820)"
        rb"|Memory: \d|CPU\d*: |ACPI: |PCI: |pci \d|Call Trace:|\s*<(?:IRQ|EOI|NMI|TASK)>"
        rb"|\s*RIP: |\s*R[A-Z0-9]{2}: [0-9a-f]{8,}|\s*[ECDFGS]S: +[0-9a-f]|\s*CR[0-4]: "
        rb"|Code: |Modules linked in:|Kernel panic - |BUG: |WARNING: |INFO: |Oops: |Oops\["
        rb"|general protection fault|Unable to handle kernel|\s*\[<[0-9a-f]+>\]|\s+\? \S+\+0x"
        rb"|\s*[A-Za-z_][\w.]*\+0x[0-9a-f]+/0x[0-9a-f]+|Pid: \d|CPU: \d+ PID: |Hardware name: "
        rb"|Stack:|Comm: |-+\[ cut here \]-+|---\[ end |Initializing cgroup|Xen version"
        rb"|NET: Registered|EXT[234]-fs|XFS \(|sd \d|ata\d+[.:]|usb \d|eth\d: |e1000"
        rb"|Freeing unused|Write protecting|Mount-cache|Dentry cache|Inode-cache|Calibrating delay"
        rb"|console \[|Console: |Brought up \d|Booting paravirtualized|Built \d+ zonelists"
        rb"|Hypervisor detected|clocksource|Switched to clocksource|RPC: |Out of memory"
        rb"|Killed process|INFO: task|\s*\[\s*\d+\]\s+\d+\s+\d+\s+\d+|Mem-Info:"
        rb"|Free swap|blocked for more than|EFLAGS: |EIP: |\s*(?:e|r)ip: |Instruction dump"
        rb"|Internal error: |PC is at |LR is at |pc : |lr : |sp : |\s*x\d+ ?: [0-9a-f]|Workqueue: "
        rb"|Backtrace: |\s*r\d+:[0-9a-f]{8}|Kernel BUG at|kernel BUG at|NMI watchdog"
        rb"|SysRq : |Rebooting in \d|Kernel Offset:|end Kernel panic|Tainted: |Process \S+ \(pid"
        rb"|XENBUS|xen_|blkfront|netfront|VFS: |EXT3-fs|kjournald|Freeing initrd"
        rb"|=+$|\*\* \d+ printk messages dropped|\s*Xen: [0-9a-f]{8}|\d+MB (?:HIGH|LOW)MEM"
        rb"|request_module|\s*(?:Read|Write) of size \d|BUG: KASAN|\s*[0-9a-f]{16}(?: [0-9a-f]{16})+\s*$"
        # lockdep's held locks, powerpc's stack frames, the x86 unwinder's stack dump
        rb"|\d+ locks? held by \S|Showing all locks held|\s*#\d+: +(?:[0-9a-f]+ )?\(\S"
        rb"|\[[0-9a-f]{8,16}\] \[[0-9a-f]{8,16}\] \S|unwind stack type:"
        rb"|\s*(?:\(ptrval\)|[0-9a-f]{16}): [0-9a-f]{16} \()",
    ),
    # a driver's or subsystem's own prefix (pr_fmt, dev_printk): `binder: 3798:3799 ioctl …`,
    # `sd 0:0:0:0: [sda] …`, `e1000 0000:00:03.0 eth0: …`; plain text has such lines too, so
    # they count only in a log with kernel evidence (KindRule.supporting)
    ("kernel_subsys", rb"[A-Za-z][\w-]{0,23}(?: [\w.:/-]{1,40})?: \S"),
    ("kv_shell", rb"[A-Z][A-Z0-9_]+='[^']*'\s*$"),
    ("kv_colon", rb"[a-z][a-z0-9_]*\s+: \S"),
    ("xml", rb"\s*<(?:\?xml|database|system-status-inventory|!DOCTYPE)"),
)


@dataclass(frozen=True)
class KindRule:
    """How a kind scores: weight per line shape (times its share of lines), plus bonuses
    `(shape or marker, minimum count, bonus)` for decisive evidence that may be rare."""

    kind: str
    weights: dict[str, float]
    bonuses: tuple[tuple[str, int, float], ...] = ()
    #: shapes that must make up at least `needs_share` of the lines (and 2 lines) for the kind
    #: to score at all: a console log is "anything" only around real console evidence
    needs: tuple[str, ...] = ()
    needs_share: float = 0.0
    #: weights of shapes that count only where lines only a kernel writes make up at least
    #: `SUPPORT_SHARE` of the lines (and 2): common in kernel logs, not proof of one
    supporting: tuple[tuple[str, float], ...] = ()


#: the line shapes only a kernel writes
KERNEL_EVIDENCE = (
    "dmesg_ts",
    "dmesg_T",
    "dmesg_rel",
    "dmesg_iso",
    "dmesg_kmsg",
    "dmesg_x",
    "dmesg_pri",
    "kernel_plain",
    "xen_line",
)
SUPPORT_SHARE = 0.1


KIND_RULES: tuple[KindRule, ...] = (
    KindRule(KIND_XENSOURCE, {"xs_old": 3.0, "syslog_xapi": 3.0}, (("xs_old", 1, 0.5),)),
    KindRule(
        KIND_CRASH_TOOL,
        {"crash_bt": 2.0, "crash_prompt": 2.0, "crash_banner": 2.0, "crash_frame": 1.5},
        (("crash_bt", 1, 1.5), ("crash_prompt", 1, 1.5), ("crash_banner", 3, 1.5)),
    ),
    KindRule(
        KIND_JOURNAL,
        {
            "journal_mono": 1.0,
            "journal_short0": 1.0,
            "journal_precise": 1.0,
            "journal_full": 1.0,
            "journal_unix": 1.0,
            "syslog": 0.9,
            "journal_sep": 1.0,
        },
        (("journal_sep", 1, 1.0),),
    ),
    KindRule(
        KIND_SYSLOG,
        {"syslog": 1.0, "syslog_xapi": 0.5, "journal_short0": 0.9, "journal_precise": 0.9},
    ),
    KindRule(KIND_SYSLOG_RFC3339, {"rfc3339": 1.0, "rfc5424": 1.0}),
    KindRule(
        KIND_DMESG,
        {
            "dmesg_ts": 1.0,
            "dmesg_T": 1.0,
            "dmesg_rel": 1.0,
            "dmesg_iso": 1.0,
            "dmesg_kmsg": 1.0,
            "dmesg_x": 1.0,
            "dmesg_pri": 1.0,
            "kernel_plain": 0.8,
            "xen_line": 0.8,
            "crash_frame": 0.3,
        },
        supporting=(("kernel_subsys", 0.4),),
    ),
    KindRule(
        KIND_VMCORE_DMESG,
        {"dmesg_ts": 0.95, "dmesg_pri": 0.95, "kernel_plain": 0.75},
        # dmesg's in the proportion of kernel_plain's: the file's role still decides between them
        supporting=(("kernel_subsys", 0.375),),
    ),
    KindRule(
        KIND_CONSOLE,
        {
            "xencons": 1.0,
            "noise": 1.2,
            "dmesg_ts": 0.8,
            "kernel_plain": 0.7,
            "xen_line": 0.6,
            "kernel_subsys": 0.1,  # as `other`, which such a line was
            "other_mixed": 1.0,
            "other": 0.1,
        },
        (("crlf", 3, 0.5), ("ansi", 1, 0.5), ("xencons", 1, 0.5), ("noise", 2, 0.3)),
        needs=("xencons", "noise", "dmesg_ts", "kernel_plain", "xen_line"),
        needs_share=0.15,
        supporting=(("kernel_subsys", 0.4),),  # as dmesg's: console against dmesg as before
    ),
    KindRule(
        KIND_CONFIG,
        {"kv_colon": 0.8, "kv_shell": 0.8, "xml": 0.5},
        (("xml", 1, 1.0),),
    ),
)

#: a log kind must reach this score to be called one; below it the file is `unknown`
MIN_SCORE = 0.3
#: the role's kind wins when it scores at least this share of the best kind
ROLE_TIE = 0.7

#: role → kind its content is expected to be (ties only; content still has to agree)
ROLE_KIND: dict[str, str] = {
    "vmcore-dmesg": KIND_VMCORE_DMESG,
    "kexec-dmesg": KIND_DMESG,
    "guest-console": KIND_CONSOLE,
    "console": KIND_CONSOLE,
    "netdump-log": KIND_CONSOLE,
    "hypervisor-log": KIND_CONSOLE,
    "journal": KIND_JOURNAL,
    "dmesg": KIND_DMESG,
    "xen-dmesg": KIND_DMESG,
    "messages": KIND_SYSLOG,
    "kern-log": KIND_SYSLOG,
    "daemon-log": KIND_SYSLOG,
    "xensource": KIND_XENSOURCE,
    "crash-tool": KIND_CRASH_TOOL,
}

#: roles that are read for facts, not lines: config unless the content is plainly a log
CONFIG_ROLES = frozenset(
    {
        "xapi-db",
        "xl-info",
        "physinfo",
        "xen-info",
        "inventory",
        "bugtool-inventory",
        "installed-rpms",
        "uname",
        "hostname",
        "date",
        "uptime",
        "cmdline",
        "lsmod",
        "list-domains",
        "xenstore",
        "sos-manifest",
        "release",
    }
)
#: the content score above which a file in a config role is still treated as a log
CONFIG_OVERRIDE = 0.6


def _shape_regex(shapes: tuple[tuple[str, bytes], ...]) -> re.Pattern[bytes]:
    if not shapes:
        return re.compile(b"(?!)")  # no shape can match
    return re.compile(b"|".join(b"(?P<" + name.encode() + b">" + rx + b")" for name, rx in shapes))


_ALL_BYTES = frozenset(range(256))


def _first_bytes(items: list[Any]) -> tuple[frozenset[int], bool]:
    """The bytes a match of the parsed pattern `items` can start with, and whether it can
    match the empty string; read conservatively (anything unknown can start with any byte)."""
    first: set[int] = set()
    for op, arg in items:
        if op is _c.LITERAL:
            return frozenset(first | {arg}), False
        if op is _c.IN:
            return frozenset(first | _class_bytes(arg)), False
        if op is _c.AT:
            continue  # zero-width
        if op is _c.SUBPATTERN and not arg[1] and not arg[2]:  # no flags changed inside
            got, empty = _first_bytes(list(arg[3]))
        elif op is _c.BRANCH:
            alts = [_first_bytes(list(a)) for a in arg[1]]
            got = frozenset().union(*(a for a, _ in alts))
            empty = any(e for _, e in alts)
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            got, empty = _first_bytes(list(arg[2]))
            empty = empty or arg[0] == 0
        else:
            return _ALL_BYTES, True
        first |= got
        if not empty:
            return frozenset(first), False
    return frozenset(first), True


_CATEGORY_BYTES = {
    _c.CATEGORY_DIGIT: frozenset(b"0123456789"),
    _c.CATEGORY_SPACE: frozenset(b" \t\n\r\x0b\x0c"),
    _c.CATEGORY_WORD: frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"),
}


def _class_bytes(items: list[Any]) -> frozenset[int]:
    """The bytes a character class (of a bytes pattern: ASCII categories) can match."""
    out: set[int] = set()
    negate = False
    for op, arg in items:
        if op is _c.NEGATE:
            negate = True
        elif op is _c.LITERAL:
            out.add(arg)
        elif op is _c.RANGE:
            out.update(range(arg[0], arg[1] + 1))
        elif op is _c.CATEGORY and arg in _CATEGORY_BYTES:
            out |= _CATEGORY_BYTES[arg]
        else:
            return _ALL_BYTES
    return _ALL_BYTES - out if negate else frozenset(out)


@functools.cache
def _shape_starts() -> tuple[frozenset[int], ...]:
    """Per shape, the bytes a line it matches can start with (every byte when it can match
    the empty string)."""
    out = []
    for _, rx in LINE_SHAPES:
        parsed = _parser.parse(rx)
        got, empty = _first_bytes(list(parsed))
        caseless = parsed.state.flags & re.IGNORECASE
        out.append(_ALL_BYTES if empty or caseless else got)
    return tuple(out)


#: shapes every match of which holds this byte (a literal of the pattern's top-level sequence,
#: which `tests/test_sources_shapes.py` checks): a head without it skips the shape. syslog_xapi
#: is the one worth it: every line of a plain syslog matched most of it before failing.
HEAD_NEEDS: dict[str, bytes] = {"syslog_xapi": b"|"}


#: where the free-text shapes start in `LINE_SHAPES`: the shapes before are log formats' prefixes
_TEXT_FROM = next(i for i, (name, _) in enumerate(LINE_SHAPES) if name == "noise")


class _PrefixThenText:
    """The shapes a line starting with one byte can have: the log formats' prefixes that can
    start with it, then the free-text shapes (`noise` onwards). Matching one alternation and
    then the other finds the shape their joined alternation would: the prefixes come first in
    `LINE_SHAPES`, and a shape that cannot start with the byte cannot match the line anyway."""

    __slots__ = ("prefixes", "text")

    def __init__(self, prefixes: re.Pattern[bytes], text: re.Pattern[bytes]) -> None:
        self.prefixes = prefixes
        self.text = text

    def match(self, line: bytes) -> re.Match[bytes] | None:
        return self.prefixes.match(line) or self.text.match(line)


class _ShapeTable(dict[int, "re.Pattern[bytes] | _PrefixThenText"]):
    """First byte of a line → the alternation of only the prefix shapes that can match a line
    starting with it (and that the head can hold), in their order, then the free-text shapes:
    the first shape that matches is the same one, and a syslog line no longer tries the dozen
    shapes that start with `[`, `<` or a digit. Each entry is compiled on first use; the
    free-text shapes, two long patterns that took most of the 7-9 ms each byte's alternation
    of all took to compile, once per table."""

    def __init__(self, absent: frozenset[str]) -> None:
        super().__init__()
        self.absent = absent
        self._text = _compiled_shapes(
            tuple(i for i in range(_TEXT_FROM, len(LINE_SHAPES)) if self._wanted(i))
        )

    def _wanted(self, i: int) -> bool:
        return LINE_SHAPES[i][0] not in self.absent

    def __missing__(self, first: int) -> re.Pattern[bytes] | _PrefixThenText:
        starts = _shape_starts()
        keep = tuple(i for i in range(_TEXT_FROM) if first in starts[i] and self._wanted(i))
        rx = self[first] = (
            _PrefixThenText(_compiled_shapes(keep), self._text) if keep else self._text
        )
        return rx

    def uniform(self, lines: list[bytes]) -> str | None:
        """The shape of every one of `lines`, when they all have the same one and one match
        over them joined can tell (see `line_local`); else None, and each line is matched on
        its own."""
        first = self[lines[0][0]].match(lines[0])
        if first is None or first.lastgroup not in _UNIFORM_SHAPES:
            return None
        shape = first.lastgroup
        check = _uniform_check(self.absent, shape, frozenset(map(_first_byte, lines)))
        if check is None or check.fullmatch(b"\n".join(lines) + b"\n") is None:
            return None
        return shape


#: the fewest lines for which `_ShapeTable.uniform` is tried first
UNIFORM_MIN_LINES = 8
#: the shapes a whole head may have in common: the log formats' prefixes, which come first.
#: The free-text shapes after them are left to line-by-line matching: a head is seldom all of
#: one of them, bare kernel lines are looked at again (`_generic_markers`), and checking them
#: over joined lines would try the long `noise` and `kernel_plain` patterns on every line.
_UNIFORM_SHAPES = frozenset(name for name, _ in LINE_SHAPES[:_TEXT_FROM])
_first_byte = operator.itemgetter(0)


@functools.lru_cache(maxsize=512)
def _uniform_check(
    absent: frozenset[str], shape: str, firsts: frozenset[int]
) -> re.Pattern[bytes] | None:
    """One pattern matching lines joined by newlines exactly when each has `shape`: none of
    the shapes before it that could start such a line matches it, and `shape` does. None when
    the patterns cannot be trusted over joined lines (`line_local`)."""
    index = next(i for i, (name, _) in enumerate(LINE_SHAPES) if name == shape)
    rx = line_local.confined(LINE_SHAPES[index][1])  # its matches kept within their line
    starts = _shape_starts()
    before = [
        LINE_SHAPES[i][1]
        for i in range(index)
        if starts[i] & firsts and LINE_SHAPES[i][0] not in absent
    ]
    if rx is None or not all(map(line_local.joinable, before)):
        return None
    guards = b"".join(b"(?!" + b + b")" for b in before)
    return re.compile(b"(?:" + guards + b"(?:" + rx + rb")[^\n]*\n)*", re.MULTILINE)


@functools.cache
def _shape_table(absent: frozenset[str]) -> _ShapeTable:
    return _ShapeTable(absent)


def _shapes_from(first: int, head: bytes = b"") -> re.Pattern[bytes] | _PrefixThenText:
    """The shapes a line starting with `first` can have, in a file whose head is `head`
    (empty: any head)."""
    return _table_for(head)[first] if head else _shape_table(frozenset())[first]


def _table_for(head: bytes) -> _ShapeTable:
    absent = frozenset(name for name, byte in HEAD_NEEDS.items() if byte not in head)
    return _shape_table(absent)


@functools.cache
def _compiled_shapes(keep: tuple[int, ...]) -> re.Pattern[bytes]:
    return _shape_regex(tuple(LINE_SHAPES[i] for i in keep))


_LINE_SPLIT = re.compile(rb"\r*\n|\r(?!\n)")
_TEXT_BYTES = bytes(range(32, 127)) + b"\t\n\r\x0c\x1b\x08"
_TEXT_OR_HIGH = _TEXT_BYTES + bytes(range(128, 256))


@dataclass
class Analysis:
    """What the head of a file looks like; small enough to keep per archive member."""

    size_seen: int = 0
    binary: bool = False
    dump: str | None = None
    lines: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    #: the date (ISO) a journalctl export's first line says the journal ends on, if it has one
    journal_end: str = ""

    @property
    def empty(self) -> bool:
        return self.size_seen == 0

    def scores(self) -> dict[str, float]:
        if self.binary or self.dump or not self.lines:
            return {}
        out: dict[str, float] = {}
        kernel = sum(self.counts.get(k, 0) for k in KERNEL_EVIDENCE)
        kernel -= self.counts.get("kernel_generic", 0)
        supported = kernel >= 2 and kernel >= SUPPORT_SHARE * self.lines
        for rule in KIND_RULES:
            if rule.needs:
                evidence = sum(self.counts.get(k, 0) for k in rule.needs)
                if evidence < 2 or evidence < rule.needs_share * self.lines:
                    out[rule.kind] = 0.0
                    continue
            s = sum(w * self.counts.get(k, 0) for k, w in rule.weights.items()) / self.lines
            if supported:
                s += sum(w * self.counts.get(k, 0) for k, w in rule.supporting) / self.lines
            for marker, at_least, bonus in rule.bonuses:
                if self.counts.get(marker, 0) >= at_least:
                    s += bonus
            out[rule.kind] = round(s, 4)
        return out


#: NULs in a run this long are a filesystem's unwritten blocks, not content: a hard reset leaves
#: them in a log being appended to (syslog, console capture, dmesg saved at boot), up to the end
#: of its last block, and the next boot writes after them. Binary data has such runs too, but
#: never only text around them; UTF-16 and the odd NUL of a serial line come one at a time.
NUL_RUN = 16
_NUL_RUNS = re.compile(b"\x00{%d,}" % NUL_RUN)


def _looks_binary(head: bytes) -> bool:
    """Whether `head` is no text: once its runs of NULs (`NUL_RUN`) are taken out, more than
    a tenth of the first 4 KiB left is NULs or other control bytes. A head of nothing but such
    runs is no text either."""
    if b"\x00" in head:
        head = _NUL_RUNS.sub(b"", head)
        if not head:
            return True
    sample = head[:4096]
    if not sample:
        return False
    if sample.count(b"\x00") > len(sample) // 10:
        return True
    # UTF-8 and Latin-1 text has high bytes; only control bytes betray binary data
    ctrl = len(sample.translate(None, _TEXT_OR_HIGH))
    return ctrl > len(sample) // 10


def _without_boms(head: bytes) -> bytes:
    """`head` without the UTF-8 byte order marks that open its lines (`model.UTF8_BOM`): the
    parser reads a line from after its mark, and so are its shapes told."""
    return head.removeprefix(UTF8_BOM).replace(b"\n" + UTF8_BOM, b"\n")


def _head_lines(head: bytes, cut: bool) -> Iterator[bytes]:
    """The lines of `head`, split lazily: only the first `MAX_LINES` or so are looked at, and
    splitting all of a 16 KiB head cost more than classifying it (the walk of a folder of
    small logs did little else). Without the last line when the head was `cut` at its limit
    (unless it is the only one)."""
    if b"\r" not in head:  # the common case: a plain split is what the pattern would do
        lines = head.split(b"\n")
        if cut and len(lines) > 1:
            lines.pop()
        yield from lines
        return
    rest, prev, seen = head, None, 0
    while True:
        parts = _LINE_SPLIT.split(rest, maxsplit=_SPLIT_STEP)
        final = len(parts) <= _SPLIT_STEP
        if not final:
            rest = parts.pop()
        for line in parts:
            if prev is not None:
                yield prev
            prev = line
            seen += 1
        if final:
            break
    if prev is not None and not (cut and seen > 1):
        yield prev


_SPLIT_STEP = 64


def _classified_lines(head: bytes, cut: bool) -> list[bytes]:
    """The first `MAX_LINES` lines of `head` that say something, NULs removed and right-stripped
    (blank lines and "..." elisions are skipped)."""
    if b"\r" not in head and b"\x00" not in head:  # the common case, in bulk
        # the lines before the rest of the head (which may be its cut last line) first
        first = head.split(b"\n", MAX_LINES + 16)[:-1]
        out = [line for line in map(bytes.rstrip, first) if line and line.strip(b". ")]
        if len(out) >= MAX_LINES:
            return out[:MAX_LINES]
        raw = head.split(b"\n")
        if cut and len(raw) > 1:
            raw.pop()
        out = [line for line in map(bytes.rstrip, raw) if line and line.strip(b". ")]
        return out[:MAX_LINES]
    out = []
    for raw_line in _head_lines(head, cut):
        line = raw_line.replace(b"\x00", b"").rstrip()
        if not line or line.strip(b". ") == b"":
            continue
        out.append(line)
        if len(out) >= MAX_LINES:
            break
    return out


def analyze(head: bytes) -> Analysis:
    """Classify the lines of `head` (the first `HEAD_BYTES` of the decompressed file)."""
    head = head[:HEAD_BYTES]
    a = Analysis(size_seen=len(head))
    cut = len(head) == HEAD_BYTES  # its last line may go on past it
    if not head:
        return a
    a.dump = dump_format(head)
    if a.dump:
        return a
    if _looks_binary(head):
        a.binary = True
        return a
    if UTF8_BOM in head:
        head = _without_boms(head)
    counts: dict[str, int] = {}
    crlf = head.count(b"\r\n") if b"\r" in head else 0  # one byte is found the fastest
    if crlf:
        counts["crlf"] = crlf
    if b"\x1b" in head and b"\x1b[" in head:
        counts["ansi"] = head.count(b"\x1b[")
    lines = _classified_lines(head, cut)
    n = len(lines)
    # C-level loops (map, Counter) over the few lines looked at: a folder of small logs spends
    # its walk here; the counts come out in the order the shapes first occur, as before
    table = _table_for(head.replace(b"\x00", b"") if b"\x00" in head else head)  # as the lines
    uniform = table.uniform(lines) if n >= UNIFORM_MIN_LINES else None
    if uniform is not None:
        matches = []
        shapes = Counter({uniform: n})
    else:
        matches = [table[x[0]].match(x) for x in lines]
        shapes = Counter(m.lastgroup if m else "other" for m in matches)
    if shapes.get("kernel_plain"):
        markers = _generic_markers(matches)
        if len(markers) >= 2 and None not in markers and len(set(markers)) == 1:
            # two or more bare kernel lines, all starting with one same generic marker
            shapes["other"] += shapes.pop("kernel_plain")
        elif shapes.get("kernel_subsys"):
            # `WARNING: x`, `INFO: y` are kernel lines, but say too little to let prefixed
            # lines count (a stub file's `INFO: int = ...`): KindRule.supporting leaves them out
            generic = sum(g is not None for g in markers)
            if generic:
                shapes["kernel_generic"] = generic
    counts.update(shapes)  # type: ignore[arg-type]
    untimed = counts.get("other", 0) + counts.get("kernel_subsys", 0)
    if untimed and counts.get("dmesg_ts", 0) >= 0.2 * n:
        # lines without a timestamp among timestamped kernel lines: other programs writing to
        # the same console (dmesg output has none); in a plain file they are just unknown text
        counts.pop("other", None)
        counts.pop("kernel_subsys", None)
        counts["other_mixed"] = untimed
    a.lines = n
    a.counts = counts
    if counts.get("journal_sep"):
        a.journal_end = journal_end(lines[0])
    return a


#: journalctl's first line before systemd 250: `-- Logs begin at Thu 2019-10-03 10:28:13 CEST,
#: end at Thu 2019-10-03 14:59:03 CEST. --`, from 246 `-- Journal begins at …, ends at … --`
_JOURNAL_SPAN = re.compile(
    rb"-- (?:Logs begin at|Journal begins at) .*?, ends? at [A-Z][a-z]{2} (\d{4}-\d\d-\d\d) "
)


def journal_end(line: bytes) -> str:
    """The date a journalctl export's header `line` says the journal ends on ("" if it is no
    such header, or no date): the date, in the log's own time, of no line before it."""
    m = _JOURNAL_SPAN.match(line)
    if not m:
        return ""
    try:
        return _dt.date.fromisoformat(m.group(1).decode()).isoformat()
    except ValueError:
        return ""


#: kernel markers that programs print too: a head whose bare kernel lines are two or more, all
#: starting with the same one of these (a script's banner of "WARNING: ..." lines, a document's
#: "=====" rules), shows no kernel log. A kernel's own WARNING, BUG or INFO report brings other
#: markers along (Modules linked in, CPU:, RIP:, Call Trace:); a single such line is left to the
#: scores, as before.
_GENERIC_MARKERS = (b"WARNING:", b"BUG:", b"INFO:", b"=")


def _generic_markers(matches: list[re.Match[bytes] | None]) -> list[bytes | None]:
    """For each line matched as a bare kernel line, the generic marker it starts with (None:
    none)."""
    out: list[bytes | None] = []
    for m in matches:
        if m is not None and m.lastgroup == "kernel_plain":
            text = m.group(0)
            out.append(next((g for g in _GENERIC_MARKERS if text.startswith(g)), None))
    return out


def decide(a: Analysis, role: str = "") -> str:
    """The kind for an analysed head, with the file's role as a tie-break."""
    if a.dump:
        return KIND_DUMP
    if a.empty or a.binary:
        return KIND_UNKNOWN
    return _decide_lines(a.lines, frozenset(a.counts.items()), role)


@functools.lru_cache(maxsize=4096)
def _decide_lines(lines: int, counts: frozenset[tuple[str, int]], role: str) -> str:
    """`decide` for a text head: a function of its line count, its shape counts and the role
    alone, so worked out once for each such triple — the files of one folder mostly share
    theirs (ten thousand syslogs: a tenth of their walk)."""
    a = Analysis(size_seen=1, lines=lines, counts=dict(counts))
    scores = a.scores()
    if not scores:
        return KIND_UNKNOWN
    log_scores = {k: v for k, v in scores.items() if k != KIND_CONFIG}
    best_log = max(log_scores, key=lambda k: (log_scores[k], -_ORDER[k]))
    best_log_score = log_scores[best_log]
    if role in CONFIG_ROLES and best_log_score < CONFIG_OVERRIDE:
        return KIND_CONFIG
    best = max(scores, key=lambda k: (scores[k], -_ORDER[k]))
    if scores[best] < MIN_SCORE:
        return KIND_UNKNOWN
    wanted = ROLE_KIND.get(role)
    if wanted and wanted != best:
        ws = scores.get(wanted, 0.0)
        if ws >= MIN_SCORE and ws >= ROLE_TIE * scores[best]:
            return wanted
    return best


_ORDER = {rule.kind: i for i, rule in enumerate(KIND_RULES)}


@functools.cache
def detect(head: bytes, role: str = "") -> str:
    """Convenience: `decide(analyze(head), role)`."""
    return decide(analyze(head), role)
