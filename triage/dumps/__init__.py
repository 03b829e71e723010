"""Binary crash dumps: ELF vmcores, kdump-compressed, flattened streams, Xen dump-core.

Public API:
- `sniff(head: bytes) -> str | None` — the dump format from the first bytes, or None
- `read_dump(src, fh, system_map=None, limits) -> DumpResult`
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

from triage.limits import DEFAULT_LIMITS, Limits
from triage.model import ErrorRecord, Fact, SourceFile


@dataclass
class DumpResult:
    format: str = ""
    digest: str = ""  # content digest used for incremental reruns
    facts: list[Fact] = field(default_factory=list)
    log: bytes | None = None  # the kernel log carved from the printk buffer
    errors: list[ErrorRecord] = field(default_factory=list)


def read_dump(
    src: SourceFile, fh: BinaryIO, system_map: str | None = None, limits: Limits = DEFAULT_LIMITS
) -> DumpResult:
    raise NotImplementedError
