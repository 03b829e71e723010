"""satyr's kernel-oops corpus: our frames against what satyr's koops parser yields.

satyr stacks every frame line of the text (all stacks of the file, `?` frames included), so
`parse_stack` runs over the whole file. Counting conventions differ on purpose in one place:
we stack the faulting-IP frame (`RIP: 0010:f+…`) that modern call traces omit, which satyr
does only for the older `RIP: 0010:[<…>] […] f` form. Floors from the brief: first and last
function both right ≥ 90 %, frame count within ±1 ≥ 90 %.
"""

from __future__ import annotations

import json

from helpers_crashes_frames import corpus, message_lines, score_satyr

from triage.crashes.fields import header_fields
from triage.crashes.frames import parse_stack


def _expected():
    root = corpus("satyr")
    data = json.loads((root / "EXPECTED.json").read_text())
    return root, data


def _frames(root, rel):
    return parse_stack(message_lines((root / rel).read_bytes()))


def test_satyr_first_last_and_count():
    n, ends_ok, count_ok, misses = score_satyr()
    assert n >= 15
    assert ends_ok / n >= 0.90, misses
    assert count_ok / n >= 0.90, misses


def test_satyr_unreliable_frames_marked():
    root, data = _expected()
    extra = next(x for x in data.get("extra", []) if x.get("short_text_7"))
    frames = _frames(root, extra["file"])
    shown = [("? " if not f.reliable else "") + f.function for f in frames[:7]]
    assert shown == extra["short_text_7"]
    assert len(frames) == extra["frame_count"]


def test_satyr_files_without_key_still_parse():
    """Every file of the corpus yields frames, and the headers' release where one is printed."""
    root = corpus("satyr")
    files = sorted((root / "tests" / "kerneloopses").iterdir())
    assert files
    for path in files:
        lines = message_lines(path.read_bytes())
        assert parse_stack(lines), path.name
        release = header_fields(lines)["release"]
        assert release == "" or release[0].isdigit(), (path.name, release)
