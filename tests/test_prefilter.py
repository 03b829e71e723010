"""The prefilter finds exactly the lines a naive per-line search finds, with either engine."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage.prefilter import Prefilter, hyperscan_available

PATTERNS = [
    r"Linux version ",
    r"Oops: [0-9a-f]{4}",
    r"BUG: soft lockup",
    r"SysRq ?: ",
    r"Kernel panic",
]
ENGINES = ["regex"] + (["hyperscan"] if hyperscan_available() else [])


def naive(data: bytes, patterns: list[str]) -> list[int]:
    import re

    rx = re.compile("|".join(patterns).encode())
    return [i + 1 for i, line in enumerate(data.split(b"\n")) if rx.search(line)]


LINES = st.sampled_from(
    [
        b"<4>Oops: 0002 [#1]",
        b"[    0.000000] Linux version 2.6.18-128.el5xen (mockbuild@hs20) (gcc version 4.1.2)",
        b"Jun 15 10:21:05 web07 kernel: BUG: soft lockup - CPU#1 stuck for 10s! [swapper:0]",
        b"SysRq : Show State",
        b"Kernel panic - not syncing: Fatal exception",
        b"eth0: no IPv6 routers present",
        b"",
        b"\r",
        b"\x00\xff\xfe garbage",
        b"Oops: zzzz not hex",
    ]
)


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=150, deadline=None)
@given(lines=st.lists(LINES, max_size=60), block=st.integers(min_value=1, max_value=400))
def test_prefilter_matches_naive_search(engine: str, lines: list[bytes], block: int) -> None:
    data = b"\n".join(lines)
    pf = Prefilter(PATTERNS, engine=engine)
    hits = list(pf.scan(data, block=block))
    assert [h.lineno for h in hits] == naive(data, PATTERNS)
    for h in hits:  # offsets point at the start of the hit line
        assert h.offset == 0 or data[h.offset - 1 : h.offset] == b"\n"


def test_engines_agree_on_a_large_buffer() -> None:
    if not hyperscan_available():
        pytest.skip("hyperscan is not installed: only the regex engine can run here")
    body = b"\n".join([b"ordinary line %d of the log" % i for i in range(200_000)])
    data = body + b"\nOops: 0002 [#1]\n" + body + b"\nSysRq : Show Regs\n"
    a = [h.lineno for h in Prefilter(PATTERNS, engine="regex").scan(data, block=1 << 20)]
    b = [h.lineno for h in Prefilter(PATTERNS, engine="hyperscan").scan(data, block=1 << 20)]
    assert a == b == [200_001, 400_002]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("data", "line"),
    [
        # a SLUB report's header, whose anchor may begin with the newline before it
        (b"=" * 77 + b"\nBUG numa_policy (Not tainted): Poison overwritten\n" + b"-" * 77, 2),
        (b"x\r\nBUG sas_task: Objects remaining on kmem_cache_close()\r\n", 2),
        # a SysRq line whose command another CPU's output pushed onto the next line: the
        # line that matches on its own is the hit, not the line after it
        (b"[   10.000000] SysRq : \n[   10.000001] Show State\n", 1),
    ],
)
def test_both_engines_name_the_line_a_match_ends_on(engine: str, data: bytes, line: int) -> None:
    """With the real anchor set, `regex` named the line a match started on (for a header
    anchor that may begin with the newline before it, the line before the header) and
    Hyperscan the line it ended on: two files of the satyr corpus got different hits. And a
    `\\s` in an anchor reached across a newline, making a hit of the next line."""
    from triage import match
    from triage.pipeline import anchors

    pf = Prefilter(anchors.anchor_patterns(match.load_signatures()), engine=engine)
    assert [h.lineno for h in pf.scan(data)] == [line]


def test_empty_pattern_set_is_refused() -> None:
    with pytest.raises(ValueError):
        Prefilter([])


def test_the_low_clock_anchor_finds_the_lines_of_its_plain_spelling() -> None:
    """`kernel.LOW_CLOCK` spells `\\[ *[0-9]\\.[0-9]+\\]` with its padding as literals (for the
    prefilter's speed): the same lines, on printk times of every padding and on noise."""
    import random
    import re

    from triage.kernel import LOW_CLOCK

    plain, spelt = re.compile(r"\[ *[0-9]\.[0-9]+\]"), re.compile(LOW_CLOCK)
    rnd = random.Random(3)
    lines = [f"[{' ' * n}{s:.6f}] x" for n in range(8) for s in (0.0, 9.999999, 10.5, 123.25)]
    lines += ["".join(rnd.choice("[ ]0123456789.x") for _ in range(20)) for _ in range(50_000)]
    for line in lines:
        assert bool(plain.search(line)) == bool(spelt.search(line)), line
    assert sum(bool(spelt.search(x)) for x in lines[:32]) == 16  # below 10 s, any padding


def test_a_leading_run_of_a_class_is_left_out_of_the_prefilter_form() -> None:
    """The prefilter may match more lines than a pattern, never fewer: a leading unbounded
    run of one class (and a `\\b` before it) is dropped, as every line a match of the whole
    is in holds a match of the rest; an alternation, a lazy run or a run that is all of the
    pattern stays as it is."""
    import re

    from triage.pipeline.anchors import _prefilter_form

    sysrq = r"\b[\w/:.-]+\s+D\s+(?:[0-9A-Fa-f]{8}|[0-9a-f]{16})\s"
    trimmed = _prefilter_form(sysrq)
    assert trimmed == r"\s+D\s+(?:[0-9A-Fa-f]{8}|[0-9a-f]{16})\s"
    for line in ["kjournald     D c0419e00     0   812", "xenwatch D 00000000ffffffff x"]:
        assert re.search(sysrq, line) and re.search(trimmed, line)
    for kept in (r"a|[b]+c", r"[a-z]+?x", r"\w+", r"Linux version \d"):
        assert _prefilter_form(kept) == kept
