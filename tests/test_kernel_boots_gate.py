"""Boot segmentation skips the regex passes whose literals a source lacks: same rows found."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from triage import parsers, sources
from triage.kernel.boots import _MASKED, _mask, _possible
from triage.model import LOG_KINDS, ErrorRecord

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"


def _texts() -> list[pa.Array]:
    roots = [str(ROOT / "samples")] + ([str(CORPORA)] if CORPORA.is_dir() else [])
    out = []
    for src in sources.walk(roots):
        if isinstance(src, ErrorRecord) or src.kind not in LOG_KINDS:
            continue
        lines = parsers.parse(src, sources.read_bytes(src).data).lines
        out.append(lines.column("text").combine_chunks())
    return out


def test_gated_masks_equal_full_passes() -> None:
    texts = _texts()
    skipped = 0
    for text in texts:
        possible = _possible(text)
        for pattern in _MASKED:
            assert (_mask(text, pattern, possible) == _mask(text, pattern)).all(), pattern
            skipped += pattern not in possible
    assert skipped  # most sources lack most boot patterns' literals
