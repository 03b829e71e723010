"""Loading signature files and evaluating them against one source's records.

Public API:
- `load_signatures(dirs=None, limits=None) -> SignatureSet` — the built-in library (repository
  `signatures/`, or `sys.prefix/share/triage/signatures`) plus each user folder; a file that does
  not validate raises `SignatureError` (one line naming the file and the problem; CLI exit 2).
  `SignatureSet.digest` is a sha256 over the canonical content of every loaded signature.
- `SourceContext` — what one source offers to the matcher (lines with boot_id, boots, crashes,
  facts of the source and its bundle).
- `evaluate(sigset, ctx) -> (list[Finding], list[ErrorRecord])` — never raises for bad input; a
  pattern that exceeds `limits.regex_timeout` disables its signature with an ErrorRecord.
For the CLI (`triage signatures …`), plain functions returning data:
- `lint(dirs=None) -> list[Problem]`; `lint_exit_status(problems) -> int` (0 clean/warnings, 1 errors)
- `list_signatures(sigset) -> list[dict]`; `show(sigset, sig_id) -> dict` (KeyError if unknown)
- `run_tests(sigset, ids=None) -> list[TestResult]`; `tests_exit_status(results) -> int`
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from triage.model import Boot, Crash, Fact, SourceFile


@dataclass
class SourceContext:
    source: SourceFile
    lines: pa.Table
    boots: list[Boot]
    crashes: list[Crash]
    facts: list[Fact] = field(default_factory=list)


from triage.match.catalog import list_signatures, show  # noqa: E402
from triage.match.evaluate import evaluate  # noqa: E402
from triage.match.library import (  # noqa: E402
    Signature,
    SignatureError,
    SignatureSet,
    builtin_dir,
    load_signatures,
)
from triage.match.lint import Problem, lint, lint_exit_status  # noqa: E402
from triage.match.selftest import TestResult, run_tests, tests_exit_status  # noqa: E402

__all__ = [
    "Problem",
    "Signature",
    "SignatureError",
    "SignatureSet",
    "SourceContext",
    "TestResult",
    "builtin_dir",
    "evaluate",
    "lint",
    "lint_exit_status",
    "list_signatures",
    "load_signatures",
    "run_tests",
    "show",
    "tests_exit_status",
]
