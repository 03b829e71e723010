"""Walking a signature's condition tree: every regex it holds, every name it defines.

Load-time checks (a pattern that does not compile) and lint (risky constructs, confidence rules
naming conditions that do not exist) both need to visit the same places, so the walk lives here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from triage.match.regexes import compile_error

#: keys of leaf specs holding one regex / a list of regexes
_REGEX_KEYS = {"pattern", "tag", "then", "title", "function", "module", "report", "comm", "lacks"}
_REGEX_LIST_KEYS = {"steps", "frames_any", "frames_all", "frames_none"}
LEAF_KINDS = ("line", "sequence", "silence", "crash", "task", "fact", "boot")


def conditions(node: Any, where: str = "evidence") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every condition node under `node` (itself included), with a path for messages."""
    if not isinstance(node, dict):
        return
    yield where, node
    for key in ("all", "any"):
        for i, child in enumerate(node.get(key) or []):
            yield from conditions(child, f"{where}/{key}/{i}")
    if isinstance(node.get("not"), dict):
        yield from conditions(node["not"], f"{where}/not")


def all_conditions(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from conditions(doc.get("evidence"), "evidence")
    for i, ex in enumerate(doc.get("exclude") or []):
        yield from conditions(ex, f"exclude/{i}")


def patterns(doc: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, regex) for every regex in the evidence and exclusions."""
    for where, node in all_conditions(doc):
        for kind in LEAF_KINDS:
            spec = node.get(kind)
            if not isinstance(spec, dict):
                continue
            for key, value in spec.items():
                if key in _REGEX_KEYS and isinstance(value, str):
                    yield f"{where}/{kind}/{key}", value
                elif key in _REGEX_LIST_KEYS and isinstance(value, list):
                    for i, v in enumerate(value):
                        if isinstance(v, str):
                            yield f"{where}/{kind}/{key}/{i}", v


def pattern_problems(doc: dict[str, Any]) -> list[str]:
    out = []
    for where, pat in patterns(doc):
        err = compile_error(pat)
        if err:
            out.append(f"{where}: regex {pat!r} does not compile: {err}")
    return out


def defined_names(doc: dict[str, Any]) -> set[str]:
    return {n["name"] for _, n in conditions(doc.get("evidence")) if isinstance(n.get("name"), str)}
