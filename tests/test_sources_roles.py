"""A path's role comes from the first rule of its layout with a glob matching it whole.

`role_of` asks all the globs of a layout in one pattern; these tests hold it to the plain
reading of the role table, glob by glob, over paths made from every glob of the table.
"""

from __future__ import annotations

import itertools
import re

import pytest

from triage.sources import layouts as L

RULES = [
    (lay, role, [re.compile(L._glob_to_pattern(g)) for g in gs]) for lay, role, gs in L.ROLE_TABLE
]


def _by_each_glob(path: str, roots: list[L.Root]) -> str:
    """The role table read literally: innermost root first, each candidate path, each rule
    of the root's layout in order, each glob of the rule; then the rules of any layout."""
    rot = L.rotation_of(path)
    candidates = [path] if path == rot.base else [path, rot.base]
    for root in reversed(L.roots_of(path, roots)):
        for cand in candidates:
            rel = cand[len(root.path) :]
            for layout, role, rxs in RULES:
                if layout == root.layout and any(rx.match(rel) for rx in rxs):
                    return role
    for cand in candidates:
        for layout, role, rxs in RULES:
            if layout == "any" and any(rx.match(cand) for rx in rxs):
                return role
    return ""


def _instances(glob: str) -> set[str]:
    """Paths the glob matches (and near misses): each wildcard filled a few ways."""
    parts = glob.replace("**/", "\0").replace("*", "\1").replace("?", "\2")
    fills = {"\0": ["", "a/", "a/b/"], "\1": ["", "x", "x.1", "a/b"], "\2": ["z", "/"]}
    slots = [c for c in parts if c in fills]
    out = set()
    for choice in itertools.product(*(fills[c] for c in slots)):
        it = iter(choice)
        out.add("".join(next(it) if c in fills else c for c in parts))
    return out


SUFFIXES = (".1", "-20240101.gz", ".2.xz", "/")
PATHS = sorted(
    {p for _, _, globs in L.ROLE_TABLE for g in globs for p in _instances(g)}
    | {p + s for _, _, globs in L.ROLE_TABLE for p in _instances(globs[0]) for s in SUFFIXES}
)
LAYOUTS = sorted({layout for layout, _, _ in L.ROLE_TABLE if layout != "any"})


def test_the_paths_cover_every_rule() -> None:
    roles = {_by_each_glob(p, [L.Root(layout, "")]) for layout in LAYOUTS for p in PATHS}
    assert {role for _, role, _ in L.ROLE_TABLE} <= roles


@pytest.mark.parametrize("layout", [None, *LAYOUTS])
def test_role_of_reads_the_table_rule_by_rule(layout: str | None) -> None:
    variants: list[list[L.Root]] = [[]]
    if layout:
        variants += [[L.Root(layout, "")], [L.Root(layout, "a/"), L.Root(layout, "a/b/")]]
    for roots in variants:
        for path in PATHS:
            assert L.role_of(path, roots) == _by_each_glob(path, roots), (path, roots)


def test_of_two_rules_matching_a_path_the_first_in_the_table_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = (("any", "broad", ("var/log/*",)), ("any", "narrow", ("var/log/messages",)))
    rules = tuple((lay, role, tuple(L._glob_to_pattern(g) for g in gs)) for lay, role, gs in table)
    for order in (rules, rules[::-1]):
        monkeypatch.setattr(L, "_ROLE_RULES", order)
        L._rules_of.cache_clear()
        assert L.role_of("var/log/messages", []) == order[0][1]
        assert L.role_of("var/log/secure", []) == "broad"
    L._rules_of.cache_clear()
