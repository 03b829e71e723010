"""Running each signature's own samples through the real pipeline (`triage signatures test`).

A signature is only as good as the samples that pin it: each must-match sample has to produce
a finding of that signature (with the stated verdict/confidence when the case names one), and
each near-miss must not. Samples go through exactly what `scan` runs — sources.walk, the
bundle's facts, process_source with the whole signature set (so precedence between signatures
is exercised too) — because a rule that only passes on hand-built records proves nothing.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from triage.match.library import Signature, SignatureSet, repo_root
from triage.match.linting import _resolve
from triage.model import ErrorRecord, Finding, SourceFile


@dataclass
class TestResult:
    signature_id: str
    case: str  # match | no_match
    sample: str  # path, or "inline #n"
    passed: bool
    message: str
    findings: list[dict[str, Any]] = field(default_factory=list)

    __test__ = False  # not a pytest class

    def __str__(self) -> str:
        mark = "PASS" if self.passed else "FAIL"
        return f"{mark} {self.signature_id} {self.case} {self.sample}: {self.message}"


def tests_exit_status(results: list[TestResult]) -> int:
    return 0 if results and all(r.passed for r in results) else 1


def run_tests(sigset: SignatureSet, ids: list[str] | None = None) -> list[TestResult]:
    """One result per test case of each selected signature (all when `ids` is None)."""
    wanted = set(ids) if ids else None
    results: list[TestResult] = []
    cache: dict[str, tuple[list[Finding], list[ErrorRecord]]] = {}
    with tempfile.TemporaryDirectory(prefix="triage-sigtest-") as tmp:
        for sig in sigset.signatures:
            if wanted is not None and sig.id not in wanted:
                continue
            tests = sig.doc.get("tests") or {}
            for case_kind in ("match", "no_match"):
                for i, case in enumerate(tests.get(case_kind) or []):
                    results.append(_run_case(sigset, sig, case_kind, i, case, Path(tmp), cache))
        if wanted:
            for missing in sorted(wanted - set(sigset.ids)):
                results.append(TestResult(missing, "match", "", False, "no such signature"))
    return results


def _run_case(
    sigset: SignatureSet,
    sig: Signature,
    case_kind: str,
    i: int,
    case: dict[str, Any],
    tmp: Path,
    cache: dict[str, tuple[list[Finding], list[ErrorRecord]]],
) -> TestResult:
    if "path" in case:
        label = case["path"]
        path = _resolve(case["path"], sig.path)
        if path is None:
            return TestResult(sig.id, case_kind, label, False, "sample not found")
    else:
        label = f"inline #{i + 1}"
        name = f"{sig.id.replace('/', '_')}-{case_kind}-{i + 1}.log"
        path = tmp / name
        path.write_text(case["text"], encoding="utf-8")
    key = str(path.resolve())
    if key not in cache:
        cache[key] = scan_path(str(path), sigset)
    findings, errors = cache[key]
    mine = [f for f in findings if f.signature_id == sig.id]
    summary = [_summary(f) for f in mine]
    want_verdict = case.get("verdict")
    want_conf = case.get("confidence")
    if case_kind == "match":
        good = [
            f
            for f in mine
            if (f.verdict == want_verdict if want_verdict else f.verdict != "fixed-kernel")
        ]
        if want_conf:
            good = [f for f in good if f.confidence == want_conf]
        if good:
            f = good[0]
            return TestResult(
                sig.id, case_kind, label, True, f"{f.verdict}, {f.confidence}", summary
            )
        why = _explain(mine, errors, want_verdict, want_conf)
        return TestResult(sig.id, case_kind, label, False, f"expected a finding; {why}", summary)
    # no_match: nothing at all, or (when the case says verdict: fixed-kernel) only that verdict
    if want_verdict:
        wrong = [f for f in mine if f.verdict != want_verdict]
        right = [f for f in mine if f.verdict == want_verdict]
        if wrong or not right:
            got = ", ".join(f.verdict for f in mine) or "no finding"
            return TestResult(
                sig.id,
                case_kind,
                label,
                False,
                f"expected only verdict {want_verdict}; got {got}",
                summary,
            )
        return TestResult(
            sig.id, case_kind, label, True, f"reported only as {want_verdict}", summary
        )
    if mine:
        f = mine[0]
        where = ", ".join(f"{e.path}:{e.lineno}" for e in f.evidence[:3])
        return TestResult(
            sig.id,
            case_kind,
            label,
            False,
            f"unexpected finding ({f.verdict}, {f.confidence}) at {where}",
            summary,
        )
    return TestResult(sig.id, case_kind, label, True, "no finding", summary)


def _explain(
    mine: list[Finding], errors: list[ErrorRecord], verdict: str | None, conf: str | None
) -> str:
    if mine:
        got = "; ".join(f"{f.verdict}/{f.confidence}" for f in mine)
        return (
            f"got only {got} (wanted {verdict or 'not fixed-kernel'}{'/' + conf if conf else ''})"
        )
    if errors:
        return f"no finding; first error: {errors[0].message}"
    return "no finding"


def _summary(f: Finding) -> dict[str, Any]:
    return {
        "verdict": f.verdict,
        "confidence": f.confidence,
        "release": f.release,
        "evidence": [f"{e.path}:{e.lineno}" for e in f.evidence],
    }


def scan_path(path: str, sigset: SignatureSet) -> tuple[list[Finding], list[ErrorRecord]]:
    """Findings for one input path through the real stages (walk → facts → process_source)."""
    from triage import parsers, pipeline, sources

    limits = sigset.limits
    srcs: list[SourceFile] = []
    errors: list[ErrorRecord] = []
    for item in sources.walk([path], limits):
        if isinstance(item, ErrorRecord):
            errors.append(item)
        else:
            srcs.append(item)

    def read(s: SourceFile) -> bytes:
        return sources.read_bytes(s, limits).data

    facts, ferrs = parsers.bundle_facts(srcs, read)
    errors.extend(ferrs)
    findings: list[Finding] = []
    for s in srcs:
        result = pipeline.process_source(
            s, facts=facts, signatures=sigset, keep="relevant", limits=limits
        )
        for r in result.all():
            findings.extend(r.findings)
            errors.extend(r.errors)
    return findings, errors


def samples_root() -> Path | None:
    root = repo_root()
    return root / "samples" if root else None
