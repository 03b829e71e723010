"""The xapi database (`xapi-db.xml`) of a XenServer status report: hosts, VMs and their flags.

The file is xapi's state.db: `<database><manifest/><table name=…><row ref=… uuid=… …/></table>…`
with nested field names joined by `__` and maps/sets written as S-expressions whose spaces were
then "protected" (knowledge/xenserver-status-report.md §2). Everything after the XML declaration
is a single line that can run to tens of MiB, so rows are streamed through expat (which also
gives the line number a fact cites) and only the tables we read are kept.
"""

from __future__ import annotations

import re
import xml.parsers.expat
from dataclasses import dataclass, field

#: tables whose rows we keep; the rest of the pool's state is skipped while streaming
TABLES = frozenset({"VM", "host", "host_metrics", "VM_guest_metrics", "pool"})

#: VM columns turned into facts: column → (key, meaning of the raw value)
VM_COLUMNS: dict[str, str] = {
    "name__label": "vm.name_label",
    "name__description": "vm.name_description",
    "power_state": "vm.power_state",
    "domid": "vm.domid",
    "actions__after_crash": "vm.actions_after_crash",
    "memory__static_max": "vm.memory_static_max_bytes",
}
#: host columns turned into facts
HOST_COLUMNS: dict[str, str] = {
    "name__label": "host.name_label",
    "hostname": "host.hostname",
    "address": "host.address",
}
#: VM_guest_metrics.os_version keys turned into facts (vm.os_version.<key>)
OS_VERSION_KEYS = ("name", "distro", "major", "minor", "uname")
#: other_config keys never copied into facts (bugtool masks them anyway)
SECRET_KEY_RE = re.compile(r"password|secret|token", re.IGNORECASE)


@dataclass
class Row:
    table: str
    attrs: dict[str, str]
    lineno: int


@dataclass
class XapiDb:
    manifest: dict[str, str] = field(default_factory=dict)
    rows: dict[str, list[Row]] = field(default_factory=dict)
    error: str = ""  # set when the XML is malformed; rows read before the damage are kept

    def table(self, name: str) -> list[Row]:
        return self.rows.get(name, [])


class _Doctype(Exception):
    pass


def read_db(data: bytes) -> XapiDb:
    """Stream the rows of the tables we need; a malformed file gives the rows before the damage.

    A DOCTYPE is refused outright: xapi never writes one, and refusing it closes the door to
    entity-expansion tricks in a hostile bundle.
    """
    db = XapiDb()
    table: list[str] = [""]
    parser = xml.parsers.expat.ParserCreate()

    def start(name: str, attrs: dict[str, str]) -> None:
        if name == "table":
            table[0] = attrs.get("name", "")
        elif name == "row" and table[0] in TABLES:
            db.rows.setdefault(table[0], []).append(Row(table[0], attrs, parser.CurrentLineNumber))
        elif name == "pair":
            db.manifest[attrs.get("key", "")] = attrs.get("value", "")

    def doctype(*_args: object) -> None:
        raise _Doctype

    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = doctype
    try:
        parser.Parse(data, True)
    except _Doctype:
        db.error = "has a DOCTYPE, which xapi never writes: refused"
    except xml.parsers.expat.ExpatError as exc:
        db.error = f"malformed XML at line {exc.lineno} column {exc.offset}: {exc}"
    if not db.error and "database" not in _root_name(data):
        db.error = "not a xapi database (no <database> element)"
    return db


def _root_name(data: bytes) -> str:
    head = data[:4096].decode("utf-8", "replace")
    m = re.search(r"<([A-Za-z_][\w.-]*)[\s>/]", re.sub(r"<\?.*?\?>", "", head, flags=re.S))
    return m.group(1) if m else ""


# --------------------------------------------------------------------------------------------
# Value decoding
# --------------------------------------------------------------------------------------------
_UNPROTECT = {"_": "  ", ".": " ", "t": "\t", "n": "\n", "r": "\r", "%": "%"}


def unprotect(value: str) -> str:
    """Undo xapi's Xml_spaces.protect, accepting both the 2009–2017 and the 2017+ encodings."""
    if "%" not in value:
        return value
    return re.sub(r"%(.)", lambda m: _UNPROTECT.get(m.group(1), m.group(0)), value)


_TOKEN_RE = re.compile(r"\s*(?:(\()|(\))|'((?:[^'\\]|\\.)*)')", re.S)


def parse_sexpr(text: str) -> object:
    """`(('k' 'v') ('k2' 'v2'))` → nested lists of strings; raises ValueError when malformed."""
    stack: list[list[object]] = [[]]
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            raise ValueError(f"unexpected character at {pos}: {text[pos : pos + 20]!r}")
        pos = m.end()
        if m.group(1):
            stack.append([])
        elif m.group(2):
            if len(stack) < 2:
                raise ValueError("unbalanced ')'")
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(re.sub(r"\\(.)", r"\1", m.group(3)))
    if len(stack) != 1 or len(stack[0]) != 1:
        raise ValueError("unbalanced S-expression")
    return stack[0][0]


def parse_map(raw: str) -> dict[str, str]:
    """A xapi map column → dict; an empty or undecodable value gives {} (the caller reports)."""
    value = unprotect(raw)
    if not value.strip() or value.strip() == "()":
        return {}
    tree = parse_sexpr(value)
    out: dict[str, str] = {}
    if isinstance(tree, list):
        for pair in tree:
            if isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair):
                out[str(pair[0])] = str(pair[1])
            else:
                raise ValueError(f"map entry is not a pair: {pair!r}")
    return out


# --------------------------------------------------------------------------------------------
# Interpretation
# --------------------------------------------------------------------------------------------
@dataclass
class VmRow:
    ref: str
    uuid: str
    name: str
    lineno: int
    attrs: dict[str, str]
    other_config: dict[str, str] = field(default_factory=dict)
    os_version: dict[str, str] = field(default_factory=dict)
    os_lineno: int | None = None


@dataclass
class HostRow:
    ref: str
    uuid: str
    name: str
    lineno: int
    attrs: dict[str, str]
    memory_total: int | None = None
    metrics_lineno: int | None = None


@dataclass
class DbView:
    """The guests and hosts the database knows, with decoding problems listed, not raised."""

    vms: list[VmRow] = field(default_factory=list)
    hosts: list[HostRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def vm_by_ref(self) -> dict[str, VmRow]:
        return {v.ref: v for v in self.vms if v.ref}

    def host_by_ref(self) -> dict[str, HostRow]:
        return {h.ref: h for h in self.hosts if h.ref}


def is_guest(attrs: dict[str, str]) -> bool:
    """Templates, snapshots and the control domain are not guests anyone runs."""
    return not any(
        attrs.get(col, "false") == "true"
        for col in ("is_a_template", "is_a_snapshot", "is_control_domain")
    )


def interpret(db: XapiDb) -> DbView:
    view = DbView()
    gm = {r.attrs.get("ref", ""): r for r in db.table("VM_guest_metrics")}
    hm = {r.attrs.get("ref", ""): r for r in db.table("host_metrics")}
    for r in db.table("VM"):
        a = {k: unprotect(v) if k != "other_config" else v for k, v in r.attrs.items()}
        if not is_guest(a):
            continue
        vm = VmRow(a.get("ref", ""), a.get("uuid", ""), a.get("name__label", ""), r.lineno, a)
        try:
            vm.other_config = parse_map(r.attrs.get("other_config", ""))
        except ValueError as exc:
            view.problems.append(f"VM {vm.uuid}: other_config not decodable ({exc})")
        g = gm.get(a.get("guest_metrics", ""))
        if g is not None:
            try:
                vm.os_version = parse_map(g.attrs.get("os_version", ""))
                vm.os_lineno = g.lineno
            except ValueError as exc:
                view.problems.append(f"VM {vm.uuid}: os_version not decodable ({exc})")
        view.vms.append(vm)
    for r in db.table("host"):
        a = {k: unprotect(v) for k, v in r.attrs.items()}
        host = HostRow(a.get("ref", ""), a.get("uuid", ""), a.get("name__label", ""), r.lineno, a)
        m = hm.get(a.get("metrics", ""))
        if m is not None and m.attrs.get("memory__total", "").isdigit():
            host.memory_total = int(m.attrs["memory__total"])
            host.metrics_lineno = m.lineno
        view.hosts.append(host)
    return view
