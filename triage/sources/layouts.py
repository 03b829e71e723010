"""Bundle layouts as data: how to spot a bundle's root, and where each logical file lives in it.

A *root* is a directory that starts a known layout (a sosreport's top, `bug-report-<ts>/`, a kdump
`/var/crash/<ip>-<date>/`, `xen/console/`). Roots are found from member names alone, so an
extracted folder, a tarball and a XenCenter zip of several hosts all work the same way.
`ROLE_TABLE` maps each layout to the candidate paths of each logical role (Red Hat Insights'
"specs" idea): supporting a new bundle layout or a moved file is one line here.
Rotated and compressed variants (`messages.1`, `messages-20240101.gz`) match the same patterns.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from functools import cache, lru_cache

LAYOUT_SOSREPORT = "sosreport"
LAYOUT_STATUS_REPORT = "status-report"
LAYOUT_KDUMP = "kdump"
LAYOUT_XEN_CONSOLE = "xen-console"
LAYOUT_FOLDER = "folder"
LAYOUT_ARCHIVE = "archive"
LAYOUT_FILE = "file"

#: a status report's own folder: one host's (a XenCenter server status report zip holds one
#: per host)
STATUS_REPORT_DIR = r"bug-report-\d{8,14}/"
#: that folder within a path
STATUS_REPORT_DIR_RE = re.compile(r"(?:^|/)" + STATUS_REPORT_DIR)

#: (layout, regex over a "/"-joined directory path ending in "/"; group `root` is the root).
#: The regexes are searched in every directory of the container, deepest roots win for roles.
ROOT_MARKERS: tuple[tuple[str, str], ...] = (
    (LAYOUT_SOSREPORT, r"^(?P<root>(?:.*/)?)sos_commands/$"),
    (LAYOUT_STATUS_REPORT, r"^(?P<root>(?:.*/)?" + STATUS_REPORT_DIR + r")$"),
    (
        LAYOUT_KDUMP,
        r"^(?P<root>(?:.*/)?[0-9a-fA-F.:_]+-\d{4}[-.]\d\d[-.]\d\d-\d\d[:_]\d\d(?:[:_]\d\d)?/)$",
    ),
    (LAYOUT_XEN_CONSOLE, r"^(?P<root>(?:.*/)?xen/console/)$"),
)

#: layouts that name the bundle (outermost wins); the others are sub-layouts inside a bundle
BUNDLE_LAYOUTS = (LAYOUT_SOSREPORT, LAYOUT_STATUS_REPORT, LAYOUT_KDUMP, LAYOUT_XEN_CONSOLE)

#: (layout, role, glob patterns relative to that layout's root). "any" rows match anywhere.
#: Globs: `*` within a path segment, `**/` any number of directories. First match wins.
ROLE_TABLE: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # --- sosreport (sos 1.x-4.x): copied files at their path, command output in sos_commands/
    (LAYOUT_SOSREPORT, "messages", ("var/log/messages", "var/log/syslog")),
    (LAYOUT_SOSREPORT, "kern-log", ("var/log/kern.log",)),
    (LAYOUT_SOSREPORT, "dmesg", ("sos_commands/kernel/dmesg*", "var/log/dmesg")),
    (LAYOUT_SOSREPORT, "journal", ("sos_commands/logs/journalctl_*",)),
    (LAYOUT_SOSREPORT, "uname", ("uname", "sos_commands/kernel/uname_-a")),
    (LAYOUT_SOSREPORT, "installed-rpms", ("installed-rpms", "sos_commands/rpm/sh_-c_rpm_*")),
    (
        LAYOUT_SOSREPORT,
        "hostname",
        (
            "hostname",
            "sos_commands/host/hostname",
            "sos_commands/host/hostname_-f",
            "sos_commands/general/hostname",
        ),
    ),
    # (not `date_--utc`: the same instant again, in another zone)
    (LAYOUT_SOSREPORT, "date", ("date", "sos_commands/date/date", "sos_commands/general/date")),
    (
        LAYOUT_SOSREPORT,
        "uptime",
        ("uptime", "sos_commands/host/uptime", "sos_commands/general/uptime"),
    ),
    (LAYOUT_SOSREPORT, "lsmod", ("lsmod", "sos_commands/kernel/lsmod")),
    (LAYOUT_SOSREPORT, "release", ("etc/redhat-release", "etc/os-release", "etc/system-release")),
    (LAYOUT_SOSREPORT, "cmdline", ("proc/cmdline",)),
    (LAYOUT_SOSREPORT, "xen-dmesg", ("sos_commands/xen/xm_dmesg", "sos_commands/xen/xl_dmesg")),
    (LAYOUT_SOSREPORT, "xl-info", ("sos_commands/xen/xl_info", "sos_commands/xen/xm_info")),
    (LAYOUT_SOSREPORT, "sos-manifest", ("sos_reports/manifest.json",)),
    # --- XenServer status report (xen-bugtool), also inside a XenCenter zip
    (LAYOUT_STATUS_REPORT, "xensource", ("var/log/xensource.log",)),
    (LAYOUT_STATUS_REPORT, "messages", ("var/log/messages", "var/log/user.log")),
    (LAYOUT_STATUS_REPORT, "kern-log", ("var/log/kern.log",)),
    (LAYOUT_STATUS_REPORT, "daemon-log", ("var/log/daemon.log",)),
    (LAYOUT_STATUS_REPORT, "xapi-db", ("xapi-db.xml", "xapi-db-dumped.xml")),
    (LAYOUT_STATUS_REPORT, "xl-info", ("xl-info.out", "xl-info-n.out")),
    (LAYOUT_STATUS_REPORT, "physinfo", ("physinfo.out",)),
    (LAYOUT_STATUS_REPORT, "xen-info", ("xeninfo.out",)),
    (LAYOUT_STATUS_REPORT, "xen-dmesg", ("xl-dmesg.out", "xen-dmesg.out", "var/log/xen-dmesg")),
    (LAYOUT_STATUS_REPORT, "hypervisor-log", ("var/log/xen/hypervisor.log",)),
    (LAYOUT_STATUS_REPORT, "dmesg", ("dmesg.out", "var/log/dmesg")),
    (LAYOUT_STATUS_REPORT, "inventory", ("etc/xensource-inventory",)),
    (LAYOUT_STATUS_REPORT, "bugtool-inventory", ("inventory.xml",)),
    (LAYOUT_STATUS_REPORT, "installed-rpms", ("rpm-qa.out", "installed-rpms.out", "rpm-qa-*.out")),
    (LAYOUT_STATUS_REPORT, "list-domains", ("list_domains.out",)),
    (LAYOUT_STATUS_REPORT, "xenstore", ("xenstore-ls-f.out",)),
    (LAYOUT_STATUS_REPORT, "uname", ("uname.out", "uname-a.out")),
    (LAYOUT_STATUS_REPORT, "crashdump-analyser", ("var/crash/*/xen-crashdump-analyser.log",)),
    (LAYOUT_STATUS_REPORT, "xen-crash-log", ("var/crash/*/xen.log",)),
    (LAYOUT_STATUS_REPORT, "dom0-crash-log", ("var/crash/*/dom0.log",)),
    # --- kdump target directory (/var/crash/<ip>-<date>/), also netdump-server's
    (LAYOUT_KDUMP, "vmcore-dmesg", ("vmcore-dmesg.txt", "vmcore-dmesg-incomplete.txt")),
    (LAYOUT_KDUMP, "vmcore", ("vmcore", "vmcore-incomplete", "vmcore.flat")),
    (LAYOUT_KDUMP, "kexec-dmesg", ("kexec-dmesg.log",)),
    (LAYOUT_KDUMP, "netdump-log", ("log",)),
    # --- xenconsoled --log=guest|all
    (LAYOUT_XEN_CONSOLE, "guest-console", ("guest-*.log",)),
    (LAYOUT_XEN_CONSOLE, "hypervisor-log", ("hypervisor.log",)),
    # --- anywhere (loose files, plain folders and tarballs of logs)
    ("any", "vmcore-dmesg", ("**/vmcore-dmesg*.txt",)),
    ("any", "vmcore", ("**/vmcore", "**/vmcore-incomplete", "**/vmcore.flat", "**/*.vmcore")),
    ("any", "guest-console", ("**/guest-*.log",)),
    ("any", "console", ("**/console.log", "**/console*.txt", "**/serial*.log", "**/*-console.log")),
    ("any", "messages", ("**/messages", "**/syslog")),
    ("any", "kern-log", ("**/kern.log",)),
    ("any", "journal", ("**/journalctl*", "**/journal.txt", "**/journal.log")),
    ("any", "dmesg", ("**/dmesg", "**/dmesg.txt", "**/dmesg.out", "**/dmesg.log", "**/dmesg_-T")),
    ("any", "xensource", ("**/xensource.log",)),
    ("any", "hypervisor-log", ("**/hypervisor.log",)),
    ("any", "crash-tool", ("**/crash.txt", "**/crash.log", "**/crash.out", "**/crash-*.txt")),
    ("any", "xapi-db", ("**/xapi-db.xml", "**/state.db")),
    ("any", "xl-info", ("**/xl-info.out", "**/xl_info")),
    ("any", "inventory", ("**/xensource-inventory",)),
    ("any", "installed-rpms", ("**/installed-rpms",)),
    ("any", "uname", ("**/uname_-a",)),
)

#: kdump's directory: /var/crash/<ip>-<YYYY-MM-DD>-<HH:MM:SS>/ (early RHEL 6/7: YYYY.MM.DD)
#: (a copy made on Windows, a XenCenter zip's, has each `:` of the name as `_`)
KDUMP_DIR_RE = re.compile(
    r"(?:^|/)var/crash/(?P<dir>(?P<ip>[0-9a-fA-F.:_]+)-(?P<d>\d{4}[-.]\d{2}[-.]\d{2})-"
    r"(?P<t>\d{2}[:_]\d{2}(?:[:_]\d{2})?))/"
)
#: logrotate names: numeric (messages.1), dateext (messages-20240101[HH]), then compression
ROTATION_RE = re.compile(
    r"^(?P<base>.+?)(?:\.(?P<n>\d{1,4})|-(?P<date>\d{8}(?:\d\d)?))?"
    r"(?P<z>\.(?:gz|xz|bz2|zst|lz4|Z))?$"
)
GUEST_CONSOLE_RE = re.compile(r"^guest-(?P<name>.+)\.log$")

#: dates in bundle root names: (regex with y/m/d groups)
ROOT_DATES: tuple[str, ...] = (
    r"bug-report-(?P<y>\d{4})(?P<m>\d\d)(?P<d>\d\d)",
    r"sosreport-.*?-(?P<y>\d{4})-(?P<m>\d\d)-(?P<d>\d\d)-[a-z0-9]{7}",
    r"sosreport-.*?-(?P<y>\d{4})(?P<m>\d\d)(?P<d>\d\d)\d{6}",
    r"-(?P<y>\d{4})[-.](?P<m>\d\d)[-.](?P<d>\d\d)-\d\d[:_]\d\d",
    r"(?P<y>\d{4})-?(?P<m>\d\d)-?(?P<d>\d\d)T?\d{6}-bugtool-",
    r"(?P<y>\d{4})-(?P<m>\d\d)-(?P<d>\d\d)-\d\d-\d\d-\d\d-bugtool-",
)
_ROOT_DATE_RES = tuple(re.compile(p) for p in ROOT_DATES)


def _glob_to_pattern(pattern: str) -> str:
    """The anchored regex a glob reads as (`**/` any folders, `*` and `?` within a name)."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append(r"(?:[^/]+/)*")
            i += 3
        elif pattern[i] == "*":
            out.append(r"[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append(r"[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "^" + "".join(out) + "$"


#: the role table with each glob as its regex's source: compiled only as each layout's one
#: alternation (`_rules_of`), when a path of that layout is first asked about
_ROLE_RULES: tuple[tuple[str, str, tuple[str, ...]], ...] = tuple(
    (layout, role, tuple(_glob_to_pattern(p) for p in pats)) for layout, role, pats in ROLE_TABLE
)
_ROOT_RES = tuple((layout, re.compile(rx)) for layout, rx in ROOT_MARKERS)


@dataclass(frozen=True)
class Root:
    layout: str
    path: str  # "" for the container's top, else ends with "/"


@dataclass(frozen=True)
class Rotation:
    base: str  # the path with the rotation and compression suffixes removed
    number: int | None
    date: _dt.date | None
    rotated: bool
    hour: int = 0  # of an hourly `dateext` name (`messages-2024010512`)


def find_roots(names: list[str], top_name: str = "") -> list[Root]:
    """All layout roots among the directories implied by `names` (container-relative paths).

    `top_name` is the name of the container itself (the archive or folder the user named), so
    that an extracted sosreport named directly still counts as a sosreport rooted at "".
    """
    dirs: set[str] = {""}
    for name in names:
        parts = name.split("/")
        for i in range(1, len(parts)):
            dirs.add("/".join(parts[:i]) + "/")
    roots: dict[str, Root] = {}
    for d in sorted(dirs):
        probe = d if d else ""
        for layout, rx in _ROOT_RES:
            m = rx.match(probe)
            if m and m.group("root") not in roots:
                roots[m.group("root")] = Root(layout, m.group("root"))
    if "" not in roots and top_name:
        top = top_name.rstrip("/").rsplit("/", 1)[-1] + "/"
        for layout, rx in _ROOT_RES:
            if layout in (LAYOUT_STATUS_REPORT, LAYOUT_KDUMP) and rx.match(top):
                roots[""] = Root(layout, "")
    return sorted(roots.values(), key=lambda r: r.path)


def roots_of(path: str, roots: list[Root]) -> list[Root]:
    """Roots containing `path`, outermost first."""
    return [r for r in roots if path.startswith(r.path)]


@lru_cache(maxsize=65536)
def rotation_of(path: str) -> Rotation:
    head, _, base = path.rpartition("/")
    m = ROTATION_RE.match(base)
    if not m:
        return Rotation(path, None, None, False)
    number = int(m.group("n")) if m.group("n") else None
    date = _parse_compact_date(m.group("date")) if m.group("date") else None
    if m.group("date") and date is None:  # 8 digits that are not a date: not a rotation
        return Rotation(path, None, None, False)
    stripped = m.group("base")
    full = f"{head}/{stripped}" if head else stripped
    hour = int(m.group("date")[8:] or 0) if date is not None else 0
    return Rotation(full, number, date, number is not None or date is not None, hour)


def _parse_compact_date(text: str) -> _dt.date | None:
    try:
        d = _dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None
    return d if 1990 <= d.year <= 2100 else None


def role_of(path: str, roots: list[Root]) -> str:
    """The logical role of a container path: innermost root's table first, then "any" rows."""
    rot = rotation_of(path)
    candidates = [path] if path == rot.base else [path, rot.base]
    for root in reversed(roots_of(path, roots)):
        rules = _rules_of(root.layout)
        for cand in candidates:
            hit = rules.match(cand[len(root.path) :])
            if hit:
                return _ROLE_RULES[int(hit.lastgroup[1:])][1]  # type: ignore[index]
    rules = _rules_of("any")
    for cand in candidates:
        hit = rules.match(cand)
        if hit:
            return _ROLE_RULES[int(hit.lastgroup[1:])][1]  # type: ignore[index]
    return ""


@cache
def _rules_of(layout: str) -> re.Pattern[str]:
    """The role rules of one layout as one pattern: the alternation of their globs, group
    `r<i>` for the rule at `_ROLE_RULES[i]`. A path matches its first rule that has a glob
    matching it whole, as when each glob is tried in turn (alternatives are tried in order),
    in one call instead of some fifty: a folder of ten thousand files spent a tenth of its
    walk on them."""
    alts = [
        f"(?P<r{i}>{'|'.join(rx[1:-1] for rx in rxs)})"
        for i, (lay, _, rxs) in enumerate(_ROLE_RULES)
        if lay == layout and rxs
    ]
    return re.compile(f"^(?:{'|'.join(alts)})$" if alts else "(?!)")


def vm_name_of(path: str) -> str:
    base = rotation_of(path).base.rsplit("/", 1)[-1]
    m = GUEST_CONSOLE_RE.match(base)
    return m.group("name") if m else ""


def date_in_name(name: str) -> _dt.date | None:
    """The collection date a bundle root's name states (bug-report-YYYYMMDD…, sosreport-…)."""
    for rx in _ROOT_DATE_RES:
        m = rx.search(name)
        if m:
            try:
                d = _dt.date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
            except ValueError:
                continue
            if 1990 <= d.year <= 2100:
                return d
    return None
