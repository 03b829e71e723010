"""Loading signature files and evaluating them against one source's records.

Public API:
- `load_signatures(dirs=None, limits=None) -> SignatureSet` — the built-in library (repository
  `signatures/`, or `sys.prefix/share/triage/signatures`) plus each user folder; a file that does
  not validate raises `SignatureError` (one line naming the file and the problem; CLI exit 2).
  `SignatureSet.digest` is a sha256 over the canonical content of every loaded signature.
- `SourceContext` — what one source offers to the matcher (lines with boot_id, boots, crashes,
  facts of the source and its bundle). A source holding several hosts' lines is matched one
  host at a time: evidence and sequences never pair one machine's line with another's.
- `evaluate(sigset, ctx) -> (list[Finding], list[ErrorRecord])` — never raises for bad input; a
  pattern that exceeds `limits.regex_timeout` disables its signature with an ErrorRecord.
- `anchor_patterns(sigset) -> list[str]` — every regex a signature runs over line text (line
  patterns, sequence steps, silence wake-ups, boot `lacks`); `boot_lines_needed(sigset)` — how many
  lines after a boot banner a `boot` condition counts. A prefilter keeping those lines (with
  context) loses no finding.
For the CLI (`triage signatures …`), plain functions returning data:
- `lint(dirs=None) -> list[Problem]`; `lint_exit_status(problems) -> int` (0 clean/warnings, 1 errors)
- `list_signatures(sigset) -> list[dict]`; `show(sigset, sig_id) -> dict` (KeyError if unknown)
Running each signature's own samples through the whole pipeline (`triage signatures test`) sits
on top of it, in `triage.batch.selftest`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from triage.lazy import lazy_attributes
from triage.model import Boot, Crash, Fact, SourceFile


@dataclass
class SourceContext:
    source: SourceFile
    lines: pa.Table
    boots: list[Boot]
    crashes: list[Crash]
    facts: list[Fact] = field(default_factory=list)
    #: line patterns known to match none of `lines` (the caller ran them over many sources at
    #: once, `parsers.literals.quiet_columns`): not asked again
    no_hits: frozenset[str] = frozenset()
    #: the rows of each host of a source holding several hosts' lines (`kernel.rows_by_host`;
    #: [] for one host, None when not worked out yet): each host's lines are matched alone
    hosts: list[np.ndarray] | None = None


#: the public names and the modules that define them: loaded on first use (PEP 562), because
#: a rerun that finds everything up to date needs `library` alone, not the evaluator and the
#: parsers it pulls in (a third of such a run's time)
_LAZY = {
    "list_signatures": "catalog",
    "show": "catalog",
    "evaluate": "evaluation",
    "Signature": "library",
    "SignatureError": "library",
    "SignatureSet": "library",
    "builtin_dir": "library",
    "load_signatures": "library",
    "Problem": "linting",
    "lint": "linting",
    "lint_exit_status": "linting",
}


__getattr__ = lazy_attributes(__name__, _LAZY)


if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from triage.match.catalog import list_signatures, show
    from triage.match.evaluation import evaluate
    from triage.match.library import (
        Signature,
        SignatureError,
        SignatureSet,
        builtin_dir,
        load_signatures,
    )
    from triage.match.linting import Problem, lint, lint_exit_status


def anchor_patterns(sigset: SignatureSet | None) -> list[str]:
    """Regexes the signatures run over line text, in the `regex` dialect the authors wrote."""
    from triage.match.compile import all_conditions

    out: list[str] = []
    for sig in getattr(sigset, "signatures", None) or []:
        for _where, node in all_conditions(sig.doc):
            line = node.get("line")
            if isinstance(line, dict) and isinstance(line.get("pattern"), str):
                out.append(line["pattern"])
            seq = node.get("sequence")
            if isinstance(seq, dict):
                out.extend(s for s in seq.get("steps") or [] if isinstance(s, str))
            sil = node.get("silence")
            if isinstance(sil, dict) and isinstance(sil.get("then"), str):
                out.append(sil["then"])
            boot = node.get("boot")
            if isinstance(boot, dict) and isinstance(boot.get("lacks"), str):
                out.append(boot["lacks"])
    return list(dict.fromkeys(out))


def needs_every_line(sigset: SignatureSet | None) -> bool:
    """Does some signature measure what no line pattern marks (a silence with no wake-up)?"""
    from triage.match.compile import all_conditions

    for sig in getattr(sigset, "signatures", None) or []:
        for _where, node in all_conditions(sig.doc):
            sil = node.get("silence")
            if isinstance(sil, dict) and not isinstance(sil.get("then"), str):
                return True
    return False


def boot_lines_needed(sigset: SignatureSet | None) -> int:
    """The largest `boot.max_lines` of the set (0 when none): lines after a banner to keep."""
    from triage.match.compile import all_conditions

    most = 0
    for sig in getattr(sigset, "signatures", None) or []:
        for _where, node in all_conditions(sig.doc):
            boot = node.get("boot")
            if isinstance(boot, dict) and isinstance(boot.get("max_lines"), int):
                most = max(most, boot["max_lines"])
    return most


__all__ = [
    "Problem",
    "Signature",
    "SignatureError",
    "SignatureSet",
    "SourceContext",
    "anchor_patterns",
    "boot_lines_needed",
    "builtin_dir",
    "evaluate",
    "lint",
    "lint_exit_status",
    "list_signatures",
    "load_signatures",
    "needs_every_line",
    "show",
]
