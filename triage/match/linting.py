"""Checking signature files before they ship: the review a human would otherwise do by eye.

Errors make a file unusable (schema, regex that does not compile, id not matching its place,
duplicate id, missing tests, sample file missing); warnings flag what works but is risky
(catastrophic-backtracking constructs, confidence rules naming conditions that do not exist).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from triage.match.compile import defined_names, pattern_problems, patterns
from triage.match.library import (
    SignatureError,
    builtin_dir,
    expected_id,
    read_document,
    schema_problems,
    signature_files,
)
from triage.match.regexes import risky_constructs


@dataclass
class Problem:
    path: str
    severity: str  # error | warning
    message: str
    signature_id: str = ""

    def __str__(self) -> str:
        return f"{self.path}: {self.severity}: {self.message}"


def lint(dirs: list[str] | None = None) -> list[Problem]:
    """Lint the given folders (or files); the built-in library when none is given."""
    roots: list[Path] = [Path(d) for d in dirs] if dirs else []
    if not roots:
        b = builtin_dir()
        if b is None:
            return [Problem("signatures", "error", "no built-in signature library found")]
        roots = [b]
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for root in roots:
        if not root.exists():
            problems.append(Problem(str(root), "error", "no such file or folder"))
            continue
        base = root if root.is_dir() else root.parent.parent
        for path in signature_files(root):
            problems.extend(_lint_file(path, base, seen))
    return problems


def lint_exit_status(problems: list[Problem]) -> int:
    return 1 if any(p.severity == "error" for p in problems) else 0


def _lint_file(path: Path, base: Path, seen: dict[str, str]) -> list[Problem]:
    p = str(path)
    try:
        doc = read_document(path)
    except SignatureError as exc:
        return [Problem(p, "error", str(exc).split(": ", 1)[-1])]
    out = [Problem(p, "error", f"schema: {m}") for m in schema_problems(doc)]
    sig_id = str(doc.get("id", ""))
    if sig_id:
        want = expected_id(path, base)
        if sig_id != want:
            out.append(
                Problem(
                    p,
                    "error",
                    f"id {sig_id!r} does not match its place (expected {want!r})",
                    sig_id,
                )
            )
        if sig_id in seen:
            out.append(
                Problem(p, "error", f"duplicate id {sig_id!r} (also in {seen[sig_id]})", sig_id)
            )
        seen.setdefault(sig_id, p)
    out.extend(Problem(p, "error", m, sig_id) for m in pattern_problems(doc))
    for where, pat in patterns(doc):
        for risk in risky_constructs(pat):
            out.append(Problem(p, "warning", f"{where}: {risk}: {pat!r}", sig_id))
    tests = doc.get("tests") if isinstance(doc.get("tests"), dict) else {}
    for key in ("match", "no_match"):
        if not tests.get(key):
            out.append(Problem(p, "error", f"tests.{key}: needs at least one sample", sig_id))
        for case in tests.get(key) or []:
            if isinstance(case, dict) and "path" in case and _resolve(case["path"], path) is None:
                out.append(
                    Problem(p, "error", f"tests.{key}: sample {case['path']!r} not found", sig_id)
                )
    conf = doc.get("confidence") if isinstance(doc.get("confidence"), dict) else {}
    names = defined_names(doc)
    for rule in conf.get("rules") or []:
        for n in rule.get("when") or [] if isinstance(rule, dict) else []:
            if n not in names:
                out.append(
                    Problem(
                        p,
                        "warning",
                        f"confidence rule names {n!r}, which no evidence condition defines",
                        sig_id,
                    )
                )
    if doc.get("log_shape") == "inferred" and not conf.get("cap"):
        out.append(Problem(p, "warning", "log_shape is inferred but confidence has no cap", sig_id))
    return out


def _resolve(rel: str, sig_path: Path) -> Path | None:
    """A sample path: relative to the repository root (samples/…) or to the signature file."""
    from triage.match.library import repo_root

    cands = [sig_path.parent / rel]
    root = repo_root()
    if root is not None:
        cands.insert(0, root / rel)
    # a user folder: samples relative to the folder holding the family folders' parent
    cands.append(sig_path.parent.parent.parent / rel)
    for c in cands:
        if c.exists():
            return c
    return None
