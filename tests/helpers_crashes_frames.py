"""Shared test inputs for the frames/fields/fingerprint/SysRq tests and the satyr/abrt corpora.

The corpora stay in ../shared/corpora; tests read them in place and skip when absent. Log
prefixes are removed with `triage.parsers.parse_bytes` once that stage works, and otherwise
with a small local strip (syslog header, `[ t ]` stamp) so these tests do not wait on it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pytest

from triage.model import LINES_SCHEMA

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"

_SYSLOG = re.compile(r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ kernel: ?")
_STAMP = re.compile(r"^\s*\[\s*\d+\.\d+\]\s?")


def corpus(name: str) -> Path:
    path = CORPORA / name
    if not path.is_dir():
        pytest.skip(f"corpus {name!r} not present at {path} (../shared/corpora is optional)")
    return path


def message_lines(data: bytes) -> list[str]:
    """The kernel message text of each line, prefixes removed."""
    try:
        from triage.parsers import parse_bytes

        table = parse_bytes(data)
        texts = table.column("text").to_pylist()
        if texts:
            return [t or "" for t in texts]
    except NotImplementedError:
        pass
    out = []
    for raw in data.decode("utf-8", "replace").replace("\r", "").split("\n"):
        line = _SYSLOG.sub("", raw, count=1)
        out.append(_STAMP.sub("", line, count=1))
    return out


def lines_table(
    texts: list[str], source_id: str = "src", boot_ids: list[str] | None = None
) -> pa.Table:
    """A `lines` table holding `texts` as lines 1..n (the shape crash stages receive)."""
    n = len(texts)
    cols = {name: [None] * n for name in LINES_SCHEMA.names}
    cols["source_id"] = [source_id] * n
    cols["lineno"] = list(range(1, n + 1))
    cols["offset"] = [0] * n
    cols["flags"] = [0] * n
    cols["boot_id"] = boot_ids if boot_ids is not None else ["boot0"] * n
    cols["text"] = texts
    return pa.Table.from_pydict(cols, schema=LINES_SCHEMA)


# -- corpus scores shared by the tests and bench/corpus_accuracy.py ---------------------------
ABRT_HOST = "testhost"


def abrt_read(path: Path) -> bytes:
    data = path.read_bytes()
    return data.replace(b":FULL_HOSTNAME:", ABRT_HOST.encode()).replace(
        b":HOSTNAME:", ABRT_HOST.encode()
    )


def score_satyr() -> tuple[int, int, int, list]:
    """(cases, first+last function right, frame count within ±1, misses) over satyr's key."""
    import json

    from triage.crashes.frames import parse_stack

    root = corpus("satyr")
    cases = json.loads((root / "EXPECTED.json").read_text())["expected"]
    ends_ok = count_ok = 0
    misses = []
    for e in cases:
        frames = parse_stack(message_lines((root / e["file"]).read_bytes()))
        first = frames[0].function or None if frames else None
        last = frames[-1].function or None if frames else None
        ends = first == e["first_function"] and last == e["last_function"]
        count = abs(len(frames) - e["frame_count"]) <= 1
        ends_ok += ends
        count_ok += count
        if not (ends and count):
            misses.append((e["file"], first, last, len(frames), e))
    return len(cases), ends_ok, count_ok, misses


#: Titles of the event records abrt counts as oopses (machine-check and allocation-failure kinds).
_ABRT_EVENTS = ("machine check events logged", "page allocation failure")


def _abrt_would_report(crash) -> bool:
    """Does this record count as one of abrt's "oopses"?

    abrt's extractor opens an oops at any "suspicious" line followed by a trace, so besides
    our crash records it counts two kinds we file as events: non-fatal machine checks
    (`mce: [Hardware Error]: Machine check events logged`, one of its listed markers) and
    page allocation failures (a stack dump it picks up through a nearby marker line). It has
    no marker for the OOM killer, so OOM kills are not counted.
    """
    return crash.record == "crash" or crash.title.startswith(_ABRT_EVENTS)


def _foreign_lines(data: bytes) -> set[int]:
    """Line numbers of syslog lines written by another host than ours.

    abrt-dump-oops reads the local syslog and skips kernel lines of other hosts (forwarded
    logs; `not_oops_foreign_hostname.test`). That is its collection policy, not oops
    detection, so the count applies it here from the parsers' `host` column.
    """
    from triage import parsers

    lines = parsers.parse_bytes(data, source_id="abrt")
    hosts = zip(lines.column("lineno").to_pylist(), lines.column("host").to_pylist(), strict=True)
    return {lineno for lineno, host in hosts if host and host != ABRT_HOST}


def score_abrt_counts() -> tuple[int, int, list]:
    """(cases, exact oops counts, misses) over abrt's keyed examples.

    Counted: crash records plus the events abrt also reports (`_abrt_would_report`), of our
    own host (`_foreign_lines`).
    """
    import json

    from triage.crashes import extract_text

    root = corpus("abrt")
    keys = json.loads((root / "EXPECTED.json").read_text())
    cases = [p for p in keys["pairs"] if p.get("expected_oops_count") is not None]
    cases += [
        {"input": p["input"], "expected_oops_count": 0}
        for p in keys["pairs"]
        if "/no_oops" in p["input"] or "/not_oops" in p["input"]
    ]
    good, wrong = 0, []
    for case in cases:
        data = abrt_read(root / case["input"])
        foreign = _foreign_lines(data)
        crashes = extract_text(data.decode("utf-8", "replace"))
        n = sum(1 for c in crashes if _abrt_would_report(c) and c.first_line not in foreign)
        if n == case["expected_oops_count"]:
            good += 1
        else:
            wrong.append((case["input"], n, case["expected_oops_count"]))
    return len(cases), good, wrong
