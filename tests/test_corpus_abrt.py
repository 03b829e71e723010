"""abrt's oops-extractor examples: release and taint, fingerprints, and oops counts.

The `.right` files hold what abrt extracted (`Version: <release>` then the oops text); the
keys in EXPECTED.json name the taint letters and the pairs of oopses abrt hashes the same.
Inputs are cut here directly (first oops of a `.right` body, or the matching lines of a
`.test` log), so only the oops count depends on the extraction stage (`extract_text`).
"""

from __future__ import annotations

import json
from pathlib import Path

from helpers_crashes_frames import corpus, message_lines, score_abrt_counts

from triage.crashes.fields import header_fields
from triage.crashes.fingerprint import fingerprint, key_functions
from triage.crashes.frames import parse_stack

HOST = "testhost"


def _examples() -> Path:
    return corpus("abrt") / "tests" / "examples"


def _read(path: Path) -> bytes:
    data = path.read_bytes()
    return data.replace(b":FULL_HOSTNAME:", HOST.encode()).replace(b":HOSTNAME:", HOST.encode())


def _right(path: Path) -> tuple[str | None, list[str]]:
    """(Version, first oops lines) of a `.right` file; (None, lines) for a bare oops file."""
    lines = message_lines(_read(path))
    version = None
    for i, line in enumerate(lines):
        if line.startswith("Version:"):
            version = line[len("Version:") :].strip()
            lines = lines[i + 1 :]
            break
    while lines and not lines[-1].strip():
        lines.pop()
    for j in range(1, len(lines)):
        if lines[j] == lines[0]:  # abrt printed several oopses: keep the first
            return version, lines[:j]
    return version, lines


def _oops_in_log(path: Path, like: list[str]) -> list[str]:
    """The lines of `path` that hold the oops whose text is `like` (first occurrence)."""
    lines = message_lines(_read(path))
    start = lines.index(like[0])
    return lines[start : start + len(like)]


def test_abrt_release_matches_version():
    rights = sorted(_examples().glob("*.right"))
    assert rights
    checked = 0
    for path in rights:
        version, body = _right(path)
        if version is None:
            continue
        assert header_fields(body)["release"] == version, path.name
        checked += 1
    assert checked >= 15


def test_abrt_release_examples_of_parser_tests():
    keys = json.loads((corpus("abrt") / "EXPECTED.json").read_text())
    for name, release in keys["extra"]["koops_parser_at"]["version_extraction"].items():
        stem = name.split("(")[0]
        candidates = [p for p in _examples().glob(stem + "*") if not p.name.endswith(".right")]
        path = _examples() / stem if (_examples() / stem).exists() else candidates[0]
        if path.suffix == ".right":
            _, body = _right(path)
        else:
            body = message_lines(_read(path))
        assert header_fields(body)["release"] == release, name


def test_abrt_taint_letters():
    keys = json.loads((corpus("abrt") / "EXPECTED.json").read_text())
    taints = keys["extra"]["koops_parser_at"]["taint_short"]
    checked = 0
    for name, letters in taints.items():
        matches = [p for p in _examples().glob(name + "*")]
        assert matches, name
        path = min(matches, key=lambda p: len(p.name))
        body = _right(path)[1] if path.suffix == ".right" else message_lines(_read(path))
        assert header_fields(body)["taint"] == (letters or ""), name
        checked += 1
    assert checked == len(taints)


def test_abrt_same_bug_pairs_share_a_fingerprint():
    keys = json.loads((corpus("abrt") / "EXPECTED.json").read_text())
    pairs = keys["extra"]["koops_parser_at"]["same_hash_pairs"]
    checked = 0
    for a, b in pairs:
        pa_, pb_ = _examples() / a, _examples() / b
        if not (pa_.exists() and pb_.exists()):
            continue  # the key names a few files the corpus does not ship
        if pa_.suffix == ".test":
            _, body_b = _right(pb_)
            body_a = _oops_in_log(pa_, body_b)
        else:
            _, body_a = _right(pa_)
            _, body_b = _right(pb_)
        fa, fb = parse_stack(body_a), parse_stack(body_b)
        assert key_functions(fa), a
        assert fingerprint("BUG", "", fa) == fingerprint("BUG", "", fb), (a, b)
        checked += 1
    assert checked >= 2


def test_abrt_different_bugs_differ():
    """Distinct oopses of the corpus (one per same-bug group) never share a fingerprint."""
    keys = json.loads((corpus("abrt") / "EXPECTED.json").read_text())
    same = {b for _, b in keys["extra"]["koops_parser_at"]["same_hash_pairs"]}
    seen: dict[str, str] = {}
    bodies: dict[tuple[str, ...], str] = {}
    for path in sorted(_examples().glob("*.right")):
        if path.name in same:
            continue
        _, body = _right(path)
        frames = parse_stack(body)
        if not key_functions(frames):
            continue
        text_key = tuple(line for line in body if not line.startswith("Modules linked in"))
        if text_key in bodies:  # the very same oops text shipped twice
            continue
        bodies[text_key] = path.name
        fp = fingerprint("BUG", "", frames)
        assert fp not in seen, (path.name, seen.get(fp))
        seen[fp] = path.name
    assert len(seen) >= 10


def test_abrt_oops_counts():
    """Exact oops count on ≥ 95 % of the keyed examples (convention: `score_abrt_counts`)."""
    n, good, wrong = score_abrt_counts()
    assert n >= 15 and good / n >= 0.95, wrong
