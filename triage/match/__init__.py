"""Loading signature files and evaluating them against one source's records.

Public API:
- `load_signatures(dirs, limits) -> SignatureSet` (built-in library plus user dirs)
- `SourceContext` — what one source offers to the matcher
- `evaluate(sigset, ctx) -> (list[Finding], list[ErrorRecord])`
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from triage.model import Boot, Crash, ErrorRecord, Fact, Finding, SourceFile


@dataclass
class SourceContext:
    source: SourceFile
    lines: pa.Table
    boots: list[Boot]
    crashes: list[Crash]
    facts: list[Fact] = field(default_factory=list)


def load_signatures(dirs: list[str] | None = None, limits: Any = None) -> Any:
    raise NotImplementedError


def evaluate(sigset: Any, ctx: SourceContext) -> tuple[list[Finding], list[ErrorRecord]]:
    raise NotImplementedError
