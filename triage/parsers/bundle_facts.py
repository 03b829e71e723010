"""The facts a bundle states about its host and guests, read once per bundle.

Several documented issues can only be told apart with what the host knew — its RAM, which VM a
guest is, whether it was just migrated, which template flags it carries. This module reads the
bundle files that say so (xensource.log, the xapi database, Xen info, the inventory, domain lists,
hypervisor log, sosreport command outputs, kdump directory names) into `Fact` rows, resolves
the VM behind each event, and links guest logs to their VM by what both sides state. Every fact
cites its file and line; every link says how it was made (`link.method`), and a guest log that
could not be linked is reported, never silently guessed.

Keys are documented in `fact_keys.yaml` beside this module.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from triage.model import KIND_SYSLOG, ErrorRecord, Fact, SourceFile
from triage.parsers import sos_facts, xapi_db, xen_info, xensource
from triage.parsers.blocks import Bounded
from triage.sources.layouts import STATUS_REPORT_DIR_RE

#: opens a source as a seekable file, capped as a whole read is (`bundle_facts`)
Opener = Callable[[SourceFile], AbstractContextManager[Bounded]]

#: role → path patterns, used when the sources stage left a role unset or named it differently.
#: The path decides the role first because units depend on the file (physinfo KiB, xl-info MiB).
ROLE_PATTERNS: list[tuple[str, str]] = [
    ("xensource", r"(?:^|/)var/log/xensource\.log(?:\.\d+)?(?:\.gz|\.bz2|\.xz)?$"),
    ("xapi-db", r"(?:^|/)xapi-db(?:-dumped)?\.xml$"),
    ("xl-info", r"(?:^|/)xl-info\.out$"),
    ("physinfo", r"(?:^|/)physinfo\.out$"),
    ("xeninfo", r"(?:^|/)xeninfo\.out$"),
    ("inventory", r"(?:^|/)etc/xensource-inventory$"),
    ("list-domains", r"(?:^|/)list_domains\.out$"),
    ("xenstore", r"(?:^|/)xenstore-ls-f\.out$"),
    ("hypervisor-log", r"(?:^|/)var/log/xen/hypervisor\.log(?:\.\d+)?(?:\.gz)?$"),
    ("hypervisor-log", r"(?:^|/)var/log/xen-dmesg$"),
    ("xen-dmesg", r"(?:^|/)(?:xen|xl)-dmesg\.out$"),
    ("installed-rpms", r"(?:^|/)installed-rpms$"),
    ("installed-rpms", r"(?:^|/)sos_commands/rpm/sh_-c_rpm_--nodigest_-qa[^/]*$"),
    ("uname", r"(?:^|/)uname$"),
    ("uname", r"(?:^|/)sos_commands/kernel/uname_-a$"),
    ("hostname", r"(?:^|/)hostname$"),
    ("hostname", r"(?:^|/)sos_commands/general/hostname$"),
    ("date", r"(?:^|/)date$"),
    ("date", r"(?:^|/)sos_commands/general/date$"),
    ("guest-console", r"(?:^|/)guest-[^/]+\.log(?:\.\d+)?$"),
    ("messages", r"(?:^|/)messages(?:\.\d+|-\d{8,10})?(?:\.gz|\.bz2|\.xz|\.zst)?$"),
    ("vmcore-dmesg", r"(?:^|/)var/crash/[^/]+/vmcore-dmesg\.txt$"),
]
_ROLE_RES = [(role, re.compile(p)) for role, p in ROLE_PATTERNS]
#: the sources stage's role names where they differ from ours
ROLE_ALIASES: dict[str, str] = {"xen-info": "xeninfo", "kern-log": "messages"}
KNOWN_ROLES = frozenset(role for role, _ in ROLE_PATTERNS)
#: a XenServer status report's member paths start with this folder
STATUS_REPORT_RE = re.compile(r"(?:^|/)bug-report-(?P<ts>\d{14})(?:/|\.tar|\.zip|$)")
SOSREPORT_RE = re.compile(r"(?:^|/)sosreport-[^/]*?(?:/|\.tar|$)")
GUEST_CONSOLE_NAME_RE = re.compile(r"(?:^|/)guest-(?P<name>[^/]+?)\.log(?:\.\d+)?$")
#: roles of files that are the guest's own log (candidates for a VM link)
GUEST_LOG_ROLES = frozenset({"guest-console", "messages", "vmcore-dmesg", "dmesg", "console"})
#: lines of a guest syslog sampled for its host name
HOSTNAME_SAMPLE_LINES = 200
_SYSLOG_HOST_RE = re.compile(r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d (?P<host>[^\s:]+) ")


def role_of(src: SourceFile) -> str:
    """The role this module reads a source as: its path first, then what the sources stage said."""
    path = src.path or src.disk_path
    for role, rx in _ROLE_RES:
        if rx.search(path):
            return role
    role = ROLE_ALIASES.get(src.role, src.role)
    return role if role in KNOWN_ROLES else ""


# --------------------------------------------------------------------------------------------
# Collecting
# --------------------------------------------------------------------------------------------
@dataclass
class _Vm:
    uuid: str
    name: str = ""
    ref: str = ""


@dataclass
class _Bundle:
    """What one bundle (one status report or sosreport) said, before it becomes facts."""

    name: str
    facts: list[Fact] = field(default_factory=list)
    host_uuid: str = ""
    host_name: str = ""
    vms: dict[str, _Vm] = field(default_factory=dict)  # uuid → vm
    refs: dict[str, str] = field(default_factory=dict)  # OpaqueRef → uuid
    domids: dict[int, str] = field(default_factory=dict)  # current domid → uuid
    events: list[tuple[SourceFile, xensource.XsEvent]] = field(default_factory=list)
    crashes: list[tuple[SourceFile, xen_info.XenCrash]] = field(default_factory=list)
    case_dir: str = ""
    is_xen_host: bool = False
    hostname: str = ""  # a sosreport's own host (guest side)
    sources: list[SourceFile] = field(default_factory=list)


def _err(src: SourceFile, error_class: str, message: str) -> ErrorRecord:
    return ErrorRecord(
        path=src.display,
        stage="facts",
        error_class=error_class,
        message=f"{src.display}: {message}",
        source_id=src.source_id,
    )


def _text(data: bytes) -> str:
    return data.decode("utf-8", "backslashreplace")


def bundle_facts(
    sources: list[SourceFile],
    read: Callable[[SourceFile], bytes],
    open_stream: Opener | None = None,
) -> tuple[list[Fact], list[ErrorRecord]]:
    """Facts the given sources state, and the problems met while reading them. Never raises.

    Pass every source of one input (a case folder with a status report and the guests' own
    logs beside it): facts are grouped by each source's `bundle`, and guest logs are linked to
    the VMs of any status report among the sources. `open_stream` opens a source as a
    seekable file, capped as `read` caps it: a xensource.log too large to hold (hundreds of
    MiB) is then read in blocks.
    """
    errors: list[ErrorRecord] = []
    bundles: dict[str, _Bundle] = {}
    ordered = sorted(sources, key=lambda s: (s.bundle, s.path, s.members))
    for src in ordered:
        key = _bundle_key(src)
        b = bundles.setdefault(key, _Bundle(key))
        b.sources.append(src)
    for b in bundles.values():
        try:
            _read_bundle(b, read, errors, open_stream)
        except Exception as exc:  # a bug here must not lose the other bundles' facts
            first = b.sources[0]
            errors.append(
                _err(first, "internal-error", f"facts not read: {type(exc).__name__}: {exc}")
            )
    try:
        _link_guests(list(bundles.values()), read, errors)
    except Exception as exc:
        errors.append(
            ErrorRecord(
                "", "facts", "internal-error", f"guest linking failed: {type(exc).__name__}: {exc}"
            )
        )
    facts: list[Fact] = []
    seen: set[tuple[object, ...]] = set()
    for b in bundles.values():
        for f in b.facts:
            where = f.source_path if f.key.startswith("link.") else ""
            k = (f.bundle, f.subject_type, f.subject_id, f.key, f.value, f.time, where)
            if k not in seen:
                seen.add(k)
                facts.append(f)
    return facts, errors


def _bundle_key(src: SourceFile) -> str:
    """Which report's facts a source's are: its bundle's, and within one holding several
    hosts' reports (a XenCenter server status report zip: one `bug-report-<ts>/` folder per
    host) its own host's report's, whose inventory names the host its files speak of."""
    bundle = src.bundle or src.disk_path
    m = STATUS_REPORT_DIR_RE.search(src.path)
    return f"{bundle}!{src.path[: m.end()]}" if m else bundle


def _read(
    src: SourceFile, read: Callable[[SourceFile], bytes], errors: list[ErrorRecord]
) -> bytes | None:
    try:
        data = read(src)
    except Exception as exc:
        errors.append(
            _err(src, "unreadable", f"could not be read for facts: {type(exc).__name__}: {exc}")
        )
        return None
    if not data:
        errors.append(_err(src, "empty", "is empty: no facts"))
        return None
    return data


def _read_bundle(
    b: _Bundle,
    read: Callable[[SourceFile], bytes],
    errors: list[ErrorRecord],
    open_stream: Opener | None = None,
) -> None:
    by_role: dict[str, list[SourceFile]] = {}
    for src in b.sources:
        role = role_of(src)
        if role:
            by_role.setdefault(role, []).append(src)
    first = b.sources[0]
    loc = (first.bundle or first.disk_path) if not first.members else first.disk_path
    b.case_dir = os.path.dirname(os.path.abspath(first.disk_path if first.members else loc))
    # this host's identity first, so the other files' facts can name it
    for src in by_role.get("inventory", []):
        data = _read(src, read, errors)
        if data is not None:
            _inventory(b, src, data, errors)
    for src in by_role.get("xapi-db", []):
        data = _read(src, read, errors)
        if data is not None:
            _xapi_db(b, src, data, errors)
    for role in ("xl-info", "physinfo", "xeninfo"):
        for src in by_role.get(role, []):
            data = _read(src, read, errors)
            if data is not None:
                _xen_info(b, src, role, data, errors)
    for src in by_role.get("list-domains", []):
        data = _read(src, read, errors)
        if data is not None:
            for d in xen_info.read_list_domains(_text(data)):
                if d.domid != 0 and d.uuid in b.vms:
                    b.domids.setdefault(d.domid, d.uuid)
    for src in by_role.get("xenstore", []):
        data = _read(src, read, errors)
        if data is not None:
            for d in xen_info.read_xenstore(_text(data)):
                b.domids.setdefault(d.domid, d.uuid)
                if d.uuid not in b.vms and d.name:
                    b.vms[d.uuid] = _Vm(d.uuid, d.name)
    for src in by_role.get("xensource", []):
        if open_stream is not None and not 0 <= src.size < xensource.STREAM_BYTES:
            _xensource_streamed(b, src, open_stream, errors)
            continue
        data = _read(src, read, errors)
        if data is not None:
            _xensource(b, src, data, errors)
    for role in ("hypervisor-log", "xen-dmesg"):
        for src in by_role.get(role, []):
            data = _read(src, read, errors)
            if data is not None:
                b.crashes.extend((src, c) for c in xen_info.read_xen_crashes(_text(data)))
    _sos(b, by_role, read, errors)
    _resolve_events(b)
    for f in b.facts:  # facts read before the database named this host
        if f.subject_type == "host" and f.subject_id == b.host_uuid and not f.subject_name:
            f.subject_name = b.host_name


def _host_fact(
    b: _Bundle,
    src: SourceFile,
    key: str,
    value: str,
    lineno: int | None,
    time: datetime | None = None,
) -> None:
    b.facts.append(
        Fact(
            bundle=src.bundle,
            subject_type="host",
            subject_id=b.host_uuid or b.host_name or b.hostname or src.bundle,
            subject_name=b.host_name or b.hostname,
            key=key,
            value=value,
            time=time,
            source_path=src.display,
            lineno=lineno,
        )
    )


def _vm_fact(
    b: _Bundle,
    src: SourceFile,
    vm: _Vm,
    key: str,
    value: str,
    lineno: int | None,
    time: datetime | None = None,
) -> None:
    b.facts.append(
        Fact(
            bundle=src.bundle,
            subject_type="vm",
            subject_id=vm.uuid,
            subject_name=vm.name,
            key=key,
            value=value,
            time=time,
            source_path=src.display,
            lineno=lineno,
        )
    )


# --------------------------------------------------------------------------------------------
# XenServer files
# --------------------------------------------------------------------------------------------
#: inventory keys copied as host facts
INVENTORY_KEYS: dict[str, str] = {
    "INSTALLATION_UUID": "host.uuid",
    "PRODUCT_VERSION": "host.product_version",
    "PRODUCT_BRAND": "host.product_brand",
    "BUILD_NUMBER": "host.build_number",
    "XEN_VERSION": "host.xen_version",
    "KERNEL_VERSION": "host.dom0_kernel_release",
}


def _inventory(b: _Bundle, src: SourceFile, data: bytes, errors: list[ErrorRecord]) -> None:
    inv = xen_info.read_inventory(_text(data))
    if "INSTALLATION_UUID" not in inv:
        errors.append(
            _err(src, "unknown-layout", "no INSTALLATION_UUID: not a xensource-inventory")
        )
        return
    b.is_xen_host = True
    b.host_uuid = inv["INSTALLATION_UUID"].value
    for k, key in INVENTORY_KEYS.items():
        if k in inv:
            _host_fact(b, src, key, inv[k].value, inv[k].lineno)


def _xapi_db(b: _Bundle, src: SourceFile, data: bytes, errors: list[ErrorRecord]) -> None:
    db = xapi_db.read_db(data)
    if db.error:
        kind = "unknown-layout" if db.error.startswith("not a xapi") else "malformed-xml"
        errors.append(_err(src, kind, db.error))
    view = xapi_db.interpret(db)
    for p in view.problems:
        errors.append(_err(src, "bad-value", p))
    if not view.vms and not view.hosts:
        if not db.error:
            errors.append(_err(src, "unknown-layout", "no VM or host rows: not a xapi database"))
        return
    b.is_xen_host = True
    if not b.host_uuid:
        # 5.x manifests still named the installation (this host)
        b.host_uuid = db.manifest.get("installation_uuid", "")
    hosts = view.host_by_ref()
    for h in view.hosts:
        if h.uuid == b.host_uuid:
            b.host_name = h.name
    for h in view.hosts:
        sub = _Bundle(b.name, host_uuid=h.uuid, host_name=h.name)
        _host_fact(sub, src, "host.name_label", h.name, h.lineno)
        for col, key in xapi_db.HOST_COLUMNS.items():
            if col != "name__label" and h.attrs.get(col):
                _host_fact(sub, src, key, h.attrs[col], h.lineno)
        if h.memory_total is not None:
            _host_fact(sub, src, "host.memory_total_bytes", str(h.memory_total), h.metrics_lineno)
        if h.uuid == b.host_uuid:
            _host_fact(sub, src, "host.is_bundle_host", "true", h.lineno)
        b.facts.extend(sub.facts)
    for v in view.vms:
        vm = _Vm(v.uuid, v.name, v.ref)
        b.vms[v.uuid] = vm
        if v.ref:
            b.refs[v.ref] = v.uuid
        _vm_fact(b, src, vm, "vm.uuid", v.uuid, v.lineno)
        for col, key in xapi_db.VM_COLUMNS.items():
            if v.attrs.get(col, "") != "":
                _vm_fact(b, src, vm, key, v.attrs[col], v.lineno)
        domid = v.attrs.get("domid", "")
        if v.attrs.get("power_state") in ("Running", "Paused") and domid.isdigit():
            b.domids[int(domid)] = v.uuid
        resident = hosts.get(v.attrs.get("resident_on", ""))
        if resident is not None:
            _vm_fact(b, src, vm, "vm.resident_on", resident.uuid, v.lineno)
            if resident.name:
                _vm_fact(b, src, vm, "vm.resident_on_name", resident.name, v.lineno)
        for k, val in sorted(v.other_config.items()):
            if not xapi_db.SECRET_KEY_RE.search(k):
                _vm_fact(b, src, vm, f"vm.other_config.{k}", val, v.lineno)
        for k in xapi_db.OS_VERSION_KEYS:
            if k in v.os_version:
                _vm_fact(b, src, vm, f"vm.os_version.{k}", v.os_version[k], v.os_lineno)


def _xen_info(
    b: _Bundle, src: SourceFile, role: str, data: bytes, errors: list[ErrorRecord]
) -> None:
    info = xen_info.read_xen_info(_text(data), role)
    if info is None:
        errors.append(_err(src, "unknown-layout", f"no Xen info keys: not a {role} output"))
        return
    b.is_xen_host = True
    if info.memory_total_bytes:
        _host_fact(
            b,
            src,
            "host.memory_total_bytes",
            info.memory_total_bytes.value,
            info.memory_total_bytes.lineno,
        )
    if info.memory_free_bytes:
        _host_fact(
            b,
            src,
            "host.memory_free_bytes",
            info.memory_free_bytes.value,
            info.memory_free_bytes.lineno,
        )
    if info.xen_version:
        _host_fact(b, src, "host.xen_version", info.xen_version.value, info.xen_version.lineno)
    if info.nr_cpus:
        _host_fact(b, src, "host.nr_cpus", info.nr_cpus.value, info.nr_cpus.lineno)


def _xensource(b: _Bundle, src: SourceFile, data: bytes, errors: list[ErrorRecord]) -> None:
    parsed = xensource.parse_for_facts(src, data)
    _xensource_events(b, src, parsed, parsed.table.num_rows, data.endswith(b"\n"), errors)


def _xensource_streamed(
    b: _Bundle, src: SourceFile, open_stream: Opener, errors: list[ErrorRecord]
) -> None:
    """`_xensource` of a log read in blocks (or, compressed, of a size not known before it is
    read: whole when it turns out small)."""
    try:
        with open_stream(src) as fh:
            if src.size < 0:
                head = fh.read(xensource.STREAM_BYTES + 1)
                if not head:
                    errors.append(_err(src, "empty", "is empty: no facts"))
                    return
                if len(head) <= xensource.STREAM_BYTES:
                    _xensource(b, src, head, errors)
                    return
                del head
                fh.seek(0)
            parsed, totals = xensource.read_for_facts(fh, src)
    except Exception as exc:
        errors.append(
            _err(src, "unreadable", f"could not be read for facts: {type(exc).__name__}: {exc}")
        )
        return
    _xensource_events(b, src, parsed, totals.lines, totals.ends_with_newline, errors)


def _xensource_events(
    b: _Bundle,
    src: SourceFile,
    parsed: xensource.XsLines,
    n: int,
    ends_with_newline: bool,
    errors: list[ErrorRecord],
) -> None:
    """The VM events of a parsed xensource.log (`n` lines), and what is wrong with it."""
    if parsed.matched == 0:
        errors.append(
            _err(src, "unknown-layout", f"none of its {n} lines has a xensource.log layout")
        )
        return
    b.is_xen_host = True
    if not ends_with_newline:
        errors.append(_err(src, "truncated", f"ends in the middle of line {n}: the log is cut"))
    unknown = n - parsed.matched
    if unknown > max(10, n // 2):
        errors.append(
            _err(src, "partly-unknown-layout", f"{unknown} of {n} lines have no known layout")
        )
    for ev in xensource.extract_events(parsed):
        b.events.append((src, ev))


# --------------------------------------------------------------------------------------------
# sosreport and kdump
# --------------------------------------------------------------------------------------------
def _sos(
    b: _Bundle,
    by_role: dict[str, list[SourceFile]],
    read: Callable[[SourceFile], bytes],
    errors: list[ErrorRecord],
) -> None:
    for src in by_role.get("hostname", []):
        data = _read(src, read, errors)
        v = sos_facts.read_hostname(_text(data)) if data is not None else None
        if v:
            b.hostname = b.hostname or v.value
            _host_fact(b, src, "host.hostname", v.value, v.lineno)
        elif data is not None:
            errors.append(_err(src, "unknown-layout", "no host name in it"))
    for src in by_role.get("uname", []):
        data = _read(src, read, errors)
        u = sos_facts.read_uname(_text(data)) if data is not None else None
        if u is None:
            if data is not None:
                errors.append(_err(src, "unknown-layout", "not `uname -a` output"))
            continue
        b.hostname = b.hostname or u.nodename.value
        _host_fact(b, src, "host.hostname", u.nodename.value, u.nodename.lineno)
        _host_fact(b, src, "host.kernel_release", u.release.value, u.release.lineno)
        if u.arch:
            _host_fact(b, src, "host.arch", u.arch.value, u.arch.lineno)
    for src in by_role.get("installed-rpms", []):
        data = _read(src, read, errors)
        if data is None:
            continue
        for p in sos_facts.read_installed_kernels(_text(data)):
            _host_fact(b, src, "host.kernel_installed", p.nvra, p.lineno, p.installed)
    for src in by_role.get("date", []):
        data = _read(src, read, errors)
        got = sos_facts.read_date(_text(data)) if data is not None else None
        if got:
            _host_fact(b, src, "host.date", got[0].value, got[0].lineno, got[1])
    # one fact per kdump directory, cited from the same file whichever of its files asks
    # (each loose file is a unit of its own, with the directory's other files as context)
    in_dirs: dict[str, list[tuple[SourceFile, tuple[str, str, datetime | None]]]] = {}
    for src in b.sources:
        # a loose file by where it lies: its path is relative to the folder named, which may
        # be the kdump directory's own or one below /var/crash
        k = sos_facts.kdump_crash_time(src.path) or (
            None if src.members else sos_facts.kdump_crash_time(src.disk_path)
        )
        if k:
            in_dirs.setdefault(k[0], []).append((src, k))
    for found in in_dirs.values():
        src, k = min(found, key=lambda f: (_kdump_file_rank(f[0]), f[0].path or f[0].disk_path))
        _host_fact(b, src, "host.kdump_crash", k[0], None, k[2])


def _kdump_file_rank(src: SourceFile) -> int:
    """The file a kdump directory's crash is cited from: its kernel log first."""
    name = os.path.basename(src.path or src.disk_path)
    return 0 if name == "vmcore-dmesg.txt" else 1 if name.startswith("vmcore") else 2


# --------------------------------------------------------------------------------------------
# Events → facts
# --------------------------------------------------------------------------------------------
def _resolve_events(b: _Bundle) -> None:
    """Name the VM of each event: uuid as logged, else its OpaqueRef or domid via the database."""
    domid_timeline: list[tuple[datetime | None, int, str]] = []
    domid_named: list[tuple[datetime | None, int, str]] = []  # an event's domid, by its VM's
    for src, ev in b.events:
        uuid = ev.vm_uuid or b.refs.get(ev.vm_ref, "")
        if not uuid and ev.vm_ref:
            uuid = ev.vm_ref  # no database to map it: keep the ref, which is still an identity
        if not uuid and ev.domid is not None:
            uuid = b.domids.get(ev.domid, "")
        if not uuid:
            continue
        vm = b.vms.get(uuid) or _Vm(uuid, ev.vm_name)
        if not vm.name and ev.vm_name:
            vm = _Vm(uuid, ev.vm_name, vm.ref)
        if ev.key == "vm.event.domid":
            domid_timeline.append((ev.time, int(ev.value), uuid))
        elif ev.domid is not None and (ev.vm_uuid or ev.vm_ref in b.refs):
            domid_named.append((ev.time, ev.domid, uuid))
        _vm_fact(b, src, vm, ev.key, ev.value, ev.lineno, ev.time)
    for src, c in b.crashes:
        uuid = (
            _domid_at(domid_timeline, c.domid, c.time)
            or _domid_named_after(domid_named, c.domid, c.time)
            or b.domids.get(c.domid, "")
        )
        vm = b.vms.get(uuid) or _Vm(uuid or f"domid:{c.domid}")
        _vm_fact(b, src, vm, "vm.event.crash", f"killed by Xen (domid {c.domid})", c.lineno, c.time)
    _last_migrations(b)


def _domid_at(
    timeline: list[tuple[datetime | None, int, str]], domid: int, when: datetime | None
) -> str:
    best = ""
    for t, d, uuid in timeline:
        if d == domid and (when is None or t is None or t <= when):
            best = uuid
    return best


#: how soon after Xen kills a domain xapi's own line about it (`VM OpaqueRef:… (domid 5)
#: domain has crashed`) is taken to name the same domain
DOMID_NAMED_WITHIN = timedelta(minutes=10)


def _domid_named_after(
    named: list[tuple[datetime | None, int, str]], domid: int, when: datetime | None
) -> str:
    """The VM of the first event naming `domid` at or soon after `when`: xapi logs a domain's
    crash after Xen's `(XEN) Domain N crashed`, with the VM's OpaqueRef and that domid (5.x,
    6.0), where no `Created domain` line before it is left in the log to say whose it was."""
    for t, d, uuid in sorted(named, key=lambda x: (x[0] is None, x[0] or datetime.min)):
        if d != domid:
            continue
        if when is None or t is None or when <= t <= when + DOMID_NAMED_WITHIN:
            return uuid
    return ""


def _last_migrations(b: _Bundle) -> None:
    """For each crash, the VM's last migration before it: the question the migration issues ask."""
    migrations: dict[str, list[Fact]] = {}
    for f in b.facts:
        if f.key == "vm.event.migrate" and f.time is not None:
            migrations.setdefault(f.subject_id, []).append(f)
    derived = []
    for f in b.facts:
        if f.key != "vm.event.crash" or f.time is None:
            continue
        before = [
            m for m in migrations.get(f.subject_id, []) if m.time is not None and m.time <= f.time
        ]
        if not before:
            continue
        last = max(before, key=lambda m: m.time or datetime.min)
        assert last.time is not None
        gap = int((f.time - last.time).total_seconds())
        derived.append(
            Fact(
                bundle=f.bundle,
                subject_type="vm",
                subject_id=f.subject_id,
                subject_name=f.subject_name,
                key="vm.crash.last_migrate",
                value=f"{last.value} at {last.time.isoformat(sep=' ')}, {gap} s before the crash",
                time=f.time,
                source_path=last.source_path,
                lineno=last.lineno,
            )
        )
    b.facts.extend(derived)


# --------------------------------------------------------------------------------------------
# Linking guest logs to VMs
# --------------------------------------------------------------------------------------------
def _guest_name(src: SourceFile) -> str:
    if src.vm_name:
        return src.vm_name
    m = GUEST_CONSOLE_NAME_RE.search(src.path or src.disk_path)
    return m.group("name") if m else ""


def _in_status_report(src: SourceFile) -> bool:
    return src.layout == "status-report" or bool(
        STATUS_REPORT_RE.search(src.bundle + "/" + src.path)
    )


def _syslog_hostname(data: bytes) -> str:
    hosts: Counter[str] = Counter()
    for line in data[: 256 * 1024].decode("utf-8", "replace").splitlines()[:HOSTNAME_SAMPLE_LINES]:
        m = _SYSLOG_HOST_RE.match(line)
        if m:
            hosts[m.group("host")] += 1
    return hosts.most_common(1)[0][0] if hosts else ""


def _candidates(hosts: Iterable[_Bundle], name: str, by_host: bool) -> list[tuple[_Bundle, _Vm]]:
    """VMs whose name_label is `name`, or whose uuid is (a console log named by the domain's
    uuid rather than its name); a host name also matches on its first label (web07.x → web07)."""
    out = []
    names = {name.lower()}
    if by_host and "." in name:
        names.add(name.split(".", 1)[0].lower())
    for hb in hosts:
        for vm in hb.vms.values():
            if (vm.name and vm.name.lower() in names) or vm.uuid.lower() == name.lower():
                out.append((hb, vm))
    return out


def _link_guests(
    bundles: list[_Bundle], read: Callable[[SourceFile], bytes], errors: list[ErrorRecord]
) -> None:
    hosts = [b for b in bundles if b.vms]
    if not hosts:
        return  # no VM to link a guest log to: nothing to read (a folder of plain logs)
    for b in bundles:
        if b in hosts and b.is_xen_host:
            continue  # a status report's own logs are dom0's, not a guest's
        groups: dict[tuple[str, str], list[SourceFile]] = {}
        for src in b.sources:
            if _in_status_report(src):
                continue
            role = role_of(src) or src.role
            name, method = "", ""
            if role == "guest-console" or GUEST_CONSOLE_NAME_RE.search(src.path or src.disk_path):
                name, method = _guest_name(src), "console-file-name"
            elif b.hostname and role in GUEST_LOG_ROLES:
                name, method = b.hostname, "sos-hostname"
            elif role == "messages" or src.kind == KIND_SYSLOG:
                # one read per folder of rotated files: they share the host name
                folder = os.path.dirname(src.path or src.disk_path)
                groups.setdefault((folder, "syslog"), []).append(src)
                continue
            if name:
                _link(src, [src], name, method, hosts, errors)
        for (_folder, _), group in groups.items():
            newest = min(group, key=lambda s: (s.rotation, s.path))
            data = _read(newest, read, errors)
            host = _syslog_hostname(data) if data else ""
            if host:
                _link(newest, group, host, "syslog-hostname", hosts, errors)


def _within(path: str, folder: str) -> bool:
    return bool(folder) and (path == folder or path.startswith(folder.rstrip(os.sep) + os.sep))


def _link(
    src: SourceFile,
    group: list[SourceFile],
    name: str,
    method: str,
    hosts: list[_Bundle],
    errors: list[ErrorRecord],
) -> None:
    if not hosts:
        return  # nothing to link against: not a problem worth a row
    # only a status report whose case folder holds the guest log may claim it: the same VM name
    # in another customer's case is a coincidence, not evidence
    here = os.path.dirname(os.path.abspath(src.disk_path))
    hosts = [hb for hb in hosts if _within(here, hb.case_dir)]
    if not hosts:
        return
    cands = _candidates(hosts, name, by_host=method != "console-file-name")
    uuids = {vm.uuid for _, vm in cands}
    if len(uuids) > 1:
        nearest = max(len(hb.case_dir) for hb, _ in cands)
        near = [(hb, vm) for hb, vm in cands if len(hb.case_dir) == nearest]
        if len({vm.uuid for _, vm in near}) == 1:
            cands = near
        else:
            shown = ", ".join(sorted(uuids))
            errors.append(
                _err(
                    src,
                    "guest-link-ambiguous",
                    f"guest log names {name!r}, which matches several VMs ({shown}): not linked",
                )
            )
            return
    if not cands:
        known = (
            ", ".join(sorted({vm.name for hb in hosts for vm in hb.vms.values() if vm.name}))
            or "none"
        )
        errors.append(
            _err(
                src,
                "guest-not-linked",
                f"guest {name!r} ({method}) matches no VM of the status report (VMs: {known}): not linked",
            )
        )
        return
    hb, vm = cands[0]
    for s in group:
        for key, value in (("link.source", s.display), ("link.method", method)):
            hb.facts.append(
                Fact(
                    bundle=hb.name if not hb.sources else hb.sources[0].bundle,
                    subject_type="vm",
                    subject_id=vm.uuid,
                    subject_name=vm.name,
                    key=key,
                    value=value,
                    source_path=s.display,
                    lineno=None,
                )
            )


def documented_keys() -> list[dict[str, str]]:
    """The key list in fact_keys.yaml (key, subject, unit, meaning)."""
    from importlib import resources

    import yaml

    text = resources.files("triage.parsers").joinpath("fact_keys.yaml").read_text("utf-8")
    return list(yaml.safe_load(text))
