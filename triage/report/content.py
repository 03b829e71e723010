"""The report's logical content, built once from a dataset and shared by every renderer.

Renderers only lay out a `ReportModel`; they never look at the dataset themselves. That is what
keeps the terminal, JSON, CSV, Markdown and HTML outputs from ever disagreeing on what was found,
and it is the single place where log text is sanitised (see `sanitize`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from triage.model import SCHEMA_VERSION
from triage.report.sanitize import sanitize
from triage.report.steps import Step, split_steps
from triage.report.tables import Columns, as_int, as_time, plain, read_tables

#: version of the report document (report.schema.json), independent of the dataset's version
REPORT_SCHEMA_VERSION = 1

CONFIDENCE_ORDER = ("high", "medium", "low")
VERDICT_ORDER = ("affected", "unknown-kernel", "fixed-kernel")

#: how a distro id from `boots.distro` is written for people
DISTRO_NAMES = {
    "rhel": "RHEL",
    "centos": "CentOS",
    "oracle": "Oracle Linux",
    "scientific": "Scientific Linux",
    "rocky": "Rocky Linux",
    "almalinux": "AlmaLinux",
    "fedora": "Fedora",
    "amazon": "Amazon Linux",
    "sles": "SLES",
    "opensuse": "openSUSE",
    "debian": "Debian",
    "ubuntu": "Ubuntu",
    "upstream": "upstream",
}

#: crash groups listed in full; the rest are counted
MAX_LOCATIONS_PER_GROUP = 5
_PLACEHOLDER = re.compile(r"<[a-z_][a-z0-9_-]*>")


@dataclass
class EvidenceItem:
    location: str  # bundle!member:line — what an engineer pastes into `less +N`
    path: str
    lineno: int | None
    text: str
    reason: str = ""


@dataclass
class FindingItem:
    finding_id: str
    signature_id: str
    title: str
    confidence: str
    confidence_reason: str
    verdict: str
    verdict_reason: str
    release: str
    distro: str  # "RHEL 4.7", or "" when unknown
    host: str
    vm_name: str
    vm_uuid: str
    source: str
    crash_title: str
    first_time: str | None
    evidence: list[EvidenceItem]
    references: list[str]
    fix: str
    workaround: str
    steps: list[Step]

    @property
    def commands(self) -> list[str]:
        return [s.text for s in self.steps if s.kind == "command"]

    @property
    def placeholders(self) -> list[str]:
        """Placeholders such as `<vm_uuid>` still present in commands: never paste those blind."""
        found = {p for c in self.commands for p in _PLACEHOLDER.findall(c)}
        return sorted(found)


@dataclass
class CrashGroup:
    fingerprint: str
    title: str
    crash_type: str  # HANG, WARNING, BUG, GPF, … (the `type` of the crashes)
    count: int
    first_seen: str | None
    last_seen: str | None
    hosts: list[str]
    releases: list[str]
    locations: list[str]
    corrupted: int = 0
    panicked: int = 0


@dataclass
class ErrorItem:
    path: str
    stage: str
    error_class: str
    message: str


@dataclass
class KernelCount:
    release: str
    distro: str
    boots: int


@dataclass
class SignatureCount:
    signature_id: str
    title: str
    count: int


@dataclass
class Summary:
    sources: int = 0
    sources_by_status: dict[str, int] = field(default_factory=dict)
    lines: int = 0
    boots: int = 0
    boots_by_kernel: list[KernelCount] = field(default_factory=list)
    crashes: int = 0
    events: int = 0
    explained_crashes: int = 0
    unexplained_crashes: int = 0
    crash_groups: int = 0
    findings: int = 0
    findings_by_confidence: dict[str, int] = field(default_factory=dict)
    findings_by_verdict: dict[str, int] = field(default_factory=dict)
    findings_by_signature: list[SignatureCount] = field(default_factory=list)
    errors: int = 0
    errors_by_class: dict[str, int] = field(default_factory=dict)


@dataclass
class TimelineSeries:
    """Crash times of one host and kernel, for the crashes-over-time chart."""

    host: str
    release: str
    times: list[datetime]
    explained: list[bool]


@dataclass
class ReportModel:
    schema_version: int
    tool_version: str
    dataset_schema_version: int | None
    created: str | None
    signature_digest: str
    inputs: list[str]
    summary: Summary
    findings: list[FindingItem]
    unexplained: list[CrashGroup]
    errors: list[ErrorItem]
    timeline: list[TimelineSeries] = field(default_factory=list)


# ------------------------------------------------------------------------------------------
# cell helpers: cells arrive as plain values (report/tables.py); the report wants strings
# ------------------------------------------------------------------------------------------
def _s(v: Any) -> str:
    v = plain(v)
    return "" if v is None else sanitize(v)


def _int(v: Any) -> int | None:
    return as_int(plain(v))


def iso(v: Any) -> str | None:
    v = plain(v)
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.isoformat(timespec="seconds") if not v.microsecond else v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    return sanitize(v)


def _text(v: Any) -> str:
    """A cell as the string the report compares and groups on ("" when missing)."""
    return "" if v is None else str(v)


def _distro_labels(distros: list[Any], releases: list[Any]) -> list[str]:
    """`distro_label` of each pair, each distinct pair worked out once."""
    made: dict[tuple[Any, Any], str] = {}
    out = []
    for pair in zip(map(plain, distros), map(plain, releases), strict=True):
        label = made.get(pair)
        if label is None:
            label = made[pair] = distro_label(*pair)
        out.append(label)
    return out


def distro_label(distro: Any, distro_release: Any) -> str:
    d = _s(distro)
    r = _s(distro_release)
    name = DISTRO_NAMES.get(d.lower(), d)
    return " ".join(p for p in (name, r) if p)


# ------------------------------------------------------------------------------------------
# the builder
# ------------------------------------------------------------------------------------------
def build_report(ds: Any) -> ReportModel:
    """Turn a dataset (its tables, see report/tables.py, and its manifest) into the content every
    format shows."""
    manifest = getattr(ds, "manifest", None) or {}
    if not isinstance(manifest, dict):
        manifest = {}
    tables = read_tables(ds)
    sources, boots, crashes = tables["sources"], tables["boots"], tables["crashes"]
    findings_rows, errors_rows = tables["findings"], tables["errors"]

    problems: list[ErrorItem] = []
    displays = _source_displays(sources)
    boot_info = _boot_info(boots)
    crash_titles = _crash_titles(crashes)
    findings = _findings(findings_rows, displays, boot_info, crash_titles, problems)
    explained = _explained_crash_ids(crashes, findings_rows)
    groups, timeline = _crash_groups(crashes, explained, displays, boot_info)
    errors = _errors(errors_rows) + problems

    summary = _summary(sources, boots, crashes, explained, groups, findings, errors, manifest)
    return ReportModel(
        schema_version=REPORT_SCHEMA_VERSION,
        tool_version=_s(manifest.get("tool_version")) or _package_version(),
        dataset_schema_version=_int(manifest.get("schema_version")) or SCHEMA_VERSION,
        created=iso(manifest.get("created")),
        signature_digest=_s(manifest.get("signature_digest")),
        inputs=_inputs(manifest.get("inputs")),
        summary=summary,
        findings=findings,
        unexplained=groups,
        errors=errors,
        timeline=timeline,
    )


def _package_version() -> str:
    try:
        from importlib.metadata import version

        return version("triage")
    except Exception:
        return ""


def _inputs(raw: Any) -> list[str]:
    """The manifest lists inputs as paths or as dicts with a path; show the paths."""
    out: list[str] = []
    for item in plain(raw) or []:
        if isinstance(item, dict):
            out.append(_s(item.get("path") or item.get("input") or item.get("name")))
        else:
            out.append(_s(item))
    return [x for x in out if x]


def _source_displays(sources: Columns) -> dict[str, str]:
    if sources.empty or "source_id" not in sources:
        return {}
    out = {}
    for sid, display, path, bundle in zip(
        sources.col("source_id"),
        sources.col("display"),
        sources.col("path"),
        sources.col("bundle"),
        strict=True,
    ):
        display, path, bundle = _text(display), _text(path), _text(bundle)
        if not display:
            display = f"{bundle}!{path}" if bundle and path and bundle != path else path
        out[_text(sid)] = sanitize(display)
    return out


@dataclass
class _BootInfo:
    release: str
    distro: str
    host: str


def _boot_info(boots: Columns) -> dict[str, _BootInfo]:
    """Each boot's release, distro and host, by boot id. A batch of thousands of bundles has
    tens of thousands of boots but few distinct kernels and hosts: each distinct one is made
    once."""
    if boots.empty or "boot_id" not in boots:
        return {}
    names = ("boot_id", "release", "distro", "distro_release", "hostname")
    columns = [boots.col(name, None) for name in names]
    made: dict[tuple[Any, ...], _BootInfo] = {}
    out: dict[str, _BootInfo] = {}
    for boot_id, *key in zip(*columns, strict=True):
        info = made.get(tuple(key))
        if info is None:
            release, distro, distro_release, host = key
            info = made[tuple(key)] = _BootInfo(
                release=_s(release), distro=distro_label(distro, distro_release), host=_s(host)
            )
        out[str(boot_id)] = info
    return out


def _crash_titles(crashes: Columns) -> dict[str, str]:
    if crashes.empty or "crash_id" not in crashes:
        return {}
    return {
        _text(c): sanitize(t)
        for c, t in zip(crashes.col("crash_id"), crashes.col("title"), strict=True)
        if t
    }


def _rank(value: str, order: tuple[str, ...]) -> int:
    return order.index(value) if value in order else len(order)


def _findings(
    rows: Columns,
    displays: dict[str, str],
    boot_info: dict[str, _BootInfo],
    crash_titles: dict[str, str],
    problems: list[ErrorItem],
) -> list[FindingItem]:
    if rows.empty:
        return []
    out: list[FindingItem] = []
    for row in rows.records():
        try:
            out.append(_finding(row, displays, boot_info, crash_titles))
        except Exception as exc:  # one malformed row must not hide the other findings
            problems.append(
                ErrorItem(
                    path=_s(row.get("finding_id")) or "findings",
                    stage="report",
                    error_class="bad-finding-row",
                    message=sanitize(
                        f"finding {_s(row.get('finding_id'))}: cannot be shown: "
                        f"{type(exc).__name__}: {exc}"
                    ),
                )
            )
    out.sort(
        key=lambda f: (
            _rank(f.confidence, CONFIDENCE_ORDER),
            _rank(f.verdict, VERDICT_ORDER),
            f.signature_id,
            f.first_time or "",
            f.finding_id,
        )
    )
    return out


def _finding(
    row: dict[str, Any],
    displays: dict[str, str],
    boot_info: dict[str, _BootInfo],
    crash_titles: dict[str, str],
) -> FindingItem:
    source_id = _s(row.get("source_id"))
    boot = boot_info.get(_s(row.get("boot_id")))
    evidence = []
    for ev in plain(row.get("evidence")) or []:
        ev = ev or {}
        path = (
            _s(ev.get("path"))
            or displays.get(_s(ev.get("source_id")))
            or displays.get(source_id, source_id)
        )
        lineno = _int(ev.get("lineno"))
        evidence.append(
            EvidenceItem(
                location=f"{path}:{lineno}" if lineno is not None else path,
                path=path,
                lineno=lineno,
                text=_s(ev.get("text")),
                reason=_s(ev.get("reason")),
            )
        )
    distro = boot.distro if boot else ""
    distro_release = _s(row.get("distro_release"))
    if distro_release and distro_release not in distro:
        distro = distro_label(distro.split(" ")[0] if distro else "", distro_release)
    workaround = sanitize(plain(row.get("workaround")) or "", multiline=True)
    return FindingItem(
        finding_id=_s(row.get("finding_id")),
        signature_id=_s(row.get("signature_id")),
        title=_s(row.get("title")),
        confidence=_s(row.get("confidence")).lower() or "low",
        confidence_reason=_s(row.get("confidence_reason")),
        verdict=_s(row.get("verdict")).lower() or "unknown-kernel",
        verdict_reason=_s(row.get("verdict_reason")),
        release=_s(row.get("release")) or (boot.release if boot else ""),
        distro=distro,
        host=_s(row.get("host")) or (boot.host if boot else ""),
        vm_name=_s(row.get("vm_name")),
        vm_uuid=_s(row.get("vm_uuid")),
        source=displays.get(source_id, source_id),
        crash_title=crash_titles.get(_s(row.get("crash_id")), ""),
        first_time=iso(row.get("first_time")),
        evidence=evidence,
        references=[_s(r) for r in (plain(row.get("references")) or []) if r],
        fix=sanitize(plain(row.get("fix")) or "", multiline=True),
        workaround=workaround,
        steps=split_steps(workaround),
    )


def _explained_crash_ids(crashes: Columns, findings: Columns) -> set[str]:
    """Crashes a finding names, plus crashes whose line range holds a finding's evidence."""
    if crashes.empty or findings.empty or "crash_id" not in crashes:
        return set()
    explained = {str(c) for c in findings.col("crash_id", None) if c}
    lines_of: dict[str, set[int]] = {}  # evidence line numbers by source
    for sid, evs in zip(findings.col("source_id"), findings.col("evidence", None), strict=True):
        for ev in plain(evs) or []:
            if isinstance(ev, dict) and ev.get("lineno") is not None:
                lines_of.setdefault(str(ev.get("source_id") or sid), set()).add(int(ev["lineno"]))
    if lines_of:
        spans = zip(
            crashes.col("crash_id"),
            crashes.col("source_id"),
            crashes.col("first_line", None),
            crashes.col("last_line", None),
            strict=True,
        )
        for crash_id, sid, first, last in spans:
            got = lines_of.get(_text(sid))
            if (
                got
                and first is not None
                and last is not None
                and any(first <= n <= last for n in got)
            ):
                explained.add(_text(crash_id))
    return explained


def _crash_groups(
    crashes: Columns,
    explained: set[str],
    displays: dict[str, str],
    boot_info: dict[str, _BootInfo],
) -> tuple[list[CrashGroup], list[TimelineSeries]]:
    """Group the crashes no finding explains by fingerprint (title when there is none).

    One pass over plain columns: a batch over thousands of bundles yields hundreds of thousands
    of crashes, and a few dictionaries keyed by group hold all the grouping needs.
    """
    if crashes.empty or "crash_id" not in crashes:
        return [], []
    rows = []
    for (
        record,
        crash_id,
        boot_id,
        release,
        ts,
        title,
        ctype,
        fp,
        sid,
        first,
        corrupted,
        panicked,
    ) in zip(
        crashes.col("record", "crash"),
        crashes.col("crash_id"),
        crashes.col("boot_id"),
        crashes.col("release"),
        crashes.col("timestamp", None),
        crashes.col("title"),
        crashes.col("type"),
        crashes.col("fingerprint"),
        crashes.col("source_id"),
        crashes.col("first_line", None),
        crashes.col("corrupted", False),
        crashes.col("panicked", False),
        strict=True,
    ):
        if (_text(record) or "crash") != "crash":
            continue  # an event (a SysRq dump, a hung-task report), not a crash
        boot = boot_info.get(_text(boot_id))
        sid, first = _text(sid), as_int(first)
        rows.append(
            _CrashRow(
                host=boot.host if boot else "",
                release=_text(release) or (boot.release if boot else ""),
                explained=_text(crash_id) in explained,
                ts=as_time(ts),
                title=_text(title),
                ctype=_text(ctype),
                fingerprint=_text(fp),
                where=f"{displays.get(sid, sid)}:{'' if first is None else first}",
                corrupted=bool(corrupted),
                panicked=bool(panicked),
            )
        )
    if not rows:
        return [], []
    timeline = _timeline(rows)
    todo = [r for r in rows if not r.explained]
    if not todo:
        return [], timeline
    # earliest first, undated last, then by place: the order locations are listed in
    todo.sort(key=lambda r: (r.ts is None, r.ts or datetime.min, r.where))
    by_key: dict[str, list[_CrashRow]] = {}
    for r in todo:
        by_key.setdefault(r.fingerprint or "title:" + r.title, []).append(r)
    groups = []
    for key, members in by_key.items():
        times = [r.ts for r in members if r.ts is not None]
        groups.append(
            CrashGroup(
                fingerprint="" if key.startswith("title:") else sanitize(key),
                title=sanitize(_most_common(r.title for r in members)) or "(untitled crash)",
                crash_type=sanitize(_most_common(r.ctype for r in members)),
                count=len(members),
                first_seen=iso(min(times)) if times else None,
                last_seen=iso(max(times)) if times else None,
                hosts=[sanitize(h) for h in sorted({r.host for r in members} - {""})],
                releases=[sanitize(v) for v in sorted({r.release for r in members} - {""})],
                locations=[sanitize(r.where) for r in members[:MAX_LOCATIONS_PER_GROUP]],
                corrupted=sum(r.corrupted for r in members),
                panicked=sum(r.panicked for r in members),
            )
        )
    groups.sort(key=lambda c: (-c.count, c.first_seen or "", c.title))
    return groups, timeline


@dataclass(slots=True)
class _CrashRow:
    """What grouping and the timeline need of one crash."""

    host: str
    release: str
    explained: bool
    ts: datetime | None
    title: str
    ctype: str
    fingerprint: str
    where: str
    corrupted: bool
    panicked: bool


def _most_common(values: Any) -> str:
    """The most frequent non-empty value; the smallest among equally frequent ones."""
    counts = Counter(v for v in values if v)
    if not counts:
        return ""
    return min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def _timeline(rows: list[_CrashRow]) -> list[TimelineSeries]:
    """Each (host, kernel)'s dated crashes in time order, explained or not."""
    series: dict[tuple[str, str], list[_CrashRow]] = {}
    for r in sorted((r for r in rows if r.ts is not None), key=lambda r: r.ts):  # type: ignore[arg-type, return-value]
        series.setdefault((r.host, r.release), []).append(r)
    return [
        TimelineSeries(
            host=sanitize(host) or "(unknown host)",
            release=sanitize(release) or "(unknown kernel)",
            times=[r.ts for r in got],
            explained=[r.explained for r in got],
        )
        for (host, release), got in sorted(series.items())
    ]


def _errors(rows: Columns) -> list[ErrorItem]:
    return [
        ErrorItem(
            path=_s(r.get("path")),
            stage=_s(r.get("stage")),
            error_class=_s(r.get("error_class")) or "error",
            message=_s(r.get("message")),
        )
        for r in rows.records()
    ]


def _summary(
    sources: Columns,
    boots: Columns,
    crashes: Columns,
    explained: set[str],
    groups: list[CrashGroup],
    findings: list[FindingItem],
    errors: list[ErrorItem],
    manifest: dict[str, Any],
) -> Summary:
    s = Summary()
    s.sources = len(sources)
    if not sources.empty:
        status = Counter(_text(v) or "ok" for v in sources.col("status", "ok"))
        s.sources_by_status = {sanitize(k): n for k, n in status.most_common()}
        s.lines = sum(as_int(n) or 0 for n in sources.col("line_count", 0))
    counts = manifest.get("counts") if isinstance(manifest.get("counts"), dict) else {}
    if not s.lines and counts:
        s.lines = _int(counts.get("lines")) or 0
    s.boots = len(boots)
    if not boots.empty:
        labels = _distro_labels(
            [_text(v) for v in boots.col("distro")], [_text(v) for v in boots.col("distro_release")]
        )
        per = Counter(zip((_text(r) for r in boots.col("release")), labels, strict=True))
        s.boots_by_kernel = [
            KernelCount(sanitize(r) or "(unknown)", d, n)
            for (r, d), n in sorted(per.items(), key=lambda kv: (-kv[1], *kv[0]))
        ]
    if not crashes.empty:
        is_crash = [(_text(r) or "crash") == "crash" for r in crashes.col("record", "crash")]
        s.crashes = sum(is_crash)
        s.events = len(is_crash) - s.crashes
        ids = crashes.col("crash_id")
        s.explained_crashes = sum(
            1 for c, i in zip(is_crash, ids, strict=True) if c and _text(i) in explained
        )
        s.unexplained_crashes = s.crashes - s.explained_crashes
    s.crash_groups = len(groups)
    s.findings = len(findings)
    conf = Counter(f.confidence for f in findings)
    s.findings_by_confidence = {c: conf.get(c, 0) for c in CONFIDENCE_ORDER} | {
        c: n for c, n in conf.items() if c not in CONFIDENCE_ORDER
    }
    verdicts = Counter(f.verdict for f in findings)
    s.findings_by_verdict = {v: verdicts.get(v, 0) for v in VERDICT_ORDER} | {
        v: n for v, n in verdicts.items() if v not in VERDICT_ORDER
    }
    by_sig: dict[str, SignatureCount] = {}
    for f in findings:
        entry = by_sig.setdefault(f.signature_id, SignatureCount(f.signature_id, f.title, 0))
        entry.count += 1
    s.findings_by_signature = sorted(by_sig.values(), key=lambda x: (-x.count, x.signature_id))
    s.errors = len(errors)
    s.errors_by_class = dict(Counter(e.error_class for e in errors).most_common())
    return s
