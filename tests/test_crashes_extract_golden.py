"""Golden logs the syzkaller way: each file's header lines hold the expected answer.

A file in tests/golden_crashes/ is `KEY: value` header lines (TITLE, ALT, TYPE, RECORD,
CORRUPTED, PANICKED, FRAME, COUNT), a blank line, then the log. After a deliberate change to the
format table, rewrite the headers with

    TRIAGE_UPDATE_GOLDEN=1 pytest tests/test_crashes_extract_golden.py

and review the diff: every changed title is a change users will see.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers_crashes import crashes_of

GOLDEN = Path(__file__).resolve().parent / "golden_crashes"
UPDATE = os.environ.get("TRIAGE_UPDATE_GOLDEN") == "1"


def _answer(log: str) -> list[tuple[str, str]]:
    crashes = crashes_of(log)
    if not crashes:
        return [("COUNT", "0")]
    first = crashes[0]
    out = [("TITLE", first.title)]
    out += [("ALT", alt) for alt in first.alt_titles]
    out += [
        ("TYPE", first.type),
        ("RECORD", first.record),
        ("FRAME", first.function),
        ("CORRUPTED", "Y" if first.corrupted else "N"),
        ("PANICKED", "Y" if first.panicked else "N"),
        ("COUNT", str(len(crashes))),
    ]
    return out


def _split(path: Path) -> tuple[list[tuple[str, str]], str]:
    head, _, log = path.read_text().partition("\n\n")
    pairs = []
    for line in head.splitlines():
        key, _, value = line.partition(": ")
        pairs.append((key, value))
    return pairs, log


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.log")), ids=lambda p: p.stem)
def test_golden(path: Path) -> None:
    expected, log = _split(path)
    got = _answer(log)
    if UPDATE and got != expected:
        header = "\n".join(f"{k}: {v}" for k, v in got)
        path.write_text(f"{header}\n\n{log}")
        return
    assert got == expected


def test_golden_set_is_not_empty() -> None:
    assert len(list(GOLDEN.glob("*.log"))) >= 10
