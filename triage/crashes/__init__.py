"""Finding crash and hang reports in lines: titles, frames, fingerprints, SysRq dumps.

Public API:
- `extract(lines, source_id, boots) -> list[Crash]`
- `extract_text(text) -> list[Crash]` — convenience over raw log text
"""

from __future__ import annotations

import pyarrow as pa

from triage.model import Boot, Crash


def extract(lines: pa.Table, source_id: str, boots: list[Boot]) -> list[Crash]:
    raise NotImplementedError
