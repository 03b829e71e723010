"""Walking input paths, opening archives as virtual trees, detecting each file's format.

Public API (used by the pipeline, batch and the CLI):
- `walk(paths, limits) -> Iterator[SourceFile | ErrorRecord]`
- `read_bytes(src, limits) -> ReadResult` (the decompressed bytes, capped, plus errors)
- `open_binary(src, limits)` context manager giving a seekable binary file (for dumps)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from triage.limits import DEFAULT_LIMITS, Limits
from triage.model import ErrorRecord, SourceFile


@dataclass
class ReadResult:
    data: bytes
    errors: list[ErrorRecord] = field(default_factory=list)
    truncated: bool = False


def walk(paths: list[str], limits: Limits = DEFAULT_LIMITS) -> Iterator[SourceFile | ErrorRecord]:
    raise NotImplementedError


def read_bytes(src: SourceFile, limits: Limits = DEFAULT_LIMITS) -> ReadResult:
    raise NotImplementedError


@contextlib.contextmanager
def open_binary(src: SourceFile, limits: Limits = DEFAULT_LIMITS) -> Iterator[BinaryIO]:
    raise NotImplementedError
    yield
