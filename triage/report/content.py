"""The report's logical content, built once from a dataset and shared by every renderer.

Renderers only lay out a `ReportModel`; they never look at the dataset themselves. That is what
keeps the terminal, JSON, CSV, Markdown and HTML outputs from ever disagreeing on what was found,
and it is the single place where log text is sanitised (see `sanitize`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from triage.model import SCHEMA_VERSION
from triage.report.sanitize import sanitize
from triage.report.steps import Step, split_steps

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
    "fedora": "Fedora",
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
# cell helpers: dataset tables arrive as pandas frames whose cells may be NaN, NaT, numpy
# scalars or numpy arrays (list columns); the report wants plain Python values.
# ------------------------------------------------------------------------------------------
def _py(v: Any) -> Any:
    if v is None or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, np.ndarray):
        return [_py(x) for x in v.tolist()]
    if isinstance(v, (list, tuple)):
        return [_py(x) for x in v]
    if isinstance(v, dict):
        return {k: _py(x) for k, x in v.items()}
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, np.generic):
        return _py(v.item())
    return v


def _s(v: Any) -> str:
    v = _py(v)
    return "" if v is None else sanitize(v)


def _int(v: Any) -> int | None:
    v = _py(v)
    try:
        return None if v is None else int(v)
    except (TypeError, ValueError):
        return None


def iso(v: Any) -> str | None:
    v = _py(v)
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.isoformat(timespec="seconds") if not v.microsecond else v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    return sanitize(v)


def _frame(ds: Any, name: str) -> pd.DataFrame:
    df = getattr(ds, name, None)
    if df is None:
        return pd.DataFrame()
    if not isinstance(df, pd.DataFrame):
        try:
            df = df.to_pandas()  # an Arrow table also works
        except Exception:
            return pd.DataFrame()
    return df


def _col(df: pd.DataFrame, name: str, default: Any = "") -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series([default] * len(df), index=df.index, dtype=object)


def _distro_labels(distros: list[Any], releases: list[Any]) -> list[str]:
    """`distro_label` of each pair, each distinct pair worked out once."""
    made: dict[tuple[Any, Any], str] = {}
    out = []
    for pair in zip(map(_py, distros), map(_py, releases), strict=True):
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
    """Turn a dataset (tables as DataFrames + manifest) into the content every format shows."""
    manifest = getattr(ds, "manifest", None) or {}
    if not isinstance(manifest, dict):
        manifest = {}
    sources = _frame(ds, "sources")
    boots = _frame(ds, "boots")
    crashes = _frame(ds, "crashes")
    findings_df = _frame(ds, "findings")
    errors_df = _frame(ds, "errors")

    problems: list[ErrorItem] = []
    displays = _source_displays(sources)
    boot_info = _boot_info(boots)
    crash_titles = _crash_titles(crashes)
    findings = _findings(findings_df, displays, boot_info, crash_titles, problems)
    explained = _explained_crash_ids(crashes, findings_df)
    groups, timeline = _crash_groups(crashes, explained, displays, boot_info)
    errors = _errors(errors_df) + problems

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
    for item in _py(raw) or []:
        if isinstance(item, dict):
            out.append(_s(item.get("path") or item.get("input") or item.get("name")))
        else:
            out.append(_s(item))
    return [x for x in out if x]


def _source_displays(sources: pd.DataFrame) -> dict[str, str]:
    if sources.empty or "source_id" not in sources.columns:
        return {}
    display = _col(sources, "display").fillna("").astype(str)
    fallback = _col(sources, "path").fillna("").astype(str)
    bundle = _col(sources, "bundle").fillna("").astype(str)
    composed = np.where(
        (bundle != "") & (fallback != "") & (bundle != fallback), bundle + "!" + fallback, fallback
    )
    shown = np.where(display != "", display, composed)
    return dict(zip(sources["source_id"].astype(str), map(sanitize, shown), strict=True))


@dataclass
class _BootInfo:
    release: str
    distro: str
    host: str


def _boot_info(boots: pd.DataFrame) -> dict[str, _BootInfo]:
    """Each boot's release, distro and host, by boot id. A batch of thousands of bundles has
    tens of thousands of boots but few distinct kernels and hosts: each distinct one is made
    once, from the four columns alone (the frame's every cell as records took most of the
    report's time)."""
    if boots.empty or "boot_id" not in boots.columns:
        return {}
    names = ("boot_id", "release", "distro", "distro_release", "hostname")
    columns = [_col(boots, name, None).tolist() for name in names]
    made: dict[tuple[Any, ...], _BootInfo] = {}
    out: dict[str, _BootInfo] = {}
    for boot_id, *described in zip(*columns, strict=True):
        key = tuple(_py(v) for v in described)
        info = made.get(key)
        if info is None:
            release, distro, distro_release, host = key
            info = made[key] = _BootInfo(
                release=_s(release), distro=distro_label(distro, distro_release), host=_s(host)
            )
        out[str(_py(boot_id))] = info
    return out


def _crash_titles(crashes: pd.DataFrame) -> dict[str, str]:
    if crashes.empty or "crash_id" not in crashes.columns:
        return {}
    titles = _col(crashes, "title").fillna("").astype(str)
    return {str(c): sanitize(t) for c, t in zip(crashes["crash_id"], titles, strict=True) if t}


def _rank(value: str, order: tuple[str, ...]) -> int:
    return order.index(value) if value in order else len(order)


def _findings(
    df: pd.DataFrame,
    displays: dict[str, str],
    boot_info: dict[str, _BootInfo],
    crash_titles: dict[str, str],
    problems: list[ErrorItem],
) -> list[FindingItem]:
    if df.empty:
        return []
    out: list[FindingItem] = []
    for row in df.to_dict("records"):
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
    for ev in _py(row.get("evidence")) or []:
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
    workaround = sanitize(_py(row.get("workaround")) or "", multiline=True)
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
        references=[_s(r) for r in (_py(row.get("references")) or []) if r],
        fix=sanitize(_py(row.get("fix")) or "", multiline=True),
        workaround=workaround,
        steps=split_steps(workaround),
    )


def _explained_crash_ids(crashes: pd.DataFrame, findings: pd.DataFrame) -> set[str]:
    """Crashes a finding names, plus crashes whose line range holds a finding's evidence."""
    if crashes.empty or findings.empty or "crash_id" not in crashes.columns:
        return set()
    explained = {str(c) for c in _col(findings, "crash_id").dropna() if c}
    rows = []
    for sid, evs in zip(_col(findings, "source_id"), _col(findings, "evidence"), strict=True):
        for ev in _py(evs) or []:
            if isinstance(ev, dict) and ev.get("lineno") is not None:
                rows.append((str(ev.get("source_id") or sid), int(ev["lineno"])))
    if rows:
        ev_df = pd.DataFrame(rows, columns=["source_id", "lineno"]).drop_duplicates()
        span = crashes[["crash_id", "source_id", "first_line", "last_line"]].astype(
            {"source_id": str}
        )
        joined = span.merge(ev_df, on="source_id")
        hit = joined[
            (joined["lineno"] >= joined["first_line"]) & (joined["lineno"] <= joined["last_line"])
        ]
        explained.update(hit["crash_id"].astype(str))
    return explained


def _strs(series: pd.Series) -> pd.Series:
    """Plain object strings: iterating Arrow-backed string columns cell by cell is slow."""
    values = series.astype(object).where(series.notna(), "").astype(str).tolist()
    return pd.Series(values, index=series.index, dtype=object)


def _crash_groups(
    crashes: pd.DataFrame,
    explained: set[str],
    displays: dict[str, str],
    boot_info: dict[str, _BootInfo],
) -> tuple[list[CrashGroup], list[TimelineSeries]]:
    """Group the crashes no finding explains by fingerprint (title when there is none).

    Vectorised: a batch over thousands of bundles yields hundreds of thousands of crashes.
    """
    if crashes.empty or "crash_id" not in crashes.columns:
        return [], []
    df = crashes[_strs(_col(crashes, "record", "crash")).replace("", "crash") == "crash"]
    if df.empty:
        return [], []
    boot_ids = _strs(_col(df, "boot_id"))
    hosts = {k: v.host for k, v in boot_info.items()}
    releases = {k: v.release for k, v in boot_info.items()}
    rel = _strs(_col(df, "release"))
    work = pd.DataFrame(
        {
            "_host": _strs(boot_ids.map(hosts)),
            "_release": rel.where(rel != "", _strs(boot_ids.map(releases))),
            "_explained": _strs(df["crash_id"]).isin(explained),
            "_ts": pd.to_datetime(_col(df, "timestamp", None), errors="coerce"),
            "_title": _strs(_col(df, "title")),
            "_type": _strs(_col(df, "type")),
            "_fp": _strs(_col(df, "fingerprint")),
            "_where": _strs(_col(df, "source_id")).map(lambda s: displays.get(s, s))
            + ":"
            + _strs(
                pd.to_numeric(_col(df, "first_line", None), errors="coerce")
                .astype("Int64")
                .astype(object)
            ),
            "_corrupted": _col(df, "corrupted", False).fillna(False).astype(bool),
            "_panicked": _col(df, "panicked", False).fillna(False).astype(bool),
        },
        index=df.index,
    )
    timeline = _timeline(work)
    todo = work[~work["_explained"]].copy()
    if todo.empty:
        return [], timeline
    todo["_key"] = todo["_fp"].where(todo["_fp"] != "", "title:" + todo["_title"])
    todo = todo.sort_values(["_ts", "_where"], na_position="last", kind="stable")
    by_key = todo.groupby("_key", sort=False)
    agg = by_key.agg(
        count=("_key", "size"),
        first=("_ts", "min"),
        last=("_ts", "max"),
        corrupted=("_corrupted", "sum"),
        panicked=("_panicked", "sum"),
    )

    def most_common(col: str) -> dict[str, str]:
        pairs = todo.loc[todo[col] != "", ["_key", col]]
        counts = pairs.value_counts().reset_index(name="n")
        counts = counts.sort_values(["n", col], ascending=[False, True], kind="stable")
        return dict(counts.drop_duplicates("_key")[["_key", col]].itertuples(index=False))

    def distinct(col: str) -> dict[str, list[str]]:
        pairs = todo.loc[todo[col] != "", ["_key", col]].drop_duplicates()
        return {k: sorted(v) for k, v in pairs.groupby("_key")[col]}

    titles, types = most_common("_title"), most_common("_type")
    group_hosts, group_releases = distinct("_host"), distinct("_release")
    where = by_key["_where"].head(MAX_LOCATIONS_PER_GROUP).groupby(todo["_key"]).agg(list)
    groups = [
        CrashGroup(
            fingerprint="" if key.startswith("title:") else sanitize(key),
            title=sanitize(titles.get(key, "")) or "(untitled crash)",
            crash_type=sanitize(types.get(key, "")),
            count=int(row.count),
            first_seen=iso(row.first),
            last_seen=iso(row.last),
            hosts=[sanitize(h) for h in group_hosts.get(key, [])],
            releases=[sanitize(r) for r in group_releases.get(key, [])],
            locations=[sanitize(w) for w in where.get(key, [])],
            corrupted=int(row.corrupted),
            panicked=int(row.panicked),
        )
        for key, row in zip(agg.index, agg.itertuples(index=False), strict=True)
    ]
    groups.sort(key=lambda c: (-c.count, c.first_seen or "", c.title))
    return groups, timeline


def _timeline(df: pd.DataFrame) -> list[TimelineSeries]:
    timed = df[df["_ts"].notna()]
    out = []
    for (host, release), g in timed.sort_values("_ts").groupby(["_host", "_release"], sort=True):
        out.append(
            TimelineSeries(
                host=sanitize(host) or "(unknown host)",
                release=sanitize(release) or "(unknown kernel)",
                times=g["_ts"].tolist(),  # Timestamps: datetime subclasses
                explained=g["_explained"].tolist(),
            )
        )
    return out


def _errors(df: pd.DataFrame) -> list[ErrorItem]:
    if df.empty:
        return []
    return [
        ErrorItem(
            path=_s(r.get("path")),
            stage=_s(r.get("stage")),
            error_class=_s(r.get("error_class")) or "error",
            message=_s(r.get("message")),
        )
        for r in df.to_dict("records")
    ]


def _summary(
    sources: pd.DataFrame,
    boots: pd.DataFrame,
    crashes: pd.DataFrame,
    explained: set[str],
    groups: list[CrashGroup],
    findings: list[FindingItem],
    errors: list[ErrorItem],
    manifest: dict[str, Any],
) -> Summary:
    s = Summary()
    s.sources = len(sources)
    if not sources.empty:
        status = _col(sources, "status", "ok").fillna("ok").astype(str)
        s.sources_by_status = {sanitize(k): int(v) for k, v in status.value_counts().items()}
        s.lines = int(
            pd.to_numeric(_col(sources, "line_count", 0), errors="coerce").fillna(0).sum()
        )
    counts = manifest.get("counts") if isinstance(manifest.get("counts"), dict) else {}
    if not s.lines and counts:
        s.lines = _int(counts.get("lines")) or 0
    s.boots = len(boots)
    if not boots.empty:
        key = pd.DataFrame(
            {
                "release": _col(boots, "release").fillna("").astype(str),
                "distro": _distro_labels(
                    _col(boots, "distro").fillna("").tolist(),
                    _col(boots, "distro_release").fillna("").tolist(),
                ),
            }
        )
        per = key.value_counts(["release", "distro"]).reset_index(name="n")
        per = per.sort_values(["n", "release"], ascending=[False, True])
        s.boots_by_kernel = [
            KernelCount(sanitize(r) or "(unknown)", d, int(n))
            for r, d, n in per.itertuples(index=False)
        ]
    if not crashes.empty:
        record = _col(crashes, "record", "crash").fillna("crash").astype(str)
        is_crash = record == "crash"
        s.crashes = int(is_crash.sum())
        s.events = int((~is_crash).sum())
        ids = _col(crashes, "crash_id").astype(str)
        s.explained_crashes = int((is_crash & ids.isin(explained)).sum())
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
