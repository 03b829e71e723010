"""Each line's shape, found among only the shapes that can start with its first byte, is the
shape the alternation of all of them finds (`detect._shapes_from`)."""

from __future__ import annotations

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
        seen.add(want.lastgroup if want else None)
    assert len(seen) > 10  # most shapes came up


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
