"""Small host files of a XenServer status report: Xen info, inventory, domain lists, (XEN) lines.

Each reader returns plain values with the line they came from; `bundle_facts` turns them into
facts. Units differ by era (knowledge/xenserver-status-report.md §3): `physinfo.out` and
`xeninfo.out` (xen.lowlevel.xc, until 2012) state memory in KiB, `xl-info.out` in MiB — the
unit is a property of the file, so it is data here, not a guess from the number's size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

#: memory unit of `total_memory` / `free_memory` per role
MEMORY_UNIT_BYTES: dict[str, int] = {"xl-info": 1024 * 1024, "physinfo": 1024, "xeninfo": 1024}

_KV_RE = re.compile(r"^(?P<key>[A-Za-z_][\w-]*?)\s*:\s?(?P<value>.*?)\s*$")


@dataclass
class Value:
    key: str
    value: str
    lineno: int


def read_key_values(text: str) -> dict[str, Value]:
    """`key   : value` lines (xl info, prettyDict); the first occurrence of a key wins."""
    out: dict[str, Value] = {}
    for n, line in enumerate(text.splitlines(), 1):
        m = _KV_RE.match(line)
        if m and m.group("key") not in out:
            out[m.group("key")] = Value(m.group("key"), m.group("value"), n)
    return out


@dataclass
class XenInfo:
    memory_total_bytes: Value | None = None
    memory_free_bytes: Value | None = None
    xen_version: Value | None = None
    nr_cpus: Value | None = None
    hostname: Value | None = None


def read_xen_info(text: str, role: str) -> XenInfo | None:
    """Host RAM and the Xen version from xl-info.out / physinfo.out / xeninfo.out.

    None when the text has none of the keys these files always carry (an unknown layout).
    """
    kv = read_key_values(text)
    if not kv.keys() & {"total_memory", "xen_major", "nr_cpus", "xen_version"}:
        return None
    unit = MEMORY_UNIT_BYTES.get(role, 1024)
    info = XenInfo()
    for src, attr in (("total_memory", "memory_total_bytes"), ("free_memory", "memory_free_bytes")):
        v = kv.get(src)
        if v and v.value.isdigit():
            setattr(info, attr, Value(attr, str(int(v.value) * unit), v.lineno))
    if "xen_version" in kv:
        info.xen_version = kv["xen_version"]
    elif "xen_major" in kv and "xen_minor" in kv:
        extra = kv["xen_extra"].value if "xen_extra" in kv else ""
        version = f"{kv['xen_major'].value}.{kv['xen_minor'].value}{extra}"
        info.xen_version = Value("xen_version", version, kv["xen_major"].lineno)
    if "nr_cpus" in kv:
        info.nr_cpus = kv["nr_cpus"]
    if "host" in kv:
        info.hostname = kv["host"]
    return info


_INVENTORY_RE = re.compile(r"^(?P<key>[A-Z][A-Z0-9_]*)=(?P<q>['\"]?)(?P<value>.*?)(?P=q)\s*$")


def read_inventory(text: str) -> dict[str, Value]:
    """`etc/xensource-inventory`: `KEY='value'` lines; INSTALLATION_UUID names this host."""
    out: dict[str, Value] = {}
    for n, line in enumerate(text.splitlines(), 1):
        m = _INVENTORY_RE.match(line.strip())
        if m:
            out[m.group("key")] = Value(m.group("key"), m.group("value"), n)
    return out


_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_LIST_DOMAINS_RE = re.compile(
    r"^\s*(?P<domid>\d+)\s*\|\s*(?P<uuid>" + _UUID + r")\s*\|\s*(?P<state>.*?)\s*$"
)


@dataclass
class Domain:
    domid: int
    uuid: str
    name: str
    lineno: int
    state: str = ""


def read_list_domains(text: str) -> list[Domain]:
    """`list_domains.out`: `id | uuid | state` rows, the running domid of each VM uuid."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        m = _LIST_DOMAINS_RE.match(line)
        if m:
            out.append(Domain(int(m.group("domid")), m.group("uuid"), "", n, m.group("state")))
    return out


_XS_RE = re.compile(r'^/local/domain/(?P<domid>\d+)/(?P<key>vm|name)\s*=\s*"(?P<value>.*)"\s*$')


def read_xenstore(text: str) -> list[Domain]:
    """`xenstore-ls-f.out`: `/local/domain/N/vm = "/vm/<uuid>"` and `…/name = "<name_label>"`."""
    doms: dict[int, Domain] = {}
    for n, line in enumerate(text.splitlines(), 1):
        m = _XS_RE.match(line)
        if not m:
            continue
        d = doms.setdefault(int(m.group("domid")), Domain(int(m.group("domid")), "", "", n))
        if m.group("key") == "vm":
            u = re.search(_UUID, m.group("value"))
            d.uuid = u.group(0) if u else ""
            d.lineno = n
        else:
            d.name = m.group("value")
    return [d for d in doms.values() if d.uuid and d.domid != 0]


#: Xen's own messages when it kills a domain (§4). Guest-internal panics print nothing here.
XEN_CRASH_RE = re.compile(
    r"^(?:\[(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.\d+)?\] )?\(XEN\) (?:\[[\d. ]+\] )?"
    r"Domain (?P<domid>\d+) (?:\(vcpu#(?P<vcpu>\d+)\) crashed on cpu#(?P<cpu>\d+)"
    r"|reported crashed by domain (?P<by>\d+) on cpu#(?P<cpu2>\d+))"
)


@dataclass
class XenCrash:
    domid: int
    lineno: int
    time: datetime | None
    text: str


def read_xen_crashes(text: str) -> list[XenCrash]:
    out = []
    if "(XEN)" not in text:
        return out
    for n, line in enumerate(text.splitlines(), 1):
        if "crashed" not in line:
            continue
        m = XEN_CRASH_RE.match(line.strip("\r"))
        if m:
            ts = datetime.strptime(m.group("ts"), "%Y-%m-%d %H:%M:%S") if m.group("ts") else None
            out.append(XenCrash(int(m.group("domid")), n, ts, line.strip()))
    return out
