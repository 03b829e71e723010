"""Loading signature files: where the library lives, schema validation, the set's digest.

The built-in library ships in the repository's `signatures/` (or, installed, under
`sys.prefix/share/triage/signatures`); users add their own folders. A user's file that does not
validate is a usage error (`SignatureError`, the CLI's exit 2) rather than a silently skipped
rule, because a skipped rule would read as "no known issue" in a report.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from triage.limits import DEFAULT_LIMITS, Limits

SCHEMA_NAME = "schema.json"


class SignatureError(Exception):
    """A signature file that cannot be used; the message is one line naming the file."""


@dataclass
class Signature:
    """One loaded signature: its validated YAML document plus where it came from."""

    doc: dict[str, Any]
    path: Path
    root: Path  # the signatures folder the file was found under
    builtin: bool = False

    @property
    def id(self) -> str:
        return str(self.doc["id"])

    @property
    def title(self) -> str:
        return str(self.doc.get("title", ""))

    def canonical(self) -> str:
        """The content that decides whether findings must be recomputed."""
        return json.dumps(self.doc, sort_keys=True, separators=(",", ":"), default=str)


@dataclass
class SignatureSet:
    signatures: list[Signature]
    limits: Limits = DEFAULT_LIMITS
    digest: str = ""
    #: ids disabled during this process because a pattern hit the regex time limit
    disabled: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.digest:
            h = hashlib.sha256()
            for sig in sorted(self.signatures, key=lambda s: s.id):
                h.update(sig.canonical().encode("utf-8"))
                h.update(b"\n")
            self.digest = h.hexdigest()

    def __len__(self) -> int:
        return len(self.signatures)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.signatures)

    def get(self, sig_id: str) -> Signature | None:
        for sig in self.signatures:
            if sig.id == sig_id:
                return sig
        return None

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.signatures]

    # The set is shipped to worker processes; a per-process `disabled` map is all the state.
    def __getstate__(self) -> dict[str, Any]:
        return {"signatures": self.signatures, "limits": self.limits, "digest": self.digest}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.signatures = state["signatures"]
        self.limits = state["limits"]
        self.digest = state["digest"]
        self.disabled = {}


def builtin_dir() -> Path | None:
    """The repository's `signatures/`, else the installed copy under sys.prefix."""
    candidates = [
        Path(__file__).resolve().parents[2] / "signatures",  # beside triage/, from triage/match/
        Path(sys.prefix) / "share" / "triage" / "signatures",
    ]
    for c in candidates:
        if (c / SCHEMA_NAME).is_file():
            return c
    return None


def repo_root() -> Path | None:
    """The checkout holding `signatures/` and `samples/` (sample paths are relative to it)."""
    b = builtin_dir()
    return b.parent if b else None


_SCHEMA_CACHE: dict[str, Any] = {}


def schema_text() -> str:
    if "t" not in _SCHEMA_CACHE:
        b = builtin_dir()
        if b is None:
            raise SignatureError("signature schema not found: no signatures/schema.json installed")
        _SCHEMA_CACHE["t"] = (b / SCHEMA_NAME).read_text(encoding="utf-8")
    return _SCHEMA_CACHE["t"]


def schema() -> dict[str, Any]:
    if "s" not in _SCHEMA_CACHE:
        _SCHEMA_CACHE["s"] = json.loads(schema_text())
    return _SCHEMA_CACHE["s"]


def signature_files(root: Path) -> list[Path]:
    """YAML files under a signatures folder, in a stable order."""
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def read_document(path: Path) -> dict[str, Any]:
    """Parse one YAML file; SignatureError (one line) when it is not a mapping.

    PyYAML is imported by the parse and jsonschema by `schema_problems`, not with the module:
    a rerun that finds the signature files unchanged lists them and never loads one, and a
    file whose text passed the schema before never loads jsonschema. libyaml's safe loader is
    used when PyYAML has it (the pure-Python one took most of the loading time).
    """
    return _parse_document(path, _read_text(path))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SignatureError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise SignatureError(f"{path}: not UTF-8 text ({exc.reason})") from exc


def _parse_document(path: Path, text: str) -> dict[str, Any]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        doc = yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SignatureError(f"{path}: invalid YAML{where}: {problem}") from exc
    if not isinstance(doc, dict):
        raise SignatureError(
            f"{path}: expected a mapping at the top level, got {type(doc).__name__}"
        )
    return doc


def schema_problems(doc: dict[str, Any]) -> list[str]:
    """One line per schema violation, best (most specific) first."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    out = []
    for err in sorted(validator.iter_errors(doc), key=lambda e: (-len(e.path), str(e.path))):
        where = "/".join(str(p) for p in err.absolute_path) or "(top)"
        out.append(f"{where}: {_short(err)}")
    return out


def _short(err: Any) -> str:
    """A jsonschema.ValidationError's message, the most specific one for a oneOf."""
    import jsonschema

    if err.validator == "oneOf" and err.context:
        best = jsonschema.exceptions.best_match(err.context)
        return best.message if best is not None else err.message
    msg = err.message
    return msg if len(msg) <= 200 else msg[:197] + "..."


def expected_id(path: Path, root: Path) -> str:
    """`<family>/<stem>` from the file's place under its signatures folder."""
    try:
        rel = path.resolve().relative_to(root.resolve())
        family = rel.parts[0] if len(rel.parts) > 1 else path.parent.name
    except ValueError:
        family = path.parent.name
    return f"{family}/{path.stem}"


def load_file(path: Path, root: Path, builtin: bool = False) -> Signature:
    """Read, validate and check one file; SignatureError on the first problem.

    The schema check is skipped for a text that passed it before (`validated`): the id and
    pattern checks below are not, as the id depends on where the file sits."""
    from triage.match import validated

    text = _read_text(path)
    doc = _parse_document(path, text)
    k = validated.key(schema_text(), text)
    if not validated.known_valid(k):
        problems = schema_problems(doc)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise SignatureError(f"{path}: {problems[0]}{more}")
        validated.remember_valid(k)
    want = expected_id(path, root)
    if doc["id"] != want:
        raise SignatureError(
            f"{path}: id {doc['id']!r} does not match its place (expected {want!r})"
        )
    from triage.match.compile import pattern_problems

    bad = pattern_problems(doc)
    if bad:
        raise SignatureError(f"{path}: {bad[0]}")
    return Signature(doc=doc, path=path, root=root, builtin=builtin)


def load_signatures(
    dirs: list[str] | None = None, limits: Limits | None = None, builtin: bool = True
) -> SignatureSet:
    """The built-in library plus each user folder (or file). SignatureError on a bad file.

    A user signature with the id of a built-in one replaces it (local fixes win); two user
    files with one id are an error because which one applies would depend on folder order.
    """
    limits = limits or DEFAULT_LIMITS
    by_id: dict[str, Signature] = {}
    if builtin:
        b = builtin_dir()
        if b is not None:
            for path in signature_files(b):
                sig = load_file(path, b, builtin=True)
                by_id[sig.id] = sig
    user_seen: dict[str, Path] = {}
    for d in dirs or []:
        root = Path(d)
        if not root.exists():
            raise SignatureError(f"{d}: no such signatures folder")
        base = root if root.is_dir() else root.parent.parent
        for path in signature_files(root):
            sig = load_file(path, base)
            if sig.id in user_seen:
                raise SignatureError(
                    f"{path}: duplicate signature id {sig.id!r} (also in {user_seen[sig.id]})"
                )
            user_seen[sig.id] = path
            by_id[sig.id] = sig
    return SignatureSet(signatures=sorted(by_id.values(), key=lambda s: s.id), limits=limits)
