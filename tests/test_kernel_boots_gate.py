"""Boot segmentation skips the regex passes whose literals a source lacks: same rows found."""

from __future__ import annotations

import pyarrow as pa
from helpers_logs import parsed_logs

from triage.kernel.boots import GATED, _mask, _possible


def _texts() -> list[pa.Array]:
    return [lines.column("text").combine_chunks() for _, lines in parsed_logs()]


def test_gated_masks_equal_full_passes() -> None:
    texts = _texts()
    skipped = 0
    for text in texts:
        possible = _possible(text)
        for pattern in GATED:
            assert (_mask(text, pattern, possible) == _mask(text, pattern)).all(), pattern
            skipped += pattern not in possible
    assert skipped  # most sources lack most boot patterns' literals
