"""Golden logs of syzkaller's report parser: detection, titles and corruption, with floors.

The answer keys are syzkaller's (TITLE/ALT/CORRUPTED headers); the logs span 2016-2025 kernels,
x86_64/arm/arm64/ppc64/riscv/s390 consoles, caller-id prefixes and interleaved CPUs. The floors
are the project's acceptance bar; a drop below them means a report format stopped parsing.
"""

from __future__ import annotations

import pytest
from helpers_crashes import (
    ABRT,
    SYZKALLER,
    abrt_noise,
    crashes_of,
    read_golden,
    score_syzkaller,
    strip_syslog,
    syzkaller_logs,
)

pytestmark = pytest.mark.skipif(
    not SYZKALLER.is_dir(), reason=f"syzkaller corpus not present at {SYZKALLER}"
)


@pytest.fixture(scope="module")
def scores():
    return score_syzkaller()


def test_corpus_is_the_expected_size():
    assert len(syzkaller_logs()) >= 500


def test_crash_or_no_crash_agrees(scores):
    assert scores.crash_rate >= 0.98, scores.crash_misses


def test_first_title_matches_title_or_alt(scores):
    assert scores.title_rate >= 0.90, scores.title_misses[:20]


def test_corrupted_flag_agrees(scores):
    assert scores.corrupted_rate >= 0.90, scores.corrupted_misses[:20]


def test_no_crash_in_syzkaller_noise(scores):
    assert scores.noise_files >= 10
    assert scores.noise_false_positives == []


@pytest.mark.skipif(not ABRT.is_dir(), reason=f"abrt corpus not present at {ABRT}")
def test_no_crash_in_abrt_noise():
    paths = abrt_noise()
    assert paths
    for path in paths:
        text = strip_syslog(path.read_bytes().decode("utf-8", "replace"))
        crashes = [c for c in crashes_of(text) if c.record == "crash"]
        assert crashes == [], (path.name, [c.title for c in crashes])


def test_every_corrupted_report_says_why():
    for path in syzkaller_logs()[:200]:
        for crash in crashes_of(read_golden(path).log):
            assert crash.corrupted == bool(crash.corrupted_reason), (path.name, crash.title)
