"""Every log of samples/ and (when present) the shared corpora, parsed: the inputs the gate and
shortcut tests compare a fast path against the full one on."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pyarrow as pa

from triage import parsers, sources
from triage.model import LOG_KINDS, SourceFile

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"


@lru_cache(maxsize=1)
def parsed_logs() -> tuple[tuple[SourceFile, pa.Table], ...]:
    """(source, lines) of each log; parsed once per test run (tables are immutable)."""
    roots = [str(ROOT / "samples")] + ([str(CORPORA)] if CORPORA.is_dir() else [])
    return tuple(
        (src, parsers.parse(src, sources.read_bytes(src).data).lines)
        for src in sources.walk(roots)
        if isinstance(src, SourceFile) and src.kind in LOG_KINDS
    )
