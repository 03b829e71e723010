"""What a sosreport (or any bundle with the same command outputs) states about its host.

`uname -a`, `hostname`, `date`, the installed kernel packages and kdump's crash directories: the
facts that say which kernel was running, which ones were available to boot, and when a crash
dump was taken (knowledge/formats.md §1.5, §4.1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from triage.parsers.xen_info import Value
from triage.sources.layouts import KDUMP_DIR_RE


@dataclass
class Uname:
    nodename: Value
    release: Value
    arch: Value | None


_UNAME_RE = re.compile(
    r"^Linux (?P<node>\S+) (?P<release>\d\S*) #\S+ .*?(?P<arch>\S+)(?: GNU/Linux)?\s*$"
)


def read_uname(text: str) -> Uname | None:
    """`uname -a`: `Linux <nodename> <release> #1 SMP <date> <machine> [<cpu> <platform>] GNU/Linux`."""
    for n, line in enumerate(text.splitlines(), 1):
        m = _UNAME_RE.match(line.strip())
        if m:
            fields = line.split()
            # machine is the first word after the build date's year (…2009 i686 i686 i386 GNU/Linux)
            arch = None
            for i, word in enumerate(fields):
                if re.fullmatch(r"(19|20)\d\d", word) and i + 1 < len(fields):
                    arch = Value("arch", fields[i + 1], n)
                    break
            return Uname(
                Value("hostname", m.group("node"), n), Value("release", m.group("release"), n), arch
            )
    return None


def read_hostname(text: str) -> Value | None:
    for n, line in enumerate(text.splitlines(), 1):
        word = line.strip()
        if word and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]*", word):
            return Value("hostname", word, n)
        if word:
            return None
    return None


#: kernel packages that boot (not -devel/-headers/-doc/-firmware/-tools)
KERNEL_PACKAGE_RE = re.compile(
    r"^(?P<nvra>(?P<name>kernel(?:-(?:xenU|xen|PAE|pae|smp|hugemem|largesmp|debug|uek|core|rt|default|64k))?)"
    r"-(?P<version>\d[^-\s]*)-(?P<release>[^\s]+?)\.(?P<arch>i[3-6]86|x86_64|ia64|ppc64(?:le)?|s390x|aarch64))"
    r"(?:\s+(?P<date>\S.*?))?\s*$"
)
_DATE_FORMATS = (
    "%a %d %b %Y %I:%M:%S %p",  # Mon 01 Feb 2010 10:00:00 AM (rpm %{INSTALLTIME:date}, en_US)
    "%a %d %b %Y %H:%M:%S",
    "%a %b %d %H:%M:%S %Y",  # Mon Feb  1 10:00:00 2010 (date, ctime)
    "%a %b %d %H:%M:%S %Z %Y",
)


def parse_date(text: str) -> datetime | None:
    """Local wall-clock time as the bundle printed it; the zone word is dropped (not resolvable)."""
    words = text.split()
    candidates = [" ".join(words)]
    # drop a time-zone word ("EST", "CEST", "+0100") that strptime cannot resolve
    candidates.append(
        " ".join(
            w for w in words if w in ("AM", "PM") or not re.fullmatch(r"[A-Z]{2,5}|[+-]\d{4}", w)
        )
    )
    for cand in candidates:
        cand = re.sub(r"\s+", " ", cand)
        for fmt in _DATE_FORMATS:
            try:
                return datetime.strptime(cand, fmt)
            except ValueError:
                continue
    return None


@dataclass
class Package:
    nvra: str
    name: str
    lineno: int
    installed: datetime | None


def read_installed_kernels(text: str) -> list[Package]:
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.startswith("kernel"):
            continue
        m = KERNEL_PACKAGE_RE.match(line.strip())
        if m:
            when = parse_date(m.group("date")) if m.group("date") else None
            out.append(Package(m.group("nvra"), m.group("name"), n, when))
    return out


def read_date(text: str) -> tuple[Value, datetime | None] | None:
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            return Value("date", line.strip(), n), parse_date(line.strip())
    return None


def kdump_crash_time(path: str) -> tuple[str, str, datetime | None] | None:
    """(directory name, dumping host's ip, time) from a path under a kdump directory."""
    m = KDUMP_DIR_RE.search(path)
    if not m:
        return None
    day = m.group("d").replace(".", "-")
    t = m.group("t").replace("_", ":")
    t = t if t.count(":") == 2 else t + ":00"
    try:
        when = datetime.strptime(f"{day} {t}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        when = None
    return m.group("dir"), m.group("ip").replace("_", ":"), when
