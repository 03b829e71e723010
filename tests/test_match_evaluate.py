"""evaluate(): findings, evidence, exclusions, precedence, and a hostile pattern."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
from helpers_match import fact, lines_table

from triage.limits import DEFAULT_LIMITS
from triage.match import SourceContext, evaluate, load_signatures
from triage.model import Boot, Fact, SourceFile

RULE = """\
id: local/{name}
title: Test rule {name}
kind: crash
status: experimental
references: [{{type: kb, id: KB-1}}]
applies_to: {{distros: [any]}}
{extra}
evidence: {evidence}
confidence: {{rules: [], default: {level}}}
fix: Do the thing.
workaround: "xe vm-param-remove uuid={{vm_uuid}} param-name=other-config param-key=x"
tests:
  match: [{{text: "boom"}}]
  no_match: [{{text: "calm"}}]
"""


def _rules(tmp_path: Path, **rules: tuple[str, str, str]) -> str:
    d = tmp_path / "local"
    d.mkdir(exist_ok=True)
    for name, (evidence, level, extra) in rules.items():
        (d / f"{name}.yaml").write_text(
            RULE.format(name=name, evidence=evidence, level=level, extra=extra)
        )
    return str(tmp_path)


def _ctx(texts: list[str], facts: list[Fact] | None = None, release: str = "") -> SourceContext:
    src = SourceFile(
        disk_path="/tmp/case.tar.gz",
        members=("var/log/messages",),
        bundle="case.tar.gz",
        path="var/log/messages",
    )
    boot = Boot(
        boot_id="b0",
        source_id=src.source_id,
        index=0,
        first_line=1,
        last_line=len(texts),
        release=release,
    )
    return SourceContext(
        source=src, lines=lines_table(texts), boots=[boot], crashes=[], facts=facts or []
    )


def test_finding_carries_evidence_lines_and_unknown_kernel(tmp_path):
    sigset = load_signatures(
        [_rules(tmp_path, one=("{line: {pattern: 'boom'}}", "high", ""))], builtin=False
    )
    findings, errors = evaluate(sigset, _ctx(["calm", "boom here"]))
    assert not errors and len(findings) == 1
    f = findings[0]
    assert f.signature_id == "local/one" and f.verdict == "unknown-kernel"
    assert f.confidence == "medium" and "not named" in f.confidence_reason
    ev = f.evidence[0]
    assert (ev.lineno, ev.text, ev.path) == (2, "boom here", "case.tar.gz!var/log/messages")
    assert "<vm_uuid>" in f.workaround


def test_exclusion_and_vm_uuid_fill(tmp_path):
    extra = "exclude: [{fact: {key: vm.other_config.suppress, present: true}}]"
    sigset = load_signatures(
        [_rules(tmp_path, one=("{line: {pattern: 'boom'}}", "low", extra))], builtin=False
    )
    link = Fact(
        "case.tar.gz",
        "vm",
        "vm-1",
        "link.source",
        "case.tar.gz!var/log/messages",
        subject_name="web07",
    )
    findings, _ = evaluate(sigset, _ctx(["boom"], [link]))
    assert findings and "uuid=vm-1 " in findings[0].workaround and findings[0].vm_name == "web07"
    flag = Fact("case.tar.gz", "vm", "vm-1", "vm.other_config.suppress", "true")
    findings, _ = evaluate(sigset, _ctx(["boom"], [link, flag]))
    assert findings == []


def test_same_evidence_reported_once_with_precedence(tmp_path):
    sigset = load_signatures(
        [
            _rules(
                tmp_path,
                general=(
                    "{line: {pattern: 'boom'}}",
                    "low",
                    "precedence: {yields_to: [local/specific]}",
                ),
                specific=("{line: {pattern: 'boom'}}", "low", ""),
                other=("{line: {pattern: 'calm'}}", "low", ""),
            )
        ],
        builtin=False,
    )
    findings, _ = evaluate(sigset, _ctx(["boom", "calm"]))
    ids = sorted(f.signature_id for f in findings)
    assert ids == ["local/other", "local/specific"]
    spec = next(f for f in findings if f.signature_id == "local/specific")
    assert "local/general" in spec.confidence_reason


def test_catastrophic_pattern_disables_only_its_signature(tmp_path):
    slow = "{line: {pattern: '(?=a)(a|aa)+$'}}"
    sigset = load_signatures(
        [_rules(tmp_path, slow=(slow, "low", ""), fine=("{line: {pattern: 'boom'}}", "low", ""))],
        limits=DEFAULT_LIMITS.override(regex_timeout=0.05),
        builtin=False,
    )
    findings, errors = evaluate(sigset, _ctx(["a" * 30 + "b", "boom"]))
    assert [f.signature_id for f in findings] == ["local/fine"]
    assert (
        len(errors) == 1
        and errors[0].error_class == "regex-timeout"
        and "local/slow" in errors[0].message
    )
    assert "local/slow" in sigset.disabled


def test_fact_only_on_host(tmp_path):
    ev = "{all: [{line: {pattern: 'Oops'}}, {fact: {key: host.memory_total_bytes, ge: 68719476736}}]}"
    sigset = load_signatures([_rules(tmp_path, big=(ev, "medium", ""))], builtin=False)
    assert evaluate(
        sigset, _ctx(["Oops: 0000 [#1]"], [fact("host.memory_total_bytes", str(96 << 30))])
    )[0]
    assert not evaluate(
        sigset, _ctx(["Oops: 0000 [#1]"], [fact("host.memory_total_bytes", str(32 << 30))])
    )[0]


def test_host_facts_are_those_of_the_host_the_guest_ran_on(tmp_path):
    """A status report's xapi database is pool-wide: it states every member's memory. A guest
    on a 32 GiB host of a pool with a 128 GiB member was "affected" by the 64 GiB crash; the
    host asked about is the linked VM's (`vm.resident_on`), else the report's own host."""
    ev = "{all: [{line: {pattern: 'Oops'}}, {fact: {key: host.memory_total_bytes, ge: 68719476736}}]}"
    sigset = load_signatures([_rules(tmp_path, big=(ev, "medium", ""))], builtin=False)

    def host(uuid: str, key: str, value: str) -> Fact:
        return Fact("bug-report.tar.bz2", "host", uuid, key, value, source_path="xapi-db.xml")

    small, big = "3b1f7c2e-0000-4000-8000-00000000000a", "c4d5e6f7-0000-4000-8000-00000000000b"
    pool = [
        host(small, "host.memory_total_bytes", str(32 << 30)),
        host(big, "host.memory_total_bytes", str(128 << 30)),
    ]
    src = _ctx(["Oops: 0002 [#1]"]).source
    vm = "2a3b4c5d-0000-4000-8000-0000000000cc"

    def vm_fact(key: str, value: str) -> Fact:
        return Fact("bug-report.tar.bz2", "vm", vm, key, value, subject_name="web01")

    linked = [vm_fact("link.source", src.display), vm_fact("link.method", "console file name")]
    on = {uuid: vm_fact("vm.resident_on", uuid) for uuid in (small, big)}
    taken = {uuid: host(uuid, "host.is_bundle_host", "true") for uuid in (small, big)}
    cases = [
        ([*pool, *linked, on[small], taken[big]], False),  # the VM's host first
        ([*pool, *linked, on[big], taken[small]], True),
        ([*pool, taken[small]], False),  # no VM linked: the report's own host
        ([*pool, taken[big]], True),
        (pool, True),  # nothing tells: any host, as before
        (pool[:1], False),
    ]
    for facts, fires in cases:
        got = evaluate(sigset, _ctx(["Oops: 0002 [#1]"], facts))[0]
        assert bool(got) is fires, facts


def test_builtin_verdicts_affected_fixed_and_out_of_scope():
    sigset = load_signatures()
    oops = ["Unable to handle kernel paging request at virtual address c9a3e000", "Oops: 0002 [#1]"]
    got = {f.signature_id: f for f in evaluate(sigset, _ctx(oops, release="2.6.9-78.ELxenU"))[0]}
    assert got["xen-rhel/spurious-page-fault"].verdict == "affected"
    got = {
        f.signature_id: f
        for f in evaluate(sigset, _ctx(oops, release="2.6.9-89.0.3.EL.xs5.5.0.15xenU"))[0]
    }
    assert got["xen-rhel/spurious-page-fault"].verdict == "fixed-kernel"
    assert "fix" in got["xen-rhel/spurious-page-fault"].verdict_reason
    got = {f.signature_id for f in evaluate(sigset, _ctx(oops, release="2.6.32-431.el6.x86_64"))[0]}
    assert "xen-rhel/spurious-page-fault" not in got


def test_a_finding_is_dated_by_the_wall_clock_only(tmp_path):
    """Seconds since boot order a log's lines but are no time of day: a finding on a console
    log that has only those has no first time (it read 1970-01-01 00:00:20 before); the same
    lines with their wall-clock times date it from its first evidence line."""
    sigset = load_signatures(
        [_rules(tmp_path, one=("{line: {pattern: 'boom'}}", "high", ""))], builtin=False
    )
    ctx = _ctx(["calm", "boom here", "boom again"])
    mono = pa.array([5.0, 20.0, 40.0], pa.float64())
    ctx.lines = ctx.lines.set_column(ctx.lines.schema.get_field_index("mono"), "mono", mono)
    (found,), _ = evaluate(sigset, ctx)
    assert found.first_time is None
    start = dt.datetime(2009, 6, 15, 10, 21, 5)
    times = [start + dt.timedelta(seconds=s) for s in (5, 20, 40)]
    ctx.lines = lines_table(["calm", "boom here", "boom again"], times)
    (found,), _ = evaluate(sigset, ctx)
    assert found.first_time == times[1]


def test_a_fixed_kernel_finding_does_not_hide_the_affected_explanation():
    """The spurious page fault yields to the 64 GiB crash when both fit one oops; but on a
    kernel with the 64 GiB fix that finding says "fixed-kernel, it needs another
    explanation", and the spurious page fault, still in every RHEL 4 kernel, is that one: it
    was folded away, and the report said only "fixed"."""
    sigset = load_signatures()
    oops = [
        "Unable to handle kernel paging request at virtual address c7a12000",
        " printing eip:",
        "c0115a3e",
        "Oops: 0002 [#1]",
    ]
    big = [fact("host.memory_total_bytes", str(128 << 30))]
    got = {
        f.signature_id: f.verdict
        for f in evaluate(sigset, _ctx(oops, big, release="2.6.9-89.0.25.ELxenU"))[0]
    }
    assert got.get("xen-rhel/spurious-page-fault") == "affected", got
    # below the 64 GiB fix, that crash is the explanation, and the other yields to it
    got = {
        f.signature_id: f.verdict
        for f in evaluate(sigset, _ctx(oops, big, release="2.6.9-89.0.9.ELxenU"))[0]
    }
    assert got == {"xen-rhel/host-64gib-crash": "affected"}, got
