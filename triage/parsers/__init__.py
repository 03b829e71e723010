"""One module per text format turning bytes into the `lines` table (and facts).

Public API:
- `parse(src, data, limits) -> ParseResult` — lines as an Arrow table of LINES_SCHEMA
- `parse_bytes(data, kind=None, source_id="") -> pa.Table` — convenience for tests and tools
- `bundle_facts(sources, read) -> (facts, errors)` — facts a bundle states, read once per bundle
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from triage.limits import DEFAULT_LIMITS, Limits
from triage.model import ErrorRecord, Fact, SourceFile


@dataclass
class ParseResult:
    lines: pa.Table
    facts: list[Fact] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    partial: bool = False


def parse(src: SourceFile, data: bytes, limits: Limits = DEFAULT_LIMITS) -> ParseResult:
    raise NotImplementedError


def parse_bytes(data: bytes, kind: str | None = None, source_id: str = "") -> pa.Table:
    raise NotImplementedError
