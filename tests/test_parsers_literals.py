"""Telling from required literals which patterns cannot match a column: never a matching row lost.

The stages skip a regex pass over the text column when none of the pattern's required literals
occurs in the column's bytes. These tests check the two halves of that claim: every match of a
pattern contains one of the literals `required_literals` reads off it (strings generated from the
pattern itself), and `Gate.possible` never leaves out a pattern some row matches — with either
scanning engine, which must agree.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triage import kernel
from triage.crashes import rules, sysrq
from triage.crashes.extract import PREFILTER
from triage.match import load_signatures
from triage.match.compile import patterns as signature_patterns
from triage.parsers import FORMATS, syslog
from triage.parsers.literals import Gate, Requirement, required_literals
from triage.prefilter import hyperscan_available

ENGINES = ["find"] + (["hyperscan"] if hyperscan_available() else [])

#: shapes the reader must get right: optional parts, alternations, classes, escapes
TRICKY = [
    r"a|bc",
    r"(?:ab)?cd",
    r"xy{2,}z",
    r"\bfoo\+0x",
    r"(?P<n>abc)+d",
    r"(?:a|)bcd",
    r"[]x]yz",
    r"\d+ms elapsed",
    r"(?=abc)ab",
    r"(?<=x)yz",
    r"(?>atomic)ally",
    r"^-- (?:Boot [0-9a-f]{32}|Reboot) --$",
    r"a.b\.c",
    r"(?i)\bsysrq\s*:\s*\S",
    r"(?i)Show (?:Regs|State)",
    r"ab*c",
    r"ab+?c",
    r"(x|y)(z|w)",
]


def _all_patterns() -> list[str]:
    out = [PREFILTER, sysrq._SYSRQ_ANCHOR, *kernel.anchor_patterns(), *TRICKY]
    out += [k.header for k in rules.KINDS] + list(rules.INFO_WITH_STACK)
    for fmt in FORMATS.values():
        out += [p for p in (fmt.pattern, fmt.header, fmt.body, fmt.body_fast, fmt.fast) if p]
    out.append(syslog.KEEP_UNTAGGED)
    for sig in load_signatures([]).signatures:
        out += [p for _where, p in signature_patterns(sig.doc)]
    return list(dict.fromkeys(out))


PATTERNS = _all_patterns()
ANALYSED = [p for p in PATTERNS if required_literals(p) is not None]


def test_required_literals_of_common_shapes() -> None:
    assert required_literals(r"Linux version \d[^\s]* \(") == Requirement(("Linux version ",))
    assert required_literals(r"a|bc") == Requirement(("a", "bc"))
    assert required_literals(r"(?:ab)?cd") == Requirement(("cd",))
    assert required_literals(r"xy{2,}z") == Requirement(("x",))
    assert required_literals(r"\bfoo\+0x") == Requirement(("foo+0x",))
    assert required_literals(r"(?=abc)ab") == Requirement(("ab",))
    assert required_literals(r"(?i)\bsysrq\s*:\s*\S") == Requirement(("sysrq",), caseless=True)
    # a literal containing another is redundant: the shorter one is present whenever it is
    assert required_literals(r"SysRq : |SysRq : Show Regs") == Requirement(("SysRq : ",))


@pytest.mark.parametrize(
    "pattern",
    [
        r"\x41bc",  # an escape this reader does not decode
        r"(?x)a b",  # verbose: spaces are not literal
        r"(?i:abc)",  # scoped flags
        r"(?s)abc",  # flags other than a leading (?i)
        r"(a)\1",  # back-reference
        r"[[:alpha:]]+xyz",  # POSIX class (RE2) or a nested set
        r"abc{e<=1}",  # fuzzy matching in `regex`, a literal `{` elsewhere
        r"ab}c",
        r"\p{L}abc",
        r"(?P=n)abc",
        r"(?#note)abc",
        r"a)b",
        r"(ab",
        r"",
        r"\d+",
        r"*abc",
    ],
)
def test_gives_up_on_syntax_it_does_not_read(pattern: str) -> None:
    assert required_literals(pattern) is None


def _compiles_in_re(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


@pytest.mark.parametrize("pattern", [p for p in ANALYSED if _compiles_in_re(p)])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_match_holds_a_required_literal(pattern: str, data: st.DataObject) -> None:
    need = required_literals(pattern)
    assert need is not None
    text = data.draw(st.from_regex(pattern))
    match = re.search(pattern, text)  # what the generator means by the pattern
    assert match is not None
    found = match.group(0)
    if need.caseless and not found.isascii():
        return  # caseless literals are only trusted on ASCII text (`Gate.possible` checks)
    hay = found.lower() if need.caseless else found
    assert any((lit.lower() if need.caseless else lit) in hay for lit in need.literals), (
        pattern,
        found,
    )


LINES = st.sampled_from(
    [
        "Linux version 2.6.18-128.el5xen (mockbuild@hs20) (gcc version 4.1.2) #1 SMP",
        "BUG: soft lockup - CPU#1 stuck for 10s! [events/1:12]",
        "SysRq : Show State",
        "sysrq: SysRq : Show Regs",
        "SYSRQ : HELP",
        "\u017fysrq : ſ is a long s, which folds to s",  # non-ASCII: caseless literals not trusted
        "-- Boot 0123456789abcdef0123456789abcdef --",
        "-- Reboot --",
        "web01 login: ",
        "EIP: 0061:[<c0119f2e>] Not tainted VLI",
        "Out of memory: Killed process 123 (httpd)",
        "eth0: no IPv6 routers present",
        "Kernel panic - not syncing: Fatal exception",
        "übergroße Zeile ohne Bedeutung",
        "",
        " [<ee1d5a2f>] netif_poll+0x4f/0x6b0 [xennet]",
        "abc cd foo+0x12 ab atomically yz",
    ]
)


def _rows_matching(pattern: str, texts: list[str]) -> bool:
    rx = regex.compile(pattern)
    return any(rx.search(t) for t in texts)


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=120, deadline=None)
@given(texts=st.lists(LINES, max_size=12), cut=st.integers(min_value=0, max_value=4))
def test_gate_keeps_every_pattern_some_row_matches(engine: str, texts: list[str], cut: int) -> None:
    gate = Gate(PATTERNS, engine=engine)
    column = pa.array(texts, pa.string())
    sliced = column.slice(min(cut, len(texts)))  # a window of a larger table
    chunked = pa.chunked_array([column.slice(0, cut), column.slice(cut)], pa.string())
    for col, rows in ((column, texts), (sliced, texts[cut:]), (chunked, texts)):
        possible = gate.possible(col)
        for p in PATTERNS:
            if p not in possible:
                assert not _rows_matching(p, rows), p


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(LINES, max_size=12))
def test_engines_agree(texts: list[str]) -> None:
    if not hyperscan_available():
        pytest.skip("hyperscan is not installed: only the find engine can run here")
    column = pa.array(texts, pa.string())
    assert Gate(PATTERNS, engine="find").possible(column) == Gate(
        PATTERNS, engine="hyperscan"
    ).possible(column)


def test_non_string_columns_are_not_judged() -> None:
    gate = Gate([r"abc"])
    assert gate.possible(pa.array([b"xyz"], pa.binary())) == {r"abc"}
    assert gate.possible(pa.array(["xyz"], pa.large_string())) == set()
    assert gate.possible(pa.array([None, None], pa.string())) == set()
