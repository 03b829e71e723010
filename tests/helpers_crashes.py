"""Shared helpers of the crash-extraction tests and `bench/corpus_accuracy.py`.

Inputs are built directly as `lines` tables (raw log lines as `text`), so these tests exercise
the crash stage on its own, including its tolerance for printk prefixes the parsers normally
remove. Corpora are read from ../shared/corpora, never copied into the project.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from triage.crashes import extract
from triage.model import LINES_SCHEMA, Crash

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"
SYZKALLER = CORPORA / "syzkaller" / "pkg" / "report" / "testdata"


def lines_table(
    texts: Iterable[str],
    source_id: str = "src",
    tags: list[str | None] | None = None,
    boot_ids: list[str | None] | None = None,
) -> pa.Table:
    """A LINES_SCHEMA table with `texts` as the text column (1-based line numbers)."""
    texts = list(texts)
    n = len(texts)
    return pa.table(
        {
            "source_id": pa.array([source_id] * n, pa.string()),
            "lineno": pa.array(range(1, n + 1), pa.int64()),
            "offset": pa.nulls(n, pa.int64()),
            "timestamp": pa.nulls(n, LINES_SCHEMA.field("timestamp").type),
            "mono": pa.nulls(n, pa.float64()),
            "host": pa.nulls(n, pa.string()),
            "tag": pa.array(tags if tags is not None else [None] * n, pa.string()),
            "pid": pa.nulls(n, pa.int64()),
            "level": pa.nulls(n, pa.int8()),
            "boot_id": pa.array(boot_ids if boot_ids is not None else [None] * n, pa.string()),
            "flags": pa.array([0] * n, pa.int32()),
            "text": pa.array(texts, pa.string()),
        },
        schema=LINES_SCHEMA,
    )


def crashes_of(text: str, source_id: str = "src") -> list[Crash]:
    """Crash stage over raw log text, split into lines the way a console capture is."""
    return extract(lines_table(text.replace("\r", "").split("\n"), source_id), source_id, [])


@dataclass
class GoldenLog:
    """One syzkaller test log: the answer key from its header lines, then the log."""

    path: Path
    title: str = ""
    alt: list[str] = field(default_factory=list)
    type: str = ""
    corrupted: bool = False
    panicked: bool = False
    log: str = ""


def read_golden(path: Path) -> GoldenLog:
    """Parse `TITLE:`/`ALT:`/… header lines, a blank line, the log (and maybe `REPORT:`)."""
    raw = path.read_bytes().decode("utf-8", "replace").replace("\r", "")
    head, _, body = raw.partition("\n\n")
    golden = GoldenLog(path=path)
    for line in head.split("\n"):
        key, _, value = line.partition(": ")
        if key == "TITLE":
            golden.title = value.strip()
        elif key == "ALT":
            golden.alt.append(value.strip())
        elif key == "TYPE":
            golden.type = value.strip()
        elif key == "CORRUPTED":
            golden.corrupted = value.strip() == "Y"
        elif key == "PANICKED":
            golden.panicked = value.strip() == "Y"
    log, sep, _ = body.partition("\n\nREPORT:\n")
    golden.log = log if sep else body
    return golden


def syzkaller_logs() -> list[Path]:
    return sorted(p for p in SYZKALLER.glob("*/report/*") if p.is_file())


@dataclass
class Scores:
    files: int = 0
    crash_agree: int = 0
    with_title: int = 0
    title_ok: int = 0
    corrupted_agree: int = 0
    noise_files: int = 0
    noise_false_positives: list[str] = field(default_factory=list)
    title_misses: list[tuple[str, str, str]] = field(default_factory=list)
    corrupted_misses: list[tuple[str, bool, str]] = field(default_factory=list)
    crash_misses: list[str] = field(default_factory=list)

    @property
    def crash_rate(self) -> float:
        return self.crash_agree / max(1, self.files)

    @property
    def title_rate(self) -> float:
        return self.title_ok / max(1, self.with_title)

    @property
    def corrupted_rate(self) -> float:
        return self.corrupted_agree / max(1, self.with_title)


def first_crash(crashes: list[Crash]) -> Crash | None:
    return next((c for c in crashes if c.record == "crash"), None)


def score_syzkaller(paths: list[Path] | None = None) -> Scores:
    """Crash/no-crash, first title (TITLE or an ALT) and CORRUPTED agreement over the corpus."""
    scores = Scores()
    for path in paths if paths is not None else syzkaller_logs():
        golden = read_golden(path)
        crash = first_crash(crashes_of(golden.log, source_id=path.name))
        scores.files += 1
        name = f"{path.parent.parent.name}/{path.name}"
        if (crash is not None) == bool(golden.title):
            scores.crash_agree += 1
        else:
            scores.crash_misses.append(name)
        if not golden.title:
            scores.noise_files += 1
            if crash is not None:
                scores.noise_false_positives.append(f"{name}: {crash.title}")
            continue
        scores.with_title += 1
        got = crash.title if crash is not None else ""
        if got == golden.title or got in golden.alt:
            scores.title_ok += 1
        else:
            scores.title_misses.append((name, golden.title, got))
        got_corrupted = crash.corrupted if crash is not None else False
        if got_corrupted == golden.corrupted:
            scores.corrupted_agree += 1
        else:
            reason = crash.corrupted_reason if crash is not None else "no crash"
            scores.corrupted_misses.append((name, golden.corrupted, reason))
    return scores


ABRT = CORPORA / "abrt" / "tests" / "examples"
_SYSLOG_PREFIX = re.compile(r"^[A-Z][a-z]{2} [ 0-3]\d [0-2]\d:[0-5]\d:[0-6]\d \S+ kernel: ")


def strip_syslog(text: str) -> str:
    """What the syslog parser leaves of `Mon dd hh:mm:ss host kernel: msg` lines: `msg`."""
    return "\n".join(_SYSLOG_PREFIX.sub("", line) for line in text.replace("\r", "").split("\n"))


def abrt_noise() -> list[Path]:
    return sorted([*ABRT.glob("not_oops*"), *ABRT.glob("no_oops.test")])
