"""The records that flow between stages, and the Arrow schemas of the dataset tables.

Every stage speaks in these types so that stages can be developed, tested and fanned out
(process pool, Dask) independently: a `SourceFile` is a picklable locator rather than an open
handle, and the line-level data travels as Arrow tables because a log can hold tens of millions
of lines and per-line Python objects would dominate the run time.
"""

from __future__ import annotations

import functools
import hashlib
import posixpath
import threading
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

SCHEMA_VERSION = 1
#: the dataset's tables, in order (their schemas: `TABLES`, built on first use)
TABLE_NAMES = ("sources", "lines", "boots", "crashes", "facts", "findings", "errors")

# --------------------------------------------------------------------------------------------
# Source kinds (detected from content, see triage.sources.detect)
# --------------------------------------------------------------------------------------------
KIND_CONSOLE = "console"  # serial / xenconsoled guest console capture
KIND_DMESG = "dmesg"  # dmesg output: plain, [ts], <N>, -T, iso
KIND_SYSLOG = "syslog"  # RFC 3164 file format
KIND_SYSLOG_RFC3339 = "syslog-rfc3339"  # rsyslog RSYSLOG_FileFormat / short-iso journal
KIND_JOURNAL = "journal"  # journalctl short / short-monotonic text
KIND_VMCORE_DMESG = "vmcore-dmesg"  # vmcore-dmesg.txt, or a log carved out of a dump
KIND_CRASH_TOOL = "crash-tool"  # output pasted from the crash utility
KIND_XENSOURCE = "xensource"  # xapi's xensource.log (all eras)
KIND_DUMP = "dump"  # binary crash dump (ELF vmcore, kdump-compressed, flattened, xc_core)
KIND_CONFIG = "config"  # a bundle file read for facts only (xapi db, xl info, inventory, rpms)
KIND_UNKNOWN = "unknown"

LOG_KINDS = frozenset(
    {
        KIND_CONSOLE,
        KIND_DMESG,
        KIND_SYSLOG,
        KIND_SYSLOG_RFC3339,
        KIND_JOURNAL,
        KIND_VMCORE_DMESG,
        KIND_CRASH_TOOL,
        KIND_XENSOURCE,
    }
)

# Line flags (bit field in lines.flags)
FLAG_TRUNCATED = 1  # line longer than the limit: text capped
FLAG_INVALID_UTF8 = 2  # bytes that are not UTF-8: decoded with surrogateescape
FLAG_CONTROL_STRIPPED = 4  # ANSI escapes / NULs removed from the text
FLAG_CONTINUATION = 8  # line judged to continue the previous record (no prefix of its own)

#: the UTF-8 byte order mark (U+FEFF). Windows writes it at the start of a text file (Notepad's
#: "UTF-8 with BOM", PowerShell 5's `Out-File -Encoding utf8`), and a file so saved and added to
#: another (`cat`, `type a b > c`) starts a line with it: it says how the file is encoded, and is
#: no part of the line's text, as a prefix is not (the line's offset still counts its bytes).
UTF8_BOM = b"\xef\xbb\xbf"


def stable_id(*parts: str, length: int = 16) -> str:
    """A short id that is the same on every run and every machine for the same parts."""
    h = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogateescape"))
    return h.hexdigest()[:length]


# --------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SourceFile:
    """Where one input file lives, as a chain that can be reopened in any process.

    `disk_path` is a real file; `members` is the chain of names inside nested archives or
    compressed wrappers ("" for a single-file decompression step). Keeping a locator instead of
    an open handle is what lets batch executors ship sources to other processes.
    """

    disk_path: str
    members: tuple[str, ...] = ()
    bundle: str = ""  # the input the user named that holds this file (archive or folder)
    path: str = ""  # the path inside the bundle, "/"-separated, no leading "/"
    size: int = -1  # uncompressed size when known
    mtime: float | None = None
    kind: str = KIND_UNKNOWN
    layout: str = ""  # sosreport | status-report | kdump | xen-console | folder | file
    role: str = ""  # messages | dmesg | xensource | guest-console | vmcore-dmesg | xapi-db | ...
    rotation: int = 0  # 0 newest; higher is older (messages.1, messages-2024...)
    vm_name: str = ""  # from guest-<name>.log
    truncated: bool = False  # sos cut it to its tail, or a cap was hit
    parent_id: str = ""  # for a log carved from a dump: the dump's source_id
    year_hint: int | None = None  # for syslog without year: bundle date or rotation name
    #: the date (ISO) `year_hint` is the year of, when known: the log's last line is of no later
    #: date, up to a week later (parsers.years.end_shift)
    year_from: str = ""
    depth: int = 0  # archive nesting depth

    @functools.cached_property
    def source_id(self) -> str:
        """Kept once worked out (a sha256 each time otherwise): a source's id is asked for at
        every stage, five times a file of a folder of ten thousand. The fields it hashes never
        change (frozen); `replace` makes a new locator, which works its own out."""
        return stable_id(self.bundle, self.path, *self.members, self.parent_id)

    @property
    def display(self) -> str:
        """`bundle!member` as engineers write it; a loose file is just its path, compressed
        or not (its members are all decompression steps, "")."""
        if not any(self.members):  # a loose file, possibly found inside a folder the user named
            if self.path and self.bundle and self.path != self.bundle:
                return posixpath.join(self.bundle, self.path)
            return self.path or self.bundle or self.disk_path
        if self.path and self.bundle and self.path != self.bundle:
            return f"{self.bundle}!{self.path}"
        return self.path or self.bundle or self.disk_path


# --------------------------------------------------------------------------------------------
# Records produced by the stages
# --------------------------------------------------------------------------------------------
@dataclass
class ErrorRecord:
    path: str
    stage: str  # sources | parse | kernel | crashes | dumps | facts | match | store | limits
    error_class: str  # short machine name: truncated-gzip, path-traversal, zip-bomb, ...
    message: str  # one line for a human
    source_id: str = ""


@dataclass
class Boot:
    boot_id: str
    source_id: str
    index: int
    first_line: int
    last_line: int
    release: str = ""
    # rhel | centos | oracle | scientific | rocky | almalinux | fedora | amazon | sles | debian |
    # ubuntu | upstream
    distro: str = ""
    distro_release: str = ""  # "4.7", "5.3" ...
    flavour: str = ""  # xenU | xen | smp | PAE | hugemem | largesmp | ...
    vendor: str = ""  # citrix | centos-plus | oracle | ""
    arch: str = ""
    hostname: str = ""
    banner: str = ""
    start_time: datetime | None = None


@dataclass
class Frame:
    function: str
    offset: int | None = None
    size: int | None = None
    module: str = ""
    reliable: bool = True
    address: str = ""


@dataclass
class SysrqTask:
    comm: str
    pid: int | None
    state: str  # R, S, D, T, Z, X or the word the kernel printed
    frames: list[Frame] = field(default_factory=list)


@dataclass
class Crash:
    crash_id: str
    source_id: str
    boot_id: str
    first_line: int
    last_line: int
    record: str = "crash"  # crash | event (OOM kill, page allocation failure) | sysrq
    type: str = ""  # HANG, WARNING, LOCKDEP, MEMORY_SAFETY, DoS, KASAN, UBSAN, PANIC, ...
    title: str = ""
    alt_titles: list[str] = field(default_factory=list)
    corrupted: bool = False
    corrupted_reason: str = ""
    panicked: bool = False
    timestamp: datetime | None = None
    mono: float | None = None
    release: str = ""
    taint: str = ""
    cpu: int | None = None
    pid: int | None = None
    comm: str = ""
    function: str = ""  # the faulting / guilty function
    module: str = ""
    frames: list[Frame] = field(default_factory=list)
    tasks: list[SysrqTask] = field(default_factory=list)  # SysRq Show State dumps
    fingerprint: str = ""
    report: str = ""


@dataclass
class Fact:
    bundle: str
    subject_type: str  # host | vm
    subject_id: str  # host uuid / hostname, vm uuid
    key: str
    value: str
    subject_name: str = ""
    time: datetime | None = None
    source_path: str = ""
    lineno: int | None = None


@dataclass
class Evidence:
    source_id: str
    lineno: int
    text: str
    reason: str = ""  # which condition of the signature this line satisfied
    path: str = ""  # bundle!member, for reports


@dataclass
class Finding:
    finding_id: str
    signature_id: str
    title: str
    source_id: str
    boot_id: str = ""
    crash_id: str = ""
    confidence: str = "low"  # high | medium | low
    confidence_reason: str = ""
    verdict: str = "unknown-kernel"  # affected | fixed-kernel | unknown-kernel
    verdict_reason: str = ""
    release: str = ""
    distro_release: str = ""
    host: str = ""
    vm_uuid: str = ""
    vm_name: str = ""
    evidence: list[Evidence] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    fix: str = ""
    workaround: str = ""
    #: the wall-clock time of the first evidence (or crash); None for a log with seconds since
    #: boot only, which say no time of day
    first_time: datetime | None = None


# --------------------------------------------------------------------------------------------
# Arrow schemas of the dataset (DESIGN.md §4)
# --------------------------------------------------------------------------------------------
#: the names `_arrow_layout` builds, served by the module's `__getattr__`
_LAYOUT_NAMES = frozenset(
    [
        "BOOTS_SCHEMA",
        "CRASHES_SCHEMA",
        "ERRORS_SCHEMA",
        "EVIDENCE_TYPE",
        "FACTS_SCHEMA",
        "FINDINGS_SCHEMA",
        "FRAME_TYPE",
        "LINES_SCHEMA",
        "SOURCES_SCHEMA",
        "TABLES",
        "TASK_TYPE",
        "TS",
    ]
)
_LAYOUT_LOCK = threading.Lock()


def _arrow_layout() -> dict[str, Any]:
    """The Arrow types and schemas, built on first use and then kept as module globals.

    Importing pyarrow (and the numpy it loads) costs a tenth of a second: a rerun that finds
    nothing to do, `--help` or a usage error never touches a table and must not pay it.
    """
    with _LAYOUT_LOCK:
        if "TABLES" in globals():
            return {n: globals()[n] for n in _LAYOUT_NAMES}
        import pyarrow as pa

        FRAME_TYPE = pa.struct(
            [
                ("function", pa.string()),
                ("offset", pa.int64()),
                ("size", pa.int64()),
                ("module", pa.string()),
                ("reliable", pa.bool_()),
                ("address", pa.string()),
            ]
        )
        TASK_TYPE = pa.struct(
            [
                ("comm", pa.string()),
                ("pid", pa.int64()),
                ("state", pa.string()),
                ("frames", pa.list_(FRAME_TYPE)),
            ]
        )
        EVIDENCE_TYPE = pa.struct(
            [
                ("source_id", pa.string()),
                ("lineno", pa.int64()),
                ("text", pa.string()),
                ("reason", pa.string()),
                ("path", pa.string()),
            ]
        )
        TS = pa.timestamp("us")

        SOURCES_SCHEMA = pa.schema(
            [
                ("source_id", pa.string()),
                ("bundle", pa.string()),
                ("path", pa.string()),
                ("display", pa.string()),
                ("kind", pa.string()),
                ("layout", pa.string()),
                ("role", pa.string()),
                ("rotation", pa.int32()),
                ("vm_name", pa.string()),
                ("parent_id", pa.string()),
                ("size", pa.int64()),
                ("sha256", pa.string()),
                ("mtime", TS),
                ("truncated", pa.bool_()),
                ("status", pa.string()),  # ok | partial | error | skipped
                ("error", pa.string()),
                ("line_count", pa.int64()),  # lines read, kept as rows or not
            ]
        )

        LINES_SCHEMA = pa.schema(
            [
                ("source_id", pa.string()),
                ("lineno", pa.int64()),  # 1-based
                ("offset", pa.int64()),  # byte offset of the line in the (decompressed) source
                ("timestamp", TS),
                ("mono", pa.float64()),
                ("host", pa.string()),
                ("tag", pa.string()),
                ("pid", pa.int64()),
                ("level", pa.int8()),
                ("boot_id", pa.string()),
                ("flags", pa.int32()),
                ("text", pa.string()),
            ]
        )

        BOOTS_SCHEMA = pa.schema(
            [
                ("boot_id", pa.string()),
                ("source_id", pa.string()),
                ("index", pa.int32()),
                ("first_line", pa.int64()),
                ("last_line", pa.int64()),
                ("release", pa.string()),
                ("distro", pa.string()),
                ("distro_release", pa.string()),
                ("flavour", pa.string()),
                ("vendor", pa.string()),
                ("arch", pa.string()),
                ("hostname", pa.string()),
                ("banner", pa.string()),
                ("start_time", TS),
            ]
        )

        CRASHES_SCHEMA = pa.schema(
            [
                ("crash_id", pa.string()),
                ("source_id", pa.string()),
                ("boot_id", pa.string()),
                ("first_line", pa.int64()),
                ("last_line", pa.int64()),
                ("record", pa.string()),
                ("type", pa.string()),
                ("title", pa.string()),
                ("alt_titles", pa.list_(pa.string())),
                ("corrupted", pa.bool_()),
                ("corrupted_reason", pa.string()),
                ("panicked", pa.bool_()),
                ("timestamp", TS),
                ("mono", pa.float64()),
                ("release", pa.string()),
                ("taint", pa.string()),
                ("cpu", pa.int64()),
                ("pid", pa.int64()),
                ("comm", pa.string()),
                ("function", pa.string()),
                ("module", pa.string()),
                ("frames", pa.list_(FRAME_TYPE)),
                ("tasks", pa.list_(TASK_TYPE)),
                ("fingerprint", pa.string()),
                ("report", pa.string()),
            ]
        )

        FACTS_SCHEMA = pa.schema(
            [
                ("bundle", pa.string()),
                ("subject_type", pa.string()),
                ("subject_id", pa.string()),
                ("subject_name", pa.string()),
                ("key", pa.string()),
                ("value", pa.string()),
                ("time", TS),
                ("source_path", pa.string()),
                ("lineno", pa.int64()),
            ]
        )

        FINDINGS_SCHEMA = pa.schema(
            [
                ("finding_id", pa.string()),
                ("signature_id", pa.string()),
                ("title", pa.string()),
                ("source_id", pa.string()),
                ("boot_id", pa.string()),
                ("crash_id", pa.string()),
                ("confidence", pa.string()),
                ("confidence_reason", pa.string()),
                ("verdict", pa.string()),
                ("verdict_reason", pa.string()),
                ("release", pa.string()),
                ("distro_release", pa.string()),
                ("host", pa.string()),
                ("vm_uuid", pa.string()),
                ("vm_name", pa.string()),
                ("evidence", pa.list_(EVIDENCE_TYPE)),
                ("references", pa.list_(pa.string())),
                ("fix", pa.string()),
                ("workaround", pa.string()),
                ("first_time", TS),
            ]
        )

        ERRORS_SCHEMA = pa.schema(
            [
                ("source_id", pa.string()),
                ("path", pa.string()),
                ("stage", pa.string()),
                ("error_class", pa.string()),
                ("message", pa.string()),
            ]
        )

        TABLES: dict[str, pa.Schema] = {
            "sources": SOURCES_SCHEMA,
            "lines": LINES_SCHEMA,
            "boots": BOOTS_SCHEMA,
            "crashes": CRASHES_SCHEMA,
            "facts": FACTS_SCHEMA,
            "findings": FINDINGS_SCHEMA,
            "errors": ERRORS_SCHEMA,
        }

        layout = {n: v for n, v in locals().items() if n in _LAYOUT_NAMES}
        globals().update(layout)
        return layout


def __getattr__(name: str) -> Any:
    if name in _LAYOUT_NAMES:
        return _arrow_layout()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def records_to_table(records: list[Any], schema: pa.Schema) -> pa.Table:
    """Dataclass records → Arrow table of `schema` (nested dataclasses become structs)."""
    if not records:
        return empty_table(schema)
    names = schema.names
    rows = [_row(r, names) for r in records]
    # column by column: what `from_pylist` does with the schema's types, at half its cost
    import pyarrow as pa

    columns = [_column([row[f.name] for row in rows], f.type) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def _column(values: list[Any], type_: pa.DataType) -> pa.Array:
    import pyarrow as pa

    try:
        return pa.array(values, type=type_)
    except UnicodeEncodeError:  # a name of bytes that are not UTF-8 (see `utf8_text`)
        return pa.array([_utf8_values(v) for v in values], type=type_)


def utf8_text(text: str) -> str:
    """`text` as it can be stored: a file or member name from a Latin-1 system holds bytes
    that are not UTF-8, which Python keeps as lone surrogates (surrogateescape) and Arrow
    and Parquet refuse; each such byte is written as `\\xNN`, so none is lost."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _utf8_values(value: Any) -> Any:
    if isinstance(value, str):
        return utf8_text(value)
    if isinstance(value, dict):
        return {k: _utf8_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_utf8_values(v) for v in value]
    return value


#: an empty table per schema (by id; the entry keeps the schema alive): tables are immutable,
#: and making one costs more than the rest of a small part's table
_EMPTY_TABLES: dict[int, tuple[pa.Schema, pa.Table]] = {}


def empty_table(schema: pa.Schema) -> pa.Table:
    """A table of `schema` without rows. Not `schema.empty_table()`: that builds each column
    with `pa.array`, which imports pandas (0.15 s) in a process that may need it nowhere else,
    such as the caller of a pool, which only commits what its workers wrote."""
    got = _EMPTY_TABLES.get(id(schema))
    if got is None or got[0] is not schema:
        import pyarrow as pa

        if len(_EMPTY_TABLES) > 64:  # schemas made on the fly: keep the memo small
            _EMPTY_TABLES.clear()
        got = _EMPTY_TABLES[id(schema)] = (schema, pa.Table.from_batches([], schema))
    return got[1]


def _row(record: Any, names: list[str]) -> dict[str, Any]:
    if isinstance(record, dict):
        return {n: record.get(n) for n in names}
    own = _field_names(type(record))
    out = {}
    for n in names:
        v = getattr(record, n) if n in own else None
        if isinstance(v, list) and v and hasattr(v[0], "__dataclass_fields__"):
            v = [_plain(x) for x in v]
        out[n] = v
    return out


def _plain(value: Any) -> Any:
    """What `dataclasses.asdict` makes of a nested record, without its deep copy of every
    leaf value (which Arrow only reads): a crash's frames cost 100+ µs a record that way."""
    names = _field_names(type(value)) if hasattr(value, "__dataclass_fields__") else None
    if names is not None:
        out = {}
        for n in names:
            v = getattr(value, n)
            out[n] = v if type(v) in _LEAVES else _plain(v)
        return out
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return (
            type(value)(*[_plain(v) for v in value])
            if hasattr(value, "_fields")
            else tuple(_plain(v) for v in value)
        )
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    return value


#: values `_plain` returns as they are (most fields of a frame)
_LEAVES = frozenset({str, int, float, bool, type(None), datetime})
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    got = _FIELD_NAMES.get(cls)
    if got is None:
        got = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return got


def empty_lines() -> pa.Table:
    """The empty lines table (one shared instance: tables are immutable, and every source's
    result starts with one)."""
    return empty_table(_arrow_layout()["LINES_SCHEMA"])
