"""Each line's shape, found among only the shapes that can start with its first byte, is the
shape the alternation of all of them finds (`detect._shapes_from`)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from triage.sources.detect import HEAD_NEEDS, LINE_SHAPES, _shape_regex, _shapes_from, analyze

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"


def _lines() -> list[bytes]:
    out: list[bytes] = []
    for folder in (ROOT / "samples", CORPORA):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.stat().st_size < 1 << 20:
                out.extend(x.rstrip() for x in path.read_bytes()[: 1 << 16].split(b"\n"))
    # every shape's own start, and lines starting with each byte
    out += [b"", b" ", b"\t  [    1.0] x", b"<4>[ 1.0] x", b"...", b"-- MARK --", b"crash> bt"]
    out += [bytes([b]) + b"x: y" for b in range(1, 256)]
    return [x for x in out if x]


def test_shapes_by_first_byte_match_the_full_alternation() -> None:
    full = _shape_regex(LINE_SHAPES)
    lines = _lines()
    assert len(lines) > 10_000
    seen = set()
    for line in lines:
        want = full.match(line)
        got = _shapes_from(line[0]).match(line)
        assert (got.lastgroup if got else None) == (want.lastgroup if want else None), line
        assert (got.group(0) if got else None) == (want.group(0) if want else None), line
        seen.add(want.lastgroup if want else None)
    assert len(seen) > 10  # most shapes came up


def test_the_free_text_shapes_are_compiled_once_for_every_first_byte() -> None:
    """Their two long patterns took most of the 7-9 ms each first byte's table took to
    compile, in every process, for each of the dozen bytes a run's lines start with."""
    texts = {id(getattr(_shapes_from(b), "text", _shapes_from(b))) for b in range(256)}
    assert len(texts) == 1


@pytest.mark.parametrize("name", [name for name, _ in LINE_SHAPES])
def test_no_shape_is_left_out_for_the_bytes_it_starts_with(name: str) -> None:
    rx = dict(LINE_SHAPES)[name]
    full = _shape_regex(((name, rx),))
    for b in range(256):
        for tail in (b"", b" ", b"x", b"1", b"[", b": "):
            line = bytes([b]) + tail
            if full.match(line):
                assert _shapes_from(b).match(line) is not None, (name, line)


def test_what_a_shape_needs_in_the_head_it_needs_in_every_match() -> None:
    """A literal of the pattern's top-level sequence is in every match."""
    from re import _constants, _parser

    shapes = dict(LINE_SHAPES)
    for name, byte in HEAD_NEEDS.items():
        top = list(_parser.parse(shapes[name]))
        assert (_constants.LITERAL, byte[0]) in top, name


@pytest.mark.parametrize(
    "head",
    [
        # an xapi line through syslog; then the same with a NUL inside what the shape needs,
        # which the lines lose before they are matched
        b"Sep 14 14:02:05 xs01 xapi: [ info|xs01|590924 INET :::80|task|taskhelper] hi\n" * 3,
        b"Sep 14 14:02:05 xs01 xapi:\x00 [ info|xs01|590924 INET :::80|task|x] hi\n" * 3,
        b"Jun 15 10:21:05 web07 kernel: NET: Registered protocol family 10\n" * 3,
    ],
)
def test_a_head_is_classified_as_by_the_full_alternation(head: bytes) -> None:
    full = _shape_regex(LINE_SHAPES)
    a = analyze(head)
    want: dict[str, int] = {}
    for line in head.replace(b"\x00", b"").split(b"\n"):
        if line.strip():
            m = full.match(line.rstrip())
            shape = m.lastgroup if m else "other"
            want[shape] = want.get(shape, 0) + 1
    assert a.counts == want


def test_patterns_that_stay_within_a_line_are_told_apart() -> None:
    from triage.sources.line_local import confined, joinable, line_local

    shapes = dict(LINE_SHAPES)
    assert line_local(shapes["syslog"]) and not line_local(shapes["dmesg_ts"])  # `\[\s*\d`
    for name, rx in LINE_SHAPES:  # confined: the same on one line, never past its end
        got = confined(rx)
        if got is not None:
            assert line_local(got), name
            one, alone = re.compile(got), re.compile(rx)
            for line in _lines()[:3000]:
                assert bool(one.match(line)) == bool(alone.match(line)), (name, line)
    assert confined(shapes["dmesg_ts"]) is not None and confined(shapes["syslog_xapi"])
    assert confined(rb"[^\S\n]x") is None and confined(rb"a\n") is None
    assert confined(rb"[^]a]\s\D") == rb"[^\n]a][ \t\r\x0b\x0c][^\d\n]"
    for rx in (rb"a\s", rb"[^|]*x", rb".", rb"(?s).", rb"(?=a)b", rb"\Aa", rb"(a)\1", rb"\n"):
        assert line_local(rx) is (rx == rb"."), rx
    assert not line_local(shapes["syslog_xapi"])  # `[^|\]]*` crosses a newline
    assert joinable(shapes["syslog_xapi"]) and joinable(rb"[A-Z]+='[^']*'\s*$")
    for rx in (rb"(?!x)a", rb"(?<=a)b", rb"\Aa", rb"a\Z", rb"(a)\1", rb"a\s*+$", rb"(?>a\s*)$"):
        assert not joinable(rx), rx
    assert joinable(rb"a\S*+$") and joinable(rb"(?>a\S*)$")


def _heads() -> list[bytes]:
    syslog = b"Jun 15 10:21:%02d web07 kernel: NET: Registered protocol family 10\n"
    dmesg = b"[   %d.000001] e1000: eth0 NIC Link is Up 1000 Mbps Full Duplex\n"
    uniform = b"".join(syslog % i for i in range(60))  # fewer than the lines looked at
    heads = [
        uniform,
        b"".join(dmesg % i for i in range(150)),
        b"".join(b" #%d [ffff88003f2d7e20] schedule at ffffffff8152a1b4\n" % i for i in range(40)),
        # one line of another shape, early, late, or past the lines looked at
        uniform.replace(b"10:21:07 web07", b"10:21:07 web-07 a b", 1),
        uniform + b"Jun 05 10:21:05 web07 kernel: late\n",
        uniform[:2000] + b"<4>[ 1.0] x\n" + uniform[2000:],
        uniform + b"FOO='bar\n",
        # a shape tried before syslog that needs a byte of the head (`HEAD_NEEDS`), and lines
        # whose first bytes differ (a month changes)
        uniform + b"Jun 15 10:21:05 xs01 xapi: [ info|xs01|590924 INET :::80|task|x] hi\n",
        uniform.replace(b"Jun 15 10:21:0", b"Jul  1 00:00:0"),
        uniform.replace(b"\n", b"\r\n"),
        uniform.replace(b"kernel:", b"kernel:\x00", 3),
        b"".join(b"[  %d.5] x\n[  %d.6] <no space>\n" % (i, i) for i in range(30)),
        # a shape that would match across a line's end (`\[\s*\d`), were it not kept within
        b"".join(b"[  %d.5] x\n[\n   %d.6] y\n" % (i, i) for i in range(30)),
    ]
    for folder in (ROOT / "samples", CORPORA):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                with path.open("rb") as fh:
                    heads.append(fh.read(16 * 1024))
    return heads


def test_heads_of_one_shape_are_counted_as_line_by_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A head whose lines all have one shape is told so by one match over the lines joined
    (`_ShapeTable.uniform`): its counts are those of matching each line on its own."""
    detect = sys.modules[analyze.__module__]  # (the package's `detect` is a function)
    heads = _heads()
    fast = [analyze(h) for h in heads]
    monkeypatch.setattr(detect, "UNIFORM_MIN_LINES", 10**9)  # every line on its own
    slow = [analyze(h) for h in heads]
    assert fast == slow
    monkeypatch.undo()
    taken = []
    for h in heads[:12]:
        lines = detect._classified_lines(h[: detect.HEAD_BYTES], len(h) >= detect.HEAD_BYTES)
        taken.append(detect._table_for(h).uniform(lines))
    assert taken[:3] == ["syslog", "dmesg_ts", "crash_frame"]
    assert taken[3:8] == [None] * 5  # another shape among the lines looked at
    assert taken[8:11] == ["syslog"] * 3
