"""The matcher's shortcuts change no answer, on every sample log and corpus report.

`LineIndex.prime` gives no hits, without running them, to patterns whose literals the source does
not hold; `cannot_hold` settles a signature's failure from those cached hits instead of evaluating
it. Here the primed hits are compared with each pattern run alone, and every settled failure with
a full evaluation of the same condition tree on the same unit.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from helpers_logs import parsed_logs
from hypothesis import given, settings
from hypothesis import strategies as st

from triage import crashes, kernel
from triage.limits import DEFAULT_LIMITS
from triage.match import SourceContext, load_signatures
from triage.match.conditions import cannot_hold, evaluate_node, is_quiet
from triage.match.evaluation import _line_patterns, _units
from triage.match.lineindex import LineIndex
from triage.match.verdict import judge, kernel_view
from triage.model import Boot


def _contexts() -> list[SourceContext]:
    out = []
    for src, parsed in parsed_logs():
        boots, ids = kernel.segment_boots(parsed, src.source_id)
        lines = parsed.set_column(parsed.schema.get_field_index("boot_id"), "boot_id", ids)
        found = crashes.extract(lines, src.source_id, boots)
        out.append(SourceContext(source=src, lines=lines, boots=boots, crashes=found))
    return out


@pytest.fixture(scope="module")
def contexts() -> list[SourceContext]:
    return _contexts()


@pytest.fixture(scope="module")
def sigset():  # type: ignore[no-untyped-def]
    return load_signatures([])


def test_primed_hits_equal_each_pattern_run_alone(contexts, sigset) -> None:  # type: ignore[no-untyped-def]
    pats = list(dict.fromkeys(p for s in sigset.signatures for p in _line_patterns(s)))
    skipped = 0
    for ctx in contexts:
        primed = LineIndex(ctx.lines, DEFAULT_LIMITS.regex_timeout)
        primed.prime(pats)
        alone = LineIndex(ctx.lines, DEFAULT_LIMITS.regex_timeout)
        for p in pats:
            assert primed.cached_hits(p).tolist() == alone.hits(p).tolist(), (ctx.source.path, p)
        skipped += sum(1 for p in pats if not len(alone.hits(p)))
    assert skipped  # the shortcut had something to do


def test_settled_failures_are_failures(contexts, sigset) -> None:  # type: ignore[no-untyped-def]
    settled = 0
    for ctx in contexts:
        index = LineIndex(ctx.lines, DEFAULT_LIMITS.regex_timeout)
        index.prime([p for s in sigset.signatures for p in _line_patterns(s)])
        for unit in _units(ctx, index, [], None):
            for sig in sigset.signatures:
                nodes = [sig.doc["evidence"], *(sig.doc.get("exclude") or [])]
                for node in nodes:
                    if cannot_hold(node, unit):
                        settled += 1
                        assert not evaluate_node(node, unit).ok, (ctx.source.path, sig.id)
                    if is_quiet(node, unit):
                        evaluate_node(node, unit)  # runs only cached lookups: never raises
    assert settled


def test_unprimed_patterns_are_never_settled(contexts, sigset) -> None:  # type: ignore[no-untyped-def]
    ctx = next(c for c in contexts if c.lines.num_rows)
    index = LineIndex(ctx.lines, DEFAULT_LIMITS.regex_timeout)  # nothing run yet
    for unit in _units(ctx, index, [], None):
        for sig in sigset.signatures:
            if _line_patterns(sig):
                assert not cannot_hold({"line": {"pattern": _line_patterns(sig)[0]}}, unit)


_BUILTIN = load_signatures([]).signatures


@settings(max_examples=200, deadline=None)
@given(
    release=st.one_of(
        st.text(max_size=40),
        st.sampled_from(["2.6.9-78.ELxenU", "2.6.18-128.el5xen", "2.6.18-8.1.15.el5.xs5.0", "~^-"]),
    ),
    distro_release=st.text(max_size=8),
)
def test_judge_raises_for_no_release(release: str, distro_release: str) -> None:
    """`_evaluate_one` settles a failure before judging the kernel: judging must never raise."""
    sigs = _BUILTIN
    boot = Boot(boot_id="b", source_id="s", index=0, first_line=1, last_line=1, release=release)
    views = [kernel_view(boot, []), kernel_view(None, [release])]
    views.append(replace(views[0], distro_release=distro_release, distro="rhel"))
    for sig in sigs:
        for k in views:
            judge(sig.doc["applies_to"], k)
