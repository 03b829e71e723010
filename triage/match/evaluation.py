"""Turning condition hits into findings: kernel verdict, confidence, VM link, one owner per line.

Evaluation runs per boot of the source (and one host at a time, when the source holds several
hosts' lines: a loghost's messages). For each signature: is the running kernel in scope
(verdict), does an exclusion fire, does the evidence hold, how confident is the match (the
first confidence rule whose named conditions all held, capped by the signature's own cap and
by what is known about the kernel). Finally, when two signatures claim the same evidence line
in one boot, only one is reported (explicit `precedence.yields_to` first, then confidence,
then the id), and the survivor names the alternatives it beat.
"""

from __future__ import annotations

import contextlib
import operator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pyarrow.compute as pc

from triage.kernel.hosts import rows_by_host
from triage.match.conditions import Hit, Unit, cannot_hold, evaluate_node, is_quiet
from triage.match.lineindex import LineIndex
from triage.match.regexes import PatternTimeout
from triage.match.verdict import AFFECTED, FIXED, UNKNOWN, KernelView, judge, kernel_view
from triage.model import ErrorRecord, Evidence, Fact, Finding, stable_id

if TYPE_CHECKING:
    import numpy as np

    from triage.match import SourceContext
    from triage.match.library import Signature, SignatureSet

LEVELS = {"low": 0, "medium": 1, "high": 2}
NAMES = {v: k for k, v in LEVELS.items()}
MAX_EVIDENCE = 30
VM_PLACEHOLDER = "<vm_uuid>"


def evaluate(sigset: SignatureSet, ctx: SourceContext) -> tuple[list[Finding], list[ErrorRecord]]:
    errors: list[ErrorRecord] = []
    active = [s for s in sigset.signatures if s.id not in sigset.disabled]
    if not active or ctx.lines is None:
        return [], errors
    patterns = _all_line_patterns(sigset, active)
    if _settled_on_blank(active, patterns, ctx):
        return [], errors
    # (worked out here for a caller that did not: a rematch, as the pipeline would have)
    hosts = rows_by_host(ctx.lines, ctx.source.kind) if ctx.hosts is None else ctx.hosts
    if hosts:
        return _evaluate_hosts(sigset, ctx, hosts)
    index = LineIndex(ctx.lines, sigset.limits.regex_timeout)
    primed = False
    # a slow pattern is found again, and its signature disabled, when its signature runs
    with contextlib.suppress(PatternTimeout):
        index.prime(patterns, ctx.no_hits)
        primed = True
    no_hits = primed and not index.any_hits()  # primed: every pattern has its (empty) hits
    vm_id, vm_name, vm_how = _link_vm(ctx)
    vm_facts = (
        [f for f in ctx.facts if f.subject_type == "vm" and f.subject_id == vm_id]
        if vm_id
        else None
    )
    host_facts = _host_facts(ctx.facts, vm_facts)
    findings: list[Finding] = []
    for unit in _units(ctx, index, host_facts, vm_facts):
        unit_findings: list[tuple[Signature, Finding, set[tuple[str, int]]]] = []
        kernel = _kernel_of(unit)
        blank = no_hits and _blank(unit) and not isinstance(kernel, Exception)
        for sig in active:
            if sigset.disabled and sig.id in sigset.disabled:
                continue
            if blank and _fails_on_blank(sig, unit):
                continue
            try:
                got = _evaluate_one(sig, unit, ctx, vm_id, vm_name, vm_how, kernel)
            except PatternTimeout as exc:
                sigset.disabled[sig.id] = str(exc)
                what = f"disabled for this run: {exc} (while reading {ctx.source.display})"
                errors.append(_signature_error(sig, ctx, "regex-timeout", what))
                continue
            except Exception as exc:  # one broken rule must not hide the others' findings
                what = f"failed on {ctx.source.display}: {type(exc).__name__}: {exc}"
                errors.append(_signature_error(sig, ctx, "signature-error", what))
                continue
            if got is not None:
                unit_findings.append((sig, got, _line_keys(got)))
        findings.extend(_one_owner_per_line(unit_findings))
    return findings, errors


def _evaluate_hosts(
    sigset: SignatureSet, ctx: SourceContext, hosts: list[np.ndarray]
) -> tuple[list[Finding], list[ErrorRecord]]:
    """`evaluate` of a source holding several hosts' lines: each host's lines, boots and
    crashes matched as a source of their own, the findings in the order of their boots."""
    findings: list[Finding] = []
    errors: list[ErrorRecord] = []
    for rows in hosts:
        lines = ctx.lines.take(rows)
        ids = set(pc.unique(lines.column("boot_id")).to_pylist())
        part = replace(
            ctx,
            lines=lines,
            boots=[b for b in ctx.boots if b.boot_id in ids],
            crashes=[c for c in ctx.crashes if c.boot_id in ids],
            hosts=[],
        )
        got, failed = evaluate(sigset, part)
        findings.extend(got)
        errors.extend(failed)
    order = {b.boot_id: b.index for b in ctx.boots}
    findings.sort(key=lambda f: order.get(f.boot_id, -1))
    return findings, errors


def _settled_on_blank(active: list[Signature], patterns: list[str], ctx: SourceContext) -> bool:
    """Is the source's outcome known before its lines are indexed: none of the signatures'
    line patterns matches any line (`ctx.no_hits`), so that each of its units is blank (see
    `_blank`: no crash, no host or VM fact, no banner either), and every active signature is
    known to fail on a blank unit? Then `evaluate` would skip every signature of every unit:
    no finding, no error. Most small logs of a folder are such sources."""
    if not ctx.no_hits or ctx.crashes or any(b.banner for b in ctx.boots):
        return False
    if any(f.subject_type in ("host", "vm") for f in ctx.facts):
        return False
    if not ctx.no_hits.issuperset(patterns):
        return False
    if not all(_known_fails_on_blank(sig) for sig in active):  # known once a blank unit ran
        return False
    try:  # as each unit reads its kernel (`_kernel_of`): a failure is reported per signature
        for boot in [*ctx.boots, None]:
            kernel_view(boot, [])
    except Exception:
        return False
    return True


def _blank(unit: Unit) -> bool:
    """Does the unit offer nothing a condition's outcome could depend on, beyond its
    signature's own tree? The caller has seen every line pattern primed without a hit; with
    no crash, no fact and no banner either, each leaf's `_settle` state is fixed by its spec
    alone (a line fails, a silence without wake-up is quiet, a fact or boot fails, ...)."""
    boot = unit.boot
    return (
        not unit.crashes
        and not unit.host_facts
        and not unit.vm_facts
        and (boot is None or not boot.banner or unit.end <= unit.start)
    )


def _fails_on_blank(sig: Signature, unit: Unit) -> bool:
    """`_evaluate_one`'s first test on a blank unit (`_blank`): settled to fail without a
    step that could raise. The same for every blank unit, so it is worked out once per
    signature document — most signatures on most small sources end here."""
    known = _known_fails_on_blank(sig)
    if known is not None:
        return known
    doc = sig.doc
    fails = cannot_hold(doc["evidence"], unit) and all(
        is_quiet(ex, unit) for ex in doc.get("exclude") or []
    )
    sig.__dict__["_fails_on_blank"] = (doc, fails)
    return fails


def _known_fails_on_blank(sig: Signature) -> bool | None:
    """`_fails_on_blank` of the signature's current document, when worked out already."""
    cached = sig.__dict__.get("_fails_on_blank")
    return cached[1] if cached is not None and cached[0] is sig.doc else None


_LINE_LEVEL = {("line", "pattern"), ("sequence", "steps"), ("silence", "then"), ("boot", "lacks")}


def _all_line_patterns(sigset: SignatureSet, active: list[Signature]) -> list[str]:
    """The line patterns of the `active` signatures, in order, kept with the set while the
    same documents are active (gathering them per source cost more than a small source's
    matching)."""
    docs = [s.doc for s in active]
    memo = sigset.__dict__.get("_all_line_patterns")
    if memo is not None and len(memo[0]) == len(docs) and all(map(operator.is_, memo[0], docs)):
        return memo[1]
    out = [p for s in active for p in _line_patterns(s)]
    sigset.__dict__["_all_line_patterns"] = (docs, out)
    return out


def _line_patterns(sig: Signature) -> list[str]:
    """The patterns run over line text (worth one shared vectorised pass), read once per
    signature document: walking the tree for every source cost more than matching a small one."""
    cached = sig.__dict__.get("_line_patterns")
    if cached is not None and cached[0] is sig.doc:
        return cached[1]
    out = _read_line_patterns(sig)
    sig.__dict__["_line_patterns"] = (sig.doc, out)
    return out


def _read_line_patterns(sig: Signature) -> list[str]:
    from triage.match.compile import patterns

    out = []
    for where, p in patterns(sig.doc):
        parts = where.split("/")
        kind_key = (parts[-3], parts[-2]) if parts[-1].isdigit() else (parts[-2], parts[-1])
        if kind_key in _LINE_LEVEL:
            out.append(p)
    return out


def _host_facts(facts: list[Fact], vm_facts: list[Fact] | None) -> list[Fact]:
    """The facts of the host a source's machine ran on. The xapi database is pool-wide: a
    status report states every pool member's memory, so the host a signature asks about is
    the linked VM's (`vm.resident_on`), else the one the report was taken on
    (`host.is_bundle_host`); all hosts' only when nothing tells (a 128 GiB pool member made
    a guest on a 32 GiB host "affected" by the 64 GiB crash)."""
    hosts = [f for f in facts if f.subject_type == "host"]
    subjects = {f.subject_id for f in hosts}
    if len(subjects) < 2:
        return hosts
    resident = {f.value for f in vm_facts or () if f.key == "vm.resident_on"} & subjects
    taken_on = {f.subject_id for f in hosts if f.key == "host.is_bundle_host" and f.value == "true"}
    chosen = resident or taken_on
    return [f for f in hosts if f.subject_id in chosen] if chosen else hosts


def _units(
    ctx: SourceContext, index: LineIndex, host_facts: list[Fact], vm_facts: list[Fact] | None
) -> list[Unit]:
    """One unit per boot; lines before the first boot (no banner seen) form their own unit."""
    boots = sorted(ctx.boots, key=lambda b: b.first_line)
    units: list[Unit] = []
    orders: dict[int, list[dict[str, Any]]] = {}  # shared: the documents do not change meanwhile
    covered_start = index.n
    for i, b in enumerate(boots):
        start, end = index.rows_for_lines(b.first_line, b.last_line)
        covered_start = min(covered_start, start)
        crashes = [
            c
            for c in ctx.crashes
            if c.boot_id == b.boot_id
            or (not c.boot_id and b.first_line <= c.first_line <= b.last_line)
        ]
        units.append(
            Unit(
                index,
                start,
                end,
                b,
                crashes,
                host_facts,
                vm_facts,
                is_last_boot=i == len(boots) - 1,
                orders=orders,
            )
        )
    if covered_start > 0 or not boots:
        end = covered_start if boots else index.n
        first_boot_line = boots[0].first_line if boots else None
        crashes = [
            c
            for c in ctx.crashes
            if not any(c.boot_id == b.boot_id for b in boots)
            and (first_boot_line is None or c.first_line < first_boot_line)
        ]
        if end > 0 or crashes:
            units.insert(
                0,
                Unit(
                    index,
                    0,
                    end,
                    None,
                    crashes,
                    host_facts,
                    vm_facts,
                    is_last_boot=not boots,
                    orders=orders,
                ),
            )
    return units


def _link_vm(ctx: SourceContext) -> tuple[str, str, str]:
    """(vm uuid, name, how the link was made) — from the facts stage's `link.*` facts, else by
    name; never a silent guess (an unlinked guest keeps the `<vm_uuid>` placeholder)."""
    vms: dict[str, str] = {}
    linked: dict[str, str] = {}
    methods: dict[str, str] = {}
    for f in ctx.facts:
        if f.subject_type != "vm" or not f.subject_id:
            continue
        if f.subject_name or f.subject_id not in vms:
            vms[f.subject_id] = f.subject_name or vms.get(f.subject_id, "")
        if f.key == "link.source" and f.value == ctx.source.display:
            linked[f.subject_id] = f.subject_name
        elif f.key == "link.method" and f.source_path == ctx.source.display:
            methods[f.subject_id] = f.value
    if len(linked) == 1:
        uuid, name = next(iter(linked.items()))
        return uuid, name or vms.get(uuid, ""), methods.get(uuid, "linked by the facts stage")

    def short(s: str) -> str:
        return s.split(".")[0].lower()

    if ctx.source.vm_name:
        for uuid, name in vms.items():
            if name and short(name) == short(ctx.source.vm_name):
                return uuid, name, f"console file name matches the VM's name {name!r}"
    hosts = {b.hostname for b in ctx.boots if b.hostname}
    by_host = [(u, n) for u, n in vms.items() if n and any(short(h) == short(n) for h in hosts)]
    if len(by_host) == 1:
        uuid, name = by_host[0]
        return uuid, name, f"guest hostname matches the VM's name {name!r}"
    return "", "", ""


def _kernel_of(unit: Unit) -> KernelView | Exception:
    """The unit's running kernel, read once for all signatures (or what reading it raised,
    which each signature then reports as before)."""
    try:
        return kernel_view(unit.boot, [c.release for c in unit.crashes if c.release])
    except Exception as exc:  # raised again per signature: one error row each, as always
        return exc


def _evaluate_one(
    sig: Signature,
    unit: Unit,
    ctx: SourceContext,
    vm_id: str,
    vm_name: str,
    vm_how: str,
    kernel: KernelView | Exception | None = None,
) -> Finding | None:
    doc = sig.doc
    k = _kernel_of(unit) if kernel is None else kernel
    if isinstance(k, Exception):
        raise k
    # What evaluating would conclude, with nothing it could raise on the way (`judge` is a
    # pure function of valid documents that raises for no release string): most signatures
    # end here for most sources.
    if cannot_hold(doc["evidence"], unit) and all(
        is_quiet(ex, unit) for ex in doc.get("exclude") or []
    ):
        return None
    v = judge(doc["applies_to"], k)
    if not v.applies:
        return None
    for ex in doc.get("exclude") or []:
        if evaluate_node(ex, unit).ok:
            return None
    hit = evaluate_node(doc["evidence"], unit)
    if not hit.ok:
        return None
    level, reason = _confidence(doc, hit, v.verdict)
    crash = hit.crashes[0] if hit.crashes else None
    evidence = _evidence(hit, unit, ctx)
    boot = unit.boot
    workaround = doc.get("workaround", "") or ""
    if workaround:
        filled = vm_id or VM_PLACEHOLDER
        workaround = workaround.replace("{vm_uuid}", filled).rstrip()
        if vm_id:
            workaround += f"\n(VM {vm_name or vm_id}: {vm_how})"
    times = [e_time for e_time in [hit.time] if e_time is not None]
    first_time = _naive(times[0]) if times else (crash.timestamp if crash else None)
    return Finding(
        finding_id=stable_id(
            sig.id,
            ctx.source.source_id,
            boot.boot_id if boot else "",
            crash.crash_id if crash else "",
        ),
        signature_id=sig.id,
        title=sig.title,
        source_id=ctx.source.source_id,
        boot_id=boot.boot_id if boot else "",
        crash_id=crash.crash_id if crash else "",
        confidence=level,
        confidence_reason=reason,
        verdict=v.verdict,
        verdict_reason=v.reason,
        release=k.release,
        distro_release=k.distro_release,
        host=(boot.hostname if boot else "") or "",
        vm_uuid=vm_id,
        vm_name=vm_name,
        evidence=evidence,
        references=[_ref_text(r) for r in doc.get("references") or []],
        fix=str(doc.get("fix", "")).rstrip(),
        workaround=workaround,
        first_time=first_time,
    )


def _naive(epoch: float):  # type: ignore[no-untyped-def]
    from triage.match.conditions import _from_epoch

    return _from_epoch(epoch)


def _confidence(doc: dict[str, Any], hit: Hit, verdict: str) -> tuple[str, str]:
    conf = doc["confidence"]
    level, reason = conf["default"], conf.get("default_reason", "the evidence conditions hold")
    for rule in conf.get("rules") or []:
        if set(rule["when"]) <= hit.names:
            level, reason = rule["level"], rule["reason"]
            break
    notes = [reason]
    cap = conf.get("cap")
    if cap and LEVELS[level] > LEVELS[cap]:
        level = cap
        notes.append(f"capped at {cap}: {conf.get('cap_reason', 'log shape not verified')}")
    if verdict == UNKNOWN and LEVELS[level] > LEVELS["medium"]:
        level = "medium"
        notes.append("capped at medium: the running kernel is not named in this source")
    if verdict == FIXED:
        level = "low"
        notes.append("low: the running kernel already carries the fix")
    return level, "; ".join(notes)


def _evidence(hit: Hit, unit: Unit, ctx: SourceContext) -> list[Evidence]:
    out: list[Evidence] = []
    seen: set[int] = set()
    for row, reason in sorted(hit.rows, key=lambda x: x[0]):
        if row in seen:
            continue
        seen.add(row)
        out.append(
            Evidence(
                source_id=ctx.source.source_id,
                lineno=unit.index.lineno_of(row),
                text=unit.index.text_of(row),
                reason=reason,
                path=ctx.source.display,
            )
        )
    for fe in hit.facts:
        f = fe.fact
        path = f.source_path or f.bundle
        if f.bundle and f.source_path and "!" not in f.source_path and f.bundle != f.source_path:
            path = f"{f.bundle}!{f.source_path}"
        out.append(
            Evidence(
                source_id="",
                lineno=int(f.lineno or 0),
                text=f"{f.key} = {f.value}" + (f" at {f.time:%Y-%m-%d %H:%M:%S}" if f.time else ""),
                reason=fe.reason,
                path=path,
            )
        )
    return out[:MAX_EVIDENCE]


def _ref_text(r: dict[str, Any]) -> str:
    kind, rid = r["type"], r["id"]
    if kind == "bugzilla":
        return f"RHBZ#{rid}"
    if kind == "ext":
        return rid
    return rid


def _line_keys(f: Finding) -> set[tuple[str, int]]:
    return {(e.source_id, e.lineno) for e in f.evidence if e.source_id}


def _signature_error(sig: Any, ctx: Any, error_class: str, what: str) -> ErrorRecord:
    """The errors row of a signature that could not be evaluated against a source."""
    return ErrorRecord(
        path=str(sig.path),
        stage="match",
        error_class=error_class,
        message=f"{sig.path}: signature {sig.id} {what}",
        source_id=ctx.source.source_id,
    )


def _one_owner_per_line(
    items: list[tuple[Signature, Finding, set[tuple[str, int]]]],
) -> list[Finding]:
    """Drop findings whose evidence lines a stronger finding of the same boot already claims."""

    def yields(a: tuple[Signature, Finding, Any], b: tuple[Signature, Finding, Any]) -> bool:
        """Whether `a` gives way to `b` by its precedence: not to a finding whose kernel has the
        fix (it says another explanation is needed, which `a`, on an affected kernel, is)."""
        if b[1].verdict == FIXED and a[1].verdict != FIXED:
            return False
        return b[0].id in ((a[0].doc.get("precedence") or {}).get("yields_to") or [])

    def rank(item: tuple[Signature, Finding, set[tuple[str, int]]]) -> tuple[int, int, int]:
        _sig, f, _ = item
        verdict_rank = {AFFECTED: 2, UNKNOWN: 1, FIXED: 0}.get(f.verdict, 0)
        return (-LEVELS[f.confidence], -verdict_rank, 0)

    order = sorted(items, key=lambda it: (rank(it), it[0].id))
    # explicit precedence beats confidence: move a winner ahead of whoever yields to it
    changed = True
    guard = 0
    while changed and guard < 100:
        changed = False
        guard += 1
        for i in range(len(order)):
            for j in range(i + 1, len(order)):
                if yields(order[i], order[j]) and order[i][2] & order[j][2]:
                    order.insert(i, order.pop(j))
                    changed = True
                    break
            if changed:
                break
    kept: list[tuple[Signature, Finding, set[tuple[str, int]]]] = []
    for sig, f, keys in order:
        owner = next((k for k in kept if keys and keys & k[2]), None)
        if owner is not None:
            note = f"same evidence also fits {sig.id} ({f.confidence}), reported once under this signature"
            owner[1].confidence_reason += f"; {note}"
            continue
        kept.append((sig, f, keys))
    return [
        f
        for _, f, _ in sorted(
            kept, key=lambda k: (k[1].evidence[0].lineno if k[1].evidence else 0, k[0].id)
        )
    ]
